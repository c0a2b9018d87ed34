//! Bad input is refused before any device work, with an error that names the field and value.

use langevin::{
    BackendChoice, DoubleWell, Engine, EnsembleSpec, Error, GeometricBrownianMotion,
    OrnsteinUhlenbeck, SaveAt,
};

fn error_of(spec: &EnsembleSpec) -> String {
    // The CPU engine: these errors come from `resolve`, shared by both backends, before any
    // device work.
    let engine = Engine::new(BackendChoice::Cpu).unwrap();
    match engine.run(spec) {
        Ok(_) => panic!("accepted a bad run: {spec:?}"),
        Err(e) => {
            assert!(
                matches!(e, Error::InvalidInput { .. } | Error::Limit(_)),
                "{e:?}"
            );
            e.to_string()
        }
    }
}

fn assert_names(message: &str, parts: &[&str]) {
    for p in parts {
        assert!(message.contains(p), "`{message}` does not mention `{p}`");
    }
}

fn ou() -> EnsembleSpec {
    EnsembleSpec::new(OrnsteinUhlenbeck::new(1.0, 0.0, 1.0)).initial_fixed(&[0.0])
}

#[test]
fn zero_or_negative_dt() {
    assert_names(&error_of(&ou().dt(0.0)), &["solver.dt", "0"]);
    assert_names(&error_of(&ou().dt(-0.5)), &["solver.dt", "-0.5"]);
    assert_names(&error_of(&ou().dt(f64::NAN)), &["solver.dt", "NaN"]);
}

#[test]
fn t_end_below_dt() {
    assert_names(
        &error_of(&ou().time_span(0.0, 0.01).dt(0.1)),
        &["solver.t_end", "0.01"],
    );
}

#[test]
fn zero_trajectories() {
    assert_names(
        &error_of(&ou().trajectories(0)),
        &["ensemble.trajectories", "0"],
    );
}

#[test]
fn nan_parameters() {
    let spec = EnsembleSpec::new(GeometricBrownianMotion {
        mu: f64::NAN,
        sigma: 0.1,
    })
    .initial_fixed(&[1.0]);
    assert_names(&error_of(&spec), &["model.params.mu", "NaN"]);
    let spec = EnsembleSpec::new(DoubleWell { temperature: -1.0 }).initial_fixed(&[1.0]);
    assert_names(&error_of(&spec), &["model.params.D", "-1"]);
}

#[test]
fn save_time_outside_the_span() {
    let spec = ou()
        .time_span(0.0, 1.0)
        .save_at(SaveAt::Times(vec![0.5, 1.5]));
    assert_names(&error_of(&spec), &["output.save_times[1]", "1.5"]);
    let spec = ou().time_span(0.0, 1.0).save_at(SaveAt::Times(vec![-0.1]));
    assert_names(&error_of(&spec), &["output.save_times[0]", "-0.1"]);
    assert_names(
        &error_of(&ou().save_at(SaveAt::Count(0))),
        &["output.save_times", "0"],
    );
}

#[test]
fn histogram_without_bins_or_range() {
    assert_names(
        &error_of(&ou().histogram(0, 0, (-1.0, 1.0))),
        &["output.histogram.bins", "0"],
    );
    assert_names(
        &error_of(&ou().histogram(0, 10, (1.0, -1.0))),
        &["output.histogram.range"],
    );
    assert_names(
        &error_of(&ou().histogram(3, 10, (-1.0, 1.0))),
        &["output.histogram.var", "3"],
    );
}

#[test]
fn initial_state_of_the_wrong_size_or_law() {
    assert_names(
        &error_of(&ou().initial_fixed(&[0.0, 1.0])),
        &["model.init", "2 values"],
    );
    assert_names(
        &error_of(&ou().initial_normal(&[0.0], &[-1.0])),
        &["model.init.sd[0]", "-1"],
    );
}

#[test]
fn state_dimension_beyond_the_kernel_limit() {
    let spec = EnsembleSpec::new(OrnsteinUhlenbeck::new(1.0, 0.0, 1.0).with_dim(9))
        .initial_fixed(&[0.0; 9]);
    assert_names(&error_of(&spec), &["model.state", "9"]);
}

#[test]
fn too_many_steps_for_the_noise_counter() {
    let spec = ou().time_span(0.0, 1e10).dt(1.0);
    assert!(error_of(&spec).contains("noise counter"));
}

#[test]
fn uniform_initial_law_with_lo_above_hi() {
    let mut spec = ou();
    spec.initial =
        langevin::InitialState::Laws(vec![langevin::InitialLaw::Uniform { lo: 3.0, hi: 1.0 }]);
    assert_names(
        &error_of(&spec),
        &["model.init[0]", "uniform(3, 1)", "lo < hi"],
    );
}
