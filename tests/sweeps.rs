//! Parameter sweeps: the statistics of each grid point are bit-identical to a separate run of
//! that point over the same global trajectories (same seeds, same streams), and a value per
//! trajectory gives each trajectory exactly the run it would have alone.

mod common;
use langevin::{Engine, EnsembleSpec, OrnsteinUhlenbeck, SaveAt, Sweep};

fn base(theta: f64, sigma: f64) -> EnsembleSpec {
    EnsembleSpec::new(OrnsteinUhlenbeck::new(theta, 0.2, sigma))
        .initial_normal(&[1.0], &[0.3])
        .time_span(0.0, 1.0)
        .dt(0.01)
        .seed(17)
        .save_at(SaveAt::Count(5))
}

fn grouped_points_equal_separate_runs(engine: &Engine) {
    let sigmas = [0.1, 0.4, 0.9];
    let thetas = Sweep::logspace("theta", 0.5, 2.0, 2);
    let per_point = 256u64;
    let spec = base(1.0, 1.0)
        .sweep(Sweep {
            param: "sigma".into(),
            values: sigmas.to_vec().into(),
        })
        .sweep(thetas.clone())
        .trajectories(6 * per_point);
    let r = engine.run(&spec).unwrap();
    let sw = r.sweep.as_ref().unwrap();
    let groups = sw.moments.as_ref().expect("grouped");
    assert_eq!(sw.points, 0..6);
    for (g, values) in sw.values.iter().enumerate() {
        let (sigma, theta) = (sigmas[g / 2], thetas.values[g % 2]);
        assert_eq!(values, &vec![sigma, theta]);
        let alone = engine
            .run(
                &base(theta, sigma)
                    .trajectories(per_point)
                    .first_trajectory(g as u64 * per_point),
            )
            .unwrap();
        for (k, (mine, theirs)) in groups[g].iter().zip(&alone.moments).enumerate() {
            let (a, b) = (mine[0], theirs[0]);
            assert_eq!(
                (a.count, a.mean.to_bits(), a.m2.to_bits()),
                (b.count, b.mean.to_bits(), b.m2.to_bits()),
                "point {g} (sigma {sigma}, theta {theta}), save {k}"
            );
        }
    }
    // The whole ensemble folds the same blocks: merging the points gives its moments.
    for k in 0..r.times.len() {
        let mut merged = langevin::Moments::default();
        for g in groups {
            merged.merge(&g[k][0]);
        }
        assert_eq!(merged.count, r.moments[k][0].count);
        assert!((merged.mean - r.moments[k][0].mean).abs() <= 1e-12 * merged.mean.abs().max(1.0));
    }
}

fn a_value_per_trajectory_is_that_trajectory_alone(engine: &Engine) {
    let n = 100u64;
    let sweep = Sweep::linspace("sigma", 0.0, 1.0, n as usize);
    let spec = base(1.0, 1.0)
        .sweep(sweep.clone())
        .trajectories(n)
        .final_states(true);
    let r = engine.run(&spec).unwrap();
    assert!(r.sweep.as_ref().unwrap().moments.is_none());
    let finals = r.final_states.unwrap();
    for i in [0u64, 1, 37, 63, 64, 99] {
        let alone = engine
            .run(
                &base(1.0, sweep.values[i as usize])
                    .trajectories(1)
                    .first_trajectory(i)
                    .final_states(true),
            )
            .unwrap();
        assert_eq!(
            finals[i as usize].to_bits(),
            alone.final_states.unwrap()[0].to_bits(),
            "trajectory {i}"
        );
    }
}

on_every_backend!(
    grouped_points_equal_separate_runs,
    a_value_per_trajectory_is_that_trajectory_alone
);
