//! Snapshots: the states of a run's first trajectories copied out at chosen steps, for saved
//! paths and for exact quantiles.
//!
//! The device keeps each trajectory's state in one buffer; at a snapshot step the runner copies
//! the leading trajectories of that buffer into a snapshot buffer (one copy command, no kernel),
//! and the host stitches the batches' copies together in trajectory order. Paths take the
//! first `K` trajectories at their steps; quantiles take every trajectory at the save times, and
//! are then exact: the smallest sample whose empirical distribution function reaches the level.

use crate::error::{Error, Result};

/// The most snapshot steps of a run: each ends a dispatch.
pub const MAX_SLOTS: usize = 1 << 20;

/// Which trajectories' paths to keep, and how often.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathSpec {
    /// Paths of trajectories `0..trajectories` of the run.
    pub trajectories: u64,
    /// A state every this many steps, with the first and last; `None`: at the save times.
    pub every: Option<u32>,
}

/// What the runners copy out: the first `trajectories` of the run at each of `steps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshots {
    /// Grid steps, ascending and distinct.
    pub steps: Vec<u32>,
    /// Trajectories from the run's first.
    pub trajectories: u64,
    /// The run's first trajectory (global index).
    pub first: u64,
    /// The snapshot slots of the path's steps, in order (empty without paths).
    pub path_slots: Vec<usize>,
    /// Trajectories whose paths are kept.
    pub path_trajectories: u64,
    /// The snapshot slot of each save time, with quantiles (empty otherwise).
    pub save_slots: Vec<usize>,
}

impl Snapshots {
    /// The snapshots of a run with `n_steps` steps saving at `save_steps` (of `trajectories`),
    /// for `paths` and for quantiles (`quantiles`: whether asked for); `None` when neither is.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `output.paths` for no trajectories, more than the run
    /// has, or `every = 0`.
    pub fn resolve(
        paths: Option<PathSpec>,
        quantiles: bool,
        save_steps: &[u32],
        n_steps: u32,
        trajectories: u64,
        first: u64,
    ) -> Result<Option<Snapshots>> {
        if paths.is_none() && !quantiles {
            return Ok(None);
        }
        let path_steps: Vec<u32> = match paths {
            None => Vec::new(),
            Some(p) => {
                if p.trajectories == 0 || p.trajectories > trajectories {
                    return Err(Error::invalid(
                        "output.paths.trajectories",
                        p.trajectories,
                        format!("1 to the run's {trajectories} trajectories"),
                    ));
                }
                match p.every {
                    Some(0) => {
                        return Err(Error::invalid(
                            "output.paths.every",
                            0,
                            "a number of steps, at least 1",
                        ))
                    }
                    Some(n) => {
                        let mut steps: Vec<u32> = (0..=n_steps).step_by(n as usize).collect();
                        if steps.last() != Some(&n_steps) {
                            steps.push(n_steps);
                        }
                        steps
                    }
                    None => distinct(save_steps),
                }
            }
        };
        let mut steps = path_steps.clone();
        if quantiles {
            steps.extend_from_slice(save_steps);
        }
        let steps = distinct(&steps);
        if steps.len() > MAX_SLOTS {
            return Err(Error::Limit(format!(
                "output.paths.every: {} path times (each ends a dispatch); at most {MAX_SLOTS}",
                steps.len()
            )));
        }
        let slot = |s: u32| steps.binary_search(&s).expect("a snapshot step");
        Ok(Some(Snapshots {
            path_slots: path_steps.iter().map(|&s| slot(s)).collect(),
            path_trajectories: paths.map_or(0, |p| p.trajectories),
            save_slots: if quantiles {
                save_steps.iter().map(|&s| slot(s)).collect()
            } else {
                Vec::new()
            },
            trajectories: if quantiles {
                trajectories
            } else {
                paths.map_or(0, |p| p.trajectories)
            },
            steps,
            first,
        }))
    }

    /// The snapshot slot taken at the end of step `step`, if any.
    pub fn slot_at(&self, step: u32) -> Option<usize> {
        self.steps.binary_search(&step).ok()
    }

    /// How many of a batch's trajectories are copied: those among the run's first
    /// `trajectories`, for the batch of `count` from global index `batch_first`.
    pub fn share(&self, batch_first: u64, count: u32) -> u32 {
        let offset = batch_first - self.first;
        self.trajectories
            .saturating_sub(offset)
            .min(u64::from(count)) as u32
    }

    /// Bytes the snapshots hold per trajectory copied, with `dim` components of `bytes` each.
    pub fn bytes_per_trajectory(&self, dim: usize, bytes: u64) -> u64 {
        self.steps.len() as u64 * dim as u64 * bytes
    }
}

fn distinct(steps: &[u32]) -> Vec<u32> {
    let mut s = steps.to_vec();
    s.sort_unstable();
    s.dedup();
    s
}

/// Saved paths: the states of trajectories `0..trajectories` at `times`.
#[derive(Clone, Debug, PartialEq)]
pub struct Paths {
    /// Trajectories kept.
    pub trajectories: u64,
    /// The times of the states (on the step grid).
    pub times: Vec<f64>,
    /// The states, shape `(trajectories, times, dim)` in C order.
    pub states: Vec<f32>,
    /// The same in f64, from runs that integrate in f64.
    pub states_f64: Option<Vec<f64>>,
}

/// Quantiles of the state's variables and of the observables at every save time.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantiles {
    /// The levels asked for, in order.
    pub levels: Vec<f64>,
    /// Per value (the state's variables, then the observables), save time and level.
    pub values: Vec<Vec<Vec<f64>>>,
}

/// The exact quantiles at `levels` of the finite values of `sample`: for level `p`, the
/// smallest value `x` whose empirical distribution function `#{v <= x} / n` reaches `p` (the
/// `ceil(p n)`-th smallest; the smallest for `p = 0`). NaN for each level when no value is
/// finite.
pub fn exact_quantiles(sample: &mut Vec<f64>, levels: &[f64]) -> Vec<f64> {
    sample.retain(|v| v.is_finite());
    let n = sample.len();
    if n == 0 {
        return vec![f64::NAN; levels.len()];
    }
    sample.sort_unstable_by(f64::total_cmp);
    levels
        .iter()
        .map(|&p| {
            let rank = (p * n as f64).ceil().max(1.0) as usize;
            sample[rank.min(n) - 1]
        })
        .collect()
}

/// Checks quantile levels: each within [0, 1].
///
/// # Errors
/// [`Error::InvalidInput`] naming `output.quantiles`.
pub fn check_levels(levels: &[f64]) -> Result<()> {
    match levels.iter().find(|p| !(0.0..=1.0).contains(*p)) {
        Some(p) => Err(Error::invalid(
            "output.quantiles",
            p,
            "levels are probabilities in [0, 1]",
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_the_smallest_samples_whose_cdf_reaches_the_level() {
        let mut s = vec![3.0, 1.0, f64::NAN, 2.0, 4.0];
        // n = 4 finite: the CDF is 0.25 at 1, 0.5 at 2, 0.75 at 3, 1 at 4.
        let q = exact_quantiles(&mut s, &[0.0, 0.25, 0.26, 0.5, 0.75, 0.9, 1.0]);
        assert_eq!(q, vec![1.0, 1.0, 2.0, 2.0, 3.0, 4.0, 4.0]);
        assert!(exact_quantiles(&mut vec![f64::NAN], &[0.5])[0].is_nan());
    }

    #[test]
    fn path_steps_include_both_ends() {
        let p = PathSpec {
            trajectories: 2,
            every: Some(4),
        };
        let s = Snapshots::resolve(Some(p), false, &[0, 10], 10, 8, 0)
            .unwrap()
            .unwrap();
        assert_eq!(s.steps, vec![0, 4, 8, 10]);
        assert_eq!(s.path_slots, vec![0, 1, 2, 3]);
        assert_eq!((s.trajectories, s.share(0, 64), s.share(64, 64)), (2, 2, 0));
        let q = Snapshots::resolve(Some(p), true, &[0, 5, 10], 10, 8, 0)
            .unwrap()
            .unwrap();
        assert_eq!(q.steps, vec![0, 4, 5, 8, 10]);
        assert_eq!((q.save_slots.clone(), q.trajectories), (vec![0, 2, 4], 8));
        assert!(Snapshots::resolve(
            Some(PathSpec {
                trajectories: 9,
                every: None
            }),
            false,
            &[0],
            1,
            8,
            0
        )
        .is_err());
    }
}
