//! Results of an ensemble run, and the host-side merge that produces them from the batches.

use crate::device::DeviceInfo;
use crate::plan::Plan;
use crate::spec::ResolvedRun;
use crate::stats::{FirstPassage, Histogram, Moments, PartialMoments};
use rayon::prelude::*;
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
    /// The same in f64, from runs that integrate in f64.
    pub final_states_f64: Option<Vec<f64>>,
    /// First-passage times per trajectory (negative: not reached), when asked for.
    pub first_passage: Option<Vec<f32>>,
    /// Per trajectory and component, the compensated time sums of x and x^2 (sum,
    /// compensation, sum, compensation), with time averages.
    pub time_sums: Option<Vec<f32>>,
    /// Per snapshot slot, the states of the batch's trajectories among the run's first
    /// ([`crate::snapshot::Snapshots::share`]), trajectory-major; empty without snapshots.
    pub snapshots: Vec<Vec<f32>>,
    /// The same in f64, from runs that integrate in f64.
    pub snapshots_f64: Option<Vec<Vec<f64>>>,
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
    /// The final states in f64, when asked for from a run that integrates in f64
    /// (`solver.precision = "f64"`); `final_states` then holds them rounded to f32.
    pub final_states_f64: Option<Vec<f64>>,
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
    /// With [`crate::EnsembleSpec::displacement`]: per save time and component, the moments
    /// of the displacement `x_i(t) - x_i(t0)`.
    pub displacement: Option<Vec<Vec<Moments>>>,
    /// With [`crate::EnsembleSpec::displacement`]: per save time and component, the moments
    /// of the product `x_i(t0) x_i(t)`.
    pub origin_product: Option<Vec<Vec<Moments>>>,
    /// Per-trajectory time averages and their ensemble statistics, when asked for.
    pub time_average: Option<TimeAverages>,
    /// Jump schemes: extinction, absorption, count distributions and events per trajectory.
    pub jumps: Option<crate::jump_observe::JumpObservables>,
    /// The observables' moments (and the covariance's pair sums) per save time.
    pub observables: ObservedValues,
    /// The paths of the first trajectories, when asked for ([`crate::EnsembleSpec::paths`]).
    pub paths: Option<crate::snapshot::Paths>,
    /// Exact quantiles of the variables and observables at the save times, when asked for.
    pub quantiles: Option<crate::snapshot::Quantiles>,
    /// The histograms binned on the host at the final time ([`crate::EnsembleSpec::add_histogram`]).
    pub histograms: Vec<Histogram>,
    /// The 2-D histogram binned on the host at the final time.
    pub histogram2d: Option<crate::binned::Histogram2d>,
}

/// What a run observed besides the state: each observable's moments per save time, and with
/// covariance the moments of the pair sums ([`crate::observable`]), all merged in f64.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ObservedValues {
    /// The observables' names, in the order given.
    pub names: Vec<String>,
    /// Per save time and observable.
    pub moments: Vec<Vec<Moments>>,
    /// With covariance: per save time, the moments of `v_a + v_b` for each pair `a < b` of
    /// the state's and the observables' values.
    pub pair_sums: Option<Vec<Vec<Moments>>>,
}

impl ObservedValues {
    /// Merges another range of trajectories of the same run.
    pub fn merge(&mut self, other: &ObservedValues) {
        merge_tables(&mut self.moments, &other.moments);
        if let (Some(a), Some(b)) = (&mut self.pair_sums, &other.pair_sums) {
            merge_tables(a, b);
        }
    }
}

/// Merges moments tables entry by entry.
pub(crate) fn merge_tables(into: &mut [Vec<Moments>], other: &[Vec<Moments>]) {
    for (a, b) in into.iter_mut().zip(other) {
        for (x, y) in a.iter_mut().zip(b) {
            x.merge(y);
        }
    }
}

/// Time averages of each trajectory over a window of the step grid (iterate averaging), and
/// their statistics over the ensemble.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimeAverages {
    /// The window's start: states at step ends after this time count.
    pub from: f64,
    /// The window's end (the run's end).
    pub to: f64,
    /// States averaged per trajectory.
    pub samples: u32,
    /// Per value (the state's components, then the observables), over the trajectories with
    /// finite sums: moments of the time average of `x_i`.
    pub mean: Vec<Moments>,
    /// Per component: moments of the time average of `x_i^2`.
    pub square: Vec<Moments>,
}

impl TimeAverages {
    fn new(from: f64, to: f64, samples: u32, dim: usize) -> Self {
        TimeAverages {
            from,
            to,
            samples,
            mean: vec![Moments::default(); dim],
            square: vec![Moments::default(); dim],
        }
    }

    /// Folds one batch's time sums (sum, compensation, sum of squares, compensation per
    /// trajectory and component) in trajectory order; non-finite averages are left out.
    fn add(&mut self, sums: &[f32]) {
        let dim = self.mean.len();
        let n = f64::from(self.samples);
        for trajectory in sums.chunks(4 * dim) {
            for (i, s) in trajectory.chunks(4).enumerate() {
                let x = (f64::from(s[0]) - f64::from(s[1])) / n;
                let x2 = (f64::from(s[2]) - f64::from(s[3])) / n;
                if x.is_finite() && x2.is_finite() {
                    self.mean[i].merge(&Moments::of([x]));
                    self.square[i].merge(&Moments::of([x2]));
                }
            }
        }
    }
}

/// What a sweep produced: its grid points and their statistics.
#[derive(Clone, Debug)]
pub struct SweepResult {
    /// Names of the swept parameters.
    pub names: Vec<String>,
    /// The grid points this run covered (indices into the whole grid): consecutive.
    pub points: std::ops::Range<u64>,
    /// The swept parameters' values at each covered point, in sweep order, when the sweep is
    /// grouped; empty otherwise (a value per trajectory can mean millions of points, and
    /// listing them cost more than stepping them): [`SweepResult::values_at`] gives any.
    pub values: Vec<Vec<f64>>,
    /// Trajectories per grid point.
    pub per_point: u64,
    /// Moments per covered point, save time and component, when the sweep is grouped
    /// ([`crate::sweep::ResolvedSweep::grouped`]); folded in the same fixed block order as the
    /// ensemble's moments.
    pub moments: Option<Vec<Vec<Vec<Moments>>>>,
    /// The resolved grid, for [`SweepResult::values_at`] (the run's, shared).
    grid: std::sync::Arc<crate::sweep::ResolvedSweep>,
}

impl SweepResult {
    /// The swept parameters' values at grid point `point`, in sweep order.
    pub fn values_at(&self, point: u64) -> Vec<f64> {
        self.grid.values_at(point)
    }

    /// How many grid points this run covered.
    pub fn covered(&self) -> u64 {
        self.points.end - self.points.start
    }
}

impl EnsembleResult {
    /// The mean-square displacement `<(x_i(t) - x_i(t0))^2>` at save `k`, from the
    /// displacement's moments (population variance plus squared mean); `None` unless asked for.
    pub fn msd(&self, k: usize, i: usize) -> Option<f64> {
        let d = &self.displacement.as_ref()?[k][i];
        let n = d.count as f64;
        Some(d.m2 / n + d.mean * d.mean)
    }

    /// The autocorrelation `<x_i(t0) x_i(t)>` at save `k`, and its standard error.
    pub fn autocorrelation(&self, k: usize, i: usize) -> Option<(f64, f64)> {
        let c = &self.origin_product.as_ref()?[k][i];
        Some((c.mean, c.std_error()))
    }

    /// The moments of observable `name` per save time.
    pub fn observable(&self, name: &str) -> Option<Vec<Moments>> {
        let o = self.observables.names.iter().position(|n| n == name)?;
        Some(self.observables.moments.iter().map(|m| m[o]).collect())
    }

    /// The covariance matrix of the state and the observables at save `k` (`m x m`,
    /// row-major, `m = d + k` in state order then the observables'), unbiased (`N - 1`);
    /// `None` unless asked for ([`crate::EnsembleSpec::covariance`]).
    pub fn covariance(&self, k: usize) -> Option<Vec<f64>> {
        let pairs = &self.observables.pair_sums.as_ref()?[k];
        let mut values = self.moments[k].clone();
        values.extend_from_slice(&self.observables.moments[k]);
        Some(crate::observable::covariance(&values, pairs))
    }

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
    /// The run, for snapshots and their observables.
    run: ResolvedRun,
    /// Per snapshot slot, the states of the trajectories copied so far.
    snapshots: Vec<Vec<f32>>,
    snapshots_f64: Option<Vec<Vec<f64>>>,
    /// The run's first trajectory (global index).
    first: u64,
    dim: usize,
    columns: crate::observable::Columns,
    observable_names: Vec<String>,
    /// Values observed per trajectory ([`Plan::observed`]).
    width: usize,
    time_average: Option<TimeAverages>,
    moments: Vec<Vec<Moments>>,
    sweep: Option<SweepResult>,
    histogram: Option<Histogram>,
    final_states: Option<Vec<f32>>,
    final_states_f64: Option<Vec<f64>>,
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
            let points = s.point_of(first)..s.point_of(last) + 1;
            let count = (points.end - points.start) as usize;
            let moments = s.grouped.then(|| {
                vec![vec![vec![Moments::default(); plan.observed()]; plan.saves()]; count]
            });
            let values = if s.grouped {
                points.clone().map(|c| s.values_at(c)).collect()
            } else {
                Vec::new()
            };
            SweepResult {
                names: s.names.clone(),
                values,
                points,
                per_point: s.per_point,
                moments,
                grid: std::sync::Arc::clone(s),
            }
        });
        let time_average = plan.run.average_from.map(|from| {
            let n = plan.run.n_steps;
            TimeAverages::new(
                plan.run.time_of_step(from),
                plan.run.time_of_step(n),
                n - from,
                plan.run.dim + plan.run.observables.len(),
            )
        });
        Accumulator {
            run: plan.run.clone(),
            snapshots: vec![Vec::new(); plan.run.snapshots.as_ref().map_or(0, |s| s.steps.len())],
            snapshots_f64: None,
            first: plan.batches.first().map_or(0, |b| b.first),
            dim: plan.run.dim,
            columns: plan.run.columns,
            observable_names: plan.run.observables.names().map(String::from).collect(),
            width: plan.observed(),
            time_average,
            moments: vec![vec![Moments::default(); plan.observed()]; plan.saves()],
            sweep,
            histogram,
            final_states: final_states.then(Vec::new),
            final_states_f64: None,
            first_passage,
        }
    }

    /// Folds the output of the batch whose first trajectory is `first` (batches come in
    /// trajectory order).
    pub(crate) fn add(&mut self, first: u64, out: BatchOutput) {
        let block_size = u64::from(crate::plan::BLOCK_SIZE);
        let width = self.width;
        // Each save slot folds its blocks in global order, as one chain of merges; the slots
        // are independent, so they fold in parallel with the same result (a run of 2^24
        // trajectories with 11 saves merges 2.9 million block partials here).
        self.moments
            .par_iter_mut()
            .zip(out.partials.par_iter())
            .for_each(|(moments, partials)| {
                for block in partials.chunks(width) {
                    for (acc, p) in moments.iter_mut().zip(block) {
                        acc.merge(&Moments::from(*p));
                    }
                }
            });
        if let Some(SweepResult {
            points,
            per_point,
            moments: Some(groups),
            ..
        }) = &mut self.sweep
        {
            for (slot, partials) in out.partials.iter().enumerate() {
                for (b, block) in partials.chunks(width).enumerate() {
                    let point = (first + b as u64 * block_size) / *per_point;
                    let g = (point - points.start) as usize;
                    for (acc, p) in groups[g][slot].iter_mut().zip(block) {
                        acc.merge(&Moments::from(*p));
                    }
                }
            }
        }
        if let Some(h) = &mut self.histogram {
            h.add_raw(&out.histogram);
        }
        if let (Some(t), Some(sums)) = (&mut self.time_average, &out.time_sums) {
            t.add(sums);
        }
        if let (Some(all), Some(batch)) = (&mut self.final_states, out.final_states) {
            append(all, batch);
        }
        if let Some(batch) = out.final_states_f64 {
            append(self.final_states_f64.get_or_insert_with(Vec::new), batch);
        }
        for (all, batch) in self.snapshots.iter_mut().zip(out.snapshots) {
            append(all, batch);
        }
        if let Some(wide) = out.snapshots_f64 {
            let slots = self.snapshots.len();
            let acc = self
                .snapshots_f64
                .get_or_insert_with(|| vec![Vec::new(); slots]);
            for (all, batch) in acc.iter_mut().zip(wide) {
                append(all, batch);
            }
        }
        if let (Some(fp), Some(times)) = (&mut self.first_passage, out.first_passage) {
            fp.times.extend(times.into_iter().filter(|t| *t >= 0.0));
            fp.hit = fp.times.len() as u64;
        }
    }

    pub(crate) fn finish(self) -> Finished {
        let (dim, columns) = (self.dim, self.columns);
        let slice = |range: std::ops::Range<usize>| -> Vec<Vec<Moments>> {
            self.moments
                .iter()
                .map(|m| m[range.clone()].to_vec())
                .collect()
        };
        let (displacement, origin_product) = if columns.origin {
            (Some(slice(dim..2 * dim)), Some(slice(2 * dim..3 * dim)))
        } else {
            (None, None)
        };
        let at = columns.base();
        let observables = ObservedValues {
            names: self.observable_names.clone(),
            moments: slice(at..at + columns.observables),
            pair_sums: columns
                .covariance
                .then(|| slice(at + columns.observables..columns.width())),
        };
        let paths = self.paths();
        let quantiles = self.quantiles();
        let (histograms, histogram2d) = self.binned();
        let keep = self.run.keeps_final_states;
        let mut sweep = self.sweep;
        // Sweep groups keep the state's moments.
        if let Some(SweepResult {
            moments: Some(groups),
            ..
        }) = &mut sweep
        {
            for slot in groups.iter_mut().flatten() {
                slot.truncate(dim);
            }
        }
        Finished {
            histograms,
            histogram2d,
            paths,
            quantiles,
            sweep,
            displacement,
            origin_product,
            observables,
            time_average: self.time_average,
            moments: self
                .moments
                .into_iter()
                .map(|mut m| {
                    m.truncate(dim);
                    m
                })
                .collect(),
            histogram: self.histogram,
            final_states: self.final_states.filter(|_| keep),
            final_states_f64: self.final_states_f64.filter(|_| keep),
            first_passage: self.first_passage,
        }
    }
}

impl Accumulator {
    /// The host's histograms from the final states, with the observables at the final time.
    fn binned(&self) -> (Vec<Histogram>, Option<crate::binned::Histogram2d>) {
        let run = &self.run;
        if run.histograms.is_empty() && run.histogram2d.is_none() {
            return (Vec::new(), None);
        }
        let Some(states) = &self.final_states else {
            return (Vec::new(), None);
        };
        let (d, k) = (self.dim, run.observables.len());
        let width = d + k;
        let t = run.t0 as f32 + run.final_step as f32 * run.dt as f32;
        let base = self.first;
        let mut values = Vec::with_capacity(states.len() / d.max(1) * width);
        let (mut scratch, mut out) = (Vec::new(), vec![0.0f32; k]);
        for (j, x) in states.chunks(d).enumerate() {
            values.extend_from_slice(x);
            if k > 0 {
                run.observables.of_trajectory(
                    &run.params,
                    run.sweep_table(),
                    crate::philox::words_of_index(base + j as u64),
                    t,
                    x,
                    &mut scratch,
                    &mut out,
                );
                values.extend_from_slice(&out);
            }
        }
        crate::binned::bin(&values, width, &run.histograms, run.histogram2d.as_ref())
    }

    /// The paths from the snapshots: `(trajectories, times, dim)`.
    fn paths(&self) -> Option<crate::snapshot::Paths> {
        let s = self
            .run
            .snapshots
            .as_ref()
            .filter(|s| s.path_trajectories > 0)?;
        let (k, d) = (s.path_trajectories as usize, self.dim);
        let gather = |slots: &[Vec<f32>]| gather_paths(slots, &s.path_slots, k, d);
        let states_f64 = self
            .snapshots_f64
            .as_ref()
            .map(|slots| gather_paths(slots, &s.path_slots, k, d));
        Some(crate::snapshot::Paths {
            trajectories: s.path_trajectories,
            times: s
                .path_slots
                .iter()
                .map(|&slot| self.run.time_of_step(s.steps[slot]))
                .collect(),
            states: gather(&self.snapshots),
            states_f64,
        })
    }

    /// The exact quantiles of every variable and observable at the save times, from the
    /// snapshots of every trajectory; the observables are evaluated here as the kernel does
    /// (f32, each trajectory's parameters, `t` on the grid in f32).
    fn quantiles(&self) -> Option<crate::snapshot::Quantiles> {
        let s = self
            .run
            .snapshots
            .as_ref()
            .filter(|s| !s.save_slots.is_empty())?;
        let (d, k) = (self.dim, self.run.observables.len());
        let base = self.first;
        let mut values = vec![Vec::with_capacity(s.save_slots.len()); d + k];
        for (save, &slot) in s.save_slots.iter().enumerate() {
            let states = &self.snapshots[slot];
            let n = states.len() / d.max(1);
            let mut columns: Vec<Vec<f64>> = vec![Vec::with_capacity(n); d + k];
            let step = self.run.save_steps[save];
            let t = self.run.t0 as f32 + step as f32 * self.run.dt as f32;
            let (mut scratch, mut out) = (Vec::new(), vec![0.0f32; k]);
            for (j, x) in states.chunks(d).enumerate() {
                for (c, v) in columns.iter_mut().zip(x) {
                    c.push(f64::from(*v));
                }
                if k > 0 {
                    self.run.observables.of_trajectory(
                        &self.run.params,
                        self.run.sweep_table(),
                        crate::philox::words_of_index(base + j as u64),
                        t,
                        x,
                        &mut scratch,
                        &mut out,
                    );
                    for (c, v) in columns[d..].iter_mut().zip(&out) {
                        c.push(f64::from(*v));
                    }
                }
            }
            let per_column: Vec<Vec<f64>> = columns
                .into_par_iter()
                .map(|mut c| crate::snapshot::exact_quantiles(&mut c, &self.run.quantiles))
                .collect();
            for (v, q) in values.iter_mut().zip(per_column) {
                v.push(q);
            }
        }
        Some(crate::snapshot::Quantiles {
            levels: self.run.quantiles.clone(),
            values,
        })
    }
}

/// The first `k` trajectories' states at `path_slots` of `slots`, shape `(k, slots, d)`.
fn gather_paths<T: Copy>(slots: &[Vec<T>], path_slots: &[usize], k: usize, d: usize) -> Vec<T> {
    let mut states = Vec::with_capacity(k * path_slots.len() * d);
    for j in 0..k {
        for &slot in path_slots {
            states.extend_from_slice(&slots[slot][j * d..(j + 1) * d]);
        }
    }
    states
}

/// Appends a batch's values; the first batch (often the only one) is kept as it came, not
/// copied.
fn append<T: Copy>(all: &mut Vec<T>, batch: Vec<T>) {
    if all.is_empty() {
        *all = batch;
    } else {
        all.extend_from_slice(&batch);
    }
}

/// The merged statistics of all batches.
pub(crate) struct Finished {
    pub(crate) moments: Vec<Vec<Moments>>,
    pub(crate) displacement: Option<Vec<Vec<Moments>>>,
    pub(crate) origin_product: Option<Vec<Vec<Moments>>>,
    pub(crate) observables: ObservedValues,
    pub(crate) paths: Option<crate::snapshot::Paths>,
    pub(crate) quantiles: Option<crate::snapshot::Quantiles>,
    pub(crate) histograms: Vec<Histogram>,
    pub(crate) histogram2d: Option<crate::binned::Histogram2d>,
    pub(crate) time_average: Option<TimeAverages>,
    pub(crate) sweep: Option<SweepResult>,
    pub(crate) histogram: Option<Histogram>,
    pub(crate) final_states: Option<Vec<f32>>,
    pub(crate) final_states_f64: Option<Vec<f64>>,
    pub(crate) first_passage: Option<FirstPassage>,
}
