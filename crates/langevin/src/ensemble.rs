//! Results of an ensemble run, and the host-side merge that produces them from the batches.

use crate::device::DeviceInfo;
use crate::plan::Plan;
use crate::stats::{FirstPassage, Histogram, Moments, PartialMoments};
use std::time::Duration;

/// What one batch hands back, from either backend.
#[derive(Clone, Debug, Default)]
pub struct BatchOutput {
    /// Per save slot: `blocks * dim` workgroup partials, block-major.
    pub partials: Vec<Vec<PartialMoments>>,
    /// Raw histogram counts (bins, underflow, overflow, non-finite); empty without histogram.
    pub histogram: Vec<u32>,
    /// The batch's final states, trajectory-major, when asked for.
    pub final_states: Option<Vec<f32>>,
    /// First-passage times per trajectory (negative: not reached), when asked for.
    pub first_passage: Option<Vec<f32>>,
}

/// Everything a run produced, with where and how fast.
#[derive(Clone, Debug)]
pub struct EnsembleResult {
    /// Names of the state components.
    pub state_names: Vec<String>,
    /// The save times (on the step grid).
    pub times: Vec<f64>,
    /// Moments per save time and component, merged in f64.
    pub moments: Vec<Vec<Moments>>,
    /// The final-time histogram, when asked for.
    pub histogram: Option<Histogram>,
    /// Final states, trajectory-major (`trajectories * dim`), when asked for.
    pub final_states: Option<Vec<f32>>,
    /// First-passage times, when asked for.
    pub first_passage: Option<FirstPassage>,
    /// Number of trajectories.
    pub trajectories: u64,
    /// Steps per trajectory.
    pub steps: u32,
    /// The step used.
    pub dt: f64,
    /// Where it ran.
    pub device: DeviceInfo,
    /// Batches of trajectories.
    pub batches: usize,
    /// Step segments run, over all batches: each is one `sde_ensemble` dispatch, followed by
    /// one `ensemble_observe` dispatch at save times.
    pub dispatches: usize,
    /// Shader composition, validation and pipeline creation.
    pub setup_time: Duration,
    /// Time spent running the batches (after setup), readback included.
    pub run_time: Duration,
    /// The parameter sweep and, when grouped, the moments per grid point.
    pub sweep: Option<SweepResult>,
    /// Step counts of an adaptive run.
    pub adaptive: Option<crate::adaptive::AdaptiveStats>,
    /// The event's first times and, for a stopping event, the survival fractions.
    pub event: Option<crate::event::EventResult>,
}

/// What a sweep produced: its grid points and their statistics.
#[derive(Clone, Debug)]
pub struct SweepResult {
    /// Names of the swept parameters.
    pub names: Vec<String>,
    /// The grid points this run covered (indices into the whole grid), in order.
    pub points: Vec<u64>,
    /// The swept parameters' values at each covered point, in sweep order.
    pub values: Vec<Vec<f64>>,
    /// Trajectories per grid point.
    pub per_point: u64,
    /// Moments per covered point, save time and component, when the sweep is grouped
    /// ([`crate::sweep::ResolvedSweep::grouped`]); folded in the same fixed block order as the
    /// ensemble's moments.
    pub moments: Option<Vec<Vec<Vec<Moments>>>>,
}

impl EnsembleResult {
    /// Trajectory-steps per second of the run phase.
    pub fn trajectory_steps_per_second(&self) -> f64 {
        self.trajectories as f64 * f64::from(self.steps) / self.run_time.as_secs_f64()
    }

    /// The largest count, over components, of trajectories whose component is NaN or infinite
    /// at save `k`: a lower bound on the trajectories with any non-finite component (they
    /// coincide for one-dimensional models and whenever divergence spreads to all components).
    /// Trajectories a stopping event has frozen are not counted: they are left out of the
    /// statistics on purpose.
    pub fn diverged(&self, k: usize) -> u64 {
        let finite = self.moments[k].iter().map(|m| m.count).min().unwrap_or(0);
        let stopped = match &self.event {
            Some(e) if e.action == crate::event::EventAction::Stop => e.hits_by_save[k],
            _ => 0,
        };
        self.trajectories - finite - stopped
    }
}

/// Folds batch outputs in trajectory order, so the sums do not depend on the batching.
pub(crate) struct Accumulator {
    dim: usize,
    moments: Vec<Vec<Moments>>,
    sweep: Option<(crate::sweep::ResolvedSweep, SweepResult)>,
    histogram: Option<Histogram>,
    final_states: Option<Vec<f32>>,
    first_passage: Option<FirstPassage>,
}

impl Accumulator {
    pub(crate) fn new(
        plan: &Plan,
        histogram: Option<Histogram>,
        final_states: bool,
        first_passage: Option<FirstPassage>,
    ) -> Self {
        let sweep = plan.run.sweep.as_ref().map(|s| {
            let first = plan.batches.first().map_or(0, |b| b.first);
            let last = plan
                .batches
                .last()
                .map_or(0, |b| b.first + u64::from(b.count) - 1);
            let points: Vec<u64> = (s.point_of(first)..=s.point_of(last)).collect();
            let moments = s.grouped.then(|| {
                vec![vec![vec![Moments::default(); plan.run.dim]; plan.saves()]; points.len()]
            });
            let result = SweepResult {
                names: s.names.clone(),
                values: points.iter().map(|&c| s.values_at(c)).collect(),
                points,
                per_point: s.per_point,
                moments,
            };
            (s.clone(), result)
        });
        Accumulator {
            dim: plan.run.dim,
            moments: vec![vec![Moments::default(); plan.run.dim]; plan.saves()],
            sweep,
            histogram,
            final_states: final_states.then(Vec::new),
            first_passage,
        }
    }

    /// Folds the output of the batch whose first trajectory is `first` (batches come in
    /// trajectory order).
    pub(crate) fn add(&mut self, first: u64, out: BatchOutput) {
        let block_size = u64::from(crate::plan::BLOCK_SIZE);
        for (slot, partials) in out.partials.iter().enumerate() {
            for (b, block) in partials.chunks(self.dim).enumerate() {
                for (acc, p) in self.moments[slot].iter_mut().zip(block) {
                    acc.merge(&Moments::from(*p));
                }
                if let Some((
                    s,
                    SweepResult {
                        points,
                        moments: Some(groups),
                        ..
                    },
                )) = &mut self.sweep
                {
                    let point = s.point_of(first + b as u64 * block_size);
                    let g = (point - points[0]) as usize;
                    for (acc, p) in groups[g][slot].iter_mut().zip(block) {
                        acc.merge(&Moments::from(*p));
                    }
                }
            }
        }
        if let Some(h) = &mut self.histogram {
            h.add_raw(&out.histogram);
        }
        if let (Some(all), Some(batch)) = (&mut self.final_states, out.final_states) {
            all.extend_from_slice(&batch);
        }
        if let (Some(fp), Some(times)) = (&mut self.first_passage, out.first_passage) {
            fp.times.extend(times.into_iter().filter(|t| *t >= 0.0));
            fp.hit = fp.times.len() as u64;
        }
    }

    pub(crate) fn finish(self) -> Finished {
        Finished {
            sweep: self.sweep.map(|(_, r)| r),
            moments: self.moments,
            histogram: self.histogram,
            final_states: self.final_states,
            first_passage: self.first_passage,
        }
    }
}

/// The merged statistics of all batches.
pub(crate) struct Finished {
    pub(crate) moments: Vec<Vec<Moments>>,
    pub(crate) sweep: Option<SweepResult>,
    pub(crate) histogram: Option<Histogram>,
    pub(crate) final_states: Option<Vec<f32>>,
    pub(crate) first_passage: Option<FirstPassage>,
}
