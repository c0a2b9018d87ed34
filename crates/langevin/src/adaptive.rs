//! Adaptive ODE ensembles: Dormand-Prince 5(4) with a step size per trajectory
//! (`shaders/ode_adaptive.wgsl` and its twin `cpu::ode_adaptive`).
//!
//! The host drives each batch save time by save time: it dispatches the kernel toward the next
//! save time until no trajectory is short of it (each dispatch makes at most `attempts`
//! attempts per trajectory, so that no dispatch runs unbounded), then folds the states into
//! moment partials in 64-trajectory blocks exactly as `ensemble_observe` does. A trajectory that
//! exhausts `max_steps` attempts stops where it is; it is counted, and left out of the
//! statistics as a non-finite value would be, never averaged at the wrong time.

use crate::cpu::ensemble_observe::ensemble_observe;
use crate::ensemble::BatchOutput;
use crate::error::{Error, Result};
use crate::plan::{Batch, Plan, FLAG_HISTOGRAM, FLAG_INIT, FLAG_SAVE};
use crate::stats::PartialMoments;
use bytemuck::{Pod, Zeroable};
use std::sync::atomic::AtomicU32;

/// The uniform of one `ode_adaptive` dispatch; keep in sync with `shaders/ode_adaptive.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct AdaptiveSegment {
    /// Philox key (the seed's words).
    pub key: [u32; 2],
    /// Global index of the batch's first trajectory (low, high).
    pub first_trajectory: [u32; 2],
    /// Trajectories in the batch.
    pub trajectories: u32,
    /// `FLAG_INIT` on the batch's first dispatch.
    pub flags: u32,
    /// The time of the initial state.
    pub t_start: f32,
    /// Where this dispatch integrates to.
    pub t_target: f32,
    /// The first step size tried.
    pub h_init: f32,
    /// Relative tolerance.
    pub rtol: f32,
    /// Absolute tolerance.
    pub atol: f32,
    /// Attempts per trajectory in this dispatch.
    pub attempts: u32,
    /// Attempts per trajectory over the whole run.
    pub max_steps: u32,
    /// Padding to the WGSL struct's size.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

/// Tolerances and bounds of the adaptive scheme.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdaptiveControl {
    /// Relative tolerance (the error of a step is scaled by `atol + rtol |x|`).
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Attempts (accepted and rejected steps) a trajectory may make over the run.
    pub max_steps: u32,
}

impl Default for AdaptiveControl {
    fn default() -> Self {
        AdaptiveControl {
            rtol: 1e-5,
            atol: 1e-6,
            max_steps: 1_000_000,
        }
    }
}

impl AdaptiveControl {
    /// Checks the tolerances against what f32 can resolve.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `solver.rtol`, `solver.atol` or `solver.max_steps`.
    pub fn validate(&self) -> Result<()> {
        // Below a few ulp the error estimate is rounding noise and the controller shrinks the
        // step without end.
        let floor = 4.0 * f64::from(f32::EPSILON);
        if !(self.rtol.is_finite() && self.rtol >= floor) {
            return Err(Error::invalid(
                "solver.rtol",
                self.rtol,
                format!("must be at least {floor:.1e} (four f32 ulp; the kernels compute in f32)"),
            ));
        }
        if !(self.atol.is_finite() && self.atol > 0.0) {
            return Err(Error::invalid("solver.atol", self.atol, "must be positive"));
        }
        if self.max_steps == 0 {
            return Err(Error::invalid("solver.max_steps", 0, "must be at least 1"));
        }
        Ok(())
    }
}

/// Step counts of an adaptive run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdaptiveStats {
    /// Accepted steps over all trajectories.
    pub accepted: u64,
    /// Rejected steps over all trajectories.
    pub rejected: u64,
    /// The most accepted steps of one trajectory.
    pub max_accepted: u32,
    /// Trajectories that used up `max_steps` before the end.
    pub exhausted: u64,
}

impl AdaptiveStats {
    /// The counts of two sets of trajectories together.
    pub fn merged(self, other: AdaptiveStats) -> AdaptiveStats {
        AdaptiveStats {
            accepted: self.accepted + other.accepted,
            rejected: self.rejected + other.rejected,
            max_accepted: self.max_accepted.max(other.max_accepted),
            exhausted: self.exhausted + other.exhausted,
        }
    }
}

/// One backend's side of a batch: buffers that persist between dispatches.
pub trait AdaptiveBatch {
    /// Runs one dispatch; returns how many trajectories are short of `seg.t_target` and still
    /// have attempts left.
    ///
    /// # Errors
    /// [`Error::Device`] for a device failure.
    fn dispatch(&mut self, seg: &AdaptiveSegment) -> Result<u32>;
    /// The batch's states (trajectory-major) and times reached.
    ///
    /// # Errors
    /// [`Error::Device`] for a failed readback.
    fn read(&mut self) -> Result<(Vec<f32>, Vec<f32>)>;
    /// Accepted and rejected steps per trajectory.
    ///
    /// # Errors
    /// [`Error::Device`] for a failed readback.
    fn counts(&mut self) -> Result<Vec<u32>>;
}

/// Attempts per trajectory in one dispatch, for a driver's loop limit (each attempt runs about
/// 128 loop iterations when loops over the state are not unrolled).
pub fn attempts_per_dispatch(loop_limit: Option<u32>) -> u32 {
    loop_limit.map_or(4096, |limit| (limit / 128).max(1))
}

/// Runs one batch to every save time of `plan` and observes it there.
///
/// # Errors
/// From the backend.
pub fn run_batch(
    backend: &mut dyn AdaptiveBatch,
    plan: &Plan,
    control: &AdaptiveControl,
    batch: Batch,
    attempts: u32,
    final_states: bool,
    progress: &mut dyn FnMut(u32),
) -> Result<(BatchOutput, AdaptiveStats)> {
    let dim = plan.run.dim;
    let blocks = Plan::blocks(batch) as usize;
    let t0 = plan.base.t0;
    let mut seg = AdaptiveSegment {
        key: plan.base.key,
        first_trajectory: crate::philox::words_of_index(batch.first),
        trajectories: batch.count,
        flags: FLAG_INIT,
        t_start: t0,
        t_target: t0,
        h_init: plan.run.dt as f32,
        rtol: control.rtol as f32,
        atol: control.atol as f32,
        attempts,
        max_steps: control.max_steps,
        _pad0: 0,
        _pad1: 0,
        _pad2: 0,
    };
    let histogram: Vec<AtomicU32> = (0..plan.base.hist_bins as usize + 3)
        .map(|_| AtomicU32::new(0))
        .collect();
    let mut partials = vec![vec![PartialMoments::default(); blocks * dim]; plan.saves()];
    let (mut state, mut reached) = (Vec::new(), Vec::new());
    let mut previous_step = 0u32;
    for (slot, (&t, &step)) in plan.run.times.iter().zip(&plan.run.save_steps).enumerate() {
        seg.t_target = t as f32;
        while backend.dispatch(&seg)? > 0 {
            seg.flags = 0;
        }
        seg.flags = 0;
        let (mut observed, times) = backend.read()?;
        reached = times;
        // A trajectory short of the save time has used up its attempts: a NaN leaves it out
        // of the statistics and counts it among the non-finite.
        for (j, r) in reached.iter().enumerate() {
            if *r < seg.t_target {
                observed[j * dim..(j + 1) * dim].fill(f32::NAN);
            }
        }
        let mut obs = plan.base;
        obs.trajectories = batch.count;
        obs.flags = FLAG_SAVE;
        if slot + 1 == plan.saves() && plan.base.hist_bins > 0 {
            obs.flags |= FLAG_HISTOGRAM;
        }
        ensemble_observe(&obs, dim, &observed, &mut partials[slot], &histogram, None);
        progress(step - previous_step);
        previous_step = step;
        state = observed;
    }
    let counts = backend.counts()?;
    let t_end = plan.run.times.last().copied().unwrap_or(0.0) as f32;
    let mut stats = AdaptiveStats::default();
    for (j, c) in counts.chunks(2).enumerate() {
        stats.accepted += u64::from(c[0]);
        stats.rejected += u64::from(c[1]);
        stats.max_accepted = stats.max_accepted.max(c[0]);
        if reached[j] < t_end {
            stats.exhausted += 1;
        }
    }
    let histogram = crate::cpu::ensemble_observe::histogram_counts(&histogram, plan.base.hist_bins);
    Ok((
        BatchOutput {
            partials,
            histogram,
            final_states: final_states.then_some(state),
            first_passage: None,
        },
        stats,
    ))
}
