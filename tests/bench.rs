//! The benchmark workloads (`langevin bench`, `benches/throughput.rs`): every case passes its
//! own check on both backends at the tiny size, the backends agree, and a check fails on a
//! wrong result. Also: the CPU twin's lockstep lanes give the bits of its one-trajectory path.

mod common;

use langevin::bench::{self, Case, Run, Size};
use langevin::{
    BackendChoice, Chunking, Engine, EnsembleSpec, ExprModel, OrnsteinUhlenbeck, SaveAt, Scheme,
    Sweep,
};
use std::sync::Arc;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn every_tiny_case_passes_its_check_and_the_backends_agree() {
    let cpu = common::engine(BackendChoice::Cpu).unwrap();
    let gpu = common::engine(BackendChoice::Gpu);
    let cases = bench::cases(Size::Tiny, &[]).unwrap();
    assert_eq!(cases.len(), bench::WORKLOADS.len());
    for case in &cases {
        let c = bench::measure(&cpu, case, 1).unwrap_or_else(|e| panic!("{}: {e}", case.workload));
        assert!(c.rate > 0.0 && c.seconds > 0.0, "{}: {c:?}", case.workload);
        if let Some(gpu) = &gpu {
            let g = bench::measure(gpu, case, 1)
                .unwrap_or_else(|e| panic!("{} on the GPU backend: {e}", case.workload));
            assert_eq!(g.steps, c.steps, "{}", case.workload);
            bench::agree(&g, &c).unwrap();
        }
    }
}

/// Lorenz (rho = 28, beta = 8/3) as an expression with the given `sigma` and drift of x.
fn lorenz(sigma: f64, x_drift: &str) -> Arc<ExprModel> {
    let params = [
        ("sigma".into(), sigma),
        ("rho".into(), 28.0),
        ("beta".into(), 8.0 / 3.0),
    ];
    let drift = strings(&[x_drift, "x * (rho - z) - y", "x * y - beta * z"]);
    Arc::new(ExprModel::new("lorenz", &strings(&["x", "y", "z"]), &params, &drift, &[]).unwrap())
}

/// The OU case with `sigma` changed from 0.5 to 0.55: its variance is 21% off the exact one,
/// some 6 standard errors at 2^12 trajectories.
#[test]
fn a_wrong_result_fails_its_check() {
    let cpu = common::engine(BackendChoice::Cpu).unwrap();
    let mut case = bench::cases(Size::Tiny, &["ou".into()]).unwrap().remove(0);
    let Run::Ensemble(spec) = &mut case.run else {
        panic!("OU is an ensemble case")
    };
    spec.model = Arc::new(OrnsteinUhlenbeck::new(1.0, 0.0, 0.55));
    spec.trajectories = 1 << 12;
    case.trajectories = 1 << 12;
    let e = bench::measure(&cpu, &case, 1).unwrap_err().to_string();
    assert!(e.contains("bench check") && e.contains("variance"), "{e}");

    // Lorenz with sigma = 10.1 instead of 10 ends far from the f64 flow.
    let mut case: Case = bench::cases(Size::Tiny, &["lorenz".into()])
        .unwrap()
        .remove(0);
    let Run::Ensemble(spec) = &mut case.run else {
        panic!("Lorenz is an ensemble case")
    };
    spec.model = lorenz(10.1, "sigma * (y - x)");
    let e = bench::measure(&cpu, &case, 1).unwrap_err().to_string();
    assert!(e.contains("f64 flow"), "{e}");

    // Lorenz whose every state is NaN (a log of a negative number in the drift) fails too:
    // its trajectories are counted as diverged.
    let Run::Ensemble(spec) = &mut case.run else {
        panic!("Lorenz is an ensemble case")
    };
    spec.model = lorenz(10.0, "sigma * (y - x) + log(-1 - x * x)");
    let e = bench::measure(&cpu, &case, 1).unwrap_err().to_string();
    assert!(e.contains("bench check") && e.contains("diverged"), "{e}");
}

/// The CPU twin's lanes of eight against one trajectory at a time (`Chunking::cpu_lanes`), for
/// OU as an expression and as the built-in model (the same operations in the same order):
/// final states, passage times and moments agree to the bit: 1001 trajectories (a partial last lane group), 7 steps per
/// dispatch (segments that start inside a Philox block group), theta swept across them.
#[test]
fn cpu_lanes_give_the_bits_of_single_invocations() {
    let cpu = Engine::new(BackendChoice::Cpu).unwrap();
    let expr = ExprModel::new(
        "ou",
        &strings(&["x"]),
        &[
            ("theta".into(), 1.0),
            ("mu".into(), 0.0),
            ("sigma".into(), 0.5),
        ],
        &strings(&["theta * (mu - x)"]),
        &strings(&["sigma"]),
    )
    .unwrap();
    let spec = |model: Arc<dyn langevin::Model>, scheme: Scheme| {
        let mut s = EnsembleSpec::with_model(model)
            .scheme(scheme)
            .initial_normal(&[1.0], &[0.3])
            .time_span(0.0, 2.0)
            .dt(0.01)
            .trajectories(1001)
            .seed(5)
            .save_at(SaveAt::Count(5))
            .sweep(Sweep::linspace("theta", 0.5, 2.0, 1001))
            .first_passage(0, 0.2, langevin::spec::Direction::Down)
            .final_states(true);
        s.chunking = Chunking {
            steps_per_dispatch: Some(7),
            ..Chunking::default()
        };
        s
    };
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let scheme = Scheme::EulerMaruyama;
    let single = |model: Arc<dyn langevin::Model>| {
        let mut s = spec(model, scheme);
        s.chunking.cpu_lanes = Some(false);
        cpu.run(&s).unwrap()
    };
    let expr_lanes = cpu.run(&spec(Arc::new(expr.clone()), scheme)).unwrap();
    let ou = Arc::new(OrnsteinUhlenbeck::new(1.0, 0.0, 0.5));
    let ou_lanes = cpu.run(&spec(ou.clone(), scheme)).unwrap();
    // Lanes against one at a time, and the expression against the built-in model.
    for (lanes, single) in [
        (&expr_lanes, single(Arc::new(expr))),
        (&ou_lanes, single(ou)),
        (&expr_lanes, ou_lanes.clone()),
    ] {
        assert_eq!(
            bits(lanes.final_states.as_ref().unwrap()),
            bits(single.final_states.as_ref().unwrap())
        );
        let (a, b) = (
            lanes.first_passage.as_ref().unwrap(),
            single.first_passage.as_ref().unwrap(),
        );
        assert_eq!(a.hit, b.hit);
        assert!(a.hit > 100, "{} passages", a.hit);
        assert_eq!(bits(&a.times), bits(&b.times));
        assert_eq!(lanes.moments, single.moments);
    }

    // RK4 (no noise: no model with one-at-a-time terms qualifies) against rk4_step itself,
    // trajectory by trajectory.
    let ode = ExprModel::new(
        "decay",
        &strings(&["x"]),
        &[("theta".into(), 1.0), ("mu".into(), 0.0)],
        &strings(&["theta * (mu - x)"]),
        &strings(&["0"]),
    )
    .unwrap();
    let sweep = Sweep::linspace("theta", 0.5, 2.0, 1001);
    let mut ode_spec = EnsembleSpec::with_model(Arc::new(ode.clone()))
        .scheme(Scheme::Rk4)
        .initial_fixed(&[1.0])
        .time_span(0.0, 2.0)
        .dt(0.01)
        .trajectories(1001)
        .sweep(sweep.clone())
        .final_states(true);
    ode_spec.chunking.steps_per_dispatch = Some(7);
    let r = cpu.run(&ode_spec).unwrap();
    let states = r.final_states.unwrap();
    for (i, theta) in sweep.values.iter().enumerate() {
        let p = [*theta as f32, 0.0];
        let mut x = [0.0f32; langevin::model::MAX_DIM];
        x[0] = 1.0;
        for s in 0..200 {
            x = langevin::cpu::schemes::rk4_step(&ode, &p, s as f32 * 0.01, 0.01, &x);
        }
        assert_eq!(states[i].to_bits(), x[0].to_bits(), "trajectory {i}");
    }
}
