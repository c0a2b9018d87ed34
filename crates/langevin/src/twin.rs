//! What a model hands the CPU twin: each kernel's bindings, as the twin reads them, and the
//! trait through which a `dyn Model` reaches the twin's kernels compiled for its concrete type
//! (so that its terms inline into the step loops). The core names these; [`crate::cpu`]
//! implements them, so the core never imports a backend.

use crate::adaptive::AdaptiveSegment;
use crate::event::Event;
use crate::expr::eval::{Lanes, LANES};
use crate::reactions::ReactionNetwork;
use crate::scheme::Scheme;
use crate::segment::Segment;
use crate::state::MAX_DIM;
use std::sync::atomic::AtomicU32;

/// The bindings of `sde_ensemble` (and its twin [`crate::cpu::sde_ensemble`]), in the
/// shader's order.
pub struct EnsembleBindings<'a> {
    /// `seg`.
    pub seg: &'a Segment,
    /// `params_in`.
    pub params: &'a [f32],
    /// `init`: means then standard deviations.
    pub init: &'a [f32],
    /// `state`, the batch's states.
    pub state: &'a mut [f32],
    /// `passage`, first-passage times (negative until the level is reached), one per
    /// trajectory of the batch.
    pub passage: &'a mut [f32],
    /// `sweep`, the parameter sweep table.
    pub sweep: &'a [u32],
    /// The event compiled into the kernel (its module `event`), if any.
    pub event: Option<&'a Event>,
    /// `origin`, the initial states (`dim` per trajectory), with `FLAG_ORIGIN`.
    pub origin: Option<&'a mut [f32]>,
    /// `time_sums` (`4 (dim + observables)` per trajectory), with `FLAG_TIME_AVERAGE`.
    pub time_sums: Option<&'a mut [f32]>,
    /// The observables compiled into the kernel (its module `observables`), averaged over
    /// time beside the state.
    pub observables: &'a crate::observable::Observables,
    /// Whether models with lane terms may step eight trajectories in lockstep (the same bits;
    /// [`crate::spec::Chunking::cpu_lanes`]).
    pub lanes: bool,
}

/// The bindings of the adaptive kernels (`ode_adaptive`, `sde_adaptive`, `ssa`, `tau_leap`
/// and their twins), in the shader's order; `S` is the kernel's `Scalar` (f64 only for
/// the f64 `ode_adaptive`).
pub struct AdaptiveBindings<'a, S = f32> {
    /// `seg`.
    pub seg: &'a AdaptiveSegment,
    /// `params_in`: [`crate::real::Real::WORDS`] words per parameter.
    pub params: &'a [f32],
    /// `init`.
    pub init: &'a [f32],
    /// `state`.
    pub state: &'a mut [S],
    /// `clock`: time reached, next step, previous error, and (for `sde_adaptive`) the leaf
    /// reached, per trajectory.
    pub clock: &'a mut [S],
    /// `counts`: accepted and rejected steps per trajectory, then two words of `ssa`'s clock.
    pub counts: &'a mut [u32],
    /// `sweep`, with [`crate::real::Real::WORDS`] words per value.
    pub sweep: &'a [u32],
    /// `unfinished`.
    pub unfinished: &'a AtomicU32,
}

/// A state for each of the [`LANES`] trajectories, component by component.
pub type LaneState = [Lanes; MAX_DIM];

/// The parameters of each lane.
pub type LaneParams<'a> = [&'a [f32]; LANES];

/// Drift and diagonal noise for [`LANES`] trajectories at once, with the operations of the
/// model's `drift` and `noise_apply` lane by lane.
pub trait LaneTerms: Sync {
    /// The drift of each lane.
    fn drift_lanes(&self, t: f32, x: &LaneState, p: &LaneParams<'_>) -> LaneState;
    /// `g_i dw_i` of each lane.
    fn noise_apply_lanes(
        &self,
        t: f32,
        x: &LaneState,
        dw: &LaneState,
        p: &LaneParams<'_>,
    ) -> LaneState;
}

/// The CPU twin of `sde_ensemble` compiled for one concrete model, so that its drift and
/// diffusion inline into the step loop even when the model is held as `dyn Model`.
/// Implemented in [`crate::cpu`] for every sized [`crate::Model`]; nothing to write by hand.
pub trait CpuTwin {
    /// Runs [`crate::cpu::sde_ensemble::sde_ensemble`] for this model.
    fn cpu_sde_ensemble(&self, scheme: Scheme, bindings: EnsembleBindings<'_>);
    /// Runs [`crate::cpu::ode_adaptive::ode_adaptive`] for this model.
    fn cpu_ode_adaptive(&self, bindings: AdaptiveBindings<'_>);
    /// Runs [`crate::cpu::sde_adaptive::sde_adaptive`] for this model.
    fn cpu_sde_adaptive(&self, scheme: Scheme, bindings: AdaptiveBindings<'_>);
    /// Runs [`crate::cpu::ssa::ssa`] or [`crate::cpu::tau_leap::tau_leap`] for this model's
    /// network.
    fn cpu_jumps(&self, scheme: Scheme, network: &ReactionNetwork, bindings: AdaptiveBindings<'_>);
}
