//! The CPU twin: every kernel of `shaders/` again in Rust, same names, same inputs, written to
//! read like the shader. It is the oracle of the GPU tests and the `cpu` backend.

pub mod brownian_tree;
pub mod cbo;
pub mod chain;
pub mod ensemble_observe;
pub mod fft;
pub mod field;
pub mod jump_clock;
pub mod kuramoto;
pub mod moments;
pub mod ode_adaptive;
pub mod philox_stream;
pub mod poisson;
pub mod replica;
pub mod schemes;
pub mod sde_adaptive;
pub mod sde_ensemble;
pub mod sde_lanes;
pub mod ssa;
pub mod tau_leap;
pub mod trajectory;
pub mod vicsek;

use crate::ensemble::BatchOutput;
use crate::model::Model;
use crate::plan::{Batch, Plan};
use crate::reactions::ReactionNetwork;
use crate::scheme::Scheme;
use crate::stats::PartialMoments;
use crate::twin::{AdaptiveBindings, CpuTwin, EnsembleBindings};
use std::sync::atomic::AtomicU32;

/// Every model reaches the twin kernels compiled for its own type.
impl<M: Model> CpuTwin for M {
    fn cpu_sde_ensemble(&self, scheme: Scheme, bindings: EnsembleBindings<'_>) {
        sde_ensemble::sde_ensemble(self, scheme, bindings);
    }
    fn cpu_ode_adaptive(&self, bindings: AdaptiveBindings<'_>) {
        ode_adaptive::ode_adaptive(self, bindings);
    }
    fn cpu_sde_adaptive(&self, scheme: Scheme, bindings: AdaptiveBindings<'_>) {
        sde_adaptive::sde_adaptive(self, scheme, bindings);
    }
    fn cpu_jumps(&self, scheme: Scheme, network: &ReactionNetwork, bindings: AdaptiveBindings<'_>) {
        if scheme == Scheme::TauLeap {
            tau_leap::tau_leap(self, network, bindings);
        } else {
            ssa::ssa(self, network, bindings);
        }
    }
}

/// Default memory budget of one CPU batch.
pub const DEFAULT_BATCH_BYTES: u64 = 512 << 20;

/// Trajectories per batch within `budget` bytes of host memory.
pub fn batch_capacity(f: &crate::spec::Footprint, budget: u64) -> u64 {
    let partial = std::mem::size_of::<PartialMoments>() as u64;
    let per_trajectory = f.state_bytes()
        + f.optional_bytes()
        + f.readback_bytes()
        + (f.saves as u64 * f.observed as u64 * partial).div_ceil(64);
    (budget / per_trajectory).max(1)
}

/// Runs every segment of `batch` through the twins of `sde_ensemble` and `ensemble_observe`;
/// `progress` hears the steps of each segment as it completes. `stop`, checked between
/// segments (as the GPU runner checks it), ends the batch early with `None`.
pub fn run_sde_batch(
    progress: &mut dyn FnMut(u32),
    stop: Option<&std::sync::atomic::AtomicBool>,
    model: &dyn Model,
    scheme: Scheme,
    plan: &Plan,
    batch: Batch,
    final_states: bool,
) -> Option<BatchOutput> {
    let dim = plan.run.dim;
    let blocks = Plan::blocks(batch) as usize;
    let mut state = vec![0.0f32; batch.count as usize * dim];
    let mut passage = vec![-1.0f32; batch.count as usize];
    let mut partials =
        vec![vec![PartialMoments::default(); blocks * plan.observed()]; plan.saves()];
    let n = batch.count as usize;
    let mut origin =
        (plan.base.flags & crate::plan::FLAG_ORIGIN != 0).then(|| vec![0.0f32; n * dim]);
    let averaged = dim + plan.run.observables.len();
    let mut time_sums = (plan.base.flags & crate::plan::FLAG_TIME_AVERAGE != 0)
        .then(|| vec![0.0f32; 4 * n * averaged]);
    let histogram: Vec<AtomicU32> = (0..plan.base.hist_bins as usize + 3)
        .map(|_| AtomicU32::new(0))
        .collect();
    let mut no_save: Vec<PartialMoments> = Vec::new();
    let snapshots = plan.run.snapshots.as_ref();
    let share = snapshots.map_or(0, |s| s.share(batch.first, batch.count)) as usize;
    let mut taken: Vec<Vec<f32>> = vec![Vec::new(); snapshots.map_or(0, |s| s.steps.len())];
    for segment in &plan.segments {
        let seg = plan.segment_uniform(batch, segment);
        if segment.steps() {
            model.cpu_sde_ensemble(
                scheme,
                sde_ensemble::Bindings {
                    seg: &seg,
                    params: &plan.run.params,
                    init: &plan.run.init,
                    state: &mut state,
                    passage: &mut passage,
                    sweep: plan.run.sweep_table(),
                    event: plan.run.event.as_ref(),
                    origin: origin.as_deref_mut(),
                    time_sums: time_sums.as_deref_mut(),
                    observables: &plan.run.observables,
                    lanes: plan.run.cpu_lanes,
                },
            );
        }
        if crate::error::check_stop(stop).is_err() {
            return None;
        }
        if segment.observes() {
            let slot = match segment.save_slot {
                Some(k) => &mut partials[k],
                None => &mut no_save,
            };
            let stopped = plan
                .run
                .event
                .as_ref()
                .is_some_and(crate::event::Event::stops)
                .then_some(&passage[..]);
            ensemble_observe::ensemble_observe(
                &plan.run.observables,
                plan.run.columns,
                ensemble_observe::Bindings {
                    seg: &seg,
                    state: &state,
                    partials: slot,
                    histogram: &histogram,
                    stopped,
                    origin: origin.as_deref(),
                    params: &plan.run.params,
                    sweep: plan.run.sweep_table(),
                },
            );
        }
        if let Some(slot) = segment.snapshot_slot {
            taken[slot] = state[..share * dim].to_vec();
        }
        progress(segment.step_count);
    }
    let histogram = ensemble_observe::histogram_counts(&histogram, plan.base.hist_bins);
    Some(BatchOutput {
        partials,
        histogram,
        final_states: final_states.then_some(state),
        final_states_f64: None,
        first_passage: (plan.base.flags & crate::plan::FLAG_FIRST_PASSAGE != 0).then_some(passage),
        time_sums,
        snapshots: taken,
        snapshots_f64: None,
    })
}
