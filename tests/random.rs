//! The generator and the variates: Philox known-answer vectors, the moments and law of the
//! normals, and their independence across neighbouring counters and keys. On both backends.

mod common;
use common::{assert_within, ks_statistic, normal_cdf, KS_FIVE_SIGMA};
use langevin::{philox, Engine};

/// Random123 `kat_vectors` for philox4x32_10: (counter, key) -> output.
const KAT: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
    (
        [0, 0, 0, 0],
        [0, 0],
        [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
    ),
    (
        [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
        [0xffffffff, 0xffffffff],
        [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
    ),
    (
        [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
        [0xa4093822, 0x299f31d0],
        [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
    ),
];

fn philox_known_answers(engine: &Engine) {
    let input: Vec<([u32; 4], [u32; 2])> = KAT.iter().map(|(c, k, _)| (*c, *k)).collect();
    let out = engine.philox_kat(&input).unwrap();
    for ((_, _, expected), got) in KAT.iter().zip(&out) {
        assert_eq!(
            got,
            expected,
            "Philox4x32-10 known answer on {}",
            engine.device()
        );
    }
}

/// On the GPU: every word equals the CPU twin's.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn philox_matches_cpu_twin_bit_for_bit() {
    let Some(engine) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let input: Vec<([u32; 4], [u32; 2])> = (0..4096)
        .map(|_| {
            let mut w = [0u32; 6];
            for v in &mut w {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *v = x as u32;
            }
            ([w[0], w[1], w[2], w[3]], [w[4], w[5]])
        })
        .collect();
    let device = engine.philox_kat(&input).unwrap();
    let twin: Vec<[u32; 4]> = input
        .iter()
        .map(|(c, k)| philox::philox4x32_10(*c, *k))
        .collect();
    assert_eq!(device, twin);
}

/// Both forms of the shader's 32x32 -> 64 multiply (16-bit halves, and one 64-bit multiply
/// where the adapter has SHADER_INT64) give Random123's known answers and the twin's words,
/// so a kernel's results do not depend on which form its device compiled.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn both_forms_of_mul_hi_give_the_same_words() {
    let Some(engine) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let ctx = engine.gpu().expect("a GPU engine has a context");
    let mut input: Vec<([u32; 4], [u32; 2])> = KAT.iter().map(|(c, k, _)| (*c, *k)).collect();
    // Words whose halves carry into the high word, and every corner of the 16-bit split.
    for a in [
        0u32,
        1,
        0xFFFF,
        0x1_0000,
        0xFFFF_FFFF,
        0x8000_0000,
        0xDEAD_BEEF,
    ] {
        for b in [0u32, 0xFFFF, 0xFFFF_FFFF, 0x1234_5678] {
            input.push(([a, b, !a, a ^ b], [b, a]));
        }
    }
    let twin: Vec<[u32; 4]> = input
        .iter()
        .map(|(c, k)| philox::philox4x32_10(*c, *k))
        .collect();
    let mut forms = vec![false];
    if ctx.native_mul_hi() {
        forms.push(true);
    } else {
        eprintln!("{} has no SHADER_INT64: the halves only", engine.device());
    }
    for native in forms {
        let device = langevin::gpu::philox_stream::philox_kat_as(ctx, &input, native).unwrap();
        for ((_, _, expected), got) in KAT.iter().zip(&device) {
            assert_eq!(got, expected, "known answer, native mul_hi {native}");
        }
        assert_eq!(device, twin, "native mul_hi {native}");
    }
}

/// Sample moments of standard normals, each against its standard error at five sigma:
/// mean 1/sqrt(n), variance sqrt(2/n), skewness sqrt(6/n), excess kurtosis sqrt(24/n).
fn check_standard_normal(what: &str, z: &[f32]) {
    let n = z.len() as f64;
    let mean = z.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for &v in z {
        let d = f64::from(v) - mean;
        m2 += d * d;
        m3 += d * d * d;
        m4 += d * d * d * d;
    }
    let (m2, m3, m4) = (m2 / n, m3 / n, m4 / n);
    assert_within(&format!("{what} mean"), mean, 0.0, (1.0 / n).sqrt(), 5.0);
    assert_within(&format!("{what} variance"), m2, 1.0, (2.0 / n).sqrt(), 5.0);
    assert_within(
        &format!("{what} skewness"),
        m3 / m2.powf(1.5),
        0.0,
        (6.0 / n).sqrt(),
        5.0,
    );
    assert_within(
        &format!("{what} excess kurtosis"),
        m4 / (m2 * m2) - 3.0,
        0.0,
        (24.0 / n).sqrt(),
        5.0,
    );
    let mut samples: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
    let d = ks_statistic(&mut samples, normal_cdf);
    assert!(
        d * n.sqrt() < KS_FIVE_SIGMA,
        "{what}: KS sqrt(n) D = {} above the five-sigma bound {KS_FIVE_SIGMA}",
        d * n.sqrt()
    );
}

fn normals_are_standard_normal(engine: &Engine) {
    // 2^20 normals along one trajectory's stream, and 2^20 across 2^18 trajectories.
    let along = engine
        .normals(2024, 0, 1, 1 << 20, philox::STREAM_BROWNIAN)
        .unwrap();
    check_standard_normal("one stream", &along);
    let across = engine
        .normals(7, 1 << 33, 1 << 18, 4, philox::STREAM_INITIAL)
        .unwrap();
    check_standard_normal("across trajectories", &across);
}

/// Correlation of pairs, against 0 with standard error 1/sqrt(n).
fn check_uncorrelated(what: &str, a: &[f32], b: &[f32]) {
    let n = a.len() as f64;
    let r = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum::<f64>()
        / n;
    assert_within(what, r, 0.0, (1.0 / n).sqrt(), 5.0);
}

fn normals_are_independent_across_counters_and_keys(engine: &Engine) {
    let per = 8u32;
    let m = 1u32 << 17;
    let base = engine.normals(11, 0, m, per, 0).unwrap();
    let next_trajectory = engine.normals(11, 1, m, per, 0).unwrap();
    let next_key = engine.normals(12, 0, m, per, 0).unwrap();
    let next_stream = engine.normals(11, 0, m, per, 1).unwrap();
    check_uncorrelated("neighbouring trajectories", &base, &next_trajectory);
    check_uncorrelated("neighbouring keys", &base, &next_key);
    check_uncorrelated("neighbouring streams", &base, &next_stream);
    // Neighbouring blocks of one stream: lane j of block 0 against lane j of block 1.
    let (b0, b1): (Vec<f32>, Vec<f32>) = base.chunks(8).map(|c| (c[0], c[4])).unzip();
    check_uncorrelated("neighbouring blocks", &b0, &b1);
    // The two normals of one Box-Muller pair.
    let (p0, p1): (Vec<f32>, Vec<f32>) = base.chunks(2).map(|c| (c[0], c[1])).unzip();
    check_uncorrelated("Box-Muller pair", &p0, &p1);
}

/// On the GPU: the normals equal the CPU twin's within the bound that Vulkan's precision
/// rules allow (see `NORMAL_DIFFERENCE_BOUND` in `tests/engine.rs`: 9 * 2^-11); a wrong word,
/// lane or mapping gives differences of order one.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn normals_match_cpu_twin() {
    let Some(engine) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let device = engine.normals(5, 3, 1024, 64, 0).unwrap();
    let twin = Engine::new(langevin::BackendChoice::Cpu)
        .unwrap()
        .normals(5, 3, 1024, 64, 0)
        .unwrap();
    let worst = device
        .iter()
        .zip(&twin)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, common::max_or_nan_f32);
    eprintln!(
        "largest |z_device - z_twin| on {}: {worst:e}",
        engine.device()
    );
    assert!(worst <= 9.0 / 2048.0, "largest difference {worst}");
}

on_every_backend!(
    philox_known_answers,
    normals_are_standard_normal,
    normals_are_independent_across_counters_and_keys,
);
