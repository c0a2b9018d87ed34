//! Kuramoto oscillators against Kuramoto's self-consistency law: with Lorentzian frequencies
//! of half-width gamma, r = sqrt(1 - 2 gamma / K) above the onset and r = O(N^-1/2) below
//! it; phase noise D moves the onset to 2 (gamma + D); the GPU kernel against its CPU twin.

mod common;
use langevin::interacting::kuramoto::{self, FrequencyLaw, KuramotoSpec, Sampling};
use langevin::{Engine, Sweep};

/// N = 4000 at quantile frequencies of half-width 0.5 (K_c = 1), K swept over 1.5, 2, 3, 4
/// with 4 replicas each, dt = 0.02, averaged over t in [30, 60]: r within 1% of
/// sqrt(1 - K_c / K).
fn lorentzian_order_follows_kuramotos_law(engine: &Engine) {
    let mut spec = KuramotoSpec::new(4000);
    spec.replicas = 16;
    spec.sweeps = vec![Sweep::new("K", &[1.5, 2.0, 3.0, 4.0])];
    spec.seed = 4;
    spec.dt = 0.02;
    spec.t_end = 60.0;
    spec.saves = 61;
    spec.average_from = 30.0;
    let r = kuramoto::run(engine, &spec).unwrap();
    for point in r.averaged() {
        let exact = spec.law.order_parameter(point.coupling, 0.0).unwrap();
        eprintln!(
            "K = {}: r = {:.4} +- {:.4} (exact {exact:.4})",
            point.coupling,
            point.r.mean,
            point.r.std_error()
        );
        assert!(
            (point.r.mean - exact).abs() <= 0.01 * exact,
            "K = {}: r = {} against {exact}",
            point.coupling,
            point.r.mean
        );
    }
}

/// Phase noise moves the onset to K_c = 2 (gamma + D): with gamma = D = 0.25 (K_c = 1), the
/// replicas stay incoherent at K = 0.8 (r sqrt(N) below 3 at N = 4000), where without the
/// noise they would synchronise to r = 0.61, and synchronise at K = 1.6 (r above 0.3).
fn phase_noise_moves_the_onset(engine: &Engine) {
    let mut spec = KuramotoSpec::new(4000);
    spec.law = FrequencyLaw::Lorentzian { gamma: 0.25 };
    spec.noise = 0.25;
    spec.sweeps = vec![Sweep::new("K", &[0.8, 1.6])];
    spec.replicas = 8;
    spec.dt = 0.02;
    spec.t_end = 60.0;
    spec.saves = 61;
    spec.average_from = 30.0;
    spec.seed = 5;
    let r = kuramoto::run(engine, &spec).unwrap();
    let points = r.averaged();
    for p in &points {
        eprintln!(
            "K = {}, D = 0.25: r = {:.4} +- {:.4}",
            p.coupling,
            p.r.mean,
            p.r.std_error()
        );
    }
    assert!(
        points[0].r.mean * 4000f64.sqrt() < 3.0,
        "K = 0.8: r = {}",
        points[0].r.mean
    );
    assert!(points[1].r.mean > 0.3, "K = 1.6: r = {}", points[1].r.mean);
    assert_eq!(spec.law.critical_coupling(0.25), Some(1.0));
}

/// Below the onset (K = 0.5, K_c = 1) the incoherent state keeps r of order N^-1/2: r sqrt(N)
/// stays between 0.3 and 3 at N = 1024 and N = 4096, and quadrupling N halves r (the ratio
/// of the two within [1.5, 2.7]).
fn incoherent_order_shrinks_as_one_over_root_n(engine: &Engine) {
    let mut means = Vec::new();
    for n in [1024u32, 4096] {
        let mut spec = KuramotoSpec::new(n);
        spec.coupling = 0.5;
        spec.sampling = Sampling::Random;
        spec.replicas = 32;
        spec.t_end = 60.0;
        spec.dt = 0.02;
        spec.average_from = 20.0;
        spec.seed = 9;
        let r = kuramoto::run(engine, &spec).unwrap();
        let m = r.averaged()[0].r.mean;
        eprintln!(
            "N = {n}: r = {m:.4}, r sqrt(N) = {:.3}",
            m * f64::from(n).sqrt()
        );
        assert!(
            (0.3..3.0).contains(&(m * f64::from(n).sqrt())),
            "N = {n}: r = {m}"
        );
        means.push(m);
    }
    let ratio = means[0] / means[1];
    assert!((1.5..2.7).contains(&ratio), "r(1024) / r(4096) = {ratio}");
}

on_every_backend!(
    lorentzian_order_follows_kuramotos_law,
    phase_noise_moves_the_onset,
    incoherent_order_shrinks_as_one_over_root_n,
);

/// The kernel and its twin on the same Philox streams, with noise, Gaussian frequencies drawn
/// at random and an odd N: the same order parameter at every save time to 2e-4 (sin and cos
/// may round differently on the device).
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn gpu_and_cpu_twin_agree() {
    let Some(gpu) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let cpu = common::engine(langevin::BackendChoice::Cpu).unwrap();
    let mut spec = KuramotoSpec::new(1001);
    spec.law = FrequencyLaw::Gaussian { sd: 0.3 };
    spec.sampling = Sampling::Random;
    spec.noise = 0.1;
    spec.coupling = 1.5;
    spec.replicas = 3;
    spec.t_end = 5.0;
    spec.saves = 11;
    spec.average_from = 0.0;
    let (a, b) = (
        kuramoto::run(&gpu, &spec).unwrap(),
        kuramoto::run(&cpu, &spec).unwrap(),
    );
    let mut worst = 0.0f64;
    for q in 0..3 {
        for k in 0..11 {
            worst = common::max_or_nan(worst, (a.r(q, k) - b.r(q, k)).abs());
        }
    }
    eprintln!(
        "largest difference of r: {worst:e}; r at the end {}",
        a.r(0, 10)
    );
    assert!(worst < 2e-4, "{worst}");
    assert!(
        a.r(0, 10) > 0.3,
        "the replicas synchronise ({})",
        a.r(0, 10)
    );
}

/// Past llvmpipe's loop limit: N = 40,001 oscillators give an invocation 157 groups of four
/// to step, so 511 steps in a dispatch (what counting steps alone allowed) would run about
/// 84,000 loop iterations, past the 65,535 after which llvmpipe leaves every loop and the
/// dispatch ends its steps early. 600 steps with noise, in one save: the order parameter
/// agrees with the twin to 2e-4, as in `gpu_and_cpu_twin_agree`.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn gpu_and_cpu_twin_agree_past_the_loop_limit() {
    let Some(gpu) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let cpu = common::engine(langevin::BackendChoice::Cpu).unwrap();
    let mut spec = KuramotoSpec::new(40_001);
    spec.law = FrequencyLaw::Gaussian { sd: 0.3 };
    spec.sampling = Sampling::Random;
    spec.noise = 0.1;
    spec.coupling = 1.5;
    spec.replicas = 1;
    spec.dt = 0.01;
    spec.t_end = 6.0;
    spec.saves = 2;
    spec.average_from = 0.0;
    assert!(kuramoto::loop_cost(spec.oscillators).per_step * 511 > 65_535);
    let (a, b) = (
        kuramoto::run(&gpu, &spec).unwrap(),
        kuramoto::run(&cpu, &spec).unwrap(),
    );
    let (ra, rb) = (a.r(0, 1), b.r(0, 1));
    eprintln!("r at the end: GPU {ra}, CPU twin {rb}");
    assert!((ra - rb).abs() < 2e-4, "GPU {ra}, CPU twin {rb}");
}

/// Replicas whose phases need more than one storage binding of the adapter holds are refused
/// before any work with the limit named, instead of failing in the device's validation.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn too_many_phases_for_a_binding_is_a_limit_error() {
    let Some(gpu) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let binding = gpu.gpu().unwrap().limits.max_storage_buffer_binding_size;
    let mut spec = KuramotoSpec::new(4096);
    // Their cosines and sines take 8 bytes an oscillator (N = 4096 needs no padding), one
    // binding for all replicas.
    spec.replicas = u32::try_from(binding / (8 * 4096) + 1).unwrap();
    if u64::from(spec.replicas) * 4096 > 1 << 26 {
        eprintln!("this adapter binds {binding} bytes: the per-run cap of 2^26 phases comes first");
        return;
    }
    spec.t_end = 0.02;
    spec.average_from = 0.0;
    let err = kuramoto::run(&gpu, &spec).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, langevin::Error::Limit(_)) && text.contains("binds at most"),
        "{text}"
    );
}
