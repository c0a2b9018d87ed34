//! The Vicsek model: the cell list against all pairs, the exact statistics of independent
//! headings at eta = 2 pi, flocking at eta = 0, and the kernels against their CPU twin.

mod common;
use langevin::interacting::vicsek::{self, all_pairs_neighbours, VicsekSpec};
use langevin::philox::{key_of_seed, philox4x32_10, uniform_open01};
use langevin::{Engine, Sweep};

/// Twin of `STREAM_VICSEK_NOISE`, to recompute the noise of a step.
const STREAM_VICSEK_NOISE: u32 = 47;

/// After 40 steps at low noise (clusters have formed, cells hold many particles), the
/// neighbours each particle counted at step 41 are exactly those of an all-pairs search over
/// the state after step 40, and its new heading is the all-pairs mean heading (in f64) plus
/// the step's noise, recomputed from Philox, to 2e-4 rad wherever the sum is not small.
fn cell_list_equals_all_pairs(engine: &Engine) {
    let mut spec = VicsekSpec::new(3000);
    spec.box_len = 25.0;
    spec.noise = 0.4;
    spec.replicas = 2;
    spec.seed = 11;
    spec.keep_state = true;
    spec.saves = 2;
    spec.average_from = 0;
    spec.steps = 40;
    let before = vicsek::run(engine, &spec).unwrap().state.unwrap();
    spec.steps = 41;
    let after = vicsek::run(engine, &spec).unwrap().state.unwrap();
    let n = spec.particles as usize;
    let p = spec.params();
    let (mut checked, mut crowded) = (0, 0);
    for q in 0..2 {
        let mine = q * n..(q + 1) * n;
        let pairs = all_pairs_neighbours(&before.particles[mine.clone()], p.box_len, p.radius2);
        for (k, (count, sum)) in pairs.iter().enumerate() {
            let i = mine.start + k;
            assert_eq!(after.neighbours[i], *count, "replica {q}, particle {k}");
            crowded += usize::from(*count >= 10);
            if sum[0].hypot(sum[1]) > 0.5 {
                let w = philox4x32_10(
                    [q as u32, k as u32, 40, STREAM_VICSEK_NOISE],
                    key_of_seed(11),
                );
                let th =
                    sum[1].atan2(sum[0]) + spec.noise * (f64::from(uniform_open01(w[0])) - 0.5);
                let [_, _, c, s] = after.particles[i];
                let off = (f64::from(s) * th.cos() - f64::from(c) * th.sin()).abs();
                assert!(
                    off < 2e-4,
                    "replica {q}, particle {k}: heading off by {off}"
                );
                checked += 1;
            }
        }
    }
    eprintln!("{checked} headings checked; {crowded} particles with 10 or more neighbours");
    assert!(crowded > 100, "the state has not clustered: {crowded}");
}

/// At eta = 2 pi every new heading is uniform and independent of everything, so
/// N v_a^2 has mean exactly 1 and v_a has mean sqrt(pi / (4N)) (1 - 1/(8N)) (the mean length
/// of a planar random walk of N unit steps): both within 5 standard errors over 32 replicas
/// x 100 saves of N = 1024.
fn full_noise_gives_independent_headings(engine: &Engine) {
    let mut spec = VicsekSpec::new(1024);
    spec.noise = std::f64::consts::TAU;
    spec.replicas = 32;
    spec.steps = 100;
    spec.saves = 101;
    spec.average_from = 1;
    spec.seed = 3;
    let r = vicsek::run(engine, &spec).unwrap();
    let n = f64::from(spec.particles);
    let samples: Vec<f64> = (0..32)
        .flat_map(|q| (1..101).map(move |k| (q, k)))
        .map(|(q, k)| r.va(q, k))
        .collect();
    let count = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / count;
    let sq: Vec<f64> = samples.iter().map(|v| n * v * v).collect();
    let mean_sq = sq.iter().sum::<f64>() / count;
    let sd = |xs: &[f64], m: f64| {
        (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (count - 1.0)).sqrt()
    };
    eprintln!(
        "N <v_a^2> = {mean_sq:.4}; <v_a> = {mean:.5} against {:.5}",
        (std::f64::consts::PI / (4.0 * n)).sqrt()
    );
    common::assert_within(
        "N <v_a^2>",
        mean_sq,
        1.0,
        sd(&sq, mean_sq) / count.sqrt(),
        5.0,
    );
    let exact = (std::f64::consts::PI / (4.0 * n)).sqrt() * (1.0 - 1.0 / (8.0 * n));
    common::assert_within("<v_a>", mean, exact, sd(&samples, mean) / count.sqrt(), 5.0);
}

/// Without noise the particles flock: from random headings at density 4, N = 1024, v0 = 0.5,
/// v_a rises from about sqrt(pi / 4N) = 0.028 to above 0.9 in every replica by step 1000,
/// and above 0.99 on average over 8 replicas. Not an exact law: a replica may settle in a
/// band of counter-moving groups instead of one flock (seen on an H200 with v_a = 0.92 at
/// step 1000, where lavapipe's run of the same seed, rounded differently, flocked); over 32
/// replicas the twin's mean was 0.9996.
fn no_noise_flocks(engine: &Engine) {
    let mut spec = VicsekSpec::new(1024);
    spec.noise = 0.0;
    spec.replicas = 8;
    spec.steps = 1000;
    spec.saves = 11;
    spec.seed = 5;
    let r = vicsek::run(engine, &spec).unwrap();
    let mut mean = 0.0;
    for q in 0..8 {
        let va: Vec<String> = (0..11).map(|k| format!("{:.3}", r.va(q, k))).collect();
        eprintln!("replica {q}: v_a = {}", va.join(" "));
        assert!(
            r.va(q, 0) < 0.2,
            "replica {q} starts ordered: {}",
            r.va(q, 0)
        );
        assert!(r.va(q, 10) > 0.9, "replica {q}: v_a = {}", r.va(q, 10));
        mean += r.va(q, 10) / 8.0;
    }
    assert!(mean > 0.99, "mean v_a at step 1000: {mean}");
}

/// A crowded box (4500 particles in 3 x 3 cells of side r: 500 a cell, so that sorting one
/// costs about 125,000 loop iterations) on a driver that leaves every loop of an invocation
/// after 65,535 of them (llvmpipe) is refused with `Error::Limit` naming that bound, where it
/// used to run with cells sorted only in part; elsewhere (the CPU twin, adapters without such
/// a bound) it runs, and each particle counts the neighbours an all-pairs search finds.
fn crowded_cells_are_refused_where_loops_are_bounded(engine: &Engine) {
    let mut spec = VicsekSpec::new(4500);
    spec.box_len = 3.0;
    spec.noise = 0.5;
    spec.seed = 5;
    spec.keep_state = true;
    spec.saves = 2;
    spec.average_from = 0;
    spec.steps = 2;
    let bound = engine.gpu().and_then(|ctx| ctx.loop_iteration_limit);
    match (vicsek::run(engine, &spec), bound) {
        (Err(langevin::Error::Limit(why)), Some(limit)) => {
            assert!(why.contains(&limit.to_string()), "{why}");
            assert!(why.contains("--backend cpu"), "{why}");
        }
        (Ok(r), None) => {
            let after = r.state.unwrap();
            spec.steps = 1;
            let before = vicsek::run(engine, &spec).unwrap().state.unwrap();
            let p = spec.params();
            let pairs = all_pairs_neighbours(&before.particles, p.box_len, p.radius2);
            for (k, (count, _)) in pairs.iter().enumerate() {
                assert_eq!(after.neighbours[k], *count, "particle {k}");
            }
            assert!(pairs.iter().any(|(count, _)| *count > 300));
        }
        (other, bound) => panic!("loop bound {bound:?}: {:?}", other.map(|_| "a result")),
    }
}

on_every_backend!(
    crowded_cells_are_refused_where_loops_are_bounded,
    cell_list_equals_all_pairs,
    full_noise_gives_independent_headings,
    no_noise_flocks,
);

/// The kernels and their twin on the same streams, eta swept over replicas, over one step:
/// the same initial and final order parameter to 1e-6, the same neighbour counts, positions
/// to 1e-5 (where the adapter rounds like the twin, `rounds_like_twin`). Only one step:
/// atan2, sin and cos may round differently on the device, and a heading whose neighbour sum
/// nearly cancels, or a pair at distance r to within that rounding, turns such differences
/// into O(1) ones within two or three steps (measured on lavapipe: 2e-5 in v_a after two
/// steps, 2e-3 after ten). On an H200 one step already moved a position by 1.3e-5 through
/// such a heading, so there positions are only reported; `cell_list_equals_all_pairs` holds
/// every heading to the all-pairs law on each backend. The longer runs are checked on each
/// backend against exact laws instead.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn gpu_and_cpu_twin_agree() {
    let Some(gpu) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let cpu = common::engine(langevin::BackendChoice::Cpu).unwrap();
    let mut spec = VicsekSpec::new(2001);
    spec.box_len = 30.0;
    spec.replicas = 3;
    spec.sweeps = vec![Sweep::new("eta", &[0.5, 2.0, 5.0])];
    spec.steps = 1;
    spec.saves = 2;
    spec.average_from = 0;
    spec.keep_state = true;
    let (a, b) = (
        vicsek::run(&gpu, &spec).unwrap(),
        vicsek::run(&cpu, &spec).unwrap(),
    );
    assert_eq!(a.eta, [0.5, 2.0, 5.0]);
    let mut worst = 0.0f64;
    for q in 0..3 {
        for k in 0..2 {
            worst = common::max_or_nan(worst, (a.va(q, k) - b.va(q, k)).abs());
        }
    }
    let (sa, sb) = (a.state.unwrap(), b.state.unwrap());
    let min_image = |d: f32| d - 30.0 * (d / 30.0).round();
    let moved = sa
        .particles
        .iter()
        .zip(&sb.particles)
        .map(|(x, y)| {
            min_image(x[0] - y[0])
                .abs()
                .max(min_image(x[1] - y[1]).abs())
        })
        .fold(0.0f32, common::max_or_nan_f32);
    eprintln!("largest difference of v_a {worst:e}, of a position {moved:e}");
    assert!(worst < 1e-6, "{worst}");
    if common::rounds_like_twin(&gpu) {
        assert!(moved < 1e-5, "{moved}");
    }
    assert_eq!(sa.neighbours, sb.neighbours);
}
