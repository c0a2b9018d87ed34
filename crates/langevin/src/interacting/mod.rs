//! Interacting ensembles: N coupled units per replica, many independent replicas per run.
//! Each step needs the whole replica (a mean field, a neighbour), so a replica lives in one
//! workgroup: the step is an update and a reduction in workgroup memory, repeated inside one
//! dispatch with barriers, never a round trip to the host per step. The host only cuts the
//! run into dispatches that end at the save times ([`drive`]).

pub mod cbo;
pub mod cbo_objective;
pub mod chain;
pub mod config;
pub mod kuramoto;
pub mod uniforms;
pub mod vicsek;

use crate::error::{Error, Result};
use crate::plan::LoopCost;
use crate::Engine;

/// Set up the replicas before stepping.
pub const FLAG_INIT: u32 = 1;
/// Reduce and write the observables after stepping.
pub const FLAG_SAVE: u32 = 2;

/// One dispatch of a replica kernel: the steps it takes and where it saves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dispatch {
    /// The global index of its first step.
    pub first_step: u32,
    /// Steps to take.
    pub steps: u32,
    /// The save slot written after them (with [`FLAG_SAVE`]).
    pub slot: u32,
    /// [`FLAG_INIT`] on the first dispatch, [`FLAG_SAVE`] on those that end at a save time.
    pub flags: u32,
}

/// One backend's side of a replica kernel whose uniform is `S`.
pub trait ReplicaBackend<S> {
    /// Queues or runs one dispatch.
    ///
    /// # Errors
    /// [`crate::Error::Device`] for a device failure.
    fn dispatch(&mut self, seg: &S) -> Result<()>;
    /// The saved observables, per replica and save time.
    ///
    /// # Errors
    /// [`crate::Error::Device`] for a failed readback.
    fn output(&mut self) -> Result<Vec<f32>>;
}

/// Checks a run's `t_end`, `dt` and number of save times; returns the step count of the grid
/// `t_end / ceil(t_end / dt)`.
///
/// # Errors
/// [`Error::InvalidInput`] naming `solver.t_end`, `solver.dt` or `output.save_times`;
/// [`Error::Limit`] past 2^31 steps.
pub fn step_count(t_end: f64, dt: f64, saves: usize) -> Result<u32> {
    if !(t_end.is_finite() && t_end > 0.0) {
        return Err(Error::invalid("solver.t_end", t_end, "must be positive"));
    }
    if !(dt.is_finite() && dt > 0.0 && dt <= t_end) {
        return Err(Error::invalid("solver.dt", dt, "must lie in (0, t_end]"));
    }
    let n_steps = (t_end / dt - 1e-9).ceil();
    if n_steps > f64::from(u32::MAX / 2) {
        return Err(Error::Limit(format!(
            "t_end / dt = {n_steps} steps; at most 2^31"
        )));
    }
    if saves < 2 {
        return Err(Error::invalid(
            "output.save_times",
            saves,
            "must be at least 2",
        ));
    }
    Ok(n_steps as u32)
}

/// Refuses a value that is not finite, or negative for a field in `nonnegative`.
///
/// # Errors
/// [`Error::InvalidInput`] naming the field.
pub fn check_values(values: &[(&str, f64)], nonnegative: &[&str]) -> Result<()> {
    for (field, v) in values {
        if !v.is_finite() || (nonnegative.contains(field) && *v < 0.0) {
            let what = if nonnegative.contains(field) {
                "must be a finite number, at least 0"
            } else {
                "must be a finite number"
            };
            return Err(Error::invalid(*field, v, what));
        }
    }
    Ok(())
}

/// Evenly spaced save steps over `n_steps`, `saves` of them (at least 2).
pub fn save_steps(n_steps: u32, saves: usize) -> Vec<u32> {
    (0..saves)
        .map(|k| (k as f64 * f64::from(n_steps) / (saves - 1) as f64).round() as u32)
        .collect()
}

/// Per-replica values laid out as the replica kernels store them, in groups of four (one
/// `vec4` each): each replica's `per_replica` values padded with zeros to a multiple of 4.
pub(crate) fn in_groups_of_four(values: &[f32], per_replica: u32) -> Vec<f32> {
    let padded = per_replica.div_ceil(4) as usize * 4;
    values
        .chunks(per_replica as usize)
        .flat_map(|r| {
            r.iter()
                .copied()
                .chain(std::iter::repeat_n(0.0, padded - r.len()))
        })
        .collect()
}
/// Steps per dispatch for replicas of `units`: about 2^24 unit-steps per replica, and no
/// more than the adapter's loop limit allows for the kernel's `cost` (llvmpipe leaves every
/// loop of an invocation once all of them together have run 65,535 iterations, which would
/// end a dispatch's steps early without an error: [`LoopCost::steps_within`]).
///
/// # Errors
/// [`Error::Limit`] naming `what` when one step alone passes the loop limit.
pub fn steps_per_dispatch(
    engine: &Engine,
    units: u32,
    cost: LoopCost,
    what: impl FnOnce() -> String,
) -> Result<u32> {
    let by_work = ((1u32 << 24) / units.max(1)).max(1);
    let limit = engine.gpu().and_then(|ctx| ctx.loop_iteration_limit);
    Ok(by_work.min(cost.steps_within(limit, what)?))
}

/// Iterations of a loop `for (var i = lid; i < n; i += WORKGROUP_SIZE)` in the invocation
/// that runs most of them (the replica kernels' workgroups have 64 invocations).
pub fn per_invocation(n: u32) -> u64 {
    u64::from(n.div_ceil(crate::cpu::replica::WORKGROUP_SIZE as u32))
}

/// What a loop that runs `n` iterations costs against llvmpipe's loop limit: `n + 1`, its last
/// test counting as an iteration (measured: 1000 runs of a loop of 100 stop after 642 of them,
/// 65,535 / 102).
pub const fn trips(n: u64) -> u64 {
    n + 1
}

/// A tree reduction over a 64-invocation workgroup (strides 32 to 1): its loop stays a loop.
pub const TREE: u64 = trips(6);

/// Runs the dispatches toward each save step in turn (at most `per_dispatch` steps each, the
/// first with [`FLAG_INIT`]); `segment` makes each one's uniform. Returns the steps taken.
///
/// # Errors
/// From the backend.
pub fn drive<S>(
    backend: &mut dyn ReplicaBackend<S>,
    save_steps: &[u32],
    per_dispatch: u32,
    segment: impl Fn(Dispatch) -> S,
) -> Result<u32> {
    let mut d = Dispatch {
        first_step: 0,
        steps: 0,
        slot: 0,
        flags: FLAG_INIT,
    };
    let mut step = 0u32;
    for (slot, &target) in save_steps.iter().enumerate() {
        loop {
            d.first_step = step;
            d.steps = (target - step).min(per_dispatch);
            d.slot = slot as u32;
            if step + d.steps == target {
                d.flags |= FLAG_SAVE;
            }
            backend.dispatch(&segment(d))?;
            d.flags = 0;
            step += d.steps;
            if step == target {
                break;
            }
        }
    }
    Ok(step)
}

/// One backend's side of a Vicsek run: the step pipeline and the saves.
pub trait VicsekBackend {
    /// Draws the initial state.
    ///
    /// # Errors
    /// [`Error::Device`] for a device failure.
    fn init(&mut self) -> Result<()>;
    /// Takes `steps` steps.
    ///
    /// # Errors
    /// [`Error::Device`] for a device failure.
    fn steps(&mut self, steps: u32) -> Result<()>;
    /// Saves the partial sums of the current headings in `slot`.
    ///
    /// # Errors
    /// [`Error::Device`] for a device failure.
    fn save(&mut self, slot: u32) -> Result<()>;
    /// Per save slot, replica and block: (sum cos, sum sin).
    ///
    /// # Errors
    /// [`Error::Device`] for a failed readback.
    fn partials(&mut self) -> Result<Vec<[f32; 2]>>;
    /// The current `(x, y, cos, sin)` per particle and the neighbours each counted at the
    /// last step.
    ///
    /// # Errors
    /// [`Error::Device`] for a failed readback.
    fn state(&mut self) -> Result<(Vec<[f32; 4]>, Vec<u32>)>;
    /// The largest loop cost past `VicsekParams::loop_budget` a kernel has met, 0 if none.
    ///
    /// # Errors
    /// [`Error::Device`] for a failed readback.
    fn overrun(&mut self) -> Result<u32>;
}
