//! The virtual Brownian tree and the adaptive SDE schemes that step on it.
//!
//! The tree against the law of Brownian motion: increments N(0, t1 - t0), Cov(W_s, W_t) =
//! min(s, t), space-time Levy areas N(0, h / 12) independent of the increment, one value per
//! interval however it is asked for. The adaptive schemes: exact on pure noise, the same path
//! on both backends, and adaptive SRA1 reaching a target error in fewer steps than fixed SRA1
//! on a drift with a narrow pulse in time.

mod common;
use langevin::cpu::brownian_tree::BrownianTree;
use langevin::{Engine, EnsembleSpec, ExprModel, SaveAt, Scheme};
use std::sync::Arc;

const SAMPLES: u32 = 20_000;
const DEPTH: u32 = 10;

fn tree(trajectory: u32) -> BrownianTree {
    BrownianTree {
        key: [0x1234_5678, 0x9abc_def0],
        trajectory: [trajectory, 0],
        span: 2.0,
        depth: DEPTH,
        noise: 1,
    }
}

/// Time of leaf boundary `leaf`.
fn time(leaf: u32) -> f64 {
    2.0 * f64::from(leaf) / f64::from(1u32 << DEPTH)
}

/// Sample variance and its standard error for normal data (sqrt(2 / (n - 1)) sigma^2).
fn variance(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (var, var * (2.0 / (n - 1.0)).sqrt())
}

/// Sample covariance of centred normals and its standard error, sqrt((sx^2 sy^2 + c^2) / n).
fn covariance(xs: &[f64], ys: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let c = xs.iter().zip(ys).map(|(x, y)| x * y).sum::<f64>() / n;
    let sx = xs.iter().map(|x| x * x).sum::<f64>() / n;
    let sy = ys.iter().map(|y| y * y).sum::<f64>() / n;
    (c, ((sx * sy + c * c) / n).sqrt())
}

#[test]
fn increments_and_levy_areas_have_the_brownian_law() {
    // Dyadic and ragged intervals, one leaf to the whole span.
    for (a, b) in [(0, 1024), (0, 1), (100, 357), (511, 513), (3, 1000)] {
        let pieces: Vec<_> = (0..SAMPLES).map(|j| tree(j).increment(a, b)).collect();
        let h = time(b) - time(a);
        let w: Vec<f64> = pieces.iter().map(|p| f64::from(p.w[0])).collect();
        let area: Vec<f64> = pieces.iter().map(|p| f64::from(p.levy_area(0))).collect();
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        common::assert_within(
            &format!("mean W[{a}, {b})"),
            mean,
            0.0,
            (h / f64::from(SAMPLES)).sqrt(),
            5.0,
        );
        let (v, se) = variance(&w);
        common::assert_within(&format!("Var W[{a}, {b})"), v, h, se, 5.0);
        let (v, se) = variance(&area);
        common::assert_within(&format!("Var H[{a}, {b})"), v, h / 12.0, se, 5.0);
        let (c, se) = covariance(&w, &area);
        common::assert_within(&format!("Cov(W, H)[{a}, {b})"), c, 0.0, se, 5.0);
    }
}

#[test]
fn covariance_of_values_is_the_smaller_time() {
    for (s, t) in [(100u32, 700u32), (512, 513), (1, 1024), (300, 300)] {
        let ws: Vec<f64> = (0..SAMPLES)
            .map(|j| f64::from(tree(j).increment(0, s).w[0]))
            .collect();
        let wt: Vec<f64> = (0..SAMPLES)
            .map(|j| f64::from(tree(j).increment(0, t).w[0]))
            .collect();
        let (c, se) = covariance(&ws, &wt);
        common::assert_within(&format!("Cov(W({s}), W({t}))"), c, time(s.min(t)), se, 5.0);
    }
}

/// Disjoint intervals are independent: increments and areas of neighbours do not correlate.
#[test]
fn neighbouring_intervals_are_independent() {
    let (a, b, c) = (200, 333, 900);
    let left: Vec<_> = (0..SAMPLES).map(|j| tree(j).increment(a, b)).collect();
    let right: Vec<_> = (0..SAMPLES).map(|j| tree(j).increment(b, c)).collect();
    let pick = |ps: &[langevin::cpu::brownian_tree::Piece], area: bool| -> Vec<f64> {
        ps.iter()
            .map(|p| f64::from(if area { p.levy_area(0) } else { p.w[0] }))
            .collect()
    };
    for (la, ra) in [(false, false), (true, true), (false, true), (true, false)] {
        let (cv, se) = covariance(&pick(&left, la), &pick(&right, ra));
        common::assert_within(&format!("Cov (area {la}, area {ra})"), cv, 0.0, se, 5.0);
    }
}

#[test]
fn an_interval_has_one_value_however_it_is_asked_for() {
    let t = tree(42);
    let once = t.increment(37, 801);
    // The same query again, after others, and the interval as the sum of its pieces.
    for _ in 0..3 {
        let _ = t.increment(0, 1024);
        assert_eq!(t.increment(37, 801), once);
    }
    let mut w = 0.0f64;
    for (a, b) in [(37, 64), (64, 65), (65, 512), (512, 801)] {
        w += f64::from(t.increment(a, b).w[0]);
    }
    assert!(
        (w - f64::from(once.w[0])).abs() < 1e-5,
        "{w} vs {}",
        once.w[0]
    );
    // Another trajectory or another key is another path.
    assert_ne!(tree(43).increment(37, 801).w[0], once.w[0]);
    let other_key = BrownianTree {
        key: [1, 2],
        ..tree(42)
    };
    assert_ne!(other_key.increment(37, 801).w[0], once.w[0]);
}

/// `dx = sigma dW`: both adaptive schemes are exact, so x(t) = sigma W(t) at every save time
/// and the variance is sigma^2 t; the GPU walks the same tree as the CPU twin.
fn pure_noise(sigma: f64, scheme: Scheme) -> EnsembleSpec {
    let model = ExprModel::new(
        "pure_noise",
        &["x".into()],
        &[("sigma".into(), sigma)],
        &["0".into()],
        &["sigma".into()],
    )
    .unwrap();
    EnsembleSpec::with_model(Arc::new(model))
        .scheme(scheme)
        .time_span(0.0, 2.0)
        .dt(0.01)
        .trajectories(20_000)
        .seed(5)
        .save_at(SaveAt::Count(5))
        .final_states(true)
}

fn pure_noise_has_the_brownian_variance(engine: &Engine) {
    let sigma = 0.7;
    for scheme in [Scheme::Sra1Adaptive, Scheme::HeunAdaptive] {
        let r = engine.run(&pure_noise(sigma, scheme)).unwrap();
        for (k, &t) in r.times.iter().enumerate().skip(1) {
            let m = &r.moments[k][0];
            let v = m.variance();
            let expected = sigma * sigma * t;
            let se = expected * (2.0 / (m.count as f64 - 1.0)).sqrt();
            common::assert_within(&format!("{scheme}: Var x({t})"), v, expected, se, 5.0);
        }
        assert_eq!(r.adaptive.unwrap().exhausted, 0);
    }
}

#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn gpu_walks_the_same_tree_as_the_cpu_twin() {
    let Some(gpu) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let cpu = common::engine(langevin::BackendChoice::Cpu).unwrap();
    let spec = pure_noise(1.0, Scheme::Sra1Adaptive).trajectories(4096);
    let a = gpu.run(&spec).unwrap().final_states.unwrap();
    let b = cpu.run(&spec).unwrap().final_states.unwrap();
    // The values differ only by the rounding of Box-Muller's log, sin and cos on the device
    // (Vulkan: 3 ulp and an absolute 2^-11 for sin and cos), summed over some 20 tree levels.
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
        .fold(0.0f32, common::max_or_nan_f32);
    eprintln!("largest GPU - CPU difference on the tree: {worst:.2e}");
    for (j, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            (x - y).abs() <= 5e-3 * (1.0 + y.abs()),
            "trajectory {j}: {x} vs {y}"
        );
    }
}

/// `dx = -(1 + K exp(-((t - 5) / w)^2)) x dt + sigma dW` on [0, 10], K = 300, w = 0.05: the
/// relaxation rate rises 300-fold for a few hundredths around t = 5. A fixed step must be
/// short enough for the fastest rate everywhere (h K of order one); an adaptive one only
/// while it lasts.
const SPAN: f64 = 10.0;

fn pulse(scheme: Scheme, dt: f64) -> EnsembleSpec {
    let model = ExprModel::new(
        "pulse",
        &["x".into()],
        &[
            ("K".into(), 300.0),
            ("w".into(), 0.05),
            ("sigma".into(), 0.5),
        ],
        &["-(1 + K * exp(-((t - 5) / w)^2)) * x".into()],
        &["sigma".into()],
    )
    .unwrap();
    let mut spec = EnsembleSpec::with_model(Arc::new(model))
        .scheme(scheme)
        .time_span(0.0, SPAN)
        .dt(dt)
        .trajectories(128)
        .seed(11)
        .initial_fixed(&[1.0])
        .save_at(SaveAt::Count(1))
        .final_states(true);
    spec.adaptive.brownian_tol = Some(SPAN / f64::from(1u32 << 15));
    spec
}

/// Fixed SRA1 on the same tree: the adaptive kernel with tolerances it always meets and its
/// step bounded by `dt`.
fn fixed_on_tree(dt: f64) -> EnsembleSpec {
    let mut spec = pulse(Scheme::Sra1Adaptive, dt).tolerances(1e30, 1e30);
    spec.adaptive.max_dt = Some(dt);
    spec
}

/// RMS over trajectories of the distance to `reference`, and attempts per trajectory.
fn error_and_attempts(engine: &Engine, spec: &EnsembleSpec, reference: &[f32]) -> (f64, f64) {
    let r = engine.run(spec).unwrap();
    let x = r.final_states.unwrap();
    let sq: f64 = x
        .iter()
        .zip(reference)
        .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
        .sum();
    let s = r.adaptive.unwrap();
    assert_eq!(s.exhausted, 0);
    (
        (sq / x.len() as f64).sqrt(),
        (s.accepted + s.rejected) as f64 / x.len() as f64,
    )
}

fn adaptive_sra1_needs_fewer_steps_for_the_same_error(engine: &Engine) {
    let leaf = SPAN / f64::from(1u32 << 15);
    let reference = engine
        .run(&fixed_on_tree(leaf))
        .unwrap()
        .final_states
        .unwrap();
    let target = 1e-3;
    let fixed = (6..=14)
        .map(|p| {
            let dt = SPAN / f64::from(1u32 << p);
            let (e, n) = error_and_attempts(engine, &fixed_on_tree(dt), &reference);
            eprintln!("fixed sra1 dt = {dt:.2e}: rms error {e:.3e}, {n:.0} steps");
            (e, n)
        })
        .find(|(e, _)| *e <= target)
        .expect("fixed SRA1 reaches the target");
    let adaptive = [1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5]
        .into_iter()
        .map(|tol| {
            let spec = pulse(Scheme::Sra1Adaptive, 0.1).tolerances(tol, tol);
            let (e, n) = error_and_attempts(engine, &spec, &reference);
            eprintln!("adaptive sra1 tol {tol:.0e}: rms error {e:.3e}, {n:.1} attempts");
            (e, n)
        })
        .find(|(e, _)| *e <= target)
        .expect("adaptive SRA1 reaches the target");
    assert!(
        adaptive.1 < 0.5 * fixed.1,
        "adaptive: {:.1} attempts, fixed: {:.0} steps for rms error {target}",
        adaptive.1,
        fixed.1
    );
}

on_every_backend!(
    pure_noise_has_the_brownian_variance,
    adaptive_sra1_needs_fewer_steps_for_the_same_error,
);
