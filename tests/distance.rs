//! Distances between samples against closed forms: W2 between normal laws, the sliced W2 of
//! isotropic Gaussians, the Kolmogorov-Smirnov p-value's law under the null, and W1 between two
//! samples of one law shrinking as 1/sqrt(N). Bounds are five standard errors over seeds.

use langevin::distance::{compare, ks_two_sample, sliced_wasserstein2, wasserstein};
use langevin::philox::{box_muller4, key_of_seed, philox4x32_10};

/// `n` standard normals of stream `seed`.
fn normals(n: usize, seed: u64) -> Vec<f64> {
    let key = key_of_seed(seed);
    (0..n.div_ceil(4) as u32)
        .flat_map(|i| box_muller4(philox4x32_10([i, 0, 0, 99], key)).map(f64::from))
        .take(n)
        .collect()
}

/// The mean of `x` and its standard error.
fn mean_se(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// W2 between N(0, 1) and N(m, s^2) is sqrt(m^2 + (s - 1)^2): the mean over 8 seeds of the
/// empirical W2 between samples of 2^14 (whose bias, O(1/n), is far below the error).
#[test]
fn w2_between_normal_samples_is_the_closed_form() {
    let (m, s) = (0.5, 2.0);
    let exact = (m * m + (s - 1.0f64).powi(2)).sqrt();
    let estimates: Vec<f64> = (0..8)
        .map(|k| {
            let a = normals(1 << 14, 2 * k);
            let b: Vec<f64> = normals(1 << 14, 2 * k + 1)
                .iter()
                .map(|z| m + s * z)
                .collect();
            wasserstein(&a, &b, 2.0)
        })
        .collect();
    let (mean, se) = mean_se(&estimates);
    assert!(
        (mean - exact).abs() < 5.0 * se,
        "{mean} +- {se} against {exact}"
    );
    assert!(se < 0.02, "{se}");
}

/// Every projection of N(0, I) and N(0, s^2 I) in 3-D is N(0, 1) and N(0, s^2): the sliced W2
/// is |s - 1|.
#[test]
fn sliced_w2_of_isotropic_gaussians_is_the_scale_difference() {
    let (dim, s) = (3, 1.5);
    let estimates: Vec<f64> = (0..8)
        .map(|k| {
            let a = normals(3 << 12, 100 + 2 * k);
            let b: Vec<f64> = normals(3 << 12, 101 + 2 * k)
                .iter()
                .map(|z| s * z)
                .collect();
            sliced_wasserstein2(&a, &b, dim, 64, k)
        })
        .collect();
    let (mean, se) = mean_se(&estimates);
    assert!((mean - (s - 1.0)).abs() < 5.0 * se, "{mean} +- {se}");
}

/// Under the null (two samples of one law), the KS p-value is uniform: of 400 pairs of 1000,
/// the share below 0.05 and below 0.5 within five binomial standard errors of 0.05 and 0.5;
/// a shift of half a standard deviation (a KS distance of 2 Phi(1/4) - 1 = 0.197 between the
/// laws, lambda = 4.4, Q = 1e-17) is found with p < 1e-6 every time.
#[test]
fn ks_p_values_are_uniform_under_the_null_and_small_under_a_shift() {
    let trials = 400;
    let p: Vec<f64> = (0..trials)
        .map(|k| ks_two_sample(&normals(1000, 1000 + 2 * k), &normals(1000, 1001 + 2 * k)).p_value)
        .collect();
    for level in [0.05, 0.5] {
        let share = p.iter().filter(|&&v| v < level).count() as f64 / trials as f64;
        let se = (level * (1.0 - level) / trials as f64).sqrt();
        assert!((share - level).abs() < 5.0 * se, "{share} below {level}");
    }
    for k in 0..10 {
        let b: Vec<f64> = normals(1000, 5001 + 2 * k)
            .iter()
            .map(|z| z + 0.5)
            .collect();
        let t = ks_two_sample(&normals(1000, 5000 + 2 * k), &b);
        assert!(t.p_value < 1e-6, "{t:?}");
    }
}

/// W1 between two samples of one law shrinks as 1/sqrt(N): 16 times the samples, a quarter
/// of the distance (means over 16 seeds, five standard errors of the ratio).
#[test]
fn w1_between_samples_of_one_law_shrinks_as_one_over_root_n() {
    let mean_w1 = |n: usize| {
        let w: Vec<f64> = (0..16)
            .map(|k| wasserstein(&normals(n, 7000 + 2 * k), &normals(n, 7001 + 2 * k), 1.0))
            .collect();
        mean_se(&w)
    };
    let ((small, se_small), (large, se_large)) = (mean_w1(1 << 10), mean_w1(1 << 14));
    let ratio = small / large;
    let se = ratio * ((se_small / small).powi(2) + (se_large / large).powi(2)).sqrt();
    assert!((ratio - 4.0).abs() < 5.0 * se, "{ratio} +- {se}");
}

/// `compare` leaves out rows with a non-finite component and counts them; the mean
/// difference and covariance difference are those of the samples, with standard errors.
#[test]
fn compare_counts_diverged_rows_and_reports_differences() {
    let mut a = normals(2 * 4000, 1);
    let b: Vec<f64> = normals(2 * 4000, 2).iter().map(|z| 2.0 * z + 1.0).collect();
    a[7] = f64::NAN;
    a[10] = f64::INFINITY;
    let c = compare(&a, &b, 2);
    assert_eq!(c.samples, [3998, 4000]);
    assert_eq!(c.dropped, [2, 0]);
    for comp in &c.components {
        assert!(
            (comp.mean_diff + 1.0).abs() < 5.0 * comp.mean_diff_se,
            "{comp:?}"
        );
        // Exact for any two samples: W2 >= W1 (Jensen) >= |mean difference|.
        assert!(
            comp.w2 >= comp.w1 && comp.w1 >= comp.mean_diff.abs(),
            "{comp:?}"
        );
    }
    // Var 1 - 4 on the diagonal, 0 off it.
    for (k, expected) in [-3.0, 0.0, 0.0, -3.0].iter().enumerate() {
        let (d, se) = (c.covariance_diff[k], c.covariance_diff_se[k]);
        assert!((d - expected).abs() < 5.0 * se, "entry {k}: {d} +- {se}");
    }
    // Zero only for equal empirical laws (its closed form is tested in one dimension).
    assert!(c.energy_distance > 0.0, "{}", c.energy_distance);
    assert_eq!(c.energy_distance_samples, [3998, 4000]);
}

/// `n` draws of the data law of `examples/configs/score_vp_*.toml`:
/// (N(-2, 0.5^2) + N(2, 0.5^2)) / 2.
fn mixture(n: usize, seed: u64) -> Vec<f64> {
    let key = key_of_seed(seed);
    normals(n, seed)
        .iter()
        .enumerate()
        .map(|(j, z)| {
            let u = philox4x32_10([j as u32, 0, 0, 98], key)[0];
            if u & 1 == 0 {
                -2.0 + 0.5 * z
            } else {
                2.0 + 0.5 * z
            }
        })
        .collect()
}

/// The final states of a shipped config on the CPU twin, with `dt`.
fn final_states(config: &str, dt: f64) -> Vec<f64> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/configs")
        .join(config);
    let text = std::fs::read_to_string(&path).unwrap();
    let overrides = vec![
        ("solver.dt".to_string(), dt.to_string()),
        ("ensemble.trajectories".to_string(), "32768".to_string()),
    ];
    let cfg =
        langevin::config::Config::from_toml(path.to_str().unwrap(), &text, &overrides).unwrap();
    let engine = langevin::Engine::new(langevin::BackendChoice::Cpu).unwrap();
    let r = engine.run(&cfg.to_spec().unwrap()).unwrap();
    r.final_states
        .unwrap()
        .iter()
        .map(|&v| f64::from(v))
        .collect()
}

/// Score-based generation with the exact score (`examples/configs/score_vp_*.toml`): at
/// dt = 0.01 the reverse-time SDE and the probability-flow ODE, from the same initial draws,
/// both give the data law (N(-2, 0.25) + N(2, 0.25)) / 2: a two-sample KS test against draws
/// of it does not reject (p > 1e-4), and E[x^2] is its 4.25 within 5 standard errors
/// (Var x^2 = 22.1875 - 4.25^2). At dt = 0.2 Euler-Maruyama's error near the end, where the
/// score's slope reaches 60, is plain: KS rejects it (p < 1e-6), while RK4 on the flow does not.
#[test]
fn reverse_sde_and_probability_flow_reach_the_data_law() {
    let data = mixture(32768, 77);
    let second_moment = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    let se = (4.125f64 / 32768.0).sqrt();
    for config in ["score_vp_sde.toml", "score_vp_flow.toml"] {
        let x = final_states(config, 0.01);
        let ks = ks_two_sample(&x, &data);
        assert!(ks.p_value > 1e-4, "{config}: {ks:?}");
        let m2 = second_moment(&x);
        assert!((m2 - 4.25).abs() < 5.0 * se, "{config}: E x^2 = {m2}");
    }
    let coarse = ks_two_sample(&final_states("score_vp_sde.toml", 0.2), &data);
    assert!(coarse.p_value < 1e-6, "{coarse:?}");
    let flow = ks_two_sample(&final_states("score_vp_flow.toml", 0.2), &data);
    assert!(flow.p_value > 1e-4, "{flow:?}");
}

/// `n` draws of the data law of `examples/configs/score_vp_2d_*.toml`:
/// (N(m, 0.25 I) + N(-m, 0.25 I)) / 2, m = (2, 1), row by row.
fn mixture_2d(n: usize, seed: u64) -> Vec<f64> {
    let key = key_of_seed(seed);
    let z = normals(2 * n, seed);
    (0..n)
        .flat_map(|j| {
            let u = philox4x32_10([j as u32, 0, 0, 97], key)[0];
            let s = if u & 1 == 0 { -1.0 } else { 1.0 };
            [s * 2.0 + 0.5 * z[2 * j], s * 1.0 + 0.5 * z[2 * j + 1]]
        })
        .collect()
}

/// Score-based generation in two dimensions (`examples/configs/score_vp_2d_*.toml`): as the step
/// shrinks from 0.2 to 0.01, the reverse-time SDE's energy distance to draws of the data law
/// falls, and at dt = 0.01 both it and the probability-flow ODE are as close to the data law
/// as a second sample of the data law is (within twice its energy distance and sliced W2), their
/// means within 5 standard errors of the data law's 0.
#[test]
fn two_dimensional_score_models_approach_the_data_law_as_the_step_shrinks() {
    let data = mixture_2d(32768, 81);
    let floor = compare(&mixture_2d(32768, 82), &data, 2);
    let distance = |config: &str, dt: f64| compare(&final_states(config, dt), &data, 2);
    let coarse = distance("score_vp_2d_sde.toml", 0.2);
    let fine = distance("score_vp_2d_sde.toml", 0.01);
    eprintln!(
        "energy distance to the data law: dt 0.2 {}, dt 0.01 {}, a second data sample {}",
        coarse.energy_distance, fine.energy_distance, floor.energy_distance
    );
    assert!(coarse.energy_distance > 2.0 * fine.energy_distance);
    for config in ["score_vp_2d_sde.toml", "score_vp_2d_flow.toml"] {
        let c = distance(config, 0.01);
        eprintln!(
            "{config}: sliced W2 {}, energy {}",
            c.sliced_w2, c.energy_distance
        );
        assert!(c.energy_distance < 2.0 * floor.energy_distance, "{config}");
        assert!(c.sliced_w2 < 2.0 * floor.sliced_w2, "{config}");
        for k in &c.components {
            assert!(k.mean_diff.abs() < 5.0 * k.mean_diff_se, "{config}: {k:?}");
        }
    }
}
