//! Adaptive ensembles, with a step size per trajectory: Dormand-Prince 5(4) for ODEs
//! (`shaders/ode_adaptive.wgsl`, twin `cpu::ode_adaptive`), and stochastic Heun or SRA1 on a
//! virtual Brownian tree for SDEs (`shaders/sde_adaptive.wgsl`, twin `cpu::sde_adaptive`;
//! the tree is `shaders/lib/brownian_tree.wgsl`, twin `cpu::brownian_tree`).
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
use crate::jump_observe::JumpObservables;
use crate::plan::{Batch, Plan, FLAG_HISTOGRAM, FLAG_INIT, FLAG_SAVE};
use crate::real::{split, Precision, Real};
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
    /// The first step tried: a time for `ode_adaptive`, leaves for `sde_adaptive`.
    pub h_init: f32,
    /// Relative tolerance.
    pub rtol: f32,
    /// Absolute tolerance.
    pub atol: f32,
    /// Attempts per trajectory in this dispatch.
    pub attempts: u32,
    /// Attempts per trajectory over the whole run.
    pub max_steps: u32,
    /// The Brownian tree's span (from `t_start`), for `sde_adaptive`.
    pub span: f32,
    /// The Brownian tree's depth.
    pub depth: u32,
    /// The leaf of `t_target`.
    pub target_leaf: u32,
    /// The longest step, in leaves.
    pub max_leaves: u32,
    /// For `ssa`: `t_target` in ticks of `span / 2^48` from `t_start`, low word.
    pub target_tick_lo: u32,
    /// High word.
    pub target_tick_hi: u32,
    /// For `ssa`: ticks per unit time, `2^48 / span`.
    pub tick_rate: f32,
    /// For f64 kernels: the low word of `t_start` as an f32 pair ([`crate::real::split`]);
    /// zero for f32 kernels.
    pub t_start_lo: f32,
    /// For f64 kernels: the low word of `t_target`; zero for f32 kernels.
    pub t_target_lo: f32,
    /// Pads the uniform to a multiple of 16 bytes.
    pub unused: [u32; 2],
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
    /// The longest step (adaptive SDE schemes); `None`: the whole span.
    pub max_dt: Option<f64>,
    /// The time resolution of the Brownian tree of the adaptive SDE schemes: its leaves are
    /// at most this wide. `None`: the first step over 1024.
    pub brownian_tol: Option<f64>,
    /// The precision Dormand-Prince integrates in: f64 (state, time, step and error; on GPUs
    /// with `SHADER_F64`) reaches tolerances below f32's four ulp, such as DiffEqGPU's 1e-8.
    pub precision: Precision,
}

impl Default for AdaptiveControl {
    fn default() -> Self {
        AdaptiveControl {
            rtol: 1e-5,
            atol: 1e-6,
            max_steps: 1_000_000,
            max_dt: None,
            brownian_tol: None,
            precision: Precision::F32,
        }
    }
}

/// The leaves of the Brownian tree of an adaptive SDE run: `2^depth` of them over
/// `[t0, t0 + span]`. Save times go to the nearest leaf, steps are whole leaves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TreeGrid {
    /// Start of the tree.
    pub t0: f64,
    /// Length of the time span it covers.
    pub span: f64,
    /// Levels below the root.
    pub depth: u32,
    /// The first step tried, in leaves.
    pub first_leaves: u32,
    /// The longest step, in leaves.
    pub max_leaves: u32,
}

impl TreeGrid {
    /// The tree for `[t0, t_end]` with leaves no wider than the control's `brownian_tol`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a tolerance or bound that is not positive, and
    /// [`Error::Limit`] when the tree would need more than
    /// [`crate::cpu::brownian_tree::MAX_TREE_DEPTH`] levels.
    pub fn new(control: &AdaptiveControl, t0: f64, t_end: f64, dt: f64) -> Result<Self> {
        let span = t_end - t0;
        let tol = control.brownian_tol.unwrap_or(dt / 1024.0);
        if !(tol.is_finite() && tol > 0.0) {
            return Err(Error::invalid(
                "solver.brownian_tol",
                tol,
                "must be a positive time",
            ));
        }
        let depth = (span / tol).log2().ceil().max(0.0);
        let max = crate::cpu::brownian_tree::MAX_TREE_DEPTH;
        if depth > f64::from(max) {
            return Err(Error::Limit(format!(
                "solver.brownian_tol = {tol} over a span of {span} needs a Brownian tree of {depth} \
                 levels; at most {max} (2^{max} leaves): raise the tolerance"
            )));
        }
        let depth = depth as u32;
        let leaf = span / f64::from(1u32 << depth);
        let max_dt = control.max_dt.unwrap_or(span);
        if !(max_dt.is_finite() && max_dt > 0.0) {
            return Err(Error::invalid(
                "solver.max_dt",
                max_dt,
                "must be a positive time",
            ));
        }
        let leaves = |t: f64| (t / leaf).round().clamp(1.0, f64::from(1u32 << depth)) as u32;
        Ok(TreeGrid {
            t0,
            span,
            depth,
            first_leaves: leaves(dt),
            max_leaves: leaves(max_dt),
        })
    }

    /// The leaf nearest to time `t`.
    pub fn leaf_of(&self, t: f64) -> u32 {
        let leaves = 1u32 << self.depth;
        ((t - self.t0) / self.span * f64::from(leaves))
            .round()
            .clamp(0.0, f64::from(leaves)) as u32
    }

    /// The time of leaf boundary `leaf`.
    pub fn time_of(&self, leaf: u32) -> f64 {
        self.t0 + self.span * f64::from(leaf) / f64::from(1u32 << self.depth)
    }
}

impl AdaptiveControl {
    /// Checks the tolerances against what the precision can resolve.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `solver.rtol`, `solver.atol` or `solver.max_steps`.
    pub fn validate(&self) -> Result<()> {
        // Below a few ulp the error estimate is rounding noise and the controller shrinks the
        // step without end.
        let (floor, how) = match self.precision {
            Precision::F32 => (
                4.0 * f64::from(f32::EPSILON),
                "four f32 ulp; the kernels compute in f32 unless solver.precision = \"f64\"",
            ),
            Precision::F64 => (4.0 * f64::EPSILON, "four f64 ulp"),
        };
        if !(self.rtol.is_finite() && self.rtol >= floor) {
            return Err(Error::invalid(
                "solver.rtol",
                self.rtol,
                format!("must be at least {floor:.1e} ({how})"),
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// The batch's states and what the host loop reads of the clocks.
    ///
    /// # Errors
    /// [`Error::Device`] for a failed readback.
    fn read(&mut self) -> Result<Readback>;
    /// Four words per trajectory: accepted and rejected steps (for `ssa`: events fired and
    /// whether a propensity expression was negative), then two words of `ssa`'s clock.
    ///
    /// # Errors
    /// [`Error::Device`] for a failed readback.
    fn counts(&mut self) -> Result<Vec<u32>>;
}

/// A batch's states and clocks as the host loop reads them at a save time.
pub struct Readback {
    /// States, trajectory-major, in f32 (an f64 kernel's rounded).
    pub states: Vec<f32>,
    /// An f64 kernel's states.
    pub states_f64: Option<Vec<f64>>,
    /// Per trajectory, the time reached (clock word 0), exactly.
    pub reached: Vec<f64>,
    /// Per trajectory, whether a jump kernel found it absorbed (clock word 3 nonzero).
    pub absorbed: Vec<bool>,
}

impl Readback {
    /// From an f32 kernel's `state` and `clock` (four words per trajectory).
    pub fn narrow(states: Vec<f32>, clock: &[f32]) -> Readback {
        let (reached, absorbed) = clock_words(clock);
        Readback {
            states,
            states_f64: None,
            reached,
            absorbed,
        }
    }

    /// From an f64 kernel's.
    pub fn wide(states: Vec<f64>, clock: &[f64]) -> Readback {
        let (reached, absorbed) = clock_words(clock);
        Readback {
            states: states.iter().map(|&v| v as f32).collect(),
            states_f64: Some(states),
            reached,
            absorbed,
        }
    }
}

/// The times reached and the absorbed flags of a clock of four words per trajectory.
fn clock_words<S: Real>(clock: &[S]) -> (Vec<f64>, Vec<bool>) {
    clock
        .chunks(4)
        .map(|c| (c[0].wide(), c[3] != S::zero()))
        .unzip()
}

/// The ticks of `SSA_TICKS` per `span` in a time `t` from the start: `ssa` keeps its clock as
/// an integer (rounding a sum of float times would differ between drivers that simplify
/// `(a + b) - a` and those that do not).
pub fn ticks_of(t: f64, span: f64) -> u64 {
    (t / span * SSA_TICKS as f64).round().max(0.0) as u64
}

/// Ticks of `ssa`'s clock per span of the run: 2^48, so that a tick is far below any waiting
/// time an event budget allows.
pub const SSA_TICKS: u64 = 1 << 48;

/// Attempts per trajectory in one dispatch: at most 4096, and within a driver's loop limit
/// ([`crate::plan::LoopCost::steps_within`]: llvmpipe leaves every loop of an invocation once
/// all of them together have run 65,535 iterations, which would end a dispatch's attempts
/// early, mid-choice or mid-total, without an error). An attempt of the adaptive schemes runs
/// about 128 loop iterations when loops over the state are not unrolled. The jump kernels
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
        once: 1 + 2 * trips(d) + trips(r),
    };
    let attempts = cost.steps_within(loop_limit, || {
        format!("a network of {reactions} reactions in {dim} species")
    })?;
    Ok(attempts.min(4096))
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
    // f64 kernels take times as f32 pairs; f32 kernels their f32 values, with zero low words.
    let wide = control.precision == Precision::F64;
    let pair = |t: f64| if wide { split(t) } else { [t as f32, 0.0] };
    let [t_start, t_start_lo] = pair(plan.run.t0);
    let mut seg = AdaptiveSegment {
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
    };
    let histogram: Vec<AtomicU32> = (0..plan.base.hist_bins as usize + 3)
        .map(|_| AtomicU32::new(0))
        .collect();
    let mut partials = vec![vec![PartialMoments::default(); blocks * dim]; plan.saves()];
    let (mut state, mut state_f64, mut reached) = (Vec::new(), None, Vec::new());
    let mut target = 0.0;
    let mut previous_step = 0u32;
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
        let mut obs = plan.base;
        obs.trajectories = batch.count;
        obs.flags = FLAG_SAVE;
        if slot + 1 == plan.saves() && plan.base.hist_bins > 0 {
            obs.flags |= FLAG_HISTOGRAM;
        }
        ensemble_observe(
            &obs,
            dim,
            &observed,
            &mut partials[slot],
            &histogram,
            None,
            None,
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
    let histogram = crate::cpu::ensemble_observe::histogram_counts(&histogram, plan.base.hist_bins);
    Ok((
        BatchOutput {
            partials,
            histogram,
            final_states: final_states.then_some(state),
            final_states_f64: state_f64.filter(|_| final_states),
            first_passage: None,
            time_sums: None,
        },
        stats,
    ))
}
