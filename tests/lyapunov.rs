//! Lyapunov exponents against published values: Lorenz (sigma 10, rho 28, beta 8/3) has
//! lambda_1 = 0.9056 (Sprott, "Chaos and Time-Series Analysis", 2003, table A.1), Rossler
//! (a = b = 0.2, c = 5.7) lambda_1 = 0.0714; Lorenz's spectrum sums to the constant
//! divergence -(sigma + 1 + beta) and has a zero exponent along the flow.

mod common;
use langevin::lyapunov::{self, LyapunovRun};
use langevin::{Engine, ExprModel};

fn model(state: &[&str], params: &[(&str, f64)], drift: &[&str]) -> ExprModel {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let p: Vec<(String, f64)> = params.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    ExprModel::new("m", &s(state), &p, &s(drift), &[]).unwrap()
}

fn lorenz() -> ExprModel {
    model(
        &["x", "y", "z"],
        &[("sigma", 10.0), ("rho", 28.0), ("beta", 8.0 / 3.0)],
        &["sigma * (y - x)", "x * (rho - z) - y", "x * y - beta * z"],
    )
}

fn rossler() -> ExprModel {
    model(
        &["x", "y", "z"],
        &[("a", 0.2), ("b", 0.2), ("c", 5.7)],
        &["-y - z", "x + a * y", "b + z * (x - c)"],
    )
}

fn largest_exponents_match_the_published_values(engine: &Engine) {
    let run = LyapunovRun {
        x0: vec![1.0, 1.0, 20.0],
        spread: 0.5,
        t_burn: 10.0,
        t_end: 110.0,
        dt: 0.005,
        trajectories: 64,
        seed: 9,
    };
    let l = lyapunov::largest_exponent(engine, &lorenz(), &run).unwrap();
    eprintln!("Lorenz: {l:?}");
    assert_eq!(l.diverged, 0);
    assert!((l.exponent - 0.9056).abs() <= 0.05 * 0.9056, "{l:?}");
    assert!(l.std_error < 0.01, "{l:?}");

    let run = LyapunovRun {
        x0: vec![1.0, 1.0, 0.0],
        spread: 0.5,
        t_burn: 50.0,
        t_end: 2050.0,
        dt: 0.02,
        trajectories: 64,
        seed: 9,
    };
    let l = lyapunov::largest_exponent(engine, &rossler(), &run).unwrap();
    eprintln!("Rossler: {l:?}");
    assert!((l.exponent - 0.0714).abs() <= 0.1 * 0.0714, "{l:?}");
}

/// A run too short for the finite-time exponent (Lorenz from (1, 1, 20) to t = 20, counted
/// after t = 2) is not accepted as converged: the estimate is run again, longer, until the
/// two halves of its window agree, and then lies within 2% of the published 0.9056.
fn a_short_run_is_lengthened_until_its_halves_agree(engine: &Engine) {
    let run = LyapunovRun {
        x0: vec![1.0, 1.0, 20.0],
        spread: 0.1,
        t_burn: 2.0,
        t_end: 20.0,
        dt: 0.002,
        trajectories: 512,
        seed: 5,
    };
    let c = lyapunov::converged_exponent(engine, &lorenz(), &run, Some(0.1), 320.0).unwrap();
    eprintln!("{c:?}");
    assert!(c.converged, "{c:?}");
    assert!(c.t_end > 20.0, "the first run was accepted: {c:?}");
    assert!(
        (c.estimate.exponent - 0.9056).abs() <= 0.02 * 0.9056,
        "{c:?}"
    );
    assert_eq!(c.running.len(), 8);
    // Without room to run longer, the same short run is reported as not converged.
    let short = lyapunov::converged_exponent(engine, &lorenz(), &run, Some(0.1), 20.0).unwrap();
    assert!(!short.converged, "{short:?}");
    assert_eq!(short.t_end, 20.0);
}

on_every_backend!(
    largest_exponents_match_the_published_values,
    a_short_run_is_lengthened_until_its_halves_agree
);

#[test]
fn lorenz_spectrum_sums_to_the_divergence() {
    let s = lyapunov::spectrum(&lorenz(), &[1.0, 1.0, 20.0], 20.0, 520.0, 0.002).unwrap();
    eprintln!("Lorenz spectrum {s:?}");
    let divergence = -(10.0 + 1.0 + 8.0 / 3.0);
    assert!(
        (s.iter().sum::<f64>() - divergence).abs() < 1e-6 * divergence.abs(),
        "{s:?}"
    );
    assert!((s[0] - 0.9056).abs() <= 0.05 * 0.9056, "{s:?}");
    assert!(s[1].abs() < 0.01, "{s:?}");
    assert!((s[2] - (-14.5723)).abs() <= 0.01 * 14.5723, "{s:?}");
}

#[test]
fn noisy_or_large_models_are_refused() {
    let noisy = ExprModel::new("n", &["x".into()], &[], &["-x".into()], &["1".into()]).unwrap();
    let err = lyapunov::tangent_model(&noisy, 0.0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("deterministic"), "{err}");
    let names: Vec<String> = (0..4).map(|i| format!("x{i}")).collect();
    let drift: Vec<String> = (0..4).map(|i| format!("-x{i}")).collect();
    let big = ExprModel::new("b", &names, &[], &drift, &[]).unwrap();
    let err = lyapunov::tangent_model(&big, 0.0).unwrap_err().to_string();
    assert!(err.contains("9 components"), "{err}");
}
