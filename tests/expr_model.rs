//! Models written as expressions run like the built-in ones: the same results to the bit where
//! the arithmetic is the same, Milstein's strong order from the derived `g dg/dx`, and errors
//! that point into the expression.

mod common;
use langevin::{Engine, EnsembleSpec, Error, ExprModel, OrnsteinUhlenbeck, SaveAt, Scheme};

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn params(v: &[(&str, f64)]) -> Vec<(String, f64)> {
    v.iter().map(|(n, x)| (n.to_string(), *x)).collect()
}

fn ou_as_text_equals_built_in_ou(engine: &Engine) {
    let text = ExprModel::new(
        "ou",
        &strings(&["x"]),
        &params(&[("theta", 1.5), ("mu", 0.3), ("sigma", 0.7)]),
        &strings(&["theta * (mu - x)"]),
        &strings(&["sigma"]),
    )
    .unwrap();
    let run = |spec: EnsembleSpec| {
        engine
            .run(
                &spec
                    .initial_normal(&[1.0], &[0.2])
                    .time_span(0.0, 1.0)
                    .dt(0.01)
                    .trajectories(5000)
                    .seed(4)
                    .save_at(SaveAt::Count(3))
                    .final_states(true),
            )
            .unwrap()
    };
    let a = run(EnsembleSpec::new(text));
    let b = run(EnsembleSpec::new(OrnsteinUhlenbeck::new(1.5, 0.3, 0.7)));
    let (fa, fb) = (a.final_states.unwrap(), b.final_states.unwrap());
    let worst = fa
        .iter()
        .zip(&fb)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, common::max_or_nan_f32);
    // The same f32 operations in the same order: equal up to the driver's freedom to fuse a
    // multiply and an add, at most 2 ulp of |x| <= 4 per step, contracted by a = 1 - theta dt
    // per step: 2 * 2^-23 * 4 / (theta dt).
    let bound = 2.0 * 2f32.powi(-23) * 4.0 / (1.5 * 0.01);
    assert!(
        worst <= bound,
        "largest difference {worst:e}, bound {bound:e}"
    );
    if engine.device().kind == langevin::BackendKind::Cpu {
        assert_eq!(fa, fb, "the CPU evaluates both the same way");
    }
}

/// GBM written as text under Milstein: the derived g dg/dx = sigma^2 S gives strong order 1.
fn milstein_on_text_gbm_has_strong_order_one(engine: &Engine) {
    let (mu, sigma) = (1.0, 0.8);
    let model = ExprModel::new(
        "gbm",
        &strings(&["S"]),
        &params(&[("mu", mu), ("sigma", sigma)]),
        &strings(&["mu * S"]),
        &strings(&["sigma * S"]),
    )
    .unwrap();
    let order = common::strong_order_on_one_path(
        engine,
        std::sync::Arc::new(model),
        Scheme::Milstein,
        5,
        &common::small_grid(),
        |w| ((mu - 0.5 * sigma * sigma) + sigma * w).exp(),
    );
    assert!((order - 1.0).abs() <= 0.1, "strong order {order:.3}");
}

on_every_backend!(
    ou_as_text_equals_built_in_ou,
    milstein_on_text_gbm_has_strong_order_one
);

#[test]
fn errors_name_the_field_and_point_into_the_expression() {
    let err = ExprModel::new(
        "m",
        &strings(&["x", "v"]),
        &params(&[("theta", 1.0)]),
        &strings(&["v", "-thta * x"]),
        &strings(&["0", "1"]),
    )
    .unwrap_err();
    let Error::Expression { field, rendered } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(field, "model.drift[1]");
    assert!(rendered.contains("unknown name `thta`"), "{rendered}");
    assert!(rendered.contains("did you mean `theta`?"), "{rendered}");
    assert!(rendered.contains("\n     ^^^^"), "{rendered}");

    let err = ExprModel::new("m", &strings(&["x"]), &[], &strings(&["1", "2"]), &[]).unwrap_err();
    assert!(err.to_string().contains("model.drift"), "{err}");
    let err = ExprModel::new("m", &strings(&["t"]), &[], &strings(&["1"]), &[]).unwrap_err();
    assert!(err.to_string().contains("model.state"), "{err}");
}

/// A component that is a 1-D gradient flow with constant noise has a stationary density: for
/// OU written as text it is N(mu, sigma^2 / (2 theta)), the closed form. Time dependence,
/// coupling to another component or state-dependent noise rule it out.
#[test]
fn scalar_flow_is_recognised_and_has_the_exact_stationary_law() {
    use langevin::Model;
    let (theta, mu, sigma) = (2.0, -0.5, 0.6);
    let m = ExprModel::new(
        "ou2",
        &strings(&["x", "y"]),
        &params(&[("theta", theta), ("mu", mu), ("sigma", sigma)]),
        &strings(&["theta*(mu - x)", "-y + x"]),
        &strings(&["sigma", "sigma*y"]),
    )
    .unwrap();
    let flow = m.scalar_flow(0).expect("x is an OU flow");
    assert_eq!(flow.noise(), sigma);
    let s = sigma / (2.0 * theta).sqrt();
    let (lo, hi) = (mu - 4.0 * s, mu + 4.0 * s);
    let mass = common::normal_cdf(4.0) - common::normal_cdf(-4.0);
    for (x, p) in flow.density(lo, hi, 33).unwrap() {
        let z = (x - mu) / s;
        let exact = (-0.5 * z * z).exp() / (s * (2.0 * std::f64::consts::PI).sqrt()) / mass;
        assert!(
            (p - exact).abs() < 1e-6 * exact.max(1.0),
            "x = {x}: {p} vs {exact}"
        );
    }
    assert!(m.scalar_flow(1).is_none(), "y is coupled to x");
    let driven = ExprModel::new(
        "driven",
        &strings(&["x"]),
        &[],
        &strings(&["-x + sin(t)"]),
        &strings(&["1"]),
    )
    .unwrap();
    assert!(driven.scalar_flow(0).is_none(), "time-dependent drift");
    let multiplicative = ExprModel::new(
        "gbm",
        &strings(&["x"]),
        &[],
        &strings(&["-x"]),
        &strings(&["0.1*x"]),
    )
    .unwrap();
    assert!(
        multiplicative.scalar_flow(0).is_none(),
        "state-dependent noise"
    );
}
