//! The schemes beyond Euler-Maruyama against the outside world: stochastic Heun's strong order
//! on Stratonovich GBM (exact solution on the same Brownian path), RK4's classical order on
//! Lorenz (an f64 reference), and the Langevin splittings' exact stationary variances for a
//! harmonic well (Leimkuhler and Matthews 2013; Bussi and Parrinello 2007), with the free
//! particle's mean-square displacement.

mod common;
use common::{assert_within, slope};
use langevin::{Engine, EnsembleSpec, ExprModel, GeometricBrownianMotion, SaveAt, Scheme};
use std::sync::Arc;

/// Stratonovich GBM dS = mu S dt + sigma S o dW has S_T = exp(mu T + sigma W_T): Heun reads
/// the built-in GBM's terms in that sense and converges with strong order 1.
fn heun_on_stratonovich_gbm_has_strong_order_one(engine: &Engine) {
    let (mu, sigma) = (1.0, 0.8);
    let model = Arc::new(GeometricBrownianMotion { mu, sigma });
    let order = common::strong_order_on_one_path(
        engine,
        model,
        Scheme::Heun,
        5,
        &common::small_grid(),
        |w| (mu + sigma * w).exp(),
    );
    eprintln!("Heun fitted strong order {order:.3}");
    assert!((order - 1.0).abs() <= 0.1, "Heun strong order {order:.3}");
}

fn lorenz() -> ExprModel {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    ExprModel::new(
        "lorenz",
        &s(&["x", "y", "z"]),
        &[
            ("sigma".into(), 10.0),
            ("rho".into(), 28.0),
            ("beta".into(), 8.0 / 3.0),
        ],
        &s(&["sigma * (y - x)", "x * (rho - z) - y", "x * y - beta * z"]),
        &[],
    )
    .unwrap()
}

/// RK4's error on Lorenz over a short time falls as dt^4. The step sizes keep the smallest
/// error fitted (about 1.5e-4) well above the f32 rounding floor (errors reach 3e-5 at
/// dt = 0.007 and stop falling as dt^4 below that).
fn rk4_has_classical_order_four(engine: &Engine) {
    let t_end = 0.5;
    let reference = common::lorenz_f64([1.0, 1.0, 20.0], t_end);
    let model = Arc::new(lorenz());
    let (mut log_dt, mut log_err) = (vec![], vec![]);
    for steps in [20u32, 25, 35, 50] {
        let dt = t_end / f64::from(steps);
        let spec = EnsembleSpec::with_model(model.clone())
            .scheme(Scheme::Rk4)
            .initial_fixed(&[1.0, 1.0, 20.0])
            .time_span(0.0, t_end)
            .dt(dt)
            .trajectories(64)
            .save_at(SaveAt::Count(1))
            .final_states(true);
        let finals = engine.run(&spec).unwrap().final_states.unwrap();
        let err = (0..3)
            .map(|i| (f64::from(finals[i]) - reference[i]).abs())
            .fold(0.0, common::max_or_nan);
        eprintln!("rk4 dt = {dt:.4}: max error {err:.3e}");
        log_dt.push(dt.ln());
        log_err.push(err.ln());
    }
    let order = slope(&log_dt, &log_err);
    eprintln!("RK4 fitted order {order:.3}");
    assert!((order - 4.0).abs() <= 0.3, "RK4 order {order:.3}");
}

/// The harmonic well U = k q^2 / 2 with mass m, as an underdamped expression model.
fn harmonic(k: f64, gamma: f64, kt: f64, mass: f64) -> Arc<ExprModel> {
    Arc::new(
        ExprModel::underdamped(
            "harmonic",
            &["q".to_string()],
            &[("k".to_string(), k)],
            "k * q^2 / 2",
            gamma,
            kt,
            mass,
        )
        .unwrap(),
    )
}

/// Stationary variances of q and p after relaxing from the continuous thermal law for 25
/// friction times, with their standard errors (normal fourth moments: se = var sqrt(2/(n-1))).
fn stationary_variances(engine: &Engine, scheme: Scheme, dt: f64) -> [(f64, f64); 2] {
    let (k, gamma, kt, mass) = (1.0, 1.0, 0.5, 1.0);
    let t_end = (25.0 / gamma / dt).ceil() * dt;
    let spec = EnsembleSpec::with_model(harmonic(k, gamma, kt, mass))
        .scheme(scheme)
        .initial_normal(&[0.0, 0.0], &[(kt / k).sqrt(), (mass * kt).sqrt()])
        .time_span(0.0, t_end)
        .dt(dt)
        .trajectories(1 << 16)
        .seed(21)
        .save_at(SaveAt::Count(1));
    let r = engine.run(&spec).unwrap();
    let m = &r.moments[r.moments.len() - 1];
    [0, 1].map(|i| {
        let v = m[i].variance();
        (v, v * (2.0 / (m[i].count as f64 - 1.0)).sqrt())
    })
}

/// BAOAB samples the harmonic configuration exactly at any stable step, <q^2> = kT/k, while
/// its momenta are cooled, <p^2> = m kT (1 - omega^2 dt^2 / 4); OBABO keeps <p^2> = m kT and
/// stretches <q^2> = kT / (k (1 - omega^2 dt^2 / 4)). Euler-Maruyama's configurational
/// variance is biased at the same steps.
fn langevin_splittings_have_their_exact_harmonic_variances(engine: &Engine) {
    let (k, kt, mass) = (1.0, 0.5, 1.0);
    let omega2 = k / mass;
    for dt in [0.25, 0.5, 1.0] {
        let shrink = 1.0 - omega2 * dt * dt / 4.0;
        let [(q2, se_q), (p2, se_p)] = stationary_variances(engine, Scheme::Baoab, dt);
        assert_within(&format!("BAOAB <q^2> at dt {dt}"), q2, kt / k, se_q, 5.0);
        assert_within(
            &format!("BAOAB <p^2> at dt {dt}"),
            p2,
            mass * kt * shrink,
            se_p,
            5.0,
        );
        let [(q2, se_q), (p2, se_p)] = stationary_variances(engine, Scheme::Obabo, dt);
        assert_within(
            &format!("OBABO <q^2> at dt {dt}"),
            q2,
            kt / k / shrink,
            se_q,
            5.0,
        );
        assert_within(&format!("OBABO <p^2> at dt {dt}"), p2, mass * kt, se_p, 5.0);
    }
    let [(q2, se_q), _] = stationary_variances(engine, Scheme::EulerMaruyama, 0.25);
    let z = (q2 - kt / k) / se_q;
    eprintln!(
        "Euler-Maruyama <q^2> at dt 0.25: {q2:.5} (exact {}, z = {z:.1})",
        kt / k
    );
    assert!(
        z.abs() > 10.0,
        "Euler-Maruyama <q^2> = {q2:.5} should be visibly biased from {} (z = {z:.1})",
        kt / k
    );
}

/// A free particle with thermal momenta, started anywhere: MSD(t) = 2 kT / (m gamma^2)
/// (gamma t - 1 + exp(-gamma t)) and <p(0) p(t)> = m kT exp(-gamma t) (Langevin; Uhlenbeck and
/// Ornstein 1930), under BAOAB. The positions start spread over [-5, 5], so the MSD can only
/// come from the displacement observable, not from the moments of q.
fn free_particle_msd_and_velocity_autocorrelation_are_exact(engine: &Engine) {
    let (gamma, kt, mass) = (2.0, 1.0, 1.5);
    let model = Arc::new(
        ExprModel::underdamped("free", &["q".to_string()], &[], "0", gamma, kt, mass).unwrap(),
    );
    let mut spec = EnsembleSpec::with_model(model)
        .scheme(Scheme::Baoab)
        .time_span(0.0, 4.0)
        .dt(0.01)
        .trajectories(1 << 16)
        .seed(3)
        .save_at(SaveAt::Count(9))
        .displacement(true);
    spec.initial = langevin::InitialState::Laws(vec![
        langevin::InitialLaw::Uniform { lo: -5.0, hi: 5.0 },
        langevin::InitialLaw::Normal {
            mean: 0.0,
            sd: (mass * kt).sqrt(),
        },
    ]);
    let r = engine.run(&spec).unwrap();
    for (k, &t) in r.times.iter().enumerate() {
        let msd = r.msd(k, 0).unwrap();
        let n = r.displacement.as_ref().unwrap()[k][0].count as f64;
        let exact = 2.0 * kt / (mass * gamma * gamma) * (gamma * t - 1.0 + (-gamma * t).exp());
        // The displacement is normal with mean 0: Var(d^2) = 2 MSD^2. (BAOAB's positions move
        // by the trapezoid rule on the exact momenta: a bias of order (gamma dt)^2 / 12.)
        let se = exact * (2.0 / n).sqrt();
        if k == 0 {
            assert_eq!(msd, 0.0);
        } else {
            assert_within(&format!("MSD at t = {t}"), msd, exact, se, 5.0);
        }
        // The O step is the exact Ornstein-Uhlenbeck flow of the momenta.
        let (acf, se) = r.autocorrelation(k, 1).unwrap();
        let exact = mass * kt * (-gamma * t).exp();
        assert_within(&format!("<p(0) p({t})>"), acf, exact, se, 5.0);
    }
}

on_every_backend!(
    sra1_has_strong_order_three_halves,
    general_noise_has_the_exact_discrete_covariance,
    heun_on_stratonovich_gbm_has_strong_order_one,
    rk4_has_classical_order_four,
    langevin_splittings_have_their_exact_harmonic_variances,
    free_particle_msd_and_velocity_autocorrelation_are_exact
);

/// General noise, G of 3 x 3 with shared columns: x and y are OU processes driven by common
/// noises and s = x + y follows the added rows, so Var(s) measures Cov(x, y). From x = 0 the
/// variances follow exact recursions, v' = b^2 v + c^2 dt (G G^T)_ii: Euler-Maruyama has
/// b = 1 - theta dt, c = 1; Heun b = 1 - theta dt + (theta dt)^2 / 2, c = 1 - theta dt / 2.
fn general_noise_has_the_exact_discrete_covariance(engine: &Engine) {
    let (theta, a, b, dt, steps) = (1.0f64, 0.6f64, 0.3f64, 0.01f64, 300u32);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let model = ExprModel::with_noise_matrix(
        "correlated",
        &s(&["x", "y", "s"]),
        &[("theta".into(), theta), ("a".into(), a), ("b".into(), b)],
        &s(&["-theta*x", "-theta*y", "-theta*s"]),
        &[
            s(&["a", "b", "0"]),
            s(&["b", "0", "a"]),
            s(&["a + b", "b", "a"]),
        ],
    )
    .unwrap();
    let g = [[a, b, 0.0], [b, 0.0, a], [a + b, b, a]];
    let ggt = |i: usize| g[i].iter().map(|v| v * v).sum::<f64>();
    let model = Arc::new(model);
    for scheme in [Scheme::EulerMaruyama, Scheme::Heun] {
        let (bf, cf) = match scheme {
            Scheme::EulerMaruyama => (1.0 - theta * dt, 1.0),
            _ => (
                1.0 - theta * dt + (theta * dt).powi(2) / 2.0,
                1.0 - theta * dt / 2.0,
            ),
        };
        let spec = EnsembleSpec::with_model(model.clone())
            .scheme(scheme)
            .initial_fixed(&[0.0, 0.0, 0.0])
            .time_span(0.0, f64::from(steps) * dt)
            .dt(dt)
            .trajectories(1 << 16)
            .seed(12)
            .save_at(SaveAt::Count(1));
        let r = engine.run(&spec).unwrap();
        for i in 0..3 {
            let exact = cf * cf * dt * ggt(i) * (1.0 - bf.powi(2 * steps as i32)) / (1.0 - bf * bf);
            let m = r.moments[0][i];
            let se = exact * (2.0 / (m.count as f64 - 1.0)).sqrt();
            assert_within(&format!("{scheme} Var(x{i})"), m.variance(), exact, se, 5.0);
        }
    }
    let err = Scheme::Milstein
        .check_model(model.as_ref())
        .unwrap_err()
        .to_string();
    assert!(err.contains("diagonal noise"), "{err}");
}

/// SRA1 on a nonlinear drift with additive noise, dX = (X - X^3) dt + 0.5 dW from X = 0.5:
/// strong error against SRA1 at dt = 2^-11 on the same Brownian path (the coarse steps sum
/// the fine increments and their Levy areas exactly), over dt = 2^-3 .. 2^-7: slope 1.5.
/// Euler-Maruyama on the same paths: slope 1 (additive noise).
fn sra1_has_strong_order_three_halves(engine: &Engine) {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let model =
        Arc::new(ExprModel::new("well", &s(&["x"]), &[], &s(&["x - x^3"]), &s(&["0.5"])).unwrap());
    let finest = 11;
    let run = |scheme: Scheme, p: u32| {
        let spec = EnsembleSpec::with_model(model.clone())
            .scheme(scheme)
            .initial_fixed(&[0.5])
            .time_span(0.0, 1.0)
            .dt(1.0 / f64::from(1u32 << p))
            .brownian_substeps(1 << (finest - p))
            .trajectories(4096)
            .seed(31)
            .save_at(SaveAt::Count(1))
            .final_states(true);
        engine.run(&spec).unwrap().final_states.unwrap()
    };
    for (scheme, expected) in [(Scheme::Sra1, 1.5), (Scheme::EulerMaruyama, 1.0)] {
        let reference = run(scheme, finest);
        let (mut log_dt, mut log_err) = (vec![], vec![]);
        for p in 3..=7 {
            let coarse = run(scheme, p);
            let err = coarse
                .iter()
                .zip(&reference)
                .map(|(a, b)| f64::from((a - b).abs()))
                .sum::<f64>()
                / coarse.len() as f64;
            log_dt.push(-f64::from(p) * 2f64.ln());
            log_err.push(err.ln());
        }
        let order = slope(&log_dt, &log_err);
        eprintln!("{scheme}: strong order {order:.3} on additive noise");
        assert!(
            (order - expected).abs() <= 0.15,
            "{scheme}: order {order:.3}"
        );
    }
}
