//! How a resolved run is cut into batches of trajectories and dispatches of steps. Both
//! backends execute the same plan, segment by segment, with the same [`Segment`] uniform.

use crate::philox::{key_of_seed, words_of_index};
use crate::spec::{EnsembleSpec, ResolvedRun};

/// Default device memory one GPU batch may use (also what the buffer pool keeps idle).
pub const DEFAULT_GPU_BATCH_BYTES: u64 = 1 << 30;

pub use crate::segment::{
    Segment, BLOCK_SIZE, FLAG_FIRST_PASSAGE, FLAG_HISTOGRAM, FLAG_INIT, FLAG_ORIGIN, FLAG_SAVE,
    FLAG_TIME_AVERAGE,
};

/// Trajectory-steps per dispatch when the run does not say and no pace has been measured:
/// about a second on a software adapter, milliseconds on a discrete GPU.
pub const DEFAULT_STEPS_BUDGET: u64 = 1 << 28;

/// Seconds a dispatch may run to once a kernel's pace is known ([`Pace`]), when the default
/// budget gives shorter ones: few enough dispatches that their overhead does not count (a
/// discrete GPU steps a batch of 2^23 Lorenz trajectories 1000 steps in one, where
/// [`DEFAULT_STEPS_BUDGET`] takes 32), and progress about ten times a second.
pub const DISPATCH_TARGET_SECONDS: f64 = 0.1;

/// Seconds no dispatch is planned beyond once a kernel's pace is known, whatever the default
/// budget gives: half the two seconds after which Windows resets a GPU that has not answered.
pub const DISPATCH_MAX_SECONDS: f64 = 1.0;

/// How fast a kernel stepped a batch, measured over a whole run: `step_seconds` for one step
/// of `batch` trajectories (dispatch overheads, observations and waits included, so the
/// estimate errs toward shorter dispatches). What a step costs also depends on settings the
/// kernel reads at run time, so a pace speaks only for runs with the same `substeps` and
/// `flags`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pace {
    /// Trajectories of the largest batch of the run measured.
    pub batch: u32,
    /// Brownian substeps per step of that run (a step's cost grows with them).
    pub substeps: u32,
    /// Its `FLAG_*` bits of every dispatch (time sums add work to each step).
    pub flags: u32,
    /// Seconds per step of such a batch.
    pub step_seconds: f64,
}

impl Pace {
    /// Whether this pace speaks for batches of `batch` trajectories: those within a factor of
    /// two of the batch measured. A device is not full with a few trajectories, so a pace
    /// measured on a small batch says nothing about a large one (nor the other way).
    pub fn applies_to(&self, batch: u32) -> bool {
        let (a, b) = (u64::from(batch), u64::from(self.batch));
        a <= 2 * b && b <= 2 * a
    }

    /// Whether this pace was measured on runs like one with `substeps` and `flags`.
    pub fn same_work(&self, substeps: u32, flags: u32) -> bool {
        self.substeps == substeps && self.flags == flags
    }

    /// Steps of one dispatch of `batch` trajectories that take about `seconds`, the time per
    /// step taken in proportion to the batch.
    pub fn steps_within(&self, seconds: f64, batch: u32) -> u64 {
        let step = self.step_seconds * f64::from(batch) / f64::from(self.batch.max(1));
        // A float-to-integer cast saturates (and takes NaN to 0).
        (seconds / step) as u64
    }
}

/// Steps per dispatch for batches of `max_batch` trajectories when the run does not say:
/// [`DEFAULT_STEPS_BUDGET`] shared out, and where a measured `pace` applies, at least
/// [`DISPATCH_TARGET_SECONDS`] and at most [`DISPATCH_MAX_SECONDS`] of steps. Never fewer
/// steps than the default for a fast device: a pace includes each dispatch's fixed costs,
/// and cutting dispatches short on it would grow their share run after run.
pub fn default_steps_per_dispatch(max_batch: u32, pace: Option<Pace>) -> u64 {
    let default = DEFAULT_STEPS_BUDGET / u64::from(max_batch.max(1));
    match pace {
        Some(p) if p.applies_to(max_batch) => default
            .max(p.steps_within(DISPATCH_TARGET_SECONDS, max_batch))
            .min(p.steps_within(DISPATCH_MAX_SECONDS, max_batch)),
        _ => default,
    }
}

/// One dispatch's place in the step grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepSegment {
    /// First step.
    pub step_begin: u32,
    /// Number of steps (0 for a save that needs no stepping).
    pub step_count: u32,
    /// Draws the initial state.
    pub init: bool,
    /// Saves moments into this slot at the end.
    pub save_slot: Option<usize>,
    /// Bins the histogram at the end.
    pub histogram: bool,
    /// Copies the leading trajectories' states into this snapshot slot at the end
    /// ([`crate::snapshot`]).
    pub snapshot_slot: Option<usize>,
}

impl StepSegment {
    /// Whether the segment ends with `ensemble_observe` (a save or the histogram).
    pub fn observes(&self) -> bool {
        self.save_slot.is_some() || self.histogram
    }

    /// Whether the segment needs `sde_ensemble` (it steps, or draws the initial state).
    pub fn steps(&self) -> bool {
        self.step_count > 0 || self.init
    }
}

/// A contiguous range of global trajectory indices run together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batch {
    /// Global index of the first trajectory.
    pub first: u64,
    /// Number of trajectories.
    pub count: u32,
}

/// The whole schedule of a run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The checked run.
    pub run: ResolvedRun,
    /// The segment uniform shared by all dispatches (batch and step fields filled per dispatch).
    pub base: Segment,
    /// The dispatches of every batch.
    pub segments: Vec<StepSegment>,
    /// The batches, in order of trajectory index.
    pub batches: Vec<Batch>,
    /// The largest batch.
    pub max_batch: u32,
}

impl Plan {
    /// Cuts `run` into batches of at most `batch_capacity` trajectories (a backend's memory
    /// bound; the engine refuses capacities below one block) and dispatches of at most the
    /// chunking's steps.
    ///
    /// `max_steps_per_dispatch` is the backend's own bound (a driver that cuts long loops
    /// short); it caps the chunking's and the default choice, which comes from `pace` (the
    /// kernel's measured pace, [`default_steps_per_dispatch`]) when it was measured on the
    /// same work per step ([`Pace::same_work`]).
    pub fn new(
        spec: &EnsembleSpec,
        run: ResolvedRun,
        batch_capacity: u64,
        max_steps_per_dispatch: Option<u32>,
        pace: Option<Pace>,
    ) -> Plan {
        let mut max_batch = batch_capacity.min(spec.trajectories);
        if let Some(cap) = spec.chunking.max_batch_trajectories {
            max_batch = max_batch.min(cap);
        }
        let wg = u64::from(BLOCK_SIZE);
        // At most 2^31 trajectories a batch keeps every 32-bit invocation index in range.
        max_batch = max_batch.min(1 << 31);
        if max_batch < spec.trajectories {
            max_batch = (max_batch / wg).max(1) * wg;
        }
        let max_batch = max_batch as u32;

        let flags = if spec.tracks_passage() {
            FLAG_FIRST_PASSAGE
        } else {
            0
        } | if spec.displacement { FLAG_ORIGIN } else { 0 }
            | if run.average_from.is_some() {
                FLAG_TIME_AVERAGE
            } else {
                0
            };
        let pace = pace.filter(|p| p.same_work(spec.brownian_substeps, flags));
        let steps_per_dispatch = spec
            .chunking
            .steps_per_dispatch
            .unwrap_or_else(|| {
                default_steps_per_dispatch(max_batch, pace).clamp(1, u64::from(u32::MAX)) as u32
            })
            .min(max_steps_per_dispatch.unwrap_or(u32::MAX))
            .max(1);
        let segments = step_segments(&run, steps_per_dispatch, spec.histogram.is_some());

        let mut batches = Vec::new();
        let mut first = spec.first_trajectory;
        let end = spec.first_trajectory + spec.trajectories;
        while first < end {
            let count = (end - first).min(u64::from(max_batch)) as u32;
            batches.push(Batch { first, count });
            first += u64::from(count);
        }

        let (hist_lo, hist_inv_width, hist_bins, hist_component) = match &spec.histogram {
            Some(h) => (
                h.range.0 as f32,
                (f64::from(h.bins) / (h.range.1 - h.range.0)) as f32,
                h.bins,
                h.component as u32,
            ),
            None => (0.0, 0.0, 0, 0),
        };
        let base = Segment {
            key: key_of_seed(spec.seed),
            t0: spec.t0 as f32,
            dt: run.dt as f32,
            sqrt_substep_dt: (run.dt / f64::from(spec.brownian_substeps)).sqrt() as f32,
            substeps: spec.brownian_substeps,
            hist_lo,
            hist_inv_width,
            hist_bins,
            hist_component,
            flags,
            average_from: run.average_from.unwrap_or(0),
            fp_level: spec.first_passage.as_ref().map_or(0.0, |f| f.level as f32),
            fp_component: spec
                .first_passage
                .as_ref()
                .map_or(0, |f| f.component as u32),
            fp_direction: match spec.first_passage.as_ref().map(|f| f.direction) {
                Some(crate::spec::Direction::Down) => 1,
                _ => 0,
            },
            ..Segment::default()
        };
        Plan {
            run,
            base,
            segments,
            batches,
            max_batch,
        }
    }

    /// The uniform for dispatch `segment` of `batch`.
    pub fn segment_uniform(&self, batch: Batch, segment: &StepSegment) -> Segment {
        let mut flags = self.base.flags;
        if segment.init {
            flags |= FLAG_INIT;
        }
        if segment.save_slot.is_some() {
            flags |= FLAG_SAVE;
        }
        if segment.histogram {
            flags |= FLAG_HISTOGRAM;
        }
        Segment {
            first_trajectory: words_of_index(batch.first),
            trajectories: batch.count,
            step_begin: segment.step_begin,
            step_count: segment.step_count,
            flags,
            ..self.base
        }
    }

    /// Number of save times.
    pub fn saves(&self) -> usize {
        self.run.save_steps.len()
    }

    /// Values observed per trajectory at a save time ([`crate::observable::Columns`]): the
    /// state, then with `FLAG_ORIGIN` the displacements `x - x(t0)` and the products
    /// `x(t0) x`, component by component, then the observables and the covariance's pair sums.
    pub fn observed(&self) -> usize {
        self.run.columns.width()
    }

    /// Workgroups (moment blocks) in a batch.
    pub fn blocks(batch: Batch) -> u32 {
        batch.count.div_ceil(BLOCK_SIZE)
    }
}

/// Dispatches along the step grid: each save step ends a dispatch, no dispatch is longer than
/// `steps_per_dispatch`, the first draws the initial state and the last bins the histogram.
pub fn step_segments(
    run: &ResolvedRun,
    steps_per_dispatch: u32,
    histogram: bool,
) -> Vec<StepSegment> {
    let mut segments: Vec<StepSegment> = Vec::new();
    let mut current = 0u32;
    let push = |segments: &mut Vec<StepSegment>, begin: u32, count: u32| {
        segments.push(StepSegment {
            step_begin: begin,
            step_count: count,
            init: segments.is_empty(),
            save_slot: None,
            histogram: false,
            snapshot_slot: None,
        });
    };
    let mut targets: Vec<(u32, Option<usize>)> = run
        .save_steps
        .iter()
        .enumerate()
        .map(|(slot, &s)| (s, Some(slot)))
        .collect();
    // Snapshot steps end a dispatch too; one at a save step is taken there.
    let snapshots = run.snapshots.as_ref();
    for &s in snapshots.map_or(&[][..], |n| &n.steps[..]) {
        if !run.save_steps.contains(&s) {
            targets.push((s, None));
        }
    }
    targets.sort_by_key(|t| t.0);
    targets.push((run.n_steps, None));
    for (target, slot) in targets {
        let snapshot = snapshots.and_then(|n| n.slot_at(target));
        let mut stepped = false;
        while current < target {
            let count = (target - current).min(steps_per_dispatch);
            push(&mut segments, current, count);
            current += count;
            stepped = true;
        }
        if let Some(slot) = slot {
            if !stepped {
                push(&mut segments, current, 0);
            }
            segments.last_mut().expect("a segment exists").save_slot = Some(slot);
        }
        if let Some(snapshot) = snapshot {
            // A snapshot at step 0 needs the segment that draws the initial state.
            if segments.is_empty() {
                push(&mut segments, current, 0);
            }
            let last = segments.last_mut().expect("a segment exists");
            if last.step_begin + last.step_count == target {
                last.snapshot_slot = Some(snapshot);
            }
        }
    }
    if histogram {
        // The last segment ends at the final step (n_steps >= 1 gives at least one).
        segments.last_mut().expect("a segment exists").histogram = true;
    }
    segments
}

/// The loop iterations one invocation of a kernel runs in a dispatch of `steps` steps: `once`
/// for what it does whatever the steps (initialisation, the reduction at a save time) plus
/// `per_step` for each step, nested loops included. Only loops the kernel keeps count: those
/// [`crate::unroll`] unrolls (constant trip counts of at most 16) are straight code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopCost {
    /// Iterations of every loop one step runs (the step loop's own included).
    pub per_step: u64,
    /// Iterations run once per dispatch.
    pub once: u64,
}

impl LoopCost {
    /// The most steps one dispatch may take on a driver that leaves a loop after `limit`
    /// iterations (`None`: no such limit, `u32::MAX`).
    ///
    /// llvmpipe keeps one counter per invocation that every loop's back edge decrements,
    /// nested and consecutive loops alike, and leaves every loop once it reaches zero: a
    /// dispatch past it ends its steps early and still stores and saves, a wrong answer with
    /// no error. So a kernel that loops over units inside its loop over steps must be sized
    /// by its whole count, not by its steps.
    ///
    /// # Errors
    /// [`Error::Limit`](crate::Error::Limit) when one step alone (with `once`) passes the
    /// limit, naming `what` (the quantity that makes a step that long).
    pub fn steps_within(
        &self,
        limit: Option<u32>,
        what: impl FnOnce() -> String,
    ) -> crate::Result<u32> {
        let Some(limit) = limit else {
            return Ok(u32::MAX);
        };
        let room = u64::from(limit).saturating_sub(self.once);
        let steps = room / self.per_step.max(1);
        if steps == 0 {
            return Err(crate::Error::Limit(format!(
                "{}: one step runs {} loop iterations in an invocation, and this adapter leaves \
                 a loop after {limit}; use a GPU, or --backend cpu",
                what(),
                self.per_step + self.once
            )));
        }
        Ok(steps.min(u64::from(u32::MAX)) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pace of a run of `batch` trajectories, one substep, no flags.
    fn pace(batch: u32, step_seconds: f64) -> Pace {
        Pace {
            batch,
            substeps: 1,
            flags: 0,
            step_seconds,
        }
    }

    #[test]
    fn a_pace_sets_dispatches_between_the_time_bounds_for_batches_like_its_own() {
        // 2^23 trajectories stepped at 16 us a step (5.2e11 trajectory-steps/s): 0.1 s of
        // steps, where the default budget gives 32.
        let fast = pace(1 << 23, 16e-6);
        assert_eq!(default_steps_per_dispatch(1 << 23, Some(fast)), 6250);
        // Twice the batch: twice the time per step, half the steps.
        assert_eq!(default_steps_per_dispatch(1 << 24, Some(fast)), 3125);
        assert_eq!(default_steps_per_dispatch(1 << 22, Some(fast)), 12500);
        // Beyond a factor of two the measured pace says nothing: the default budget.
        assert_eq!(default_steps_per_dispatch((1 << 24) + 64, Some(fast)), 15);
        assert_eq!(default_steps_per_dispatch(1 << 16, Some(fast)), 4096);
        assert_eq!(default_steps_per_dispatch(1 << 16, None), 4096);
        // 2^16 trajectories at 5 ms a step: the default's 4096 steps would run 20 s, one
        // second's worth is 200.
        let slow = pace(1 << 16, 5e-3);
        assert_eq!(default_steps_per_dispatch(1 << 16, Some(slow)), 200);
        // Between the bounds the default stands: at 0.1 ms a step, its 4096 steps take 0.41 s.
        let middling = pace(1 << 16, 1e-4);
        assert_eq!(default_steps_per_dispatch(1 << 16, Some(middling)), 4096);
        // A pace of nothing measured (no time) is no dispatch of infinite length.
        let instant = pace(64, 0.0);
        assert_eq!(instant.steps_within(1.0, 64), u64::MAX);
    }

    #[test]
    fn a_pace_measured_on_other_work_per_step_is_not_used() {
        let spec = EnsembleSpec::new(crate::OrnsteinUhlenbeck::new(1.0, 0.0, 1.0))
            .time_span(0.0, 1.0)
            .dt(1e-3)
            .trajectories(1 << 16)
            .save_at(crate::SaveAt::Count(1));
        // 5 ms a step: 200 steps make the 1 s bound, where the default would run 4096.
        let measured = pace(1 << 16, 5e-3);
        let dispatches = |spec: &EnsembleSpec| {
            let run = spec.resolve().unwrap();
            Plan::new(spec, run, u64::MAX, None, Some(measured))
                .segments
                .len()
        };
        assert_eq!(dispatches(&spec), 5);
        // Four substeps a step, or first passages watched: not the work measured.
        assert_eq!(dispatches(&spec.clone().brownian_substeps(4)), 1);
        let watched = spec
            .clone()
            .first_passage(0, 2.0, crate::spec::Direction::Up);
        assert_eq!(dispatches(&watched), 1);
    }

    fn run(n_steps: u32, save_steps: Vec<u32>) -> ResolvedRun {
        ResolvedRun {
            sweep: None,
            event: None,
            observables: Default::default(),
            snapshots: None,
            quantiles: Vec::new(),
            final_step: n_steps,
            histograms: Vec::new(),
            histogram2d: None,
            keeps_final_states: false,
            columns: crate::observable::Columns {
                dim: 1,
                ..Default::default()
            },
            dim: 1,
            params: vec![],
            param_values: vec![],
            init_lo: vec![],
            init: vec![0.0, 0.0],
            n_steps,
            dt: 0.1,
            times: save_steps.iter().map(|&s| f64::from(s) * 0.1).collect(),
            save_steps,
            t0: 0.0,
            average_from: None,
            cpu_lanes: true,
        }
    }

    #[test]
    fn every_save_ends_a_segment_and_steps_are_covered_once() {
        let segs = step_segments(&run(100, vec![0, 25, 50, 100]), 30, true);
        let mut next = 0;
        for s in &segs {
            assert_eq!(s.step_begin, next);
            assert!(s.step_count <= 30);
            next += s.step_count;
        }
        assert_eq!(next, 100);
        assert!(segs[0].init && segs.iter().skip(1).all(|s| !s.init));
        let saves: Vec<(u32, usize)> = segs
            .iter()
            .filter_map(|s| s.save_slot.map(|k| (s.step_begin + s.step_count, k)))
            .collect();
        assert_eq!(saves, vec![(0, 0), (25, 1), (50, 2), (100, 3)]);
        assert!(segs.last().unwrap().histogram);
    }

    #[test]
    fn repeated_save_steps_get_their_own_segments() {
        let segs = step_segments(&run(10, vec![5, 5]), 100, false);
        let slots: Vec<Option<usize>> = segs.iter().map(|s| s.save_slot).collect();
        assert_eq!(slots, vec![Some(0), Some(1), None]);
        assert_eq!(segs[1].step_count, 0);
        assert_eq!(segs[2].step_count, 5);
    }
}
