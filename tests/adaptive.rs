//! Adaptive Dormand-Prince 5(4) against an f64 reference: the error follows the tolerance,
//! the step count grows as tol^(-1/5) (a fifth-order method), save times are landed on
//! exactly, and trajectories that run out of attempts are counted and left out.

mod common;
use langevin::{zoo, Engine, EnsembleSpec, Precision, SaveAt, Scheme, Sweep};
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
        .fold(0.0, common::max_or_nan);
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

/// Whether the engine runs f64 kernels; a GPU adapter without SHADER_F64 must refuse them,
/// naming the setting.
fn runs_f64(engine: &Engine) -> bool {
    let gpu = engine.device().kind == langevin::BackendKind::Gpu;
    if !gpu || engine.device().features.iter().any(|f| f == "SHADER_F64") {
        return true;
    }
    let err = engine
        .run(&lorenz_spec().precision(Precision::F64))
        .unwrap_err()
        .to_string();
    assert!(err.contains("solver.precision"), "{err}");
    false
}

/// In f64 the error keeps following the tolerance far below what f32 resolves (its ulp at
/// |x| ~ 20 is 1.9e-6): at 1e-11 the final state is within 1e-8 of the reference. The f32
/// final states are the f64 ones rounded.
fn f64_error_follows_the_tolerance_below_f32_resolution(engine: &Engine) {
    if !runs_f64(engine) {
        return;
    }
    let reference = common::lorenz_f64([1.0, 1.0, 20.0], 1.0);
    let tols = [1e-7, 1e-9, 1e-11];
    let mut errors = Vec::new();
    for &tol in &tols {
        let r = engine
            .run(
                &lorenz_spec()
                    .precision(Precision::F64)
                    .tolerances(tol, tol)
                    .save_at(SaveAt::Count(1)),
            )
            .unwrap();
        let (wide, narrow) = (r.final_states_f64.unwrap(), r.final_states.unwrap());
        assert_eq!(wide.len(), 64 * 3);
        for (w, n) in wide.iter().zip(&narrow) {
            assert_eq!(*w as f32, *n);
        }
        let err = (0..3)
            .map(|i| (wide[i] - reference[i]).abs())
            .fold(0.0, common::max_or_nan);
        let stats = r.adaptive.unwrap();
        assert_eq!(stats.exhausted, 0);
        eprintln!(
            "dopri5 f64 tol {tol:.0e}: max error {err:.3e}, {:.1} accepted steps",
            stats.accepted as f64 / 64.0
        );
        errors.push(err);
    }
    let log_tol: Vec<f64> = tols.iter().map(|t| t.ln()).collect();
    let log_err: Vec<f64> = errors.iter().map(|e| e.ln()).collect();
    let slope = common::slope(&log_tol, &log_err);
    assert!((0.7..=1.3).contains(&slope), "error ~ tol^{slope:.2}");
    assert!(errors[2] < 1e-8, "error {:.3e} at 1e-11", errors[2]);
}

/// f64 runs read their parameters, swept values and initial state in f64 (as f32 pairs):
/// sigma = 10 + 3e-7, rho = 28 + k 1e-7 and x0 = 1 + 3e-7 (f32 would round them by 3e-7,
/// up to 9.5e-7, and 6e-8), each trajectory within 1e-8 of the f64 flow of its own
/// parameters. Neighbouring rho move the final state by far more than that bound, so a
/// rounded parameter would fail it.
fn f64_parameters_and_sweeps_keep_their_precision(engine: &Engine) {
    if !runs_f64(engine) {
        return;
    }
    let sigma = 10.0 + 3e-7;
    let rhos: Vec<f64> = (0..64).map(|k| 28.0 + f64::from(k) * 1e-7).collect();
    let model = zoo::system("lorenz")
        .unwrap()
        .model(&[("sigma".into(), sigma)], 0.0)
        .unwrap();
    let spec = EnsembleSpec::with_model(Arc::new(model))
        .scheme(Scheme::Dopri5)
        .precision(Precision::F64)
        .tolerances(1e-11, 1e-11)
        .initial_fixed(&[1.0 + 3e-7, 1.0, 20.0])
        .time_span(0.0, 1.0)
        .dt(1e-3)
        .trajectories(64)
        .sweep(Sweep::new("rho", &rhos))
        .final_states(true)
        .save_at(SaveAt::Count(1));
    let finals = engine.run(&spec).unwrap().final_states_f64.unwrap();
    let mut worst = 0.0f64;
    for (k, rho) in rhos.iter().enumerate() {
        let exact = common::lorenz_f64_with([sigma, *rho, 8.0 / 3.0], [1.0 + 3e-7, 1.0, 20.0], 1.0);
        for i in 0..3 {
            worst = common::max_or_nan(worst, (finals[3 * k + i] - exact[i]).abs());
        }
    }
    let step = (0..3)
        .map(|i| (finals[3 + i] - finals[i]).abs())
        .fold(0.0, common::max_or_nan);
    eprintln!("f64 sweep: worst error {worst:.3e}; rho + 1e-7 moves the state {step:.3e}");
    assert!(worst < 1e-8, "worst error {worst:.3e}");
    assert!(step > 1e-7, "rho + 1e-7 moved the state only {step:.3e}");
}

on_every_backend!(
    error_follows_the_tolerance,
    save_times_are_landed_on,
    exhausted_trajectories_are_counted_and_left_out,
    f64_error_follows_the_tolerance_below_f32_resolution,
    f64_parameters_and_sweeps_keep_their_precision
);

#[test]
fn f64_is_for_dopri5_and_resolves_below_f32() {
    let err = lorenz_spec()
        .scheme(Scheme::Rk4)
        .precision(Precision::F64)
        .resolve()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("solver.precision") && err.contains("dopri5"),
        "{err}"
    );
    lorenz_spec()
        .precision(Precision::F64)
        .tolerances(1e-12, 1e-12)
        .resolve()
        .unwrap();
    let err = lorenz_spec()
        .precision(Precision::F64)
        .tolerances(1e-16, 1e-16)
        .resolve()
        .unwrap_err()
        .to_string();
    assert!(err.contains("solver.rtol") && err.contains("f64"), "{err}");
}

#[test]
fn tolerances_below_f32_resolution_are_refused() {
    let err = lorenz_spec()
        .tolerances(1e-9, 1e-9)
        .resolve()
        .unwrap_err()
        .to_string();
    assert!(err.contains("solver.rtol"), "{err}");
}
