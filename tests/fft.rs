//! The batched FFT against the definition (a naive DFT in f64), known answers (an impulse, a
//! pure tone), Parseval's identity, the round trip, and rustfft at large sizes; 1-D and 2-D,
//! on the device and on the CPU twin.

mod common;
use langevin::fft::{self, Direction, FftShape};
use langevin::Engine;

/// Deterministic test data in [-1, 1].
fn data(len: usize, seed: u32) -> Vec<[f32; 2]> {
    (0..len as u32)
        .map(|j| {
            let w = langevin::philox::philox4x32_10([j, seed, 0, 99], [7, 9]);
            let u = |x: u32| 2.0 * langevin::philox::uniform_open01(x) - 1.0;
            [u(w[0]), u(w[1])]
        })
        .collect()
}

/// The naive DFT of one field of `nx x ny` (rows, then columns) in f64, the phases reduced
/// modulo the period so that their rounding stays at 1e-16.
fn naive_dft(x: &[[f32; 2]], nx: usize, ny: usize, sign: f64) -> Vec<[f64; 2]> {
    let mut out = vec![[0.0f64; 2]; nx * ny];
    for ky in 0..ny {
        for kx in 0..nx {
            let mut acc = [0.0f64; 2];
            for y in 0..ny {
                for xx in 0..nx {
                    let a = sign
                        * 2.0
                        * std::f64::consts::PI
                        * (((kx * xx) % nx) as f64 / nx as f64
                            + ((ky * y) % ny) as f64 / ny as f64);
                    let [re, im] = x[y * nx + xx].map(f64::from);
                    acc[0] += re * a.cos() - im * a.sin();
                    acc[1] += re * a.sin() + im * a.cos();
                }
            }
            out[ky * nx + kx] = acc;
        }
    }
    out
}

/// The relative l2 error of `got` against `exact`.
fn relative_error(got: &[[f32; 2]], exact: &[[f64; 2]]) -> f64 {
    let (mut err, mut norm) = (0.0, 0.0);
    for (g, e) in got.iter().zip(exact) {
        err += (f64::from(g[0]) - e[0]).powi(2) + (f64::from(g[1]) - e[1]).powi(2);
        norm += e[0] * e[0] + e[1] * e[1];
    }
    (err / norm).sqrt()
}

/// Every length 2^0 to 2^10 (radix-16 passes after each first pass: none, 2, 4, 8), a batch of 3
/// fields: forward and inverse within 1e-6 (log2 n + 1) relative (l2) of the naive DFT in
/// f64 (an f32 FFT's error grows as eps log n, eps = 6e-8), the inverse scaled by 1 / n.
fn one_d_matches_the_definition(engine: &Engine) {
    for m in 0..=10 {
        let n = 1usize << m;
        let x = data(3 * n, m);
        for (direction, sign) in [(Direction::Forward, -1.0), (Direction::Inverse, 1.0)] {
            let mut got = x.clone();
            fft::transform(engine, &mut got, FftShape::one_d(n as u32, 3), direction).unwrap();
            for f in 0..3 {
                let mut exact = naive_dft(&x[f * n..(f + 1) * n], n, 1, sign);
                if direction == Direction::Inverse {
                    exact
                        .iter_mut()
                        .for_each(|v| *v = [v[0] / n as f64, v[1] / n as f64]);
                }
                let e = relative_error(&got[f * n..(f + 1) * n], &exact);
                assert!(
                    e < 1e-6 * f64::from(m + 1),
                    "n = {n}, {direction:?}, field {f}: {e:e}"
                );
            }
        }
    }
}

/// 2-D fields, a batch of 2, whose columns take every first radix alone and before radix 16
/// (ny = 8, 16, 32, 64, 128: [8], [16], [2, 16], [4, 16], [8, 16]): forward within 1e-5 of the
/// naive 2-D DFT, and the inverse of the input within 1e-5 of the naive inverse DFT, 1 / (nx ny)
/// included.
fn two_d_matches_the_definition(engine: &Engine) {
    for (nx, ny) in [(16usize, 32usize), (32, 8), (4, 16), (4, 64), (2, 128)] {
        let x = data(2 * nx * ny, 77);
        let mut got = x.clone();
        let shape = FftShape::two_d(nx as u32, ny as u32, 2);
        fft::transform(engine, &mut got, shape, Direction::Forward).unwrap();
        for f in 0..2 {
            let field = f * nx * ny..(f + 1) * nx * ny;
            let exact = naive_dft(&x[field.clone()], nx, ny, -1.0);
            let e = relative_error(&got[field], &exact);
            assert!(e < 1e-5, "{nx} x {ny}, field {f}: {e:e}");
        }
        fft::transform(engine, &mut got, shape, Direction::Inverse).unwrap();
        let back: Vec<[f64; 2]> = x.iter().map(|v| v.map(f64::from)).collect();
        assert!(relative_error(&got, &back) < 1e-6);
        let mut inverse = x.clone();
        fft::transform(engine, &mut inverse, shape, Direction::Inverse).unwrap();
        let scale = 1.0 / (nx * ny) as f64;
        for f in 0..2 {
            let field = f * nx * ny..(f + 1) * nx * ny;
            let exact: Vec<[f64; 2]> = naive_dft(&x[field.clone()], nx, ny, 1.0)
                .iter()
                .map(|v| [v[0] * scale, v[1] * scale])
                .collect();
            let e = relative_error(&inverse[field], &exact);
            assert!(e < 1e-5, "{nx} x {ny} inverse, field {f}: {e:e}");
        }
    }
}

/// Known answers at n = 4096: an impulse at 0 gives all ones; the tone exp(2 pi i 37 j / n)
/// gives n at bin 37 and zeros elsewhere (to 1e-3 absolute, n eps log n).
fn impulse_and_tone(engine: &Engine) {
    let n = 4096usize;
    let mut x = vec![[0.0f32; 2]; n];
    x[0] = [1.0, 0.0];
    fft::transform(
        engine,
        &mut x,
        FftShape::one_d(n as u32, 1),
        Direction::Forward,
    )
    .unwrap();
    assert!(x
        .iter()
        .all(|v| (v[0] - 1.0).abs() < 1e-6 && v[1].abs() < 1e-6));
    let mut tone: Vec<[f32; 2]> = (0..n)
        .map(|j| {
            let a = 2.0 * std::f64::consts::PI * (37 * j) as f64 / n as f64;
            [a.cos() as f32, a.sin() as f32]
        })
        .collect();
    fft::transform(
        engine,
        &mut tone,
        FftShape::one_d(n as u32, 1),
        Direction::Forward,
    )
    .unwrap();
    for (k, v) in tone.iter().enumerate() {
        let expected = if k == 37 { n as f32 } else { 0.0 };
        assert!(
            (v[0] - expected).abs() < 1e-3 && v[1].abs() < 1e-3,
            "bin {k}: {v:?}"
        );
    }
}

/// Parseval (sum |X|^2 = n sum |x|^2, to 1e-5 relative) and the round trip (to 1e-6
/// relative l2) at n = 2^16, a batch of 4.
fn parseval_and_round_trip(engine: &Engine) {
    let n = 1usize << 16;
    let x = data(4 * n, 5);
    let mut y = x.clone();
    let shape = FftShape::one_d(n as u32, 4);
    fft::transform(engine, &mut y, shape, Direction::Forward).unwrap();
    for f in 0..4 {
        let energy = |v: &[[f32; 2]]| {
            v.iter()
                .map(|c| f64::from(c[0]).powi(2) + f64::from(c[1]).powi(2))
                .sum::<f64>()
        };
        let field = f * n..(f + 1) * n;
        let ratio = energy(&y[field.clone()]) / (n as f64 * energy(&x[field]));
        assert!((ratio - 1.0).abs() < 1e-5, "field {f}: {ratio}");
    }
    fft::transform(engine, &mut y, shape, Direction::Inverse).unwrap();
    let back: Vec<[f64; 2]> = x.iter().map(|v| v.map(f64::from)).collect();
    let e = relative_error(&y, &back);
    assert!(e < 1e-6, "{e:e}");
}

/// In f64 (the CPU twin, and the device with SHADER_F64): every length 2^0 to 2^10 and a
/// 2-D 16 x 32 field, batches of 2, forward and inverse within 1e-14 relative (l2) of the
/// naive DFT in f64, where f32 gets 1e-7.
fn f64_matches_the_definition(engine: &Engine) {
    let wide = |x: &[[f32; 2]]| -> Vec<[f64; 2]> {
        x.iter()
            .map(|v| [f64::from(v[0]), f64::from(v[1])])
            .collect()
    };
    let error = |got: &[[f64; 2]], exact: &[[f64; 2]]| {
        let (mut err, mut norm) = (0.0, 0.0);
        for (g, e) in got.iter().zip(exact) {
            err += (g[0] - e[0]).powi(2) + (g[1] - e[1]).powi(2);
            norm += e[0] * e[0] + e[1] * e[1];
        }
        (err / norm).sqrt()
    };
    let mut shapes: Vec<(usize, usize)> = (0..=10).map(|m| (1usize << m, 1)).collect();
    shapes.push((16, 32));
    for (nx, ny) in shapes {
        let n = nx * ny;
        let x = data(2 * n, 11);
        for (direction, sign) in [(Direction::Forward, -1.0), (Direction::Inverse, 1.0)] {
            let mut got = wide(&x);
            let shape = FftShape::two_d(nx as u32, ny as u32, 2);
            fft::transform(engine, &mut got, shape, direction).unwrap();
            for f in 0..2 {
                let mut exact = naive_dft(&x[f * n..(f + 1) * n], nx, ny, sign);
                if direction == Direction::Inverse {
                    exact
                        .iter_mut()
                        .for_each(|v| *v = [v[0] / n as f64, v[1] / n as f64]);
                }
                let e = error(&got[f * n..(f + 1) * n], &exact);
                assert!(e < 1e-14, "{nx} x {ny}, {direction:?}, field {f}: {e:e}");
            }
        }
    }
}

/// The real transforms: rows of 2^1 to 2^10 (a batch of 3) and 2-D 16 x 8 and 8 x 32 fields
/// (a batch of 2) of real data: the `nx / 2 + 1` coefficients per row within 1e-6 (log2 n + 1)
/// relative (l2) of the naive DFT in f32 and 1e-14 in f64, and the real inverse gives the
/// data back (to 1e-6 and 1e-14 of its norm).
fn real_matches_the_definition(engine: &Engine) {
    fn check<R: langevin::real::Real>(
        engine: &Engine,
        nx: usize,
        ny: usize,
        fields: usize,
        tol: f64,
    ) {
        let n = nx * ny;
        let h = nx / 2 + 1;
        let raw = data(fields * n, (nx + 7 * ny) as u32);
        let x: Vec<R> = raw.iter().map(|v| R::real(f64::from(v[0]))).collect();
        let shape = FftShape::two_d(nx as u32, ny as u32, fields as u32);
        let got = fft::real_forward(engine, &x, shape).unwrap();
        assert_eq!(got.len(), fields * h * ny);
        for f in 0..fields {
            let field: Vec<[f32; 2]> = raw[f * n..(f + 1) * n]
                .iter()
                .map(|v| [v[0], 0.0])
                .collect();
            let exact = naive_dft(&field, nx, ny, -1.0);
            let (mut err, mut norm) = (0.0, 0.0);
            for ky in 0..ny {
                for kx in 0..h {
                    let g = got[f * h * ny + ky * h + kx];
                    let e = exact[ky * nx + kx];
                    err += (g[0].wide() - e[0]).powi(2) + (g[1].wide() - e[1]).powi(2);
                    norm += e[0] * e[0] + e[1] * e[1];
                }
            }
            let e = (err / norm).sqrt();
            assert!(e < tol, "{nx} x {ny}, field {f}: {e:e} (bound {tol:e})");
        }
        let back = fft::real_inverse(engine, &got, shape).unwrap();
        let (mut err, mut norm) = (0.0, 0.0);
        for (b, a) in back.iter().zip(&x) {
            err += (b.wide() - a.wide()).powi(2);
            norm += a.wide() * a.wide();
        }
        let e = (err / norm).sqrt();
        assert!(e < tol, "{nx} x {ny} round trip: {e:e}");
    }
    let mut shapes: Vec<(usize, usize, usize)> = (1..=10).map(|m| (1usize << m, 1, 3)).collect();
    shapes.extend([(16, 8, 2), (8, 32, 2)]);
    for (nx, ny, fields) in shapes {
        let log = f64::from((nx * ny).trailing_zeros() + 1);
        check::<f32>(engine, nx, ny, fields, 1e-6 * log);
        check::<f64>(engine, nx, ny, fields, 1e-14);
    }
    let bad = fft::real_forward(engine, &[1.0f32], FftShape::one_d(1, 1)).unwrap_err();
    assert!(bad.to_string().contains("grid.points[0]"), "{bad}");
}

on_every_backend!(
    real_matches_the_definition,
    f64_matches_the_definition,
    one_d_matches_the_definition,
    two_d_matches_the_definition,
    impulse_and_tone,
    parseval_and_round_trip,
);

/// The device against rustfft (the twin) at 2^20 and 2^21 points in one field and at
/// 1024 x 1024 in 2-D: within 2e-6 relative l2 (both are f32 FFTs; rustfft's own error is of
/// the same size).
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn device_matches_rustfft_at_large_sizes() {
    let Some(gpu) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let cpu = common::engine(langevin::BackendChoice::Cpu).unwrap();
    for shape in [
        FftShape::one_d(1 << 20, 1),
        FftShape::one_d(1 << 21, 1),
        FftShape::two_d(1024, 1024, 1),
    ] {
        let x = data(shape.points() as usize, 3);
        let (mut a, mut b) = (x.clone(), x);
        fft::transform(&gpu, &mut a, shape, Direction::Forward).unwrap();
        fft::transform(&cpu, &mut b, shape, Direction::Forward).unwrap();
        let exact: Vec<[f64; 2]> = b.iter().map(|v| v.map(f64::from)).collect();
        let e = relative_error(&a, &exact);
        eprintln!("{shape:?}: relative difference {e:e}");
        assert!(e < 2e-6, "{shape:?}: {e:e}");
    }
}
