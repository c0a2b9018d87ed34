//! Reaction networks by Gillespie's direct method against exact laws: birth-death (Binomial +
//! Poisson at a time, Poisson when stationary) and Schloegl's bistable network (each basin
//! against the detailed-balance distribution restricted to it), by chi-square over the whole
//! histogram; the GPU kernel against its CPU twin, trajectory by trajectory.

mod common;
use langevin::cme::MasterEquation;
use langevin::reactions::{ReactionNetwork, ReactionSpec};
use langevin::{Engine, EnsembleSpec, ExprModel, SaveAt, Scheme};
use std::sync::Arc;

fn reaction(eq: &str, rate: &str) -> ReactionSpec {
    ReactionSpec {
        eq: eq.into(),
        rate: Some(rate.into()),
        propensity: None,
    }
}

fn params(list: &[(&str, f64)]) -> Vec<(String, f64)> {
    list.iter().map(|(n, v)| (n.to_string(), *v)).collect()
}

fn network_spec(network: ReactionNetwork, t_end: f64, trajectories: u64) -> EnsembleSpec {
    let initial: Vec<f64> = network.initial.iter().map(|&c| f64::from(c)).collect();
    let model = ExprModel::reaction_network("network", network).unwrap();
    EnsembleSpec::with_model(Arc::new(model))
        .scheme(Scheme::Ssa)
        .initial_fixed(&initial)
        .time_span(0.0, t_end)
        .dt(t_end / 100.0)
        .trajectories(trajectories)
        .seed(17)
        .save_at(SaveAt::Count(2))
        .final_states(true)
}

fn birth_death(k: f64, g: f64, n0: u64) -> ReactionNetwork {
    ReactionNetwork::new(
        &[("X".to_string(), n0 as i64)],
        &params(&[("k", k), ("g", g)]),
        &[reaction("0 -> X", "k"), reaction("X -> 0", "g")],
    )
    .unwrap()
}

/// `0 -> X` at rate k, `X -> 0` at rate g X, from n0: X(t) = Binomial(n0, e^{-g t}) +
/// Poisson(k / g (1 - e^{-g t})), independent.
fn birth_death_matches_binomial_plus_poisson(engine: &Engine) {
    let (k, g, n0) = (20.0, 0.5, 60u64);
    let network = birth_death(k, g, n0);
    for t in [1.0, 12.0] {
        let r = engine
            .run(&network_spec(network.clone(), t, 1 << 15))
            .unwrap();
        let x = r.final_states.unwrap();
        let survive = (-g * t).exp();
        let lambda = k / g * (1.0 - survive);
        let pmf = |m: u64| {
            (0..=m.min(n0))
                .map(|j| common::binomial(n0, survive, j) * common::poisson(lambda, m - j))
                .sum::<f64>()
        };
        common::assert_chi_square(
            &format!("birth-death at t = {t}"),
            common::chi_square(&x, pmf, 200),
        );
        assert_eq!(r.adaptive.unwrap().exhausted, 0);
    }
}

/// Schloegl's stationary law by detailed balance, pi(x + 1) / pi(x) = birth(x) / death(x + 1),
/// restricted to [lo, hi] and normalised.
fn schloegl_basin(lo: u64, hi: u64) -> Vec<f64> {
    let (c1, c2, c3, c4, a, b) = (3e-7, 1e-4, 1e-3, 3.5, 1e5, 2e5);
    let birth = |x: f64| c1 * a * x * (x - 1.0) / 2.0 + c3 * b;
    let death = |x: f64| c2 * x * (x - 1.0) * (x - 2.0) / 6.0 + c4 * x;
    let mut log = vec![0.0f64; hi as usize + 1];
    for x in 0..hi as usize {
        log[x + 1] = log[x] + birth(x as f64).ln() - death(x as f64 + 1.0).ln();
    }
    let top = log[lo as usize..].iter().cloned().fold(f64::MIN, f64::max);
    let mut p: Vec<f64> = (0..=hi as usize)
        .map(|x| {
            if x < lo as usize {
                0.0
            } else {
                (log[x] - top).exp()
            }
        })
        .collect();
    let sum: f64 = p.iter().sum();
    p.iter_mut().for_each(|v| *v /= sum);
    p
}

/// The two basins of Schloegl's network (modes near 82 and 563, barrier near 250, switching
/// time about 4e4) relax within a few time units: started in one, the ensemble takes the
/// stationary law restricted to it. Parameters of Gillespie's review (2007) and the SSA
/// benchmarks built on it.
fn schloegl_basins_take_the_detailed_balance_law(engine: &Engine) {
    for (x0, lo, hi, t, n) in [
        (82, 0u64, 250u64, 10.0, 1u64 << 14),
        (563, 250, 1000, 6.0, 2048),
    ] {
        let r = engine
            .run(&network_spec(langevin::reactions::schloegl(x0), t, n))
            .unwrap();
        let x = r.final_states.unwrap();
        let p = schloegl_basin(lo, hi);
        let stat = common::chi_square(&x, |k| p.get(k as usize).copied().unwrap_or(0.0), hi);
        common::assert_chi_square(&format!("Schloegl basin from {x0}"), stat);
    }
}

/// Schloegl's network from X = 250 over t in [0, 2], 4096 trajectories: the GPU kernel and its
/// twin fire the same events where the adapter rounds like the twin (`rounds_like_twin`);
/// elsewhere the final counts have the same mean within 5 standard errors.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn gpu_and_cpu_twin_fire_the_same_events() {
    let Some(gpu) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let cpu = common::engine(langevin::BackendChoice::Cpu).unwrap();
    let spec = network_spec(langevin::reactions::schloegl(250), 2.0, 4096);
    let a = gpu.run(&spec).unwrap();
    let b = cpu.run(&spec).unwrap();
    let (xa, xb) = (a.final_states.unwrap(), b.final_states.unwrap());
    let differing = xa.iter().zip(&xb).filter(|(p, q)| p != q).count();
    for (j, (p, q)) in xa
        .iter()
        .zip(&xb)
        .enumerate()
        .filter(|(_, (p, q))| p != q)
        .take(8)
    {
        eprintln!("trajectory {j}: GPU {p}, CPU {q}");
    }
    eprintln!(
        "{} events on both; {differing} of {} final counts differ",
        a.adaptive.unwrap().accepted,
        xa.len()
    );
    if common::rounds_like_twin(&gpu) {
        assert_eq!(a.adaptive.unwrap().accepted, b.adaptive.unwrap().accepted);
        assert_eq!(differing, 0);
    } else {
        // Measured on an H200: 3 of 21.9 million events differ. The final counts in law.
        let m = |x: &[f32]| langevin::stats::Moments::of(x.iter().map(|&v| f64::from(v)));
        common::assert_same_mean("final X", &m(&xa), &m(&xb), 5.0);
    }
}

/// The finite state projection of birth-death on [0, 200] against the exact law: every
/// probability within 1e-12, and a projection error (mass beyond 200) below 1e-12.
#[test]
fn the_master_equation_matches_birth_death_exactly() {
    let (k, g, n0) = (20.0, 0.5, 60u64);
    let network = birth_death(k, g, n0);
    let me = MasterEquation::new(&network, &[200]).unwrap();
    for d in me.solve(&network.initial, &[0.5, 3.0, 12.0]) {
        let survive = (-g * d.t).exp();
        let lambda = k / g * (1.0 - survive);
        let mut worst = 0.0f64;
        for m in 0..=200u64 {
            let exact: f64 = (0..=m.min(n0))
                .map(|j| common::binomial(n0, survive, j) * common::poisson(lambda, m - j))
                .sum();
            worst = common::max_or_nan(worst, (d.p[m as usize] - exact).abs());
        }
        eprintln!(
            "t = {}: largest error {worst:.2e}, projection error {:.2e}",
            d.t, d.error
        );
        assert!(
            worst < 1e-12 && d.error < 1e-12,
            "t = {}: {worst}, {}",
            d.t,
            d.error
        );
    }
}

/// Gene expression: mRNA M made at km and degraded at gm M; protein P made at kp M and
/// degraded at gp P. SSA's marginals of M and P against the master equation on the box
/// [0, 25] x [0, 250] (projection error below 1e-9) at two times, by chi-square.
fn ssa_matches_the_master_equation(engine: &Engine) {
    let network = ReactionNetwork::new(
        &[("M".to_string(), 0), ("P".to_string(), 0)],
        &params(&[("km", 2.0), ("gm", 1.0), ("kp", 10.0), ("gp", 0.5)]),
        &[
            reaction("0 -> M", "km"),
            reaction("M -> 0", "gm"),
            reaction("M -> M + P", "kp"),
            reaction("P -> 0", "gp"),
        ],
    )
    .unwrap();
    let me = MasterEquation::new(&network, &[25, 250]).unwrap();
    let times = [1.0, 4.0];
    let exact = me.solve(&network.initial, &times);
    for (d, t) in exact.iter().zip(times) {
        assert!(d.error < 1e-9, "projection error {}", d.error);
        let r = engine
            .run(&network_spec(network.clone(), t, 1 << 15))
            .unwrap();
        let x = r.final_states.unwrap();
        for (i, name) in ["M", "P"].iter().enumerate() {
            let samples: Vec<f32> = x.iter().skip(i).step_by(2).copied().collect();
            let pmf = me.marginal(&d.p, i);
            let support = pmf.len() as u64 - 1;
            let stat = common::chi_square(
                &samples,
                |k| pmf.get(k as usize).copied().unwrap_or(0.0),
                support,
            );
            common::assert_chi_square(&format!("{name} at t = {t}"), stat);
        }
    }
}

/// The chemical Langevin equation of birth-death, dX = (k - g X) dt + sqrt(k) dW1 -
/// sqrt(g X) dW2, under Euler-Maruyama: its stationary mean is k / g exactly and its variance
/// that of the EM recursion, (k / g) / (1 - g dt / 2) (the noise variance per step is
/// (k + g E X) dt = 2 k dt).
fn langevin_equation_has_the_exact_em_moments(engine: &Engine) {
    let (k, g, dt) = (20.0, 0.5, 0.01);
    let spec = network_spec(birth_death(k, g, 40), 30.0, 1 << 16)
        .scheme(Scheme::EulerMaruyama)
        .dt(dt);
    let r = engine.run(&spec).unwrap();
    let m = r.moments.last().unwrap()[0];
    let (mean, var) = (k / g, k / g / (1.0 - g * dt / 2.0));
    common::assert_within("CLE mean", m.mean, mean, (var / m.count as f64).sqrt(), 5.0);
    let se = var * (2.0 / (m.count as f64 - 1.0)).sqrt();
    common::assert_within("CLE variance", m.variance(), var, se, 5.0);
}

/// Tau-leaping on birth-death with mean k / g = 200: explicit leaps of length tau inflate the
/// stationary variance by 1 / (1 - g tau / 2), and the CGP bound gives g tau = eps^2 x / 2 =
/// 0.09 at x = 200 and eps = 0.03: within 5% (plus five standard errors) of the exact law's
/// mean and variance, in under a fifth of the steps SSA takes (its events).
fn tau_leaping_is_within_its_tolerance(engine: &Engine) {
    let (k, g, n0, t) = (200.0, 1.0, 0u64, 6.0);
    let spec = network_spec(birth_death(k, g, n0), t, 1 << 15).scheme(Scheme::TauLeap);
    let r = engine.run(&spec).unwrap();
    let m = r.moments.last().unwrap()[0];
    let survive = (-g * t).exp();
    let mean = k / g * (1.0 - survive) + n0 as f64 * survive;
    let var = k / g * (1.0 - survive) + n0 as f64 * survive * (1.0 - survive);
    let n = m.count as f64;
    let steps = r.adaptive.unwrap().accepted as f64 / n;
    eprintln!(
        "tau-leaping: mean {:.2} (exact {mean:.2}), variance {:.2} (exact {var:.2}), {steps:.0} steps per trajectory (SSA: about {:.0} events)",
        m.mean,
        m.variance(),
        (k + g * mean) * t
    );
    assert!(
        (m.mean - mean).abs() <= 0.05 * mean + 5.0 * (var / n).sqrt(),
        "mean {} vs {mean}",
        m.mean
    );
    assert!(
        (m.variance() - var).abs() <= 0.05 * var + 5.0 * var * (2.0 / n).sqrt(),
        "variance {} vs {var}",
        m.variance()
    );
    assert!(
        steps < 0.2 * (k + g * mean) * t,
        "{steps} steps per trajectory"
    );
}

/// A network that keeps a species near zero (a few molecules, dimerising away): tau-leaping
/// never makes a count negative, over 2^20 trajectories.
#[test]
fn tau_leaping_never_makes_a_count_negative() {
    let engine = common::engine(langevin::BackendChoice::Gpu)
        .unwrap_or_else(|| Engine::new(langevin::BackendChoice::Cpu).unwrap());
    let network = ReactionNetwork::new(
        &[("X".to_string(), 8), ("D".to_string(), 0)],
        &params(&[("s", 3.0), ("k", 0.4), ("g", 1.0)]),
        &[
            reaction("0 -> X", "s"),
            reaction("2X -> D", "k"),
            reaction("X -> 0", "g"),
            reaction("D -> 0", "g"),
        ],
    )
    .unwrap();
    for t in [0.5, 4.0] {
        let spec = network_spec(network.clone(), t, 1 << 20).scheme(Scheme::TauLeap);
        let r = engine.run(&spec).unwrap();
        let x = r.final_states.unwrap();
        let lowest = x.iter().copied().fold(f32::INFINITY, f32::min);
        let zeros = x.iter().step_by(2).filter(|v| **v == 0.0).count();
        eprintln!("t = {t}: lowest count {lowest}, X = 0 in {zeros} trajectories");
        assert!(lowest >= 0.0, "a negative count: {lowest}");
        assert!(zeros > 1000, "the test must reach zero often ({zeros})");
        assert_eq!(r.adaptive.unwrap().exhausted, 0);
    }
}

/// A jump process given by its rates (`kind = "jump"`): A -> B (2), B -> C (1), C -> A (3),
/// B -> A (0.5). Its stationary law solves pi Q = 0; at t = 10 (the slowest relaxation rate is
/// above 2) the occupation of each state is within five binomial standard errors of it.
fn jump_process_takes_its_stationary_law(engine: &Engine) {
    let text = r#"
        name = "ring"
        kind = "jump"
        [model]
        state = ["A", "B", "C"]
        init = ["A"]
        params = { ab = 2.0, bc = 1.0, ca = 3.0, ba = 0.5 }
        transitions = [
          { from = "A", to = "B", rate = "ab" },
          { from = "B", to = "C", rate = "bc" },
          { from = "C", to = "A", rate = "ca" },
          { from = "B", to = "A", rate = "ba" },
        ]
        [solver]
        t_end = 10.0
        [ensemble]
        trajectories = 65536
        seed = 5
        [output]
        save_times = 2
    "#;
    let spec = langevin::config::Config::from_toml("ring.toml", text, &[])
        .unwrap()
        .to_spec()
        .unwrap();
    let r = engine.run(&spec).unwrap();
    // pi Q = 0 with Q the generator: balance of A, B and C, normalised.
    // A: 3 pi_C + 0.5 pi_B = 2 pi_A;  C: 1 pi_B = 3 pi_C.
    let (pb, pc) = (1.0, 1.0 / 3.0);
    let pa = (3.0 * pc + 0.5 * pb) / 2.0;
    let total = pa + pb + pc;
    let n = r.trajectories as f64;
    for (i, p) in [pa, pb, pc].iter().map(|p| p / total).enumerate() {
        let m = r.moments.last().unwrap()[i];
        common::assert_within(
            &format!("occupation of state {i}"),
            m.mean,
            p,
            (p * (1.0 - p) / n).sqrt(),
            5.0,
        );
    }
    let err = langevin::config::Config::from_toml(
        "ring.toml",
        &text.replace("to = \"C\"", "to = \"D\""),
        &[],
    )
    .unwrap()
    .to_spec()
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("model.transitions[1]") && err.contains("unknown state `D`"),
        "{err}"
    );
}

/// A network whose counts start from a law, run from a config.
fn run_from_laws(
    engine: &Engine,
    species: &str,
    reactions: &str,
    t_end: f64,
) -> langevin::EnsembleResult {
    let text = format!(
        r#"
        name = "laws"
        kind = "reactions"
        [model]
        species = {{ {species} }}
        params = {{ k = 20.0, g = 0.5 }}
        reactions = [{reactions}]
        [solver]
        scheme = "ssa"
        t_end = {t_end}
        [ensemble]
        trajectories = 65536
        seed = 21
        [output]
        save_times = 5
    "#
    );
    let spec = langevin::config::Config::from_toml("laws.toml", &text, &[])
        .unwrap()
        .to_spec()
        .unwrap();
    engine.run(&spec).unwrap()
}

/// Initial counts drawn from a law, against exact laws at every save time (5 standard errors
/// of the mean and of the variance, `Var s^2 = (mu_4 - sigma^4) / n` to leading order):
/// birth-death from its stationary Poisson(k / g) stays Poisson(40); pure death from
/// Binomial(3000, 0.6) is Binomial(3000, 0.6 e^{-g t}) at t; uniform_int(5, 24) at t = 0 has
/// mean 14.5 and variance (20^2 - 1) / 12. Poisson draws past its inversion range (mean 40)
/// and binomial trials past llvmpipe's loop bound in one invocation (3000 trials) are covered.
fn initial_counts_follow_their_laws(engine: &Engine) {
    let n = 65536.0;
    let check = |what: &str, m: &langevin::Moments, mean: f64, var: f64, mu4: f64| {
        common::assert_within(&format!("{what} mean"), m.mean, mean, (var / n).sqrt(), 5.0);
        common::assert_within(
            &format!("{what} variance"),
            m.variance(),
            var,
            ((mu4 - var * var) / n).sqrt(),
            5.0,
        );
    };
    let birth_death = r#"{ eq = "0 -> X", rate = "k" }, { eq = "X -> 0", rate = "g" }"#;
    let r = run_from_laws(engine, r#"X = "poisson(k / g)""#, birth_death, 4.0);
    let l = 40.0;
    for (t, m) in r.times.iter().zip(&r.moments) {
        check(
            &format!("Poisson birth-death at t = {t}"),
            &m[0],
            l,
            l,
            l * (1.0 + 3.0 * l),
        );
    }
    let r = run_from_laws(
        engine,
        r#"X = "binomial(3000, 0.6)""#,
        r#"{ eq = "X -> 0", rate = "g" }"#,
        2.0,
    );
    for (t, m) in r.times.iter().zip(&r.moments) {
        let (trials, q) = (3000.0, 0.6 * (-0.5 * t).exp());
        let var = trials * q * (1.0 - q);
        // The binomial's fourth central moment: n q (1 - q) (1 + 3 (n - 2) q (1 - q)).
        let mu4 = var * (1.0 + 3.0 * (trials - 2.0) * q * (1.0 - q));
        check(
            &format!("binomial pure death at t = {t}"),
            &m[0],
            trials * q,
            var,
            mu4,
        );
    }
    let r = run_from_laws(engine, r#"X = "uniform_int(5, 24)""#, birth_death, 1.0);
    let (mean, var) = (14.5, (20.0f64 * 20.0 - 1.0) / 12.0);
    // The discrete uniform's fourth central moment: (N^2 - 1)(3 N^2 - 7) / 240 for N values.
    let mu4 = (400.0 - 1.0) * (3.0 * 400.0 - 7.0) / 240.0;
    check("uniform_int at t = 0", &r.moments[0][0], mean, var, mu4);
    // A table of weights: counts 0, 1, 2 with probabilities 0.2, 0.5, 0.3 (normalised).
    let r = run_from_laws(engine, r#"X = "table(2, 5, 3)""#, birth_death, 1.0);
    let p = [0.2, 0.5, 0.3];
    let mean: f64 = (0..3).map(|k| k as f64 * p[k]).sum();
    let var: f64 = (0..3).map(|k| (k as f64 - mean).powi(2) * p[k]).sum();
    let mu4: f64 = (0..3).map(|k| (k as f64 - mean).powi(4) * p[k]).sum();
    check("table at t = 0", &r.moments[0][0], mean, var, mu4);
    // Birth-death from its stationary law given as a table (Poisson(40) up to 120, the tail
    // beyond below 1e-30) stays Poisson(40).
    let mut pmf = vec![(-l).exp()];
    for k in 1..=120 {
        let last = pmf[k - 1];
        pmf.push(last * l / k as f64);
    }
    let weights: Vec<String> = pmf.iter().map(|w| format!("{w:e}")).collect();
    let species = format!(r#"X = "table({})""#, weights.join(", "));
    let r = run_from_laws(engine, &species, birth_death, 4.0);
    for (t, m) in r.times.iter().zip(&r.moments) {
        check(
            &format!("Poisson table birth-death at t = {t}"),
            &m[0],
            l,
            l,
            l * (1.0 + 3.0 * l),
        );
    }
}

/// A species law with a master-equation comparison is refused (the comparison starts from
/// fixed counts), and a count law outside a reactions model too; both name the key.
#[test]
fn count_laws_are_refused_where_they_do_not_apply() {
    let text = r#"
        name = "laws"
        kind = "reactions"
        [model]
        species = { X = "poisson(4)" }
        params = { k = 2.0, g = 0.5 }
        reactions = [{ eq = "0 -> X", rate = "k" }, { eq = "X -> 0", rate = "g" }]
        [solver]
        scheme = "ssa"
        t_end = 1.0
        [ensemble]
        trajectories = 64
        [output]
        cme = { X = 40 }
    "#;
    let err = langevin::config::Config::from_toml("laws.toml", text, &[])
        .unwrap()
        .to_spec()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("output.cme") && err.contains("fixed counts"),
        "{err}"
    );
    let text = text
        .replace(r#"X = "poisson(4)""#, r#"X = "binomial(5000, 0.5)""#)
        .replace("cme = { X = 40 }", "");
    let err = langevin::config::Config::from_toml("laws.toml", &text, &[])
        .unwrap()
        .to_spec()
        .unwrap()
        .resolve()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("binomial(5000, 0.5)") && err.contains("4096"),
        "{err}"
    );
}

on_every_backend!(
    initial_counts_follow_their_laws,
    jump_process_takes_its_stationary_law,
    tau_leaping_is_within_its_tolerance,
    langevin_equation_has_the_exact_em_moments,
    birth_death_matches_binomial_plus_poisson,
    schloegl_basins_take_the_detailed_balance_law,
    ssa_matches_the_master_equation,
);
