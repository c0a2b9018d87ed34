//! User observables and the covariance, against exact laws.
//!
//! A 2-D linear SDE with general noise, dX = -A X dt + B dW, stepped by Euler-Maruyama from a
//! fixed point, is Gaussian at every step with the mean m' = M m and covariance
//! C' = M C M^T + B B^T dt, M = I - A dt. Its covariance at every save time, the mean of the
//! product `x*y` (C_xy + m_x m_y) and of the indicator `x > c` (the normal law's tail) are held
//! to these within 5 standard errors. A birth-death network's indicator of extinction is held
//! to its exact probability, through the jump schemes' host loop.

mod common;
use common::assert_within;
use langevin::reactions::{ReactionNetwork, ReactionSpec};
use langevin::{Engine, EnsembleSpec, ExprModel, SaveAt, Scheme, Sweep};
use std::sync::Arc;

const A: [[f64; 2]; 2] = [[1.0, 0.5], [-0.3, 0.8]];
const B: [[f64; 3]; 2] = [[0.6, 0.3, 0.0], [0.2, 0.0, 0.5]];
const X0: [f64; 2] = [0.5, -0.2];
const DT: f64 = 0.02;
const LEVEL: f64 = 0.3;

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn linear_model() -> ExprModel {
    let params: Vec<(String, f64)> = vec![
        ("a11".into(), A[0][0]),
        ("a12".into(), A[0][1]),
        ("a21".into(), A[1][0]),
        ("a22".into(), A[1][1]),
        ("c".into(), LEVEL),
    ];
    let matrix: Vec<Vec<String>> = B
        .iter()
        .map(|row| row.iter().map(|v| v.to_string()).collect())
        .collect();
    ExprModel::with_noise_matrix(
        "linear",
        &names(&["x", "y"]),
        &params,
        &names(&["-(a11*x + a12*y)", "-(a21*x + a22*y)"]),
        &matrix,
    )
    .unwrap()
}

/// The exact mean and covariance of the Euler-Maruyama chain after `steps` steps.
fn exact(steps: u32) -> ([f64; 2], [[f64; 2]; 2]) {
    let m = [
        [1.0 - A[0][0] * DT, -A[0][1] * DT],
        [-A[1][0] * DT, 1.0 - A[1][1] * DT],
    ];
    let mut bb = [[0.0; 2]; 2];
    for i in 0..2 {
        for j in 0..2 {
            bb[i][j] = (0..3).map(|k| B[i][k] * B[j][k]).sum::<f64>() * DT;
        }
    }
    let (mut mean, mut c) = (X0, [[0.0; 2]; 2]);
    for _ in 0..steps {
        mean = [
            m[0][0] * mean[0] + m[0][1] * mean[1],
            m[1][0] * mean[0] + m[1][1] * mean[1],
        ];
        let mut next = bb;
        for i in 0..2 {
            for j in 0..2 {
                for k in 0..2 {
                    for l in 0..2 {
                        next[i][j] += m[i][k] * c[k][l] * m[j][l];
                    }
                }
            }
        }
        c = next;
    }
    (mean, c)
}

fn base_spec() -> EnsembleSpec {
    EnsembleSpec::new(linear_model())
        .scheme(Scheme::EulerMaruyama)
        .initial_fixed(&X0)
        .time_span(0.0, 1.0)
        .dt(DT)
        .trajectories(1 << 15)
        .seed(7)
        .save_at(SaveAt::Count(6))
}

fn linear_spec() -> EnsembleSpec {
    base_spec()
        .observable("xy", "x*y")
        .observable("right", "x > c")
        .observable("r2", "x^2 + y^2")
        .covariance(true)
}

fn covariance_follows_the_euler_maruyama_recursion(engine: &Engine) {
    let r = engine.run(&linear_spec()).unwrap();
    let n = r.trajectories as f64;
    assert_eq!(r.observables.names, names(&["xy", "right", "r2"]));
    for (k, t) in r.times.iter().enumerate() {
        let steps = (t / DT).round() as u32;
        let (mean, c) = exact(steps);
        let cov = r.covariance(k).unwrap();
        // The state and the three observables.
        assert_eq!(cov.len(), 25);
        for a in 0..5 {
            for b in 0..5 {
                assert_eq!(cov[a * 5 + b].to_bits(), cov[b * 5 + a].to_bits());
            }
        }
        let o = &r.observables.moments[k];
        for a in 0..2 {
            for b in 0..2 {
                // The sample covariance of a Gaussian pair: variance (C_aa C_bb + C_ab^2) / N.
                let se = ((c[a][a] * c[b][b] + c[a][b] * c[a][b]) / n).sqrt();
                if steps == 0 {
                    assert_eq!(cov[a * 5 + b], 0.0);
                } else {
                    assert_within(
                        &format!("cov[{a}][{b}] at t = {t}"),
                        cov[a * 5 + b],
                        c[a][b],
                        se,
                        5.0,
                    );
                }
            }
        }
        // The diagonal of an observable is its variance.
        for (j, m) in o.iter().enumerate() {
            let v = cov[(2 + j) * 5 + 2 + j];
            assert!(v == m.variance() || (v.is_nan() && m.variance().is_nan()));
        }
        let (mx, my) = (&r.moments[k][0], &r.moments[k][1]);
        // Sample identity: mean(xy) = cov_xy (N - 1) / N + mean_x mean_y, to f32 rounding.
        let identity = cov[1] * (n - 1.0) / n + mx.mean * my.mean;
        assert!(
            (o[0].mean - identity).abs() <= 1e-5 * (c[0][0] * c[1][1]).sqrt().max(0.1),
            "mean of x*y {} against cov + product of means {identity} at t = {t}",
            o[0].mean
        );
        // In law: E[xy] = C_xy + m_x m_y.
        let xy = c[0][1] + mean[0] * mean[1];
        if steps > 0 {
            assert_within(
                &format!("mean of x*y at t = {t}"),
                o[0].mean,
                xy,
                o[0].std_error(),
                5.0,
            );
        }
        // The indicator's mean is P(x > c) = Phi((m_x - c) / s_x).
        let p = if steps == 0 {
            f64::from(u8::from(X0[0] > LEVEL))
        } else {
            0.5 * (1.0 + common::erf((mean[0] - LEVEL) / (2.0 * c[0][0]).sqrt()))
        };
        let se = (p * (1.0 - p) / n).sqrt().max(1.0 / n);
        assert_within(&format!("P(x > c) at t = {t}"), o[1].mean, p, se, 5.0);
        // E[x^2 + y^2] = tr C + |m|^2.
        let r2 = c[0][0] + c[1][1] + mean[0] * mean[0] + mean[1] * mean[1];
        if steps > 0 {
            assert_within(
                &format!("mean of r2 at t = {t}"),
                o[2].mean,
                r2,
                o[2].std_error(),
                5.0,
            );
        }
        assert_eq!(o[2].count, r.moments[k][0].count);
    }
}

/// An observable reading a swept parameter sees each trajectory's own value: the mean of
/// `x - c` is the mean of x less the mean of the sweep's values, to rounding.
fn observables_read_each_trajectorys_parameters(engine: &Engine) {
    let values = [0.1, 0.2, 0.3, 0.4];
    let spec = linear_spec()
        .trajectories(1 << 13)
        .sweep(Sweep::new("c", &values))
        .observable("shifted", "x - c");
    let r = engine.run(&spec).unwrap();
    let mean_c = values.iter().sum::<f64>() / 4.0;
    for k in 0..r.times.len() {
        let shifted = r.observables.moments[k][3].mean;
        let expected = r.moments[k][0].mean - mean_c;
        assert!(
            (shifted - expected).abs() < 1e-6,
            "mean of x - c: {shifted} against {expected}"
        );
    }
}

/// Immigration at rate k and death at rate g per molecule from none: X(t) is Poisson with mean
/// k/g (1 - e^{-g t}), so the indicator of `X < 1/2` has mean e^{-mean}.
fn an_indicator_of_a_jump_process_has_the_exact_probability(engine: &Engine) {
    let (k, g) = (2.0, 1.0);
    let network = ReactionNetwork::new(
        &[("X".to_string(), 0)],
        &[("k".to_string(), k), ("g".to_string(), g)],
        &[
            ReactionSpec {
                eq: "0 -> X".into(),
                rate: Some("k".into()),
                propensity: None,
            },
            ReactionSpec {
                eq: "X -> 0".into(),
                rate: Some("g".into()),
                propensity: None,
            },
        ],
    )
    .unwrap();
    let n = 1u64 << 15;
    let spec = EnsembleSpec::with_model(Arc::new(
        ExprModel::reaction_network("immigration-death", network).unwrap(),
    ))
    .scheme(Scheme::Ssa)
    .initial_fixed(&[0.0])
    .time_span(0.0, 2.0)
    .dt(0.02)
    .trajectories(n)
    .seed(5)
    .save_at(SaveAt::Count(5))
    .observable("empty", "X < 0.5")
    .observable("square", "X^2");
    let r = engine.run(&spec).unwrap();
    for (s, t) in r.times.iter().enumerate() {
        let mean = k / g * (1.0 - (-g * t).exp());
        let p = (-mean).exp();
        let o = &r.observables.moments[s];
        let se = (p * (1.0 - p) / n as f64).sqrt().max(1.0 / n as f64);
        assert_within(&format!("P(X = 0) at t = {t}"), o[0].mean, p, se, 5.0);
        // A Poisson law's second moment is mean + mean^2.
        if *t > 0.0 {
            assert_within(
                &format!("E[X^2] at t = {t}"),
                o[1].mean,
                mean + mean * mean,
                o[1].std_error(),
                5.0,
            );
        }
    }
}

/// The inverse of the standard normal CDF, by bisection on `erf`.
fn normal_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-10.0, 10.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if 0.5 * (1.0 + common::erf(mid / 2f64.sqrt())) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Euler-Maruyama Ornstein-Uhlenbeck from a point: x' = a x + b xi, a = 1 - theta dt,
/// b = sigma sqrt(dt), so x after n steps is normal with mean a^n x0 and variance
/// b^2 (1 - a^{2n}) / (1 - a^2). Its quantiles are held to the normal law's within 5 standard
/// errors of a sample quantile, sqrt(p (1 - p) / N) / phi(z_p) sd; at the final time they
/// equal, bit for bit, the order statistics of the final states (exact quantiles).
fn quantiles_of_ornstein_uhlenbeck_follow_the_normal_law(engine: &Engine) {
    let (theta, sigma, dt, x0) = (1.5, 0.7, 0.01, 0.8);
    let levels = [0.0, 0.05, 0.25, 0.5, 0.9, 0.99, 1.0];
    let spec = EnsembleSpec::new(langevin::OrnsteinUhlenbeck::new(theta, 0.0, sigma))
        .initial_fixed(&[x0])
        .time_span(0.0, 1.0)
        .dt(dt)
        .trajectories(1 << 15)
        .seed(3)
        .save_at(SaveAt::Count(5))
        .quantiles(&levels)
        .final_states(true);
    let r = engine.run(&spec).unwrap();
    let q = r.quantiles.as_ref().unwrap();
    assert_eq!(q.levels, levels);
    let n = r.trajectories as f64;
    let (a, b2) = (1.0 - theta * dt, sigma * sigma * dt);
    for (k, t) in r.times.iter().enumerate() {
        let steps = (t / dt).round() as i32;
        let mean = a.powi(steps) * x0;
        let sd = (b2 * (1.0 - a.powi(2 * steps)) / (1.0 - a * a)).sqrt();
        for (j, &p) in levels.iter().enumerate() {
            let value = q.values[0][k][j];
            if steps == 0 {
                assert_eq!(value, f64::from(x0 as f32));
                continue;
            }
            if p == 0.0 || p == 1.0 {
                continue;
            }
            let z = normal_quantile(p);
            let density = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
            let se = (p * (1.0 - p) / n).sqrt() / density * sd;
            assert_within(
                &format!("quantile {p} at t = {t}"),
                value,
                mean + sd * z,
                se,
                5.0,
            );
        }
    }
    let mut last: Vec<f32> = r.final_states.clone().unwrap();
    last.sort_unstable_by(f32::total_cmp);
    let end = r.times.len() - 1;
    assert_eq!(q.values[0][end][0], f64::from(last[0]));
    assert_eq!(q.values[0][end][6], f64::from(last[last.len() - 1]));
    // The 0.25 level of 2^15 samples is the 8192nd smallest.
    assert_eq!(q.values[0][end][2], f64::from(last[8191]));
    assert_eq!(q.values[0][end][3], f64::from(last[16383]));
}

/// Paths of Brownian motion (dx = sigma dW) every 5 steps: the last row is the final state,
/// bit for bit, the first the initial one, and the increments between rows have the exact
/// variance sigma^2 5 dt (within 5 standard errors of a sample variance).
fn paths_end_at_the_final_states_with_exact_increments(engine: &Engine) {
    let (sigma, dt, k) = (0.9, 0.01, 4096u64);
    let model = ExprModel::new(
        "brownian",
        &names(&["x"]),
        &[("sigma".into(), sigma)],
        &names(&["0"]),
        &names(&["sigma"]),
    )
    .unwrap();
    let spec = EnsembleSpec::new(model)
        .initial_fixed(&[0.0])
        .time_span(0.0, 0.37)
        .dt(dt)
        .trajectories(1 << 13)
        .seed(9)
        .save_at(SaveAt::Count(3))
        .paths(k, Some(5))
        .final_states(true);
    let r = engine.run(&spec).unwrap();
    let p = r.paths.as_ref().unwrap();
    // Steps 0, 5, ..., 35 and the last, 37.
    assert_eq!(p.times.len(), 9);
    assert!((p.times[8] - 0.37).abs() < 1e-12 && p.times[0] == 0.0);
    let rows = p.times.len();
    let finals = r.final_states.as_ref().unwrap();
    for (j, last) in finals.iter().take(k as usize).enumerate() {
        assert_eq!(p.states[j * rows].to_bits(), 0.0f32.to_bits());
        assert_eq!(
            p.states[j * rows + rows - 1].to_bits(),
            last.to_bits(),
            "trajectory {j}"
        );
    }
    // Batches of 1024 trajectories (the paths span four of them) and dispatches of 3 steps
    // keep the same paths, bit for bit.
    let mut chunked = spec.clone();
    chunked.chunking.max_batch_trajectories = Some(1024);
    chunked.chunking.steps_per_dispatch = Some(3);
    let c = engine.run(&chunked).unwrap();
    assert!(c.batches > 1);
    let same = c.paths.as_ref().unwrap().states.iter().zip(&p.states);
    assert!(same.clone().all(|(a, b)| a.to_bits() == b.to_bits()));
    assert_eq!(same.count(), p.states.len());
    for row in 1..rows - 1 {
        let increments = (0..k as usize)
            .map(|j| f64::from(p.states[j * rows + row]) - f64::from(p.states[j * rows + row - 1]));
        let m = langevin::Moments::of(increments);
        let exact = sigma * sigma * 5.0 * dt;
        let se = exact * (2.0 / (k as f64 - 1.0)).sqrt();
        assert_within(
            &format!("increment variance, row {row}"),
            m.variance(),
            exact,
            se,
            5.0,
        );
    }
}

/// An adaptive run in f64 keeps its paths at the save times in f64, the last row its final
/// states in f64; it stops at the save times only, so `every` is refused.
fn adaptive_paths_keep_f64(engine: &Engine) {
    let model = ExprModel::new(
        "decay",
        &names(&["x", "y"]),
        &[],
        &names(&["-x", "x - 2*y"]),
        &[],
    )
    .unwrap();
    let spec = EnsembleSpec::new(model)
        .scheme(Scheme::Dopri5)
        .precision(langevin::real::Precision::F64)
        .initial_normal(&[1.0, 0.0], &[0.1, 0.1])
        .time_span(0.0, 2.0)
        .dt(0.01)
        .trajectories(128)
        .seed(2)
        .save_at(SaveAt::Count(4))
        .paths(70, None)
        .final_states(true);
    let r = engine.run(&spec).unwrap();
    let p = r.paths.as_ref().unwrap();
    let wide = p.states_f64.as_ref().expect("f64 paths");
    let finals = r.final_states_f64.as_ref().unwrap();
    assert_eq!(p.times.len(), 4);
    for j in 0..70 {
        let last = &wide[(j * 4 + 3) * 2..(j * 4 + 4) * 2];
        assert_eq!(last, &finals[j * 2..j * 2 + 2]);
        // x(t) = x0 e^{-t}.
        let x0 = wide[j * 4 * 2];
        assert!((wide[(j * 4 + 2) * 2] - x0 * (-p.times[2]).exp()).abs() < 1e-6);
    }
    let refused = engine.run(&spec.clone().paths(70, Some(3))).unwrap_err();
    assert!(
        refused.to_string().contains("output.paths.every"),
        "{refused}"
    );
}

/// Histograms binned on the host at the final time: of the observable `x + y`, normal with
/// variance C_xx + C_yy + 2 C_xy, each bin within 5 standard errors of its exact probability;
/// a 2-D histogram of (x, y) whose y range holds every value has the 1-D histogram of x as its
/// marginal, count for count; the final states are read for them and not returned.
fn host_histograms_follow_the_exact_law(engine: &Engine) {
    let spec = base_spec()
        .observable("s", "x + y")
        .add_histogram(2, 20, (-1.5, 2.0))
        .add_histogram(0, 16, (-1.0, 1.6))
        .histogram2d([0, 1], [16, 7], [(-1.0, 1.6), (-10.0, 10.0)]);
    let r = engine.run(&spec).unwrap();
    assert!(r.final_states.is_none());
    let (mean, c) = exact(50);
    let (m, sd) = (
        mean[0] + mean[1],
        (c[0][0] + c[1][1] + 2.0 * c[0][1]).sqrt(),
    );
    let n = r.trajectories as f64;
    let cdf = |v: f64| 0.5 * (1.0 + common::erf((v - m) / (sd * 2f64.sqrt())));
    let h = &r.histograms[0];
    let edges = h.edges();
    for (b, &count) in h.counts.iter().enumerate() {
        let p = cdf(edges[b + 1]) - cdf(edges[b]);
        let se = (p * (1.0 - p) / n).sqrt().max(1.0 / n);
        assert_within(&format!("bin {b} of x + y"), count as f64 / n, p, se, 5.0);
    }
    assert_eq!(
        h.counts.iter().sum::<u64>() + h.underflow + h.overflow + h.non_finite,
        r.trajectories
    );
    let two = r.histogram2d.as_ref().unwrap();
    assert_eq!(
        two.outside,
        r.histograms[1].underflow + r.histograms[1].overflow
    );
    for (i, &count) in r.histograms[1].counts.iter().enumerate() {
        let row: u64 = two.counts[i * 7..(i + 1) * 7].iter().sum();
        assert_eq!(row, count, "row {i}");
    }
}

on_every_backend!(
    host_histograms_follow_the_exact_law,
    quantiles_of_ornstein_uhlenbeck_follow_the_normal_law,
    paths_end_at_the_final_states_with_exact_increments,
    adaptive_paths_keep_f64,
    covariance_follows_the_euler_maruyama_recursion,
    observables_read_each_trajectorys_parameters,
    an_indicator_of_a_jump_process_has_the_exact_probability,
);

/// The device folds as many values per trajectory as the kernel allows (39 observables and the
/// covariance of 41 values: 861 columns, 58,971 loop iterations per block, close to the 65,535
/// that llvmpipe runs), over whole and partial blocks, and agrees with the twin; two more
/// observables are refused.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn gpu_and_twin_agree_on_the_widest_observation() {
    let Some(gpu) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let cpu = Engine::new(langevin::BackendChoice::Cpu).unwrap();
    let mut spec = base_spec().trajectories(200).covariance(true);
    for i in 0..39 {
        spec = spec.observable(&format!("o{i}"), &format!("x + {i}*y^2 - c"));
    }
    assert_eq!(spec.columns(2).width(), 861);
    assert_eq!(spec.columns(2).loop_cost(5, 0), 58_971);
    let wider = spec.clone().observable("o39", "x").observable("o40", "y");
    let refused = cpu.run(&wider).unwrap_err().to_string();
    assert!(refused.contains("output.observables"), "{refused}");
    let (a, b) = (gpu.run(&spec).unwrap(), cpu.run(&spec).unwrap());
    for k in 0..a.times.len() {
        let (ca, cb) = (a.covariance(k).unwrap(), b.covariance(k).unwrap());
        let m = 41;
        for (i, (x, y)) in ca.iter().zip(&cb).enumerate() {
            // The states agree to rounding, and a covariance from pair sums carries the
            // rounding of the variances it is the difference of.
            let scale = cb[(i / m) * (m + 1)] + cb[(i % m) * (m + 1)];
            assert!(
                (x - y).abs() <= 1e-5 * scale,
                "covariance entry {i} at save {k}: {x} on the GPU, {y} on the twin"
            );
        }
        for (x, y) in a.observables.moments[k]
            .iter()
            .zip(&b.observables.moments[k])
        {
            assert_eq!(x.count, y.count);
            assert!((x.mean - y.mean).abs() <= 1e-5 * (x.mean.abs() + 1.0));
        }
    }
}
