//! Per-trajectory time averages (iterate averaging) against the exact law of the
//! Euler-Maruyama recursion for Ornstein-Uhlenbeck, x' = a x + b xi with a = 1 - theta dt and
//! b = sigma sqrt(dt), started in its stationary law N(0, s^2), s^2 = b^2 / (1 - a^2): the
//! average of N successive states has mean 0 and variance
//! s^2 / N^2 (N + 2 sum_{k=1}^{N-1} (N - k) a^k), and the average of their squares has mean s^2.

mod common;
use common::assert_within;
use langevin::{Engine, EnsembleSpec, OrnsteinUhlenbeck, SaveAt, Scheme};

const THETA: f64 = 2.0;
const SIGMA: f64 = 0.8;
const DT: f64 = 0.01;

fn stationary_variance() -> f64 {
    let a = 1.0 - THETA * DT;
    SIGMA * SIGMA * DT / (1.0 - a * a)
}

fn variance_of_the_average(n: u32) -> f64 {
    let a = 1.0 - THETA * DT;
    let n = f64::from(n);
    let mut sum = n;
    let mut ak = 1.0;
    for k in 1..n as u32 {
        ak *= a;
        sum += 2.0 * (n - f64::from(k)) * ak;
    }
    stationary_variance() * sum / (n * n)
}

fn spec(from: f64) -> EnsembleSpec {
    let s = stationary_variance().sqrt();
    EnsembleSpec::new(OrnsteinUhlenbeck::new(THETA, 0.0, SIGMA))
        .scheme(Scheme::EulerMaruyama)
        .initial_normal(&[0.0], &[s])
        .time_span(0.0, 5.0)
        .dt(DT)
        .trajectories(1 << 15)
        .seed(21)
        .save_at(SaveAt::Count(2))
        .time_average(from)
}

fn averages_follow_the_exact_recursion(engine: &Engine) {
    // 1.004 lies between grid points: the window starts after step 100 (t = 1.00).
    let r = engine.run(&spec(1.004)).unwrap();
    let avg = r.time_average.as_ref().unwrap();
    assert_eq!(avg.samples, 400);
    assert!((avg.from - 1.0).abs() < 1e-12 && (avg.to - 5.0).abs() < 1e-12);
    let m = &avg.mean[0];
    assert_eq!(m.count, 1 << 15);
    let v = variance_of_the_average(avg.samples);
    assert_within(
        "mean of the time averages",
        m.mean,
        0.0,
        (v / m.count as f64).sqrt(),
        5.0,
    );
    let se = v * (2.0 / (m.count as f64 - 1.0)).sqrt();
    assert_within("variance of the time averages", m.variance(), v, se, 5.0);
    let sq = &avg.square[0];
    assert_within(
        "mean of the time-averaged squares",
        sq.mean,
        stationary_variance(),
        sq.std_error(),
        5.0,
    );
}

/// The sums are carried across dispatches and batches: chunking does not change them beyond
/// f32 rounding of the compensated sums.
fn chunking_does_not_change_the_averages(engine: &Engine) {
    let whole = engine.run(&spec(0.0)).unwrap();
    let chunked = engine
        .run(&spec(0.0).chunking(langevin::Chunking {
            max_batch_trajectories: Some(4096),
            steps_per_dispatch: Some(37),
            max_batch_bytes: None,
            cpu_lanes: None,
        }))
        .unwrap();
    let (a, b) = (
        &whole.time_average.unwrap().mean[0],
        &chunked.time_average.unwrap().mean[0],
    );
    assert_eq!(a.count, b.count);
    assert!((a.mean - b.mean).abs() < 1e-7, "{} vs {}", a.mean, b.mean);
    assert!((a.m2 - b.m2).abs() < 1e-6 * a.m2, "{} vs {}", a.m2, b.m2);
}

#[test]
fn a_window_outside_the_run_or_with_a_stopping_event_is_refused() {
    let err = spec(5.0).resolve().unwrap_err().to_string();
    assert!(err.contains("output.time_average.from"), "{err}");
    let err = spec(1.0)
        .event("x > 1", langevin::EventAction::Stop)
        .resolve()
        .unwrap_err()
        .to_string();
    assert!(err.contains("stopping event"), "{err}");
}

/// Observables are averaged beside the state: `x^2` (a product, as the state's square is) has
/// the time-averaged square's bits, an indicator `x > 0` has mean 1/2 in the stationary law
/// (within 5 standard errors over the trajectories), and the sums survive chunking; more than
/// 16 observables with time averages are refused.
fn observables_are_averaged_over_time(engine: &Engine) {
    let observed = spec(1.004)
        .observable("square", "x^2")
        .observable("right", "x > 0")
        .chunking(langevin::Chunking {
            max_batch_trajectories: Some(8192),
            steps_per_dispatch: Some(53),
            max_batch_bytes: None,
            cpu_lanes: None,
        });
    let r = engine.run(&observed).unwrap();
    let avg = r.time_average.as_ref().unwrap();
    assert_eq!(avg.mean.len(), 3);
    assert_eq!(avg.mean[1].mean.to_bits(), avg.square[0].mean.to_bits());
    assert_eq!(avg.mean[1].m2.to_bits(), avg.square[0].m2.to_bits());
    let right = &avg.mean[2];
    assert_eq!(right.count, 1 << 15);
    assert_within(
        "time share right of 0",
        right.mean,
        0.5,
        right.std_error(),
        5.0,
    );
    // An indicator's square is itself.
    assert_eq!(avg.square[2].mean.to_bits(), right.mean.to_bits());
    let mut many = spec(1.0);
    for i in 0..17 {
        many = many.observable(&format!("o{i}"), "x");
    }
    let err = many.resolve().unwrap_err().to_string();
    assert!(err.contains("output.observables"), "{err}");
}

on_every_backend!(
    averages_follow_the_exact_recursion,
    chunking_does_not_change_the_averages,
    observables_are_averaged_over_time,
);
