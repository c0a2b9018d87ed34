//! SDE ensembles against exact results: discrete Euler-Maruyama recursions for OU and CIR,
//! strong and weak orders on geometric Brownian motion, and the double well's stationary law.
//! Moments are checked at five standard errors of the statistic, with fixed seeds; fitted
//! convergence orders within 0.1 of the theoretical order.

mod common;
use common::{assert_within, simpson, slope};
use langevin::{
    CoxIngersollRoss, DoubleWell, Engine, EnsembleSpec, GeometricBrownianMotion, OrnsteinUhlenbeck,
    SaveAt, Scheme, SchemeKind,
};

/// OU under Euler-Maruyama is the linear recursion X_{n+1} = a X_n + b + s xi with
/// a = 1 - theta dt, b = theta mu dt, s = sigma sqrt(dt): its mean and variance are exact.
fn ou_matches_the_discrete_em_recursion(engine: &Engine) {
    let (theta, mu, sigma) = (1.0, 0.5, 0.8);
    let dt = 1.0 / 128.0; // exact in f32, so the device's a and b are the recursion's
    let n_traj = 1u64 << 20;
    for (m0, s0) in [(2.0, 0.0), (-1.0, 0.3)] {
        let spec = EnsembleSpec::new(OrnsteinUhlenbeck::new(theta, mu, sigma))
            .initial_normal(&[m0], &[s0])
            .time_span(0.0, 2.0)
            .dt(dt)
            .trajectories(n_traj)
            .seed(20_241_128)
            .save_at(SaveAt::Count(11));
        let result = engine.run(&spec).unwrap();
        assert_eq!(result.steps, 256);
        let a: f64 = 1.0 - theta * dt;
        let b = theta * mu * dt;
        let s2 = sigma * sigma * dt;
        for (k, &t) in result.times.iter().enumerate() {
            let n = (t / dt).round() as i32;
            let an = a.powi(n);
            let mean = an * m0 + b * (1.0 - an) / (1.0 - a);
            let var = an * an * s0 * s0 + s2 * (1.0 - an * an) / (1.0 - a * a);
            let m = result.moments[k][0];
            assert_eq!(m.count, n_traj);
            if var == 0.0 {
                assert_eq!(m.mean, mean, "deterministic start at t = {t}");
                assert_eq!(m.m2, 0.0);
                continue;
            }
            let nf = n_traj as f64;
            assert_within(
                &format!("OU mean at t = {t}"),
                m.mean,
                mean,
                (var / nf).sqrt(),
                5.0,
            );
            assert_within(
                &format!("OU variance at t = {t}"),
                m.variance(),
                var,
                var * (2.0 / (nf - 1.0)).sqrt(),
                5.0,
            );
        }
    }
}

/// CIR with the Feller condition (2 kappa theta > sigma^2) and a start far from zero: the
/// truncation never acts, and EM's mean and variance follow
/// m_{n+1} = m_n + kappa (theta - m_n) dt, v_{n+1} = (1 - kappa dt)^2 v_n + sigma^2 dt m_n.
fn cir_matches_the_discrete_em_recursion(engine: &Engine) {
    let (kappa, theta, sigma) = (2.0, 1.0, 0.25);
    let dt = 1.0 / 64.0;
    let n_traj = 1u64 << 18;
    let spec = EnsembleSpec::new(CoxIngersollRoss {
        kappa,
        theta,
        sigma,
    })
    .initial_fixed(&[1.5])
    .time_span(0.0, 2.0)
    .dt(dt)
    .trajectories(n_traj)
    .seed(3)
    .save_at(SaveAt::Count(5));
    let result = engine.run(&spec).unwrap();
    let (mut m, mut v) = (1.5f64, 0.0f64);
    let mut step = 0;
    for (k, &t) in result.times.iter().enumerate() {
        let target = (t / dt).round() as i32;
        while step < target {
            v = (1.0 - kappa * dt).powi(2) * v + sigma * sigma * dt * m;
            m += kappa * (theta - m) * dt;
            step += 1;
        }
        let got = result.moments[k][0];
        if v == 0.0 {
            assert_eq!(got.mean, m);
            continue;
        }
        let nf = n_traj as f64;
        // The sample variance has standard error v sqrt((2 + excess kurtosis) / n). The law is
        // close to the stationary gamma law of shape 2 kappa theta / sigma^2, whose excess
        // kurtosis is 6 / shape.
        let excess_kurtosis = 6.0 * sigma * sigma / (2.0 * kappa * theta);
        let var_se = v * ((2.0 + excess_kurtosis) / nf).sqrt();
        assert_within(
            &format!("CIR mean at t = {t}"),
            got.mean,
            m,
            (v / nf).sqrt(),
            5.0,
        );
        assert_within(
            &format!("CIR variance at t = {t}"),
            got.variance(),
            v,
            var_se,
            5.0,
        );
    }
}

/// Without the Feller condition a discrete step overshoots below zero; full truncation keeps
/// the square root real, so no trajectory becomes NaN, with either scheme.
fn cir_stays_real_below_the_feller_condition(engine: &Engine) {
    let cir = CoxIngersollRoss {
        kappa: 1.0,
        theta: 0.04,
        sigma: 0.5,
    };
    // The fixed-step schemes: the adaptive ones bound their error instead of taking dt.
    for scheme in Scheme::ALL
        .into_iter()
        .filter(|s| !s.is_adaptive() && s.check_model(&cir).is_ok())
    {
        let spec = EnsembleSpec::new(cir.clone())
            .scheme(scheme)
            .initial_fixed(&[0.04])
            .time_span(0.0, 1.0)
            .dt(0.01)
            .trajectories(1 << 14)
            .seed(1)
            .final_states(true);
        let result = engine.run(&spec).unwrap();
        for k in 0..result.times.len() {
            assert_eq!(
                result.diverged(k),
                0,
                "{scheme}: NaN at t = {}",
                result.times[k]
            );
        }
        assert!(result.final_states.unwrap().iter().all(|x| x.is_finite()));
    }
}

/// Strong error E|X_N - S(T)| against the exact GBM solution driven by the same Brownian path,
/// over dt = 2^-4 .. 2^-8 made from one path of 2^10 increments. Fitted slopes: 1/2 for
/// Euler-Maruyama, 1 for Milstein, within 0.1 (the Ito schemes for multiplicative noise;
/// Heun's Stratonovich limit and SRA1 on additive noise are tested in tests/schemes.rs).
fn gbm_strong_orders(engine: &Engine) {
    let (mu, sigma) = (2.0, 1.0);
    let gbm = GeometricBrownianMotion { mu, sigma };
    let grid = common::PathGrid {
        fine_log2: 10,
        coarse: 4..=8,
        trajectories: 1 << 14,
    };
    for scheme in Scheme::ALL
        .into_iter()
        .filter(|s| s.kind() == SchemeKind::Ito && s.check_model(&gbm).is_ok())
    {
        let order = common::strong_order_on_one_path(
            engine,
            std::sync::Arc::new(gbm.clone()),
            scheme,
            99,
            &grid,
            |w| ((mu - 0.5 * sigma * sigma) + sigma * w).exp(),
        );
        eprintln!("{scheme}: strong order {order:.3} on {}", engine.device());
        assert!(
            (order - scheme.strong_order()).abs() <= 0.1,
            "{scheme}: fitted strong order {order:.3}, expected {}",
            scheme.strong_order()
        );
    }
}

/// EM's mean for GBM is exactly S0 (1 + mu dt)^n: checked at five standard errors, and its
/// error against S0 e^{mu T} has slope 1 in dt (weak order 1), within 0.1.
fn gbm_weak_order_of_the_mean(engine: &Engine) {
    let (mu, sigma) = (1.0, 0.2);
    let n_traj = 1u64 << 20;
    let (mut log_dt, mut log_err) = (Vec::new(), Vec::new());
    for steps in [10u32, 20, 40, 80] {
        let dt = 1.0 / f64::from(steps);
        let spec = EnsembleSpec::new(GeometricBrownianMotion { mu, sigma })
            .initial_fixed(&[1.0])
            .time_span(0.0, 1.0)
            .dt(dt)
            .trajectories(n_traj)
            .seed(2026)
            .save_at(SaveAt::Count(1));
        let m = engine.run(&spec).unwrap().moments[0][0];
        let discrete = (1.0 + mu * f64::from(dt as f32)).powi(steps as i32);
        assert_within(
            &format!("EM mean of GBM at dt = {dt}"),
            m.mean,
            discrete,
            m.std_error(),
            5.0,
        );
        log_dt.push(dt.ln());
        log_err.push((mu.exp() - m.mean).abs().ln());
    }
    let order = slope(&log_dt, &log_err);
    assert!((order - 1.0).abs() <= 0.1, "weak order {order:.3}");
}

/// Started in the left well, the ensemble relaxes to the Boltzmann density exp(-U/D)/Z:
/// chi-square of the final histogram against the bin integrals, and half the mass right of 0.
fn double_well_reaches_the_boltzmann_density(engine: &Engine) {
    let d = 0.5;
    let n_traj = 1u64 << 17;
    let bins = 50u32;
    let (lo, hi) = (-2.5, 2.5);
    let spec = EnsembleSpec::new(DoubleWell { temperature: d })
        .initial_fixed(&[-1.0])
        .time_span(0.0, 30.0)
        .dt(0.005)
        .trajectories(n_traj)
        .seed(42)
        .save_at(SaveAt::Count(2))
        .histogram(0, bins, (lo, hi));
    let result = engine.run(&spec).unwrap();
    let h = result.histogram.unwrap();
    assert_eq!(h.non_finite, 0);
    let u = |x: f64| x.powi(4) / 4.0 - x * x / 2.0;
    let w = |x: f64| (-u(x) / d).exp();
    let z = simpson(w, -6.0, 6.0, 12_000);
    let edges = h.edges();
    let n = n_traj as f64;
    let mut chi2 = 0.0;
    let mut cells = 0;
    let mut observed_and_expected: Vec<(f64, f64)> = h
        .counts
        .iter()
        .enumerate()
        .map(|(j, &c)| (c as f64, n * simpson(w, edges[j], edges[j + 1], 200) / z))
        .collect();
    observed_and_expected.push((h.underflow as f64, n * simpson(w, -6.0, lo, 2000) / z));
    observed_and_expected.push((h.overflow as f64, n * simpson(w, hi, 6.0, 2000) / z));
    // Pool cells expecting fewer than 5 counts, as the chi-square law needs.
    let mut pooled = (0.0, 0.0);
    for (o, e) in observed_and_expected {
        if e < 5.0 {
            pooled.0 += o;
            pooled.1 += e;
        } else {
            chi2 += (o - e).powi(2) / e;
            cells += 1;
        }
    }
    if pooled.1 > 0.0 {
        chi2 += (pooled.0 - pooled.1).powi(2) / pooled.1;
        cells += 1;
    }
    let dof = f64::from(cells - 1);
    let bound = dof + 5.0 * (2.0 * dof).sqrt();
    eprintln!(
        "double well: chi2 = {chi2:.1} on {dof} degrees of freedom, {}",
        engine.device()
    );
    assert!(
        chi2 < bound,
        "chi-square {chi2:.1} above {bound:.1} ({dof} dof)"
    );
    let right: u64 = h.counts[(bins / 2) as usize..].iter().sum::<u64>() + h.overflow;
    assert_within(
        "fraction in the right well",
        right as f64 / n,
        0.5,
        (0.25 / n).sqrt(),
        5.0,
    );
}

/// First passage of Brownian motion with drift mu > 0 from 0 to the level a: inverse Gaussian
/// with mean a / mu and shape a^2 / sigma^2. Monitored at step ends, a discrete path crosses
/// later; to first order this is a passage through the shifted level a + beta sigma sqrt(dt),
/// beta = -zeta(1/2) / sqrt(2 pi) = 0.5826 (Siegmund; Broadie, Glasserman and Kou 1997).
/// The fraction that has passed by t is checked against that CDF at five standard errors.
fn first_passage_of_drifted_brownian_motion_is_inverse_gaussian(engine: &Engine) {
    let (mu, sigma, a, dt) = (1.0, 1.0, 1.0, 1e-3);
    let n_traj = 1u64 << 16;
    let model = langevin::ExprModel::new(
        "drifted_bm",
        &["x".to_string()],
        &[("mu".to_string(), mu), ("sigma".to_string(), sigma)],
        &["mu".to_string()],
        &["sigma".to_string()],
    )
    .unwrap();
    let spec = EnsembleSpec::new(model)
        .initial_fixed(&[0.0])
        .time_span(0.0, 2.0)
        .dt(dt)
        .trajectories(n_traj)
        .seed(31)
        .save_at(SaveAt::Count(1))
        .first_passage(0, a, langevin::Direction::Up);
    let result = engine.run(&spec).unwrap();
    let fp = result.first_passage.unwrap();
    let beta = 0.582_597_157_939_010_7;
    let level = a + beta * sigma * f64::sqrt(dt);
    let (m, lambda) = (level / mu, level * level / (sigma * sigma));
    let cdf = |t: f64| {
        let s = (lambda / t).sqrt();
        common::normal_cdf(s * (t / m - 1.0))
            + (2.0 * lambda / m).exp() * common::normal_cdf(-s * (t / m + 1.0))
    };
    for t in [0.25, 0.5, 1.0, 1.5, 2.0] {
        let f = cdf(t);
        let se = (f * (1.0 - f) / n_traj as f64).sqrt();
        assert_within(
            &format!("P(T <= {t})"),
            fp.fraction_by(t, n_traj),
            f,
            se,
            5.0,
        );
    }
    assert_eq!(fp.hit as f64, fp.fraction_by(2.0, n_traj) * n_traj as f64);
    assert!(fp.times.iter().all(|&t| t > 0.0 && t <= 2.0 + 1e-6));
    // Times lie on the step grid.
    let off_grid = fp
        .times
        .iter()
        .filter(|&&t| ((f64::from(t) / dt) - (f64::from(t) / dt).round()).abs() > 1e-3)
        .count();
    assert_eq!(off_grid, 0);
}

/// Initial laws per component, at t = 0: a fixed value, a normal and a uniform, each against
/// its moments at five standard errors (variance standard errors from the laws' kurtosis:
/// sqrt(2/n) relative for the normal, sqrt(0.8/n) for the uniform).
fn initial_laws_have_their_moments(engine: &Engine) {
    use langevin::InitialLaw;
    let n_traj = 1u64 << 18;
    let mut spec = EnsembleSpec::new(OrnsteinUhlenbeck::new(1.0, 0.0, 1.0).with_dim(3))
        .time_span(0.0, 0.01)
        .dt(0.01)
        .trajectories(n_traj)
        .seed(8)
        .save_at(SaveAt::Times(vec![0.0]));
    spec.initial = langevin::InitialState::Laws(vec![
        InitialLaw::Fixed(2.0),
        InitialLaw::Normal { mean: 1.0, sd: 0.5 },
        InitialLaw::Uniform { lo: -1.0, hi: 3.0 },
    ]);
    let m = engine.run(&spec).unwrap().moments[0].clone();
    let nf = n_traj as f64;
    assert_eq!((m[0].mean, m[0].m2), (2.0, 0.0));
    assert_within("normal mean", m[1].mean, 1.0, (0.25 / nf).sqrt(), 5.0);
    assert_within(
        "normal variance",
        m[1].variance(),
        0.25,
        0.25 * (2.0 / nf).sqrt(),
        5.0,
    );
    let var_u = 16.0 / 12.0;
    assert_within("uniform mean", m[2].mean, 1.0, (var_u / nf).sqrt(), 5.0);
    assert_within(
        "uniform variance",
        m[2].variance(),
        var_u,
        var_u * (0.8 / nf).sqrt(),
        5.0,
    );
}

on_every_backend!(
    ou_matches_the_discrete_em_recursion,
    cir_matches_the_discrete_em_recursion,
    cir_stays_real_below_the_feller_condition,
    gbm_strong_orders,
    gbm_weak_order_of_the_mean,
    double_well_reaches_the_boltzmann_density,
    first_passage_of_drifted_brownian_motion_is_inverse_gaussian,
    initial_laws_have_their_moments,
);
