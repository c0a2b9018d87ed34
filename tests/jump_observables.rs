//! What the jump schemes observe besides moments, against exact laws: a pure death process
//! (distributions at chosen times, extinction and absorption probabilities, events per
//! trajectory), and a discrete flashing ratchet given by its rates with a displacement
//! counter (its mean and variance against the master equation carried with the counter's
//! moments).

mod common;
use langevin::reactions::{ReactionNetwork, ReactionSpec};
use langevin::{Engine, EnsembleSpec, ExprModel, SaveAt, Scheme};
use std::sync::Arc;

/// `X -> 0` at rate g per molecule from n0: X(t) = Binomial(n0, e^{-g t}); extinction (which
/// is absorption) has probability (1 - e^{-g t})^n0; each trajectory has fired n0 - X(t)
/// events by t.
fn pure_death_goes_extinct_on_time(engine: &Engine) {
    let (g, n0) = (1.0, 6u64);
    let network = ReactionNetwork::new(
        &[("X".to_string(), n0 as i64)],
        &[("g".to_string(), g)],
        &[ReactionSpec {
            eq: "X -> 0".into(),
            rate: Some("g".into()),
            propensity: None,
        }],
    )
    .unwrap();
    let n = 1u64 << 16;
    let spec = EnsembleSpec::with_model(Arc::new(
        ExprModel::reaction_network("death", network).unwrap(),
    ))
    .scheme(Scheme::Ssa)
    .initial_fixed(&[n0 as f64])
    .time_span(0.0, 2.0)
    .dt(0.02)
    .trajectories(n)
    .seed(31)
    .save_at(SaveAt::Count(5))
    .count_distributions(&[0.5, 2.0])
    .keep_events(true)
    .final_states(true);
    let r = engine.run(&spec).unwrap();
    let j = r.jumps.as_ref().expect("a jump run reports its tallies");
    assert_eq!(j.times, vec![0.0, 0.5, 1.0, 1.5, 2.0]);
    for (k, t) in j.times.iter().enumerate() {
        assert_eq!(j.observed[k], n);
        // Zero molecules is the only absorbing state.
        assert_eq!(j.absorbed[k], j.zeros[k][0], "t = {t}");
        let p = (1.0 - (-g * t).exp()).powi(n0 as i32);
        common::assert_within(
            &format!("extinction by t = {t}"),
            j.extinct(k, 0),
            p,
            (p * (1.0 - p) / n as f64).sqrt().max(1.0 / n as f64),
            5.0,
        );
    }
    assert_eq!(j.distributions.len(), 2);
    for d in &j.distributions {
        let h = &d.components[0];
        assert_eq!((h.total(), h.missing), (n, 0));
        let observed: Vec<f64> = (0..=n0 as i64).map(|v| h.count(v) as f64).collect();
        let survive = (-g * d.time).exp();
        common::assert_chi_square(
            &format!("X at t = {}", d.time),
            common::chi_square_counts(&observed, |k| common::binomial(n0, survive, k)),
        );
    }
    let events = j.per_trajectory.as_ref().expect("events kept");
    let x = r.final_states.as_ref().unwrap();
    assert_eq!(events.len() as u64, n);
    for (e, x) in events.iter().zip(x) {
        assert_eq!(f64::from(*e), n0 as f64 - f64::from(*x));
    }
    let mean = n0 as f64 * (1.0 - (-g * 2.0f64).exp());
    common::assert_within(
        "events per trajectory",
        j.events.mean,
        mean,
        (j.events.variance() / n as f64).sqrt(),
        5.0,
    );
}

/// The discrete flashing ratchet of `examples/configs/flashing_ratchet.toml` with numbers in
/// place of its rate expressions: (from, to, rate, step of x).
fn ratchet_transitions(k: f64, v: f64, r: f64) -> Vec<(usize, usize, f64, i64)> {
    let mut t = Vec::new();
    let u = [0.0, v / 2.0, v];
    for site in 0..3 {
        let (up, down) = ((site + 1) % 3, (site + 2) % 3);
        // Potential on (states 0-2): across the period boundary the potential drops by V.
        let du_up = if site == 2 { -v } else { u[up] - u[site] };
        let du_down = if site == 0 { v } else { u[down] - u[site] };
        // Metropolis: k downhill, k e^{-dU} uphill.
        t.push((site, up, k * (-du_up).exp().min(1.0), 1));
        t.push((site, down, k * (-du_down).exp().min(1.0), -1));
        // Potential off (states 3-5).
        t.push((3 + site, 3 + up, k, 1));
        t.push((3 + site, 3 + down, k, -1));
        t.push((site, 3 + site, r, 0));
        t.push((3 + site, site, r, 0));
    }
    t
}

/// The master equation of the 6 states carried with the raw moments of the counter x:
/// `m[i][q] = E[x^q; state i]`, q = 0..4; a transition i -> j at rate w with step d moves
/// `w E[(x + d)^q; i]` to j. RK4 in f64 at a step far below every rate's inverse.
fn ratchet_moments(transitions: &[(usize, usize, f64, i64)], times: &[f64]) -> Vec<[f64; 5]> {
    let binom = [
        [1.0, 0.0, 0.0, 0.0, 0.0],
        [1.0, 1.0, 0.0, 0.0, 0.0],
        [1.0, 2.0, 1.0, 0.0, 0.0],
        [1.0, 3.0, 3.0, 1.0, 0.0],
        [1.0, 4.0, 6.0, 4.0, 1.0],
    ];
    let rhs = |m: &[[f64; 5]; 6]| {
        let mut dm = [[0.0; 5]; 6];
        for &(i, j, w, d) in transitions {
            let d = d as f64;
            for q in 0..5 {
                let shifted: f64 = (0..=q)
                    .map(|l| binom[q][l] * d.powi((q - l) as i32) * m[i][l])
                    .sum();
                dm[j][q] += w * shifted;
                dm[i][q] -= w * m[i][q];
            }
        }
        dm
    };
    let mut m = [[0.0; 5]; 6];
    m[3][0] = 1.0; // off0
    let h = 1e-3f64;
    let (mut t, mut out) = (0.0, Vec::new());
    for &target in times {
        while t < target - 1e-12 {
            let step = h.min(target - t);
            let add = |a: &[[f64; 5]; 6], b: &[[f64; 5]; 6], s: f64| {
                let mut c = *a;
                for (ci, bi) in c.iter_mut().zip(b) {
                    for (cq, bq) in ci.iter_mut().zip(bi) {
                        *cq += s * bq;
                    }
                }
                c
            };
            let k1 = rhs(&m);
            let k2 = rhs(&add(&m, &k1, step / 2.0));
            let k3 = rhs(&add(&m, &k2, step / 2.0));
            let k4 = rhs(&add(&m, &k3, step));
            for (i, mi) in m.iter_mut().enumerate() {
                for q in 0..5 {
                    mi[q] += step / 6.0 * (k1[i][q] + 2.0 * k2[i][q] + 2.0 * k3[i][q] + k4[i][q]);
                }
            }
            t += step;
        }
        let mut total = [0.0; 5];
        for mi in &m {
            for q in 0..5 {
                total[q] += mi[q];
            }
        }
        out.push(total);
    }
    out
}

/// The ratchet from its config: the displacement's mean and variance at every save time
/// within five standard errors of the exact ones (the variance's error from the exact fourth
/// central moment).
fn flashing_ratchet_drifts_as_its_master_equation_says(engine: &Engine) {
    let (k, v, r) = (1.0, 8.0, 3.0);
    let transitions = ratchet_transitions(k, v, r);
    let names = ["on0", "on1", "on2", "off0", "off1", "off2"];
    let lines: Vec<String> = transitions
        .iter()
        .map(|(i, j, w, d)| {
            let add = if *d == 0 {
                String::new()
            } else {
                format!(", add = {{ x = {d} }}")
            };
            format!(
                "{{ from = \"{}\", to = \"{}\", rate = \"{w:e}\"{add} }}",
                names[*i], names[*j]
            )
        })
        .collect();
    let text = format!(
        "name = \"ratchet\"\nkind = \"jump\"\n[model]\nstate = {names:?}\ninit = [\"off0\"]\n\
         counters = [\"x\"]\ntransitions = [\n{}\n]\n[solver]\nt_end = 20.0\n\
         [ensemble]\ntrajectories = 65536\nseed = 8\n[output]\nsave_times = 5\n",
        lines.join(",\n")
    );
    let spec = langevin::config::Config::from_toml("ratchet.toml", &text, &[])
        .unwrap()
        .to_spec()
        .unwrap();
    let res = engine.run(&spec).unwrap();
    let exact = ratchet_moments(&transitions, &res.times);
    let n = res.trajectories as f64;
    for (slot, t) in res.times.iter().enumerate().skip(1) {
        let m = &res.moments[slot][6];
        let [_, m1, m2, m3, m4] = exact[slot];
        let var = m2 - m1 * m1;
        let mu4 = m4 - 4.0 * m1 * m3 + 6.0 * m1 * m1 * m2 - 3.0 * m1.powi(4);
        eprintln!(
            "t = {t}: <x> {:.4} (exact {m1:.4}), Var x {:.3} (exact {var:.3})",
            m.mean,
            m.variance()
        );
        common::assert_within(&format!("<x>({t})"), m.mean, m1, (var / n).sqrt(), 5.0);
        common::assert_within(
            &format!("Var x({t})"),
            m.variance(),
            var,
            ((mu4 - var * var) / n).sqrt(),
            5.0,
        );
    }
    // The drift is there: at t = 20 the mean displacement is many standard errors from 0.
    let last = exact.last().unwrap();
    assert!(
        last[1].abs() > 20.0 * ((last[2] - last[1] * last[1]) / n).sqrt(),
        "{last:?}"
    );

    for (bad, message) in [
        ("add = { x = 1 }", "add = { y = 1 }"),
        ("counters = [\"x\"]", "counters = [\"off1\"]"),
    ] {
        let err = langevin::config::Config::from_toml(
            "ratchet.toml",
            &text.replacen(bad, message, 1),
            &[],
        )
        .unwrap()
        .to_spec()
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("model.transitions[0].add.y") || err.contains("model.counters[0]"),
            "{err}"
        );
    }
}

/// The example ratchet (counters stepping both ways) by SSA, and a pure death process by
/// tau-leaping: the GPU kernels and their CPU twins give the same final states, events per
/// trajectory, extinctions, absorptions and distributions (on an adapter that rounds like the
/// twin; elsewhere the same mean number of events within 5 standard errors).
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn gpu_and_cpu_twin_agree_on_every_tally() {
    let Some(gpu) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let cpu = common::engine(langevin::BackendChoice::Cpu).unwrap();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/configs/flashing_ratchet.toml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let ratchet = langevin::config::Config::from_toml(path, &text, &[])
        .unwrap()
        .to_spec()
        .unwrap()
        .trajectories(4096)
        .keep_events(true)
        .final_states(true);
    let death = EnsembleSpec::with_model(Arc::new(
        ExprModel::reaction_network(
            "death",
            ReactionNetwork::new(
                &[("X".to_string(), 400)],
                &[("g".to_string(), 1.0)],
                &[ReactionSpec {
                    eq: "X -> 0".into(),
                    rate: Some("g".into()),
                    propensity: None,
                }],
            )
            .unwrap(),
        )
        .unwrap(),
    ))
    .scheme(Scheme::TauLeap)
    .initial_fixed(&[400.0])
    .time_span(0.0, 8.0)
    .trajectories(4096)
    .save_at(SaveAt::Count(9))
    .count_distributions(&[1.0, 8.0])
    .keep_events(true)
    .final_states(true);
    // Bit for bit where the adapter rounds like the twin, else in law (`rounds_like_twin`).
    let exact = common::rounds_like_twin(&gpu);
    for spec in [ratchet, death] {
        let (a, b) = (gpu.run(&spec).unwrap(), cpu.run(&spec).unwrap());
        if exact {
            assert_eq!(a.final_states, b.final_states, "{}", spec.scheme);
            assert_eq!(a.jumps, b.jumps, "{}", spec.scheme);
        } else {
            let (ja, jb) = (a.jumps.as_ref().unwrap(), b.jumps.as_ref().unwrap());
            let what = format!("{} events per trajectory", spec.scheme);
            common::assert_same_mean(&what, &ja.events, &jb.events, 5.0);
        }
        let j = a.jumps.unwrap();
        eprintln!(
            "{}: {} events per trajectory, absorbed at the end {}",
            spec.scheme,
            j.events.mean,
            j.absorbed.last().unwrap()
        );
    }
}

/// Event-resolved paths of pure death (`X -> 0` at rate g per molecule from 6): every path
/// starts at t0 with 6, each event removes one molecule at a later time, and the last row is
/// the count the run saved for that trajectory at its end (bit for bit where the device rounds
/// like the twin, which replays the paths); the first event comes after an exponential wait
/// of rate 6 g (mean within 5 standard errors); a tau-leaping run keeps no event paths.
fn event_paths_are_the_exact_trajectories(engine: &Engine) {
    let (g, n0, k) = (1.0, 6u64, 2048u64);
    let network = ReactionNetwork::new(
        &[("X".to_string(), n0 as i64)],
        &[("g".to_string(), g)],
        &[ReactionSpec {
            eq: "X -> 0".into(),
            rate: Some("g".into()),
            propensity: None,
        }],
    )
    .unwrap();
    let spec = EnsembleSpec::with_model(Arc::new(
        ExprModel::reaction_network("death", network).unwrap(),
    ))
    .scheme(Scheme::Ssa)
    .initial_fixed(&[n0 as f64])
    .time_span(0.0, 2.0)
    .dt(0.02)
    .trajectories(4096)
    .seed(17)
    .save_at(SaveAt::Count(3))
    .paths(k, None);
    let r = engine.run(&spec).unwrap();
    let e = r
        .jumps
        .as_ref()
        .unwrap()
        .event_paths
        .as_ref()
        .expect("event paths");
    let p = r.paths.as_ref().unwrap();
    let exact =
        common::rounds_like_twin(engine) || engine.device().kind == langevin::BackendKind::Cpu;
    assert_eq!(e.offsets.len() as u64, k + 1);
    let mut first_waits = Vec::new();
    let mut agree = 0;
    for j in 0..k as usize {
        let (times, rows) = e.path(j, 1);
        assert_eq!((times[0], rows[0]), (0.0, n0 as f32));
        for w in 1..times.len() {
            assert!(times[w] > times[w - 1] && times[w] <= 2.0, "path {j}");
            assert_eq!(rows[w], rows[w - 1] - 1.0, "path {j}");
        }
        let saved = p.states[j * 3 + 2];
        agree += usize::from(rows[rows.len() - 1].to_bits() == saved.to_bits());
        if times.len() > 1 {
            first_waits.push(times[1]);
        }
    }
    if exact {
        assert_eq!(agree, k as usize);
    } else {
        assert!(agree as f64 > 0.99 * k as f64, "{agree} of {k}");
    }
    let m = langevin::Moments::of(first_waits.iter().copied());
    let mean = 1.0 / (n0 as f64 * g);
    common::assert_within(
        "first wait",
        m.mean,
        mean,
        mean / (m.count as f64).sqrt(),
        5.0,
    );
    let leaped = engine.run(&spec.clone().scheme(Scheme::TauLeap)).unwrap();
    assert!(leaped.jumps.unwrap().event_paths.is_none());
}

on_every_backend!(
    event_paths_are_the_exact_trajectories,
    pure_death_goes_extinct_on_time,
    flashing_ratchet_drifts_as_its_master_equation_says,
);
