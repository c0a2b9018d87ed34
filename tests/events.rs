//! Events: an absorbing condition makes the survival of Brownian motion follow the reflection
//! principle (with Siegmund's correction for monitoring at step ends), freezes the stopped
//! trajectories where the condition first held, and leaves them out of the statistics; a
//! recording event gives the same first times as first-passage tracking.

mod common;
use common::{assert_within, normal_cdf};
use langevin::{Direction, Engine, EnsembleSpec, EventAction, ExprModel, SaveAt};
use std::sync::Arc;

fn brownian() -> Arc<ExprModel> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    Arc::new(
        ExprModel::new(
            "bm",
            &s(&["x"]),
            &[("a".into(), 1.0)],
            &s(&["0"]),
            &s(&["1"]),
        )
        .unwrap(),
    )
}

/// Survival of standard Brownian motion from 0 below `a` by time t: P(max < a) =
/// 2 Phi(a / sqrt t) - 1; step-end monitoring acts like a barrier shifted up by
/// 0.5826 sqrt(dt) (Siegmund 1979; Broadie, Glasserman and Kou 1997).
fn absorbing_barrier_survival_and_frozen_states(engine: &Engine) {
    let dt = 1e-3;
    let n = 1u64 << 15;
    let spec = EnsembleSpec::with_model(brownian())
        .initial_fixed(&[0.0])
        .time_span(0.0, 2.0)
        .dt(dt)
        .trajectories(n)
        .seed(4)
        .save_at(SaveAt::Count(5))
        .final_states(true)
        .event("x >= a", EventAction::Stop);
    let r = engine.run(&spec).unwrap();
    let e = r.event.as_ref().unwrap();
    let shifted = 1.0 + 0.5826 * dt.sqrt();
    for (k, &t) in r.times.iter().enumerate().skip(1) {
        let exact = 2.0 * normal_cdf(shifted / t.sqrt()) - 1.0;
        let se = (exact * (1.0 - exact) / n as f64).sqrt();
        eprintln!(
            "t = {t}: survival {:.5} (exact {exact:.5}, se {se:.1e})",
            e.survival[k]
        );
        assert_within(
            &format!("survival at t = {t}"),
            e.survival[k],
            exact,
            se,
            5.0,
        );
        // The statistics count the survivors only, and stopping is not divergence.
        assert_eq!(r.moments[k][0].count, n - e.hits_by_save[k], "t = {t}");
        assert_eq!(r.diverged(k), 0, "t = {t}");
    }
    let finals = r.final_states.unwrap();
    let stopped = e.times.len();
    assert!(stopped > 0);
    let (above, below): (Vec<f32>, Vec<f32>) = finals.iter().partition(|&&x| x >= 1.0);
    assert_eq!(
        above.len(),
        stopped,
        "every stopped trajectory froze beyond the barrier"
    );
    // A frozen trajectory overshoots the barrier by less than its last increment: below
    // 7 sigma of one step with overwhelming probability over all steps of the run.
    assert!(
        above.iter().all(|&x| x < 1.0 + 7.0 * dt.sqrt() as f32),
        "{above:?}"
    );
    assert!(below.iter().all(|&x| x < 1.0));
}

fn recording_event_equals_first_passage(engine: &Engine) {
    let base = EnsembleSpec::with_model(brownian())
        .initial_fixed(&[0.0])
        .time_span(0.0, 1.0)
        .dt(1e-3)
        .trajectories(4096)
        .seed(9)
        .save_at(SaveAt::Count(3));
    let recorded = engine
        .run(&base.clone().event("x >= 1", EventAction::Record))
        .unwrap();
    let passage = engine
        .run(&base.first_passage(0, 1.0, Direction::Up))
        .unwrap();
    let e = recorded.event.unwrap();
    assert_eq!(e.times, passage.first_passage.unwrap().times);
    // Recording does not stop anything: the statistics keep every trajectory.
    assert_eq!(recorded.moments[2][0].count, 4096);
}

on_every_backend!(
    absorbing_barrier_survival_and_frozen_states,
    recording_event_equals_first_passage
);

#[test]
fn a_run_watches_one_thing() {
    let err = EnsembleSpec::with_model(brownian())
        .first_passage(0, 1.0, Direction::Up)
        .event("x > 1", EventAction::Stop)
        .resolve()
        .unwrap_err()
        .to_string();
    assert!(err.contains("not both"), "{err}");
}
