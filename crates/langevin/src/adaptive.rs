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

use crate::error::{Error, Result};
use crate::real::{Precision, Real};
use bytemuck::{Pod, Zeroable};

/// The deepest Brownian tree: leaf indices stay exact in f32, where the adaptive kernel keeps
/// them.
pub const MAX_TREE_DEPTH: u32 = 24;

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
    /// [`MAX_TREE_DEPTH`] levels.
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
        let max = MAX_TREE_DEPTH;
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
        if self.max_steps == 0 || self.max_steps > 1 << 31 {
            return Err(Error::invalid(
                "solver.max_steps",
                self.max_steps,
                "must be 1 to 2^31",
            ));
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
