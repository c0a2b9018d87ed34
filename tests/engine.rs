//! The engine's promises about chunking and backends: bit-identical results whatever the
//! batching and dispatch chunking, the GPU agreeing with its CPU twin within the rounding
//! that Vulkan allows, and runs larger than one storage binding split transparently.

mod common;
use common::{assert_within, engine};
use langevin::{
    BackendChoice, Chunking, Engine, EnsembleResult, EnsembleSpec, GeometricBrownianMotion,
    OrnsteinUhlenbeck, SaveAt, Scheme,
};

fn assert_bit_identical(what: &str, a: &EnsembleResult, b: &EnsembleResult) {
    for (k, (ma, mb)) in a.moments.iter().zip(&b.moments).enumerate() {
        for (i, (x, y)) in ma.iter().zip(mb).enumerate() {
            assert_eq!(x.count, y.count, "{what}: count, save {k}, component {i}");
            assert_eq!(
                x.mean.to_bits(),
                y.mean.to_bits(),
                "{what}: mean, save {k}, component {i}"
            );
            assert_eq!(
                x.m2.to_bits(),
                y.m2.to_bits(),
                "{what}: M2, save {k}, component {i}"
            );
        }
    }
    assert_eq!(a.histogram, b.histogram, "{what}: histogram");
    let (fa, fb) = (
        a.final_states.as_ref().unwrap(),
        b.final_states.as_ref().unwrap(),
    );
    assert_eq!(fa.len(), fb.len());
    let first_difference = fa
        .iter()
        .zip(fb)
        .position(|(x, y)| x.to_bits() != y.to_bits());
    assert_eq!(first_difference, None, "{what}: final states differ");
}

fn determinism_specs() -> Vec<EnsembleSpec> {
    vec![
        // Three components: step groups of four steps draw three Philox blocks.
        EnsembleSpec::new(OrnsteinUhlenbeck::new(1.5, 0.2, 0.7).with_dim(3))
            .scheme(Scheme::Milstein)
            .initial_normal(&[1.0, -1.0, 0.0], &[0.1, 0.2, 0.3])
            .time_span(0.0, 1.0)
            .dt(0.01)
            .trajectories(10_000)
            .seed(123)
            .save_at(SaveAt::Times(vec![0.0, 0.13, 0.5, 0.77, 1.0]))
            .histogram(1, 40, (-3.0, 3.0))
            .final_states(true),
        // Substeps: every step sums three finer increments.
        EnsembleSpec::new(GeometricBrownianMotion {
            mu: 0.3,
            sigma: 0.4,
        })
        .initial_fixed(&[1.0])
        .time_span(0.0, 1.0)
        .dt(1.0 / 50.0)
        .brownian_substeps(3)
        .trajectories(5_000)
        .seed(9)
        .save_at(SaveAt::Count(6))
        .histogram(0, 30, (0.0, 3.0))
        .final_states(true),
    ]
}

fn results_do_not_depend_on_batching_or_dispatches(engine: &Engine) {
    for spec in determinism_specs() {
        let base = engine.run(&spec).unwrap();
        assert_eq!(base.batches, 1);
        let again = engine.run(&spec).unwrap();
        assert_bit_identical("two runs", &base, &again);

        let seven = spec.clone().chunking(Chunking {
            max_batch_trajectories: Some(spec.trajectories.div_ceil(7).next_multiple_of(64)),
            ..Chunking::default()
        });
        let seven = engine.run(&seven).unwrap();
        assert_eq!(seven.batches, 7);
        assert_bit_identical("1 batch vs 7 batches", &base, &seven);

        // Seven steps per dispatch: the step groups straddle dispatch ends.
        let many = spec.clone().chunking(Chunking {
            steps_per_dispatch: Some(7),
            ..Chunking::default()
        });
        let many = engine.run(&many).unwrap();
        assert!(
            many.dispatches > base.dispatches,
            "{} vs {}",
            many.dispatches,
            base.dispatches
        );
        assert_bit_identical("1 dispatch vs many", &base, &many);
    }
}

/// Every step of a long run is taken, however the backend cuts it into dispatches: x' = 1 in
/// two components (two steps per Philox group, so 2^17 groups in one loop) lands exactly on
/// the step count, an integer f32 holds exactly. llvmpipe leaves any loop after 65,535
/// iterations without an error; the engine bounds the steps of a dispatch on it.
fn long_runs_take_every_step(engine: &Engine) {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let model =
        langevin::ExprModel::new("clock", &s(&["a", "b"]), &[], &s(&["1", "1"]), &[]).unwrap();
    let steps = 200_000u32;
    let spec = EnsembleSpec::new(model)
        .time_span(0.0, f64::from(steps))
        .dt(1.0)
        .trajectories(64)
        .save_at(SaveAt::Count(1))
        .final_states(true);
    let finals = engine.run(&spec).unwrap().final_states.unwrap();
    assert!(
        finals.iter().all(|&x| x == steps as f32),
        "{:?}",
        &finals[..4]
    );
}

/// Progress over a run of several batches (on the GPU, one batch is read back while the next
/// runs): every dispatch of every batch is reported once, in order, and the count ends at the
/// run's trajectory-steps.
fn progress_covers_every_batch_once(engine: &Engine) {
    let spec = determinism_specs().remove(0);
    let n_steps = 100u64;
    let batches = 5u64;
    let per_batch = spec.trajectories.div_ceil(batches).next_multiple_of(64);
    let spec = spec.chunking(Chunking {
        max_batch_trajectories: Some(per_batch),
        steps_per_dispatch: Some(30),
        ..Chunking::default()
    });
    let mut reports = Vec::new();
    let r = engine
        .run_with_progress(&spec, &mut |p| reports.push((p.done, p.total)))
        .unwrap();
    assert_eq!(r.batches as u64, batches);
    let total = spec.trajectories * n_steps;
    assert!(reports.iter().all(|&(_, t)| t == total));
    assert!(reports.windows(2).all(|w| w[0].0 <= w[1].0), "{reports:?}");
    assert_eq!(reports.last().map(|r| r.0), Some(total));
    // Per batch: the dispatches end at the save steps 0, 13, 50, 77 and 100, the 37 steps
    // from 13 to 50 cut in 30 and 7: 6 dispatches.
    assert_eq!(reports.len() as u64, batches * 6, "{reports:?}");
}

on_every_backend!(
    results_do_not_depend_on_batching_or_dispatches,
    long_runs_take_every_step,
    progress_covers_every_batch_once
);

/// The largest difference between a normal drawn on a conformant Vulkan device and on the CPU
/// twin. The Philox words are identical; Vulkan allows sin and cos an absolute error of 2^-11
/// on (-pi, pi] (times the radius, below 6) and log an absolute error of 2^-21 near 1, which
/// moves the radius sqrt(-2 log u) by at most sqrt(2 * 2^-21) = 2^-10; the products add a few
/// ulp. Together: at most 8 * 2^-11, and 9 * 2^-11 with the rounding.
pub const NORMAL_DIFFERENCE_BOUND: f64 = 9.0 / 2048.0;

/// The bound on |x_gpu - x_cpu| for OU under Euler-Maruyama. The initial state differs by
/// `sd0 * dz`; each step adds `sigma sqrt(dt) dz` plus a few ulp `r` of rounding, and the
/// linear drift contracts differences by `a = 1 - theta dt` per step, so after n steps
/// |e| <= sd0 dz a^n + (sigma sqrt(dt) dz + r) (1 - a^n) / (1 - a), r = 4 * 2^-24 * max |x|.
fn ou_difference_bound(
    theta: f64,
    sigma: f64,
    sd0: f64,
    dt: f64,
    steps: i32,
    max_abs_x: f64,
) -> f64 {
    let dz = NORMAL_DIFFERENCE_BOUND;
    let r = 4.0 * 2f64.powi(-24) * max_abs_x;
    let a = 1.0 - theta * dt;
    sd0 * dz * a.powi(steps) + (sigma * dt.sqrt() * dz + r) * (1.0 - a.powi(steps)) / (1.0 - a)
}

fn compare_with_twin(spec: &EnsembleSpec, theta: f64, sigma: f64, sd0: f64) {
    let Some(gpu) = engine(BackendChoice::Gpu) else {
        return;
    };
    let cpu = engine(BackendChoice::Cpu).unwrap();
    let g = gpu.run(spec).unwrap();
    let c = cpu.run(spec).unwrap();
    let (fg, fc) = (
        g.final_states.as_ref().unwrap(),
        c.final_states.as_ref().unwrap(),
    );
    let max_abs = fc
        .iter()
        .map(|x| x.abs())
        .fold(0.0f32, common::max_or_nan_f32) as f64;
    let worst = fg
        .iter()
        .zip(fc)
        .map(|(a, b)| f64::from((a - b).abs()))
        .fold(0.0, common::max_or_nan);
    let bound = ou_difference_bound(theta, sigma, sd0, g.dt, g.steps as i32, max_abs + 1.0);
    eprintln!(
        "largest |x_gpu - x_cpu| = {worst:.3e} (bound {bound:.3e}) over {} states on {}",
        fg.len(),
        g.device
    );
    assert!(
        worst <= bound,
        "per-trajectory difference {worst:e} above {bound:e}"
    );
    // Means are averages of the states and variances quadratic in them: each moves by at
    // most the largest per-trajectory difference (plus f32 rounding of the block folds).
    for (k, (mg, mc)) in g.moments.iter().zip(&c.moments).enumerate() {
        for (a, b) in mg.iter().zip(mc) {
            assert_eq!(a.count, b.count);
            let rounding = 64.0 * 2f64.powi(-24) * (max_abs + 1.0);
            assert!(
                (a.mean - b.mean).abs() <= worst + rounding,
                "mean at save {k}"
            );
            let spread = 2.0 * (max_abs + a.mean.abs());
            let var_bound = 2.0 * worst * spread + worst * worst + rounding * (1.0 + a.variance());
            assert!(
                (a.variance() - b.variance()).abs() <= var_bound,
                "variance at save {k}"
            );
        }
    }
}

#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn gpu_matches_cpu_twin_per_trajectory() {
    let (theta, sigma) = (1.0, 0.5);
    let spec = EnsembleSpec::new(OrnsteinUhlenbeck::new(theta, 0.3, sigma).with_dim(2))
        .initial_normal(&[1.0, -2.0], &[0.5, 0.5])
        .time_span(0.0, 5.0)
        .dt(0.01)
        .trajectories(50_000)
        .seed(77)
        .save_at(SaveAt::Count(6))
        .histogram(1, 50, (-3.0, 3.0))
        .final_states(true);
    compare_with_twin(&spec, theta, sigma, 0.5);
}

/// Eight components of 4.5 million trajectories are 144 MB of state: more than one storage
/// binding on lavapipe (128 MiB). The run must be batched and agree with the CPU twin per
/// trajectory, and with the exact Euler-Maruyama moments.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn runs_larger_than_one_storage_binding_are_batched() {
    let Some(gpu) = engine(BackendChoice::Gpu) else {
        return;
    };
    let limit = gpu.gpu().unwrap().limits.max_storage_buffer_binding_size;
    let n_traj = limit / 32 + (limit / 32) / 16 + 5;
    let (theta, mu, sigma, dt) = (2.0, 1.0, 0.6, 1.0 / 64.0);
    let spec = EnsembleSpec::new(OrnsteinUhlenbeck::new(theta, mu, sigma).with_dim(8))
        .initial_fixed(&[0.0; 8])
        .time_span(0.0, 0.25)
        .dt(dt)
        .trajectories(n_traj)
        .seed(5)
        .save_at(SaveAt::Count(3))
        .final_states(true);
    let g = gpu.run(&spec).unwrap();
    assert!(
        g.batches >= 2,
        "{n_traj} trajectories of 8 components ran in one batch"
    );
    compare_with_twin(&spec, theta, sigma, 0.0);
    let a: f64 = 1.0 - theta * dt;
    let n = g.steps as i32;
    let mean = mu * (1.0 - a.powi(n));
    let var = sigma * sigma * dt * (1.0 - a.powi(2 * n)) / (1.0 - a * a);
    for (i, m) in g.moments.last().unwrap().iter().enumerate() {
        let nf = m.count as f64;
        assert_eq!(m.count, n_traj);
        assert_within(
            &format!("mean of x{i}"),
            m.mean,
            mean,
            (var / nf).sqrt(),
            5.0,
        );
        assert_within(
            &format!("variance of x{i}"),
            m.variance(),
            var,
            var * (2.0 / nf).sqrt(),
            5.0,
        );
    }
}

/// A hundred million one-dimensional trajectories run in batches that each fit one storage
/// binding, never holding all states at once, and their moments match the exact
/// Euler-Maruyama recursion.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn a_hundred_million_trajectories_run_in_batches() {
    let Some(gpu) = engine(BackendChoice::Gpu) else {
        return;
    };
    let n_traj = 100_000_000u64;
    let (theta, mu, sigma, dt) = (1.0, 0.0, 1.0, 0.25);
    let spec = EnsembleSpec::new(OrnsteinUhlenbeck::new(theta, mu, sigma))
        .initial_fixed(&[1.0])
        .time_span(0.0, 1.0)
        .dt(dt)
        .trajectories(n_traj)
        .seed(100)
        .save_at(SaveAt::Count(1))
        .chunking(Chunking {
            max_batch_trajectories: Some(1 << 25),
            ..Chunking::default()
        });
    let r = gpu.run(&spec).unwrap();
    assert_eq!(r.batches, 3);
    let m = r.moments[0][0];
    assert_eq!(m.count, n_traj);
    let a: f64 = 1.0 - theta * dt;
    let mean = a.powi(4);
    let var = sigma * sigma * dt * (1.0 - a.powi(8)) / (1.0 - a * a);
    let nf = n_traj as f64;
    assert_within("mean", m.mean, mean, (var / nf).sqrt(), 5.0);
    assert_within("variance", m.variance(), var, var * (2.0 / nf).sqrt(), 5.0);
}

/// A GPU engine keeps a run's buffers for the next run of the same shape, which starts from
/// whatever the last run left in them: every observable that goes through them (moments,
/// displacements, histogram, first passages, time sums, final states) comes out bit-identical
/// to a run on fresh buffers, and `release_buffers` lets the memory go.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn kept_buffers_change_no_result() {
    let Some(gpu) = engine(BackendChoice::Gpu) else {
        return;
    };
    let spec = |seed: u64| {
        EnsembleSpec::new(OrnsteinUhlenbeck::new(1.0, 0.5, 0.8).with_dim(2))
            .initial_normal(&[0.0, 1.0], &[0.5, 0.5])
            .time_span(0.0, 2.0)
            .dt(0.01)
            .trajectories(3_000)
            .seed(seed)
            .save_at(SaveAt::Count(5))
            .histogram(0, 20, (-2.0, 2.0))
            .first_passage(0, 1.0, langevin::Direction::Up)
            .displacement(true)
            .time_average(1.0)
            .final_states(true)
            .chunking(Chunking {
                max_batch_trajectories: Some(1_024),
                ..Chunking::default()
            })
    };
    let ctx = gpu.gpu().unwrap();
    gpu.release_buffers();
    assert_eq!(ctx.idle_buffer_bytes(), 0);
    let fresh = gpu.run(&spec(5)).unwrap();
    assert!(fresh.batches > 1);
    let kept = ctx.idle_buffer_bytes();
    assert!(kept > 0, "the run's buffers are kept");
    // Another seed in between leaves other values in the same buffers; each run takes the
    // kept buffers (none is allocated beside them) and gives them back.
    gpu.run(&spec(6)).unwrap();
    assert_eq!(ctx.idle_buffer_bytes(), kept);
    let reused = gpu.run(&spec(5)).unwrap();
    assert_eq!(ctx.idle_buffer_bytes(), kept);
    assert_bit_identical("fresh vs kept buffers", &fresh, &reused);
    for (what, a, b) in [
        ("displacement", &fresh.displacement, &reused.displacement),
        (
            "origin product",
            &fresh.origin_product,
            &reused.origin_product,
        ),
    ] {
        assert!(a.is_some(), "{what}");
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "{what}");
    }
    let fp = |r: &EnsembleResult| format!("{:?}", r.first_passage);
    assert!(fresh.first_passage.as_ref().unwrap().hit > 0);
    assert_eq!(fp(&fresh), fp(&reused), "first passages");
    let avg = |r: &EnsembleResult| format!("{:?}", r.time_average);
    assert!(fresh.time_average.is_some());
    assert_eq!(avg(&fresh), avg(&reused), "time averages");
    gpu.release_buffers();
    assert_eq!(ctx.idle_buffer_bytes(), 0);
}

/// A batch budget that holds one staging buffer for a block but not two: the batches are
/// read one after the other through the one buffer, with the same results as one batch.
/// (OU, one component, one save, final states: 18 bytes a trajectory with one staging copy,
/// 27 with two; 1280 bytes hold 71 and 47 trajectories, and a batch is whole blocks of 64.)
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn a_budget_for_one_staging_buffer_reads_batch_after_batch() {
    let Some(gpu) = engine(BackendChoice::Gpu) else {
        return;
    };
    let spec = EnsembleSpec::new(OrnsteinUhlenbeck::new(1.0, 0.0, 1.0))
        .initial_fixed(&[1.0])
        .time_span(0.0, 1.0)
        .dt(0.01)
        .trajectories(1_000)
        .seed(3)
        .save_at(SaveAt::Count(1))
        .final_states(true);
    let whole = gpu.run(&spec).unwrap();
    let tight = spec.clone().chunking(Chunking {
        max_batch_bytes: Some(1280),
        ..Chunking::default()
    });
    let tight = gpu.run(&tight).unwrap();
    assert_eq!(tight.batches, 16);
    assert_bit_identical("1 batch vs 16 through one staging buffer", &whole, &tight);
}

/// A GPU run measures its kernels' pace, and the next run of the same shape plans its
/// dispatches by it (`plan::default_steps_per_dispatch`, within the driver's loop bound), with
/// the same results: whatever the measured time, the dispatch count follows from it. Each
/// step sums 64 Brownian substeps, so that on a software adapter the default budget's
/// dispatches would run longer than `DISPATCH_MAX_SECONDS` and the pace cuts them (on a fast
/// GPU both plans are one dispatch, and the check is only that the count follows the pace).
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn the_next_run_plans_its_dispatches_by_the_measured_pace() {
    let Some(gpu) = engine(BackendChoice::Gpu) else {
        return;
    };
    let n_steps = 600u32;
    let n = 1u32 << 14;
    let spec = EnsembleSpec::new(OrnsteinUhlenbeck::new(1.0, 0.0, 1.0))
        .initial_fixed(&[0.0])
        .time_span(0.0, 0.6)
        .dt(1e-3)
        .brownian_substeps(64)
        .trajectories(u64::from(n))
        .save_at(SaveAt::Count(1))
        .final_states(true);
    assert_eq!(gpu.pace(&spec).unwrap(), None);
    let first = gpu.run(&spec).unwrap();
    let pace = gpu.pace(&spec).unwrap().expect("the run measured its pace");
    assert_eq!(pace.batch, n);
    assert!(pace.step_seconds > 0.0, "{pace:?}");
    let second = gpu.run(&spec).unwrap();
    assert_bit_identical("default vs paced dispatches", &first, &second);
    // The engine's bound on llvmpipe: 65,535 loop iterations at 128 a step.
    let cap = gpu
        .gpu()
        .unwrap()
        .loop_iteration_limit
        .map_or(u64::MAX, |l| u64::from(l / 128));
    let per_dispatch = langevin::plan::default_steps_per_dispatch(n, Some(pace)).clamp(1, cap);
    let expected = u64::from(n_steps).div_ceil(per_dispatch);
    assert_eq!(second.dispatches as u64, expected, "{pace:?}");
}

/// One engine, two state dimensions: the compiled kernels are cached per dimension too.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn one_engine_runs_models_of_different_dimensions() {
    let Some(gpu) = engine(BackendChoice::Gpu) else {
        return;
    };
    let cpu = engine(BackendChoice::Cpu).unwrap();
    for dim in [1, 3, 1] {
        let spec = EnsembleSpec::new(OrnsteinUhlenbeck::new(1.0, 0.0, 0.5).with_dim(dim))
            .initial_fixed(&vec![1.0; dim])
            .time_span(0.0, 0.5)
            .dt(0.01)
            .trajectories(1000)
            .seed(3)
            .save_at(SaveAt::Count(2))
            .final_states(true);
        let (g, c) = (gpu.run(&spec).unwrap(), cpu.run(&spec).unwrap());
        let (fg, fc) = (g.final_states.unwrap(), c.final_states.unwrap());
        assert_eq!(fg.len(), 1000 * dim);
        let worst = fg
            .iter()
            .zip(&fc)
            .map(|(a, b)| f64::from((a - b).abs()))
            .fold(0.0, common::max_or_nan);
        let bound = ou_difference_bound(1.0, 0.5, 0.0, 0.01, 50, 3.0);
        assert!(worst <= bound, "dim {dim}: {worst:e} above {bound:e}");
    }
}
