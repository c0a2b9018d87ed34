//! What a run of a jump scheme observes besides the moments: extinction (a count at 0) and
//! absorption (no reaction can fire) at every save time, integer distributions of every
//! component at chosen times, and the events each trajectory fired.
//!
//! The adaptive host loop reads a batch's states back at every save time
//! (the adaptive host loop of `engine/adaptive.rs`); these tallies are integer counts over those states, so
//! they add up exactly whatever the batching.

use crate::stats::{IntHistogram, Moments};

/// The distribution of every component at one save time.
#[derive(Clone, Debug, PartialEq)]
pub struct CountDistribution {
    /// The save time.
    pub time: f64,
    /// One histogram per component, in state order.
    pub components: Vec<IntHistogram>,
}

/// The tallies of a jump run.
#[derive(Clone, Debug, PartialEq)]
pub struct JumpObservables {
    /// The save times.
    pub times: Vec<f64>,
    /// Per save time: the trajectories that reached it (the others ran out of `max_steps`).
    pub observed: Vec<u64>,
    /// Per save time, per component: trajectories whose count is 0 there.
    pub zeros: Vec<Vec<u64>>,
    /// Per save time: trajectories in which no reaction can fire there (absorbed, when the
    /// propensities do not depend on time).
    pub absorbed: Vec<u64>,
    /// The distributions asked for, in the order of their times.
    pub distributions: Vec<CountDistribution>,
    /// Events fired per trajectory by the end (SSA), or steps taken (tau-leaping: leaps,
    /// rejected leaps and exact steps), over trajectories.
    pub events: Moments,
    /// The most of one trajectory.
    pub most_events: u32,
    /// Each trajectory's events, in trajectory order, when kept.
    pub per_trajectory: Option<Vec<u32>>,
    /// With paths of an SSA run: each kept trajectory's event-resolved path.
    pub event_paths: Option<EventPaths>,
    slots: Vec<usize>,
}

/// The exact event-resolved paths of a few trajectories of an SSA run: every event's time and
/// the counts after it, each path starting at `t0` with its initial counts; stored as one
/// table of rows with each path's first row (compressed sparse rows).
#[derive(Clone, Debug, PartialEq)]
pub struct EventPaths {
    /// The first row of each path, and the rows in all at the end (`paths + 1` entries).
    pub offsets: Vec<u64>,
    /// The time of each row.
    pub times: Vec<f64>,
    /// The counts of each row, `dim` per row.
    pub states: Vec<f32>,
}

impl EventPaths {
    /// The table of `paths` (times and rows of `dim` counts each).
    pub fn new(paths: Vec<(Vec<f64>, Vec<f32>)>, dim: usize) -> EventPaths {
        let mut e = EventPaths {
            offsets: vec![0],
            times: Vec::new(),
            states: Vec::new(),
        };
        for (times, states) in paths {
            debug_assert_eq!(times.len() * dim, states.len());
            e.times.extend_from_slice(&times);
            e.states.extend_from_slice(&states);
            e.offsets.push(e.times.len() as u64);
        }
        e
    }

    /// Path `j`'s times and rows.
    pub fn path(&self, j: usize, dim: usize) -> (&[f64], &[f32]) {
        let (a, b) = (self.offsets[j] as usize, self.offsets[j + 1] as usize);
        (&self.times[a..b], &self.states[a * dim..b * dim])
    }
}

impl JumpObservables {
    /// Empty tallies over save times `times` for a state of `dim` components, with
    /// distributions at the save times of index `slots`.
    pub fn new(times: &[f64], dim: usize, slots: &[usize], keep_events: bool) -> Self {
        JumpObservables {
            times: times.to_vec(),
            observed: vec![0; times.len()],
            zeros: vec![vec![0; dim]; times.len()],
            absorbed: vec![0; times.len()],
            event_paths: None,
            distributions: slots
                .iter()
                .map(|s| CountDistribution {
                    time: times[*s],
                    components: vec![IntHistogram::default(); dim],
                })
                .collect(),
            events: Moments::default(),
            most_events: 0,
            per_trajectory: keep_events.then(Vec::new),
            slots: slots.to_vec(),
        }
    }

    /// Tallies a batch's states at save time `slot` (trajectory-major, `dim` per trajectory,
    /// NaN for one that has not reached it) and its absorbed flags.
    pub fn observe(&mut self, slot: usize, state: &[f32], absorbed: &[bool]) {
        let dim = self.zeros[slot].len();
        for (x, a) in state.chunks(dim).zip(absorbed) {
            if x[0].is_nan() {
                continue;
            }
            self.observed[slot] += 1;
            self.absorbed[slot] += u64::from(*a);
            for (z, v) in self.zeros[slot].iter_mut().zip(x) {
                *z += u64::from(*v == 0.0);
            }
        }
        for (k, _) in self.slots.iter().enumerate().filter(|(_, s)| **s == slot) {
            for (i, h) in self.distributions[k].components.iter_mut().enumerate() {
                for x in state.chunks(dim) {
                    h.add(x[i]);
                }
            }
        }
    }

    /// Adds a batch's events per trajectory, in trajectory order.
    pub fn add_events(&mut self, events: &[u32]) {
        self.events
            .merge(&Moments::of(events.iter().map(|e| f64::from(*e))));
        self.most_events = self
            .most_events
            .max(events.iter().copied().max().unwrap_or(0));
        if let Some(all) = &mut self.per_trajectory {
            all.extend_from_slice(events);
        }
    }

    /// The fraction of the trajectories at save time `slot` whose component `i` is 0.
    pub fn extinct(&self, slot: usize, i: usize) -> f64 {
        self.zeros[slot][i] as f64 / self.observed[slot].max(1) as f64
    }

    /// The fraction of the trajectories at save time `slot` that are absorbed.
    pub fn absorption(&self, slot: usize) -> f64 {
        self.absorbed[slot] as f64 / self.observed[slot].max(1) as f64
    }
}
