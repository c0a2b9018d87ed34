//! Lattice chains against exact results: the Edwards-Wilkinson roughness against the exact law
//! of Euler-Maruyama on the lattice (mode by mode) at every save time, its growth law
//! D sqrt(t / (2 pi nu)) and its saturation D (L^2 - 1) / (24 nu L); KPZ's growth exponent 1/3;
//! the GPU kernel against its CPU twin.

mod common;
use langevin::interacting::chain::{self, ChainModel, ChainSpec};
use langevin::Engine;

/// The exact mean roughness of Euler-Maruyama on the periodic lattice after `n` steps from
/// flat: each Fourier mode k is an AR(1) with rho = 1 - 4 nu dt sin^2(pi k / L) and noise
/// variance D dt per step.
fn ew_roughness(l: u32, nu: f64, noise: f64, dt: f64, n: u32) -> f64 {
    (1..l)
        .map(|k| {
            let lambda = 4.0
                * nu
                * (std::f64::consts::PI * f64::from(k) / f64::from(l))
                    .sin()
                    .powi(2);
            let rho = 1.0 - lambda * dt;
            noise * dt * (1.0 - rho.powi(2 * n as i32)) / (1.0 - rho * rho)
        })
        .sum::<f64>()
        / f64::from(l)
}

/// L = 128, nu = D = 1, dt = 0.02, 64 replicas to t = 1500 (the slowest mode relaxes in
/// about 200): w^2 at every save time within five standard errors of the exact lattice law;
/// in the growth regime (t = 10 to 100) within 3% of D sqrt(t / (2 pi nu)); at the end within
/// 3% of the saturation D (L^2 - 1) / (24 nu L).
fn edwards_wilkinson_roughness_is_exact(engine: &Engine) {
    let mut spec = ChainSpec::new(ChainModel::EdwardsWilkinson, 128);
    spec.dt = 0.02;
    spec.t_end = 1500.0;
    spec.replicas = 64;
    spec.saves = 25;
    spec.log_saves = true;
    spec.seed = 3;
    let r = chain::run(engine, &spec).unwrap();
    let w2 = r.roughness();
    for (k, t) in r.times.iter().enumerate().skip(1) {
        let n = (t / r.dt).round() as u32;
        let exact = ew_roughness(128, 1.0, 1.0, r.dt, n);
        let growth = (t / (2.0 * std::f64::consts::PI)).sqrt();
        eprintln!(
            "t = {t:8.2}: w^2 = {:.4} +- {:.4}, exact {exact:.4}, growth law {growth:.4}",
            w2[k].mean,
            w2[k].std_error()
        );
        common::assert_within(
            &format!("w^2({t})"),
            w2[k].mean,
            exact,
            w2[k].std_error(),
            5.0,
        );
        if (2.0..=30.0).contains(t) {
            let law = growth - t / 128.0;
            assert!(
                (exact / law - 1.0).abs() < 0.01,
                "t = {t}: {exact} against {law}"
            );
        }
    }
    // The run is within five standard errors of the exact law at the end too (above); the
    // law there has reached the continuum saturation.
    let saturation = (128.0f64 * 128.0 - 1.0) / (24.0 * 128.0);
    let n_end = (r.times.last().unwrap() / r.dt).round() as u32;
    let exact = ew_roughness(128, 1.0, 1.0, r.dt, n_end);
    eprintln!(
        "saturation: run {:.4}, exact {exact:.4}, continuum {saturation:.4}",
        w2.last().unwrap().mean
    );
    assert!(
        (exact / saturation - 1.0).abs() < 0.005,
        "{exact} against {saturation}"
    );
}

/// KPZ (nu = 1, lambda = 4, D = 1) on L = 2048 from flat: the roughness grows as t^beta with
/// beta within 0.03 of 1/3 over t in [20, 200] (16 replicas; the fit's standard error over
/// replicas is printed), where EW would give 1/4.
fn kpz_grows_with_exponent_one_third(engine: &Engine) {
    let mut spec = ChainSpec::new(ChainModel::Kpz, 2048);
    spec.lambda = 4.0;
    spec.dt = 0.02;
    spec.t_end = 200.0;
    spec.replicas = 16;
    spec.saves = 21;
    spec.log_saves = true;
    spec.seed = 11;
    let r = chain::run(engine, &spec).unwrap();
    let fit = r.growth_exponent(20.0, 200.0).unwrap();
    eprintln!("KPZ: beta = {:.4} +- {:.4}", fit.beta, fit.std_error);
    assert!((fit.beta - 1.0 / 3.0).abs() < 0.03, "beta = {}", fit.beta);
}

/// A sweep of the sites (one run per L = 16, 32, 64; nu = D = 1, dt = 0.02, 64 replicas to
/// t = 600): each replica's w^2 averaged over the 16 saves in t = [300, 600] (past 5.8
/// relaxation times of the slowest mode at L = 64), over the replicas within five standard
/// errors of the exact lattice law averaged alike, which is within 1% of the saturation
/// D (L^2 - 1) / (24 nu L): the finite-size scaling w^2 ~ L / 24.
fn sites_sweep_saturates_as_l_over_24(engine: &Engine) {
    let mut spec = ChainSpec::new(ChainModel::EdwardsWilkinson, 16);
    spec.dt = 0.02;
    spec.t_end = 600.0;
    spec.replicas = 64;
    spec.saves = 31;
    spec.seed = 21;
    let sweep = langevin::Sweep::new("sites", &[16.0, 32.0, 64.0]);
    let runs = chain::run_sweep(engine, &spec, &sweep).unwrap();
    for (r, l) in runs.iter().zip([16u32, 32, 64]) {
        assert_eq!(r.sites, l);
        let window: Vec<usize> = (0..r.times.len())
            .filter(|k| r.times[*k] >= 300.0)
            .collect();
        let per_replica = r.rough.iter().map(|rep| {
            window.iter().map(|k| f64::from(rep[*k][1])).sum::<f64>() / window.len() as f64
        });
        let w2 = langevin::Moments::of(per_replica);
        let exact = window
            .iter()
            .map(|k| ew_roughness(l, 1.0, 1.0, r.dt, (r.times[*k] / r.dt).round() as u32))
            .sum::<f64>()
            / window.len() as f64;
        let saturation = f64::from(l * l - 1) / (24.0 * f64::from(l));
        eprintln!(
            "L = {l}: w^2 = {:.4} +- {:.4}, exact lattice law {exact:.4}, saturation {saturation:.4}",
            w2.mean,
            w2.std_error()
        );
        assert!(
            (exact / saturation - 1.0).abs() < 0.01,
            "{exact} {saturation}"
        );
        common::assert_within(
            &format!("w^2 at L = {l}"),
            w2.mean,
            exact,
            w2.std_error(),
            5.0,
        );
    }
}

on_every_backend!(
    sites_sweep_saturates_as_l_over_24,
    edwards_wilkinson_roughness_is_exact,
    kpz_grows_with_exponent_one_third,
);

/// Every coupling with disorder, on the same streams: the kernel and its twin give the same
/// roughness to 1e-5 relative (the phase chain's sin and cos may round differently).
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn gpu_and_cpu_twin_agree() {
    let Some(gpu) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let cpu = common::engine(langevin::BackendChoice::Cpu).unwrap();
    for model in [
        ChainModel::EdwardsWilkinson,
        ChainModel::Kpz,
        ChainModel::Phase,
    ] {
        let mut spec = ChainSpec::new(model, 301);
        spec.lambda = 0.5;
        spec.disorder = 0.2;
        spec.replicas = 5;
        spec.t_end = 10.0;
        spec.saves = 6;
        let (a, b) = (
            chain::run(&gpu, &spec).unwrap(),
            chain::run(&cpu, &spec).unwrap(),
        );
        let mut worst = 0.0f64;
        for (ra, rb) in a.rough.iter().zip(&b.rough) {
            for (x, y) in ra.iter().zip(rb) {
                worst = common::max_or_nan(
                    worst,
                    (f64::from(x[1]) - f64::from(y[1])).abs() / f64::from(y[1]).max(1e-6),
                );
            }
        }
        eprintln!(
            "{}: largest relative difference of w^2 {worst:e}",
            model.name()
        );
        assert!(worst < 1e-5, "{}: {worst}", model.name());
    }
}

/// Past llvmpipe's loop limit: L = 40,001 sites give an invocation 157 groups of four to step,
/// so 511 steps in a dispatch (what counting steps alone allowed) would run about 80,000 loop
/// iterations, past the 65,535 after which llvmpipe leaves every loop and the dispatch ends
/// its steps early. A KPZ chain with disorder for 600 steps, in one save: the roughness agrees
/// with the twin to 1e-5 relative, as in `gpu_and_cpu_twin_agree`.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn gpu_and_cpu_twin_agree_past_the_loop_limit() {
    let Some(gpu) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let cpu = common::engine(langevin::BackendChoice::Cpu).unwrap();
    let mut spec = ChainSpec::new(ChainModel::Kpz, 40_001);
    spec.lambda = 0.5;
    spec.disorder = 0.2;
    spec.replicas = 1;
    spec.t_end = 30.0;
    spec.saves = 2;
    assert!(chain::loop_cost(spec.sites).per_step * 511 > 65_535);
    let (a, b) = (
        chain::run(&gpu, &spec).unwrap(),
        chain::run(&cpu, &spec).unwrap(),
    );
    let (wa, wb) = (f64::from(a.rough[0][1][1]), f64::from(b.rough[0][1][1]));
    eprintln!("w^2 at the end: GPU {wa}, CPU twin {wb}");
    assert!((wa - wb).abs() < 1e-5 * wb, "GPU {wa}, CPU twin {wb}");
}
