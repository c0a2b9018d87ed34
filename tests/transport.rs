//! Transport coefficients of the example configs against exact results: the drift velocity in a
//! tilted periodic potential (Stratonovich's formula) and the diffusion coefficient of a
//! generalised Langevin equation (Green-Kubo: D = kT / integral of the memory kernel).

mod common;
use common::assert_within;
use langevin::config::Config;
use langevin::{BackendChoice, Engine, Moments};
use std::path::Path;

fn config(name: &str) -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/configs")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    Config::from_toml(&path.display().to_string(), &text, &[]).unwrap()
}

fn engine() -> Engine {
    common::engine(BackendChoice::Gpu).unwrap_or_else(|| Engine::new(BackendChoice::Cpu).unwrap())
}

/// Simpson's rule on [a, b] with n (even) intervals.
fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
    let h = (b - a) / n as f64;
    let inner: f64 = (1..n)
        .map(|i| f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
        .sum();
    (f(a) + f(b) + inner) * h / 3.0
}

/// A bound on the standard error of `mean(x(t1)) - mean(x(t0))` from the two marginal
/// standard deviations alone: sd(x1 - x0) <= sd(x1) + sd(x0) whatever their correlation.
fn difference_se(m1: &Moments, m0: &Moments) -> f64 {
    (m1.variance().sqrt() + m0.variance().sqrt()) / (m1.count as f64).sqrt()
}

/// v = kT L (1 - exp(-F L / kT)) / int_0^L dx int_0^L dy exp([U(x + y) - U(x) - F y] / kT)
/// for dx = (-U'(x) + F) dt + sqrt(2 kT) dW with U of period L (Stratonovich 1958).
#[test]
fn tilted_periodic_drift_velocity_is_stratonovichs() {
    let cfg = config("tilted_periodic.toml");
    let p = &cfg.model.params;
    let (v0, l, f, kt) = (p["V0"], p["L"], p["F"], p["kT"]);
    let u = |x: f64| v0 * (2.0 * std::f64::consts::PI * x / l).cos();
    let inner = |x: f64| simpson(|y| ((u(x + y) - u(x) - f * y) / kt).exp(), 0.0, l, 2000);
    let double = simpson(inner, 0.0, l, 2000);
    let exact = kt * l * (1.0 - (-f * l / kt).exp()) / double;

    let r = engine().run(&cfg.to_spec().unwrap()).unwrap();
    let (t0, t1) = (r.times[1], r.times[2]);
    let (m0, m1) = (r.moments[1][0], r.moments[2][0]);
    let v = (m1.mean - m0.mean) / (t1 - t0);
    let se = difference_se(&m1, &m0) / (t1 - t0);
    eprintln!("tilted periodic: v = {v:.5} (exact {exact:.5}, se {se:.2e}, free drift {f})");
    assert_within("drift velocity", v, exact, se, 5.0);
    assert!(
        exact < 0.9 * f,
        "the potential must slow the particle measurably"
    );
}

/// The embedded GLE's mean-square displacement grows as 2 D t with D = kT / gamma at long
/// times; q is Gaussian (a linear system with Gaussian data), so Var(q^2) = 2 MSD^2.
#[test]
fn gle_diffusion_coefficient_is_green_kubos() {
    let cfg = config("gle_free_particle.toml");
    let p = &cfg.model.params;
    let exact = p["kT"] / p["gamma"];
    let r = engine().run(&cfg.to_spec().unwrap()).unwrap();
    let msd = |k: usize| {
        let m = r.moments[k][0];
        (m.variance() + m.mean * m.mean, m.count as f64)
    };
    let ((a, n), (b, _)) = (msd(1), msd(2));
    let span = r.times[2] - r.times[1];
    let d = (b - a) / (2.0 * span);
    let se = (a + b) * (2.0 / n).sqrt() / (2.0 * span);
    eprintln!("GLE: D = {d:.5} (Green-Kubo {exact:.5}, se {se:.2e})");
    assert_within("diffusion coefficient", d, exact, se, 5.0);
}
