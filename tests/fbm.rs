//! The Markov approximation of fractional Brownian motion in `examples/configs/fbm_markov.toml`:
//! its weights follow from the mixture-of-exponentials kernel, its variance stays within 7% of
//! Riemann-Liouville fBm's t^(2H) / (2H Gamma(H + 1/2)^2) on [0.1, 10], and the ensemble
//! follows the exact covariance recursion of Euler-Maruyama for the linear system.

mod common;
use common::assert_within;
use langevin::config::Config;
use langevin::{BackendChoice, Engine};
use std::path::Path;

const H: f64 = 0.3;
const FACTORS: usize = 7;

fn config(overrides: &[(&str, &str)]) -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/configs/fbm_markov.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_toml(&path.display().to_string(), &text, &overrides).unwrap()
}

/// Gamma by the Lanczos approximation (g = 7, n = 9), good to 1e-15 for x > 0.5.
fn gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma(1.0 - x));
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let sum: f64 = C[0]
        + C[1..]
            .iter()
            .enumerate()
            .map(|(i, c)| c / (x + i as f64 + 1.0))
            .sum::<f64>();
    (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * sum
}

/// Weights and rates: the rate axis cut at 0 and seven geometric points from 0.1 to 1000;
/// each interval's weight of g^(a - 1) / (Gamma(a) Gamma(H + 1/2)) and its mean rate.
fn weights_and_rates() -> (Vec<f64>, Vec<f64>) {
    let a = 0.5 - H;
    let norm = gamma(H + 0.5) * gamma(a);
    let r = (1000.0f64 / 0.1).powf(1.0 / (FACTORS as f64 - 1.0));
    let mut edges = vec![0.0];
    edges.extend((0..FACTORS).map(|i| 0.1 * r.powi(i as i32)));
    edges
        .windows(2)
        .map(|e| {
            let (lo, hi) = (e[0], e[1]);
            let mass = (hi.powf(a) - lo.powf(a)) / a;
            let first = (hi.powf(a + 1.0) - lo.powf(a + 1.0)) / (a + 1.0);
            (mass / norm, first / mass)
        })
        .unzip()
}

fn fbm_variance(t: f64) -> f64 {
    t.powf(2.0 * H) / (2.0 * H * gamma(H + 0.5).powi(2))
}

/// Var z at the given times under x' = (I + dt M) x + b dW: C' = A C A^T + b b^T dt.
fn em_variance_of_z(c: &[f64], g: &[f64], dt: f64, times: &[f64]) -> Vec<f64> {
    let d = FACTORS + 1;
    let mut a = vec![vec![0.0; d]; d];
    for k in 0..FACTORS {
        a[k][k] = 1.0 - dt * g[k];
        a[FACTORS][k] = -dt * c[k] * g[k];
    }
    a[FACTORS][FACTORS] = 1.0;
    let mut b = vec![1.0; d];
    b[FACTORS] = c.iter().sum();
    let mut cov = vec![vec![0.0; d]; d];
    let mut out = Vec::new();
    let mut step = 0u64;
    for &t in times {
        let target = (t / dt).round() as u64;
        while step < target {
            // A C A^T + b b^T dt.
            let ac: Vec<Vec<f64>> = (0..d)
                .map(|i| {
                    (0..d)
                        .map(|j| (0..d).map(|k| a[i][k] * cov[k][j]).sum())
                        .collect()
                })
                .collect();
            for i in 0..d {
                for j in 0..d {
                    cov[i][j] = (0..d).map(|k| ac[i][k] * a[j][k]).sum::<f64>() + b[i] * b[j] * dt;
                }
            }
            step += 1;
        }
        out.push(cov[FACTORS][FACTORS]);
    }
    out
}

#[test]
fn the_example_weights_follow_from_the_kernel() {
    let (c, g) = weights_and_rates();
    let params = config(&[]).model.params.clone();
    for k in 0..FACTORS {
        for (name, exact) in [(format!("c{k}"), c[k]), (format!("g{k}"), g[k])] {
            let given = params[&name];
            assert!(
                ((given - exact) / exact).abs() < 1e-8,
                "{name} = {given}, the kernel gives {exact}"
            );
        }
    }
}

#[test]
fn the_approximation_is_within_seven_percent_of_fbm() {
    let (c, g) = weights_and_rates();
    let times = [0.1, 0.3, 1.0, 3.0, 10.0];
    let dt = config(&[]).dt().unwrap();
    for (t, v) in times.iter().zip(em_variance_of_z(&c, &g, dt, &times)) {
        let ratio = v / fbm_variance(*t);
        eprintln!("t = {t}: Var z / Var B_H = {ratio:.4}");
        assert!((0.93..=1.0).contains(&ratio), "t = {t}: ratio {ratio}");
    }
}

#[test]
fn the_ensemble_follows_the_exact_recursion() {
    let engine = common::engine(BackendChoice::Gpu)
        .unwrap_or_else(|| Engine::new(BackendChoice::Cpu).unwrap());
    let cfg = config(&[
        ("solver.t_end", "1.0"),
        ("output.save_times", "[0.1, 0.3, 1.0]"),
    ]);
    let spec = cfg.to_spec().unwrap();
    let r = engine.run(&spec).unwrap();
    let (c, g) = weights_and_rates();
    let exact = em_variance_of_z(&c, &g, cfg.dt().unwrap(), &r.times);
    for (k, t) in r.times.iter().enumerate() {
        let m = &r.moments[k][FACTORS];
        let se = exact[k] * (2.0 / (m.count as f64 - 1.0)).sqrt();
        assert_within(&format!("Var z({t})"), m.variance(), exact[k], se, 5.0);
    }
}
