//! The host loop of adaptive ensembles ([`crate::adaptive`]): it drives each batch save time
//! by save time, dispatching the kernel toward the next save time until no trajectory is short
//! of it, then folds the states into moment partials exactly as `ensemble_observe` does.

use crate::adaptive::{
    ticks_of, AdaptiveBatch, AdaptiveControl, AdaptiveSegment, AdaptiveStats, Readback, TreeGrid,
    SSA_TICKS,
};
use crate::cpu::ensemble_observe::{ensemble_observe, histogram_counts, Bindings};
use crate::ensemble::BatchOutput;
use crate::error::Result;
use crate::jump_observe::JumpObservables;
use crate::plan::{Batch, Plan, FLAG_HISTOGRAM, FLAG_INIT, FLAG_SAVE};
use crate::real::{split, Precision};
use crate::stats::PartialMoments;
use rayon::prelude::*;
use std::sync::atomic::AtomicU32;

/// Attempts per trajectory in one dispatch: at most 4096, and within a driver's loop limit
/// ([`crate::plan::LoopCost::steps_within`]: llvmpipe leaves every loop of an invocation once
/// all of them together have run 65,535 iterations, which would end a dispatch's attempts
/// early, mid-choice or mid-total, without an error). `initial` is what drawing an initial
/// state loops ([`crate::spec::EnsembleSpec::initial_loop_cost`]), in the first dispatch.
/// An attempt of the adaptive schemes runs about 128 loop iterations when loops over the state are not unrolled. The jump kernels
/// count theirs from the network's `reactions` R and the state's `dim` (every loop counted
/// with its last test, unrolled or not): an event of `ssa` totals the propensities twice,
/// chooses a reaction and moves the counts; a leap of `tau_leap` finds the critical
/// reactions (a loop over the species in each), bounds the leap (a loop over the reactions
/// for each species), draws a Poisson number per reaction (at most 129 iterations, by
/// inversion or by rejection) and moves the counts by it, then chooses, checks and totals.
///
/// # Errors
/// [`crate::Error::Limit`] naming the network's reactions when one attempt alone passes the
/// limit.
pub fn attempts_per_dispatch(
    loop_limit: Option<u32>,
    scheme: crate::Scheme,
    dim: usize,
    reactions: usize,
    initial: u64,
) -> Result<u32> {
    use crate::interacting::trips;
    let (r, d) = (reactions as u64, dim as u64);
    let per_step = match scheme {
        crate::Scheme::Ssa => 1 + 3 * trips(r) + trips(d),
        crate::Scheme::TauLeap => {
            1 + trips(r)
                + r * trips(d)
                + trips(d)
                + d * trips(r)
                + trips(r)
                + r * (129 + trips(d))
                + 4 * trips(r)
                + 2 * trips(d)
        }
        _ => 128,
    };
    let cost = crate::plan::LoopCost {
        per_step,
        once: 1 + 2 * trips(d) + trips(r) + initial,
    };
    let attempts = cost.steps_within(loop_limit, || {
        format!("a network of {reactions} reactions in {dim} species")
    })?;
    Ok(attempts.min(4096))
}

/// The uniform of the first dispatch of `batch` (initial states, targets at the start); the
/// host loop moves its target to each save time.
fn first_segment(
    plan: &Plan,
    control: &AdaptiveControl,
    batch: Batch,
    tree: Option<&TreeGrid>,
    attempts: u32,
) -> AdaptiveSegment {
    let span = plan.run.time_of_step(plan.run.n_steps) - plan.run.t0;
    // f64 kernels take times as f32 pairs; f32 kernels their f32 values, with zero low words.
    let wide = control.precision == Precision::F64;
    let [t_start, t_start_lo] = if wide {
        split(plan.run.t0)
    } else {
        [plan.run.t0 as f32, 0.0]
    };
    AdaptiveSegment {
        key: plan.base.key,
        first_trajectory: crate::philox::words_of_index(batch.first),
        trajectories: batch.count,
        flags: FLAG_INIT,
        t_start,
        t_target: t_start,
        h_init: tree.map_or(plan.run.dt as f32, |g| g.first_leaves as f32),
        rtol: control.rtol as f32,
        atol: control.atol as f32,
        attempts,
        max_steps: control.max_steps,
        span: span as f32,
        depth: tree.map_or(0, |g| g.depth),
        target_leaf: 0,
        max_leaves: tree.map_or(0, |g| g.max_leaves),
        target_tick_lo: 0,
        target_tick_hi: 0,
        tick_rate: (SSA_TICKS as f64 / span) as f32,
        t_start_lo,
        t_target_lo: t_start_lo,
        unused: [0; 2],
    }
}

/// The event-resolved paths of the run's first `k` trajectories up to its last save time,
/// replayed by the twin of `ssa` (`cpu::ssa::ssa_path`) with the draws of the kernels: on
/// drivers that round like the twin (lavapipe) the device's trajectories event for event,
/// elsewhere the same in law.
pub fn event_paths(
    plan: &Plan,
    control: &AdaptiveControl,
    network: &crate::reactions::ReactionNetwork,
    k: u64,
) -> crate::jump_observe::EventPaths {
    let first = plan.batches.first().map_or(0, |b| b.first);
    let batch = Batch {
        first,
        count: k as u32,
    };
    let mut seg = first_segment(plan, control, batch, None, 1);
    let last = plan.run.times.last().copied().unwrap_or(plan.run.t0);
    seg.t_target = last as f32;
    let span = plan.run.time_of_step(plan.run.n_steps) - plan.run.t0;
    let ticks = ticks_of(last - plan.run.t0, span);
    (seg.target_tick_lo, seg.target_tick_hi) = (ticks as u32, (ticks >> 32) as u32);
    let dim = plan.run.dim;
    let paths: Vec<(Vec<f64>, Vec<f32>)> = (0..k)
        .into_par_iter()
        .map(|j| {
            let trajectory = crate::philox::words_of_index(first + j);
            let mut params = plan.run.params.clone();
            crate::sweep::apply_sweep::<f32>(plan.run.sweep_table(), trajectory, &mut params);
            crate::cpu::ssa::ssa_path(network, &seg, &plan.run.init, dim, trajectory, &params)
        })
        .collect();
    crate::jump_observe::EventPaths::new(paths, dim)
}

/// Runs one batch to every save time of `plan` and observes it there; `tree` is the Brownian
/// tree of an adaptive SDE scheme (whose save times are on its leaves). `stop`, checked
/// between dispatches, ends the batch early with [`crate::Error::Stopped`].
///
/// # Errors
/// From the backend, or [`crate::Error::Stopped`].
#[allow(clippy::too_many_arguments)]
pub fn run_batch(
    backend: &mut dyn AdaptiveBatch,
    plan: &Plan,
    control: &AdaptiveControl,
    batch: Batch,
    tree: Option<&TreeGrid>,
    attempts: u32,
    final_states: bool,
    mut jumps: Option<&mut JumpObservables>,
    progress: &mut dyn FnMut(u32),
    stop: Option<&std::sync::atomic::AtomicBool>,
) -> Result<(BatchOutput, AdaptiveStats)> {
    let dim = plan.run.dim;
    let blocks = Plan::blocks(batch) as usize;
    let span = plan.run.time_of_step(plan.run.n_steps) - plan.run.t0;
    let wide = control.precision == Precision::F64;
    let pair = |t: f64| if wide { split(t) } else { [t as f32, 0.0] };
    let mut seg = first_segment(plan, control, batch, tree, attempts);
    let histogram: Vec<AtomicU32> = (0..plan.base.hist_bins as usize + 3)
        .map(|_| AtomicU32::new(0))
        .collect();
    let mut partials =
        vec![vec![PartialMoments::default(); blocks * plan.observed()]; plan.saves()];
    let (mut state, mut state_f64, mut reached) = (Vec::new(), None, Vec::new());
    let mut target = 0.0;
    let mut previous_step = 0u32;
    let snapshots = plan.run.snapshots.as_ref();
    let share = snapshots.map_or(0, |s| s.share(batch.first, batch.count)) as usize;
    let slots = snapshots.map_or(0, |s| s.steps.len());
    let mut taken: Vec<Vec<f32>> = vec![Vec::new(); slots];
    let mut taken_f64: Vec<Vec<f64>> = vec![Vec::new(); slots];
    for (slot, (&t, &step)) in plan.run.times.iter().zip(&plan.run.save_steps).enumerate() {
        [seg.t_target, seg.t_target_lo] = pair(t);
        // The target as the kernels compute it (`Scalar(hi) + Scalar(lo)`), exact in f64.
        target = f64::from(seg.t_target) + f64::from(seg.t_target_lo);
        seg.target_leaf = tree.map_or(0, |g| g.leaf_of(t));
        let ticks = ticks_of(t - plan.run.t0, span);
        (seg.target_tick_lo, seg.target_tick_hi) = (ticks as u32, (ticks >> 32) as u32);
        while backend.dispatch(&seg)? > 0 {
            seg.flags = 0;
            crate::error::check_stop(stop)?;
        }
        seg.flags = 0;
        let Readback {
            states: mut observed,
            mut states_f64,
            reached: r,
            absorbed,
        } = backend.read()?;
        reached = r;
        // A trajectory short of the save time has used up its attempts: a NaN leaves it out
        // of the statistics and counts it among the non-finite.
        for (j, r) in reached.iter().enumerate() {
            if *r < target {
                observed[j * dim..(j + 1) * dim].fill(f32::NAN);
                if let Some(wide) = &mut states_f64 {
                    wide[j * dim..(j + 1) * dim].fill(f64::NAN);
                }
            }
        }
        if let Some(j) = jumps.as_deref_mut() {
            j.observe(slot, &observed, &absorbed);
        }
        // Snapshots are taken at save times only (resolve refuses others here).
        if let Some(s) = snapshots.and_then(|s| s.slot_at(step)) {
            taken[s] = observed[..share * dim].to_vec();
            if let Some(wide) = &states_f64 {
                taken_f64[s] = wide[..share * dim].to_vec();
            }
        }
        let mut obs = plan.base;
        obs.trajectories = batch.count;
        obs.flags = FLAG_SAVE;
        // The observables' time: the save time, as `t0 + step dt` on the grid.
        (obs.step_begin, obs.step_count) = (step, 0);
        if slot + 1 == plan.saves() && plan.base.hist_bins > 0 {
            obs.flags |= FLAG_HISTOGRAM;
        }
        ensemble_observe(
            &plan.run.observables,
            plan.run.columns,
            Bindings {
                seg: &obs,
                state: &observed,
                partials: &mut partials[slot],
                histogram: &histogram,
                stopped: None,
                origin: None,
                params: &plan.run.params,
                sweep: plan.run.sweep_table(),
            },
        );
        progress(step - previous_step);
        previous_step = step;
        state = observed;
        state_f64 = states_f64;
    }
    let counts = backend.counts()?;
    if let Some(j) = jumps {
        let events: Vec<u32> = counts.chunks(4).map(|c| c[0]).collect();
        j.add_events(&events);
    }
    let mut stats = AdaptiveStats::default();
    for (j, c) in counts.chunks(4).enumerate() {
        stats.accepted += u64::from(c[0]);
        stats.rejected += u64::from(c[1]);
        stats.max_accepted = stats.max_accepted.max(c[0]);
        if reached[j] < target {
            stats.exhausted += 1;
        }
    }
    let histogram = histogram_counts(&histogram, plan.base.hist_bins);
    let wide = state_f64.is_some();
    Ok((
        BatchOutput {
            partials,
            histogram,
            final_states: final_states.then_some(state),
            final_states_f64: state_f64.filter(|_| final_states),
            first_passage: None,
            time_sums: None,
            snapshots_f64: wide.then_some(taken_f64),
            snapshots: taken,
        },
        stats,
    ))
}
