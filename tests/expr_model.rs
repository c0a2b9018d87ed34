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

/// `-x + sum_k a_k sin(k x)` with `a_k = 0.5 / k^2`: a Fourier drift of `n` terms.
fn fourier(n: u32) -> ExprModel {
    let terms: Vec<String> = (1..=n)
        .map(|k| format!("{}*sin({k}*x)", 0.5 / f64::from(k).powi(2)))
        .collect();
    ExprModel::new(
        "fourier",
        &strings(&["x"]),
        &params(&[("D", 0.1)]),
        &[format!("-x + {}", terms.join(" + "))],
        &strings(&["sqrt(2*D)"]),
    )
    .unwrap()
}

/// A drift of 200 and of 3000 Fourier terms (sums longer than naga parses as one nested
/// expression, the second longer than one generated function holds) composes and validates
/// for a fixed-step scheme and for Dormand-Prince in f32 and f64, and the device evaluates
/// the 200-term drift as the CPU program does, to the precision Vulkan gives `sin`.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn long_fourier_drifts_compile_and_match_the_cpu_evaluator() {
    use langevin::real::Precision;
    use langevin::Model;
    for n in [200, 3000] {
        let model = fourier(n);
        langevin::gpu::sde_ensemble::compose(
            &model,
            Scheme::EulerMaruyama,
            false,
            None,
            &Default::default(),
            langevin::observable::Columns::state_only(model.dim()),
        )
        .unwrap_or_else(|e| panic!("{n} terms: {e}"));
        langevin::gpu::ode_adaptive::compose(&model, Scheme::Dopri5, Precision::F32).unwrap();
        langevin::gpu::ode_adaptive::compose(&model, Scheme::Dopri5, Precision::F64).unwrap();
        assert!(model.wgsl_functions().contains("let "), "{n} terms");
    }
    let Some(engine) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let model = fourier(200);
    let node = model.drift_nodes()[0].clone();
    let points: Vec<(f32, Vec<f32>)> = (0..64)
        .map(|i| (0.0, vec![-3.0 + 6.0 * i as f32 / 63.0]))
        .collect();
    let device = langevin::gpu::expr_eval::evaluate(
        engine.gpu().unwrap(),
        std::slice::from_ref(&node),
        1,
        &[0.1],
        &points,
    )
    .unwrap();
    let program = langevin::expr::Program::compile(&node).unwrap();
    // Vulkan allows sin an absolute error of 2^-11 on [-pi, pi] (and range reduction beyond):
    // at most 2^-11 sum_k a_k from the sines, and the f32 rounding of 201 additions of terms
    // below |x| + 1 is far smaller.
    let amplitude: f64 = (1..=200).map(|k| 0.5 / f64::from(k).powi(2)).sum();
    let bound = 2f64.powi(-11) * amplitude + 201.0 * 4.0 * f64::from(f32::EPSILON);
    for ((t, x), d) in points.iter().zip(&device) {
        let cpu = program.eval(*t, x, &[0.1]);
        assert!(
            f64::from((d - cpu).abs()) <= bound,
            "x = {}: device {d}, CPU {cpu}, bound {bound:e}",
            x[0]
        );
    }
}

/// The 200-term Fourier model runs on the device as on its CPU twin: the same Brownian
/// increments, drifts within the bound above per step, over 20 steps.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn long_fourier_drift_runs_as_its_twin() {
    let Some(gpu) = common::engine(langevin::BackendChoice::Gpu) else {
        return;
    };
    let cpu = Engine::new(langevin::BackendChoice::Cpu).unwrap();
    let spec = EnsembleSpec::new(fourier(200))
        .initial_normal(&[0.0], &[1.0])
        .time_span(0.0, 0.2)
        .dt(0.01)
        .trajectories(256)
        .seed(9)
        .save_at(SaveAt::Count(2))
        .final_states(true);
    let a = gpu.run(&spec).unwrap().final_states.unwrap();
    let b = cpu.run(&spec).unwrap().final_states.unwrap();
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, common::max_or_nan_f32);
    // Per step a drift difference of at most 2^-11 sum a_k + rounding (as above) times dt, and
    // the difference of two states grows at most by the drift's Lipschitz constant
    // 1 + sum_k k a_k < 4 per unit time: 20 steps * 0.01 * 4.5e-4 * e^(4 * 0.2), plus 2 ulp
    // of |x| <= 8 per step.
    let amplitude: f64 = (1..=200).map(|k| 0.5 / f64::from(k).powi(2)).sum();
    let per_step = 0.01 * (2f64.powi(-11) * amplitude + 201.0 * 4.0 * f64::from(f32::EPSILON))
        + 2.0 * 8.0 * f64::from(f32::EPSILON);
    let bound = 20.0 * per_step * (4.0f64 * 0.2).exp();
    assert!(
        f64::from(worst) <= bound,
        "largest difference {worst:e}, bound {bound:e}"
    );
}

/// A diffusion of parameters alone that is NaN with their values (`sqrt(2*D)`, `D < 0`) would
/// make every trajectory NaN: it is refused, pointing at the expression.
#[test]
fn nan_parameter_expressions_are_refused_at_their_text() {
    let model = |d: f64, g: &str| {
        ExprModel::new(
            "m",
            &strings(&["x"]),
            &params(&[("D", d)]),
            &strings(&["-x"]),
            &strings(&[g]),
        )
    };
    let err = model(-0.25, "sqrt(2*D)").unwrap_err();
    let Error::Expression { field, rendered } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(field, "model.diffusion[0]");
    assert!(rendered.contains("D = -0.25"), "{rendered}");
    assert!(rendered.contains("\n    ^^^^^^^^^"), "{rendered}");
    assert!(model(0.25, "sqrt(2*D)").is_ok());
    assert!(model(-0.25, "if(D > 0, sqrt(2*D), 0)").is_ok());
}
