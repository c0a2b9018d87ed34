//! Adaptive Dormand-Prince 5(4) against an f64 reference: the error follows the tolerance,
//! the step count grows as tol^(-1/5) (a fifth-order method), save times are landed on
//! exactly, and trajectories that run out of attempts are counted and left out.

mod common;
use langevin::{zoo, Engine, EnsembleSpec, SaveAt, Scheme};
use std::sync::Arc;

fn lorenz_spec() -> EnsembleSpec {
    let model = zoo::system("lorenz").unwrap().model(&[], 0.0).unwrap();
    EnsembleSpec::with_model(Arc::new(model))
        .scheme(Scheme::Dopri5)
        .initial_fixed(&[1.0, 1.0, 20.0])
        .time_span(0.0, 1.0)
        .dt(1e-3)
        .trajectories(64)
        .final_states(true)
}

/// Largest error over the components at t = 1, and the mean accepted steps.
fn error_and_steps(engine: &Engine, tol: f64) -> (f64, f64) {
    let reference = common::lorenz_f64([1.0, 1.0, 20.0], 1.0);
    let r = engine
        .run(&lorenz_spec().tolerances(tol, tol).save_at(SaveAt::Count(1)))
        .unwrap();
    let finals = r.final_states.unwrap();
    let err = (0..3)
        .map(|i| (f64::from(finals[i]) - reference[i]).abs())
        .fold(0.0, f64::max);
    let stats = r.adaptive.unwrap();
    assert_eq!(stats.exhausted, 0);
    (err, stats.accepted as f64 / r.trajectories as f64)
}

fn error_follows_the_tolerance(engine: &Engine) {
    let tols = [1e-3, 1e-4, 1e-5];
    let runs: Vec<(f64, f64)> = tols.iter().map(|&t| error_and_steps(engine, t)).collect();
    for (t, (e, s)) in tols.iter().zip(&runs) {
        eprintln!("dopri5 tol {t:.0e}: max error {e:.3e}, {s:.1} accepted steps");
    }
    let log_tol: Vec<f64> = tols.iter().map(|t| t.ln()).collect();
    let log_err: Vec<f64> = runs.iter().map(|r| r.0.ln()).collect();
    let slope = common::slope(&log_tol, &log_err);
    assert!((0.7..=1.3).contains(&slope), "error ~ tol^{slope:.2}");
    // A fifth-order method takes steps of size ~ tol^(1/5): 100x tighter is 2.5x the steps.
    let ratio = runs[2].1 / runs[0].1;
    assert!(
        (2.0..=3.2).contains(&ratio),
        "steps grew {ratio:.2}x over 100x tolerance"
    );
}

fn save_times_are_landed_on(engine: &Engine) {
    let times = [0.1, 0.37, 1.0];
    let r = engine
        .run(
            &lorenz_spec()
                .tolerances(1e-6, 1e-6)
                .save_at(SaveAt::Times(times.to_vec())),
        )
        .unwrap();
    for (k, &t) in times.iter().enumerate() {
        assert!((r.times[k] - t).abs() < 1e-12);
        let reference = common::lorenz_f64([1.0, 1.0, 20.0], t);
        for (i, (m, x)) in r.moments[k].iter().zip(reference).enumerate() {
            assert_eq!(m.count, 64);
            // Every trajectory starts at the same point: the mean is the trajectory. Its error
            // at t = 1 is about 3 tol |x|; a save time missed by one step (h ~ 0.03,
            // |f| ~ 100) would be off by ~1, far beyond 100 tol |x|.
            let err = (m.mean - x).abs();
            assert!(
                err < 100.0 * 1e-6 * x.abs().max(1.0),
                "t = {t}, x{i}: {} vs {x}",
                m.mean
            );
        }
    }
}

fn exhausted_trajectories_are_counted_and_left_out(engine: &Engine) {
    let r = engine
        .run(&lorenz_spec().max_steps(10).save_at(SaveAt::Count(2)))
        .unwrap();
    let stats = r.adaptive.unwrap();
    assert_eq!(stats.exhausted, 64);
    assert_eq!(stats.accepted + stats.rejected, 64 * 10);
    assert_eq!(r.diverged(1), 64);
    assert_eq!(r.diverged(0), 0);
}

on_every_backend!(
    error_follows_the_tolerance,
    save_times_are_landed_on,
    exhausted_trajectories_are_counted_and_left_out
);

#[test]
fn tolerances_below_f32_resolution_are_refused() {
    let err = lorenz_spec()
        .tolerances(1e-9, 1e-9)
        .resolve()
        .unwrap_err()
        .to_string();
    assert!(err.contains("solver.rtol"), "{err}");
}
