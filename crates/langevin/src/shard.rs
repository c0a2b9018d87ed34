//! Splitting one ensemble over many processes and merging what they produce.
//!
//! Trajectory `i` draws its randomness from Philox counters that hold `i` itself, so a run of
//! trajectories `[first, first + count)` ([`crate::EnsembleSpec::first_trajectory`]) computes
//! exactly the trajectories that one big run would give that range. A [`Shard`] says which
//! range process `I` of `N` takes (whole blocks of 64 trajectories); its result becomes a
//! [`Partial`], the sufficient statistics of the range (counts, f64 means and M2 per save and
//! component, histogram counts, first passage times, time averages, step counts) with what
//! identifies the run (the config's fingerprint, the engine version, the range). [`merge`] folds any set of non-overlapping
//! partials of the same run into one [`EnsembleResult`]: counts equal a single run's exactly,
//! moments to rounding (Chan's formula in another order, about 1e-15 relative).

use crate::adaptive::AdaptiveStats;
use crate::ensemble::{merge_tables as merge_table, EnsembleResult, TimeAverages};
use crate::error::{Error, Result};
use crate::stats::{FirstPassage, Histogram, Moments};
use serde::{Deserialize, Serialize};

/// The version of the [`Partial`] layout; a partial of another layout is refused.
pub const PARTIAL_FORMAT: u32 = 1;

/// Part `index` of `count` equal parts of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which part, from 0.
    pub index: u64,
    /// How many parts.
    pub count: u64,
}

impl Shard {
    /// Parses `I/N` (0 <= I < N).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `--shard`.
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = || Error::invalid("--shard", text, "I/N with 0 <= I < N, e.g. 3/8");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The trajectories `[first, first + len)` of this part of a run of `total`: about
    /// `[I T / N, (I + 1) T / N)`, with the boundaries moved down to whole blocks of
    /// [`crate::plan::BLOCK_SIZE`] trajectories (the last part ends at `total`). The device
    /// sums each block in f32 before the host merges in f64; aligned parts have the same
    /// blocks as the whole run, so the merge differs from it only in the order of the f64
    /// merges (about 1e-15 relative) instead of in f32 rounding.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when there are more parts than blocks.
    pub fn range(self, total: u64) -> Result<(u64, u64)> {
        let block = u64::from(crate::plan::BLOCK_SIZE);
        let blocks = total.div_ceil(block);
        if self.count > blocks {
            return Err(Error::invalid(
                "--shard",
                format!("{}/{}", self.index, self.count),
                format!(
                    "at most one part per block of {block} trajectories ({blocks} blocks in {total})"
                ),
            ));
        }
        let at = |i: u64| {
            let b = (u128::from(i) * u128::from(blocks) / u128::from(self.count)) as u64;
            (b * block).min(total)
        };
        let (a, b) = (at(self.index), at(self.index + 1));
        Ok((a, b - a))
    }
}

/// Refuses, before any work, a run whose results do not merge yet: parameter sweeps,
/// events and jump processes.
///
/// # Errors
/// [`Error::InvalidInput`] naming `--shard`.
pub fn check_spec(spec: &crate::EnsembleSpec) -> Result<()> {
    let what = if !spec.sweeps.is_empty() {
        "a parameter sweep"
    } else if spec.event.is_some() {
        "an event"
    } else if spec.scheme.kind() == crate::scheme::SchemeKind::Jump {
        "a jump process"
    } else if spec.paths.is_some() {
        "saved paths"
    } else if !spec.histograms.is_empty() || spec.histogram2d.is_some() {
        "histograms binned on the host"
    } else if !spec.quantiles.is_empty() {
        "quantiles"
    } else {
        return Ok(());
    };
    Err(refusal(what))
}

fn refusal(what: &str) -> Error {
    Error::invalid(
        "--shard",
        what,
        "runs with this output cannot be split into shards yet; run it whole",
    )
}

/// The mergeable statistics of trajectories `[first, first + count)` of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    /// [`PARTIAL_FORMAT`].
    pub format: u32,
    /// The engine version that produced it.
    pub version: String,
    /// Identifies the run: equal for the parts of one run, different otherwise (the caller's
    /// hash of the config, without the shard).
    pub fingerprint: String,
    /// The first trajectory.
    pub first: u64,
    /// Trajectories covered.
    pub count: u64,
    /// Trajectories of the whole run.
    pub total: u64,
    /// The state components.
    pub state_names: Vec<String>,
    /// Save times.
    pub times: Vec<f64>,
    /// Steps per trajectory.
    pub steps: u32,
    /// The step.
    pub dt: f64,
    /// Per save and component.
    pub moments: Vec<Vec<Moments>>,
    /// The final-time histogram.
    pub histogram: Option<Histogram>,
    /// Final states, trajectory-major.
    pub final_states: Option<Vec<f32>>,
    /// Final states in f64, from runs that integrate in f64.
    #[serde(default)]
    pub final_states_f64: Option<Vec<f64>>,
    /// First passages, in trajectory order.
    pub first_passage: Option<FirstPassage>,
    /// Displacement moments per save and component.
    pub displacement: Option<Vec<Vec<Moments>>>,
    /// Products with the initial state per save and component.
    pub origin_product: Option<Vec<Vec<Moments>>>,
    /// Time averages.
    pub time_average: Option<TimeAverages>,
    /// The observables' moments and the covariance's pair sums.
    #[serde(default)]
    pub observables: crate::ensemble::ObservedValues,
    /// Step counts of an adaptive run.
    pub adaptive: Option<AdaptiveStats>,
    /// Seconds of stepping.
    pub run_seconds: f64,
    /// Seconds of setup.
    pub setup_seconds: f64,
    /// Batches run.
    pub batches: usize,
    /// Dispatches run.
    pub dispatches: usize,
}

impl Partial {
    /// The partial of `result`, the run of trajectories `[first, first + result.trajectories)`
    /// of `total`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for what does not merge yet: parameter sweeps, events and jump
    /// observables.
    pub fn of(
        result: &EnsembleResult,
        fingerprint: &str,
        first: u64,
        total: u64,
    ) -> Result<Partial> {
        let refuse = |what: &str| Err(refusal(what));
        if result.sweep.is_some() {
            return refuse("a parameter sweep");
        }
        if result.event.is_some() {
            return refuse("an event");
        }
        if result.jumps.is_some() {
            return refuse("jump observables");
        }
        if result.paths.is_some() {
            return refuse("saved paths");
        }
        if result.quantiles.is_some() {
            return refuse("quantiles");
        }
        if !result.histograms.is_empty() || result.histogram2d.is_some() {
            return refuse("histograms binned on the host");
        }
        Ok(Partial {
            format: PARTIAL_FORMAT,
            version: env!("CARGO_PKG_VERSION").to_string(),
            fingerprint: fingerprint.to_string(),
            first,
            count: result.trajectories,
            total,
            state_names: result.state_names.clone(),
            times: result.times.clone(),
            steps: result.steps,
            dt: result.dt,
            moments: result.moments.clone(),
            histogram: result.histogram.clone(),
            final_states: result.final_states.clone(),
            final_states_f64: result.final_states_f64.clone(),
            first_passage: result.first_passage.clone(),
            displacement: result.displacement.clone(),
            origin_product: result.origin_product.clone(),
            time_average: result.time_average.clone(),
            observables: result.observables.clone(),
            adaptive: result.adaptive,
            run_seconds: result.run_time.as_secs_f64(),
            setup_seconds: result.setup_time.as_secs_f64(),
            batches: result.batches,
            dispatches: result.dispatches,
        })
    }
}

/// The trajectory ranges `[start, end)` of the whole run that `parts` leave out, in order
/// (the run's size is the parts' `total`): empty when they cover it all. A merge that
/// misses some is not the run, whatever its statistics look like.
pub fn gaps(parts: &[Partial]) -> Vec<(u64, u64)> {
    let Some(total) = parts.iter().map(|p| p.total).max() else {
        return Vec::new();
    };
    let mut ranges: Vec<(u64, u64)> = parts.iter().map(|p| (p.first, p.first + p.count)).collect();
    ranges.sort_unstable();
    let mut missing = Vec::new();
    let mut at = 0;
    for (start, end) in ranges {
        if start > at {
            missing.push((at, start));
        }
        at = at.max(end);
    }
    if at < total {
        missing.push((at, total));
    }
    missing
}

/// Merges optional parts that both have or both lack.
fn merge_option<T>(
    into: &mut Option<T>,
    other: &Option<T>,
    what: &str,
    fold: impl FnOnce(&mut T, &T),
) -> Result<()> {
    match (into.as_mut(), other) {
        (Some(a), Some(b)) => {
            fold(a, b);
            Ok(())
        }
        (None, None) => Ok(()),
        _ => Err(Error::invalid(
            "merge",
            what,
            "present in some partials and not in others: they are not parts of one run",
        )),
    }
}

/// Folds `parts` (any order) into the result of the trajectories they cover, in trajectory
/// order; `device` describes where they ran.
///
/// # Errors
/// As [`fold`].
pub fn merge(parts: Vec<Partial>, device: crate::DeviceInfo) -> Result<EnsembleResult> {
    Ok(fold(parts)?.into_result(device))
}

/// Folds `parts` (any order) into one partial of the trajectories they cover, merging in
/// trajectory order: folding the parts one at a time onto a growing partial gives the same
/// numbers as folding them all at once.
///
/// # Errors
/// [`Error::InvalidInput`] naming `merge` for no parts, another layout or engine version,
/// different fingerprints, totals, save times or steps, or overlapping ranges.
pub fn fold(mut parts: Vec<Partial>) -> Result<Partial> {
    if parts.is_empty() {
        return Err(Error::invalid("merge", "nothing", "at least one partial"));
    }
    parts.sort_by_key(|p| p.first);
    let head = parts[0].clone();
    for p in &parts {
        if p.format != PARTIAL_FORMAT || p.version != head.version {
            return Err(Error::invalid(
                "merge",
                format!("format {} of version {}", p.format, p.version),
                format!(
                    "every partial of format {PARTIAL_FORMAT} from one engine version ({})",
                    head.version
                ),
            ));
        }
        if p.fingerprint != head.fingerprint || p.total != head.total {
            return Err(Error::invalid(
                "merge",
                format!(
                    "the partial of trajectories {}..{}",
                    p.first,
                    p.first + p.count
                ),
                format!(
                    "comes from another config (fingerprint {} against {}): shards of one run only",
                    p.fingerprint, head.fingerprint
                ),
            ));
        }
        if p.times != head.times || p.steps != head.steps || p.dt != head.dt {
            return Err(Error::invalid(
                "merge",
                "save times or steps",
                "differ between partials of one config",
            ));
        }
    }
    for w in parts.windows(2) {
        if w[0].first + w[0].count > w[1].first {
            return Err(Error::invalid(
                "merge",
                format!(
                    "trajectories {}..{} and {}..{}",
                    w[0].first,
                    w[0].first + w[0].count,
                    w[1].first,
                    w[1].first + w[1].count
                ),
                "overlap: each trajectory may come from one partial only",
            ));
        }
    }
    let mut acc = head;
    for p in &parts[1..] {
        merge_table(&mut acc.moments, &p.moments);
        if acc.observables.names != p.observables.names
            || acc.observables.pair_sums.is_some() != p.observables.pair_sums.is_some()
        {
            return Err(Error::invalid(
                "merge",
                "observables or covariance",
                "differ between partials: they are not parts of one run",
            ));
        }
        acc.observables.merge(&p.observables);
        merge_option(&mut acc.histogram, &p.histogram, "histogram", |a, b| {
            for (x, y) in a.counts.iter_mut().zip(&b.counts) {
                *x += y;
            }
            a.underflow += b.underflow;
            a.overflow += b.overflow;
            a.non_finite += b.non_finite;
        })?;
        merge_option(
            &mut acc.final_states,
            &p.final_states,
            "final states",
            |a, b| a.extend_from_slice(b),
        )?;
        merge_option(
            &mut acc.final_states_f64,
            &p.final_states_f64,
            "final states in f64",
            |a, b| a.extend_from_slice(b),
        )?;
        merge_option(
            &mut acc.first_passage,
            &p.first_passage,
            "first passage",
            |a, b| {
                a.hit += b.hit;
                a.times.extend_from_slice(&b.times);
            },
        )?;
        merge_option(
            &mut acc.displacement,
            &p.displacement,
            "displacement",
            |a, b| merge_table(a, b),
        )?;
        merge_option(
            &mut acc.origin_product,
            &p.origin_product,
            "products with the initial state",
            |a, b| merge_table(a, b),
        )?;
        merge_option(
            &mut acc.time_average,
            &p.time_average,
            "time average",
            |a, b| {
                for (x, y) in a.mean.iter_mut().zip(&b.mean) {
                    x.merge(y);
                }
                for (x, y) in a.square.iter_mut().zip(&b.square) {
                    x.merge(y);
                }
            },
        )?;
        merge_option(&mut acc.adaptive, &p.adaptive, "step counts", |a, b| {
            *a = a.merged(*b)
        })?;
        acc.count += p.count;
        acc.run_seconds += p.run_seconds;
        acc.setup_seconds += p.setup_seconds;
        acc.batches += p.batches;
        acc.dispatches += p.dispatches;
    }
    Ok(acc)
}

impl Partial {
    /// The result of the trajectories this partial covers.
    pub fn into_result(self, device: crate::DeviceInfo) -> EnsembleResult {
        let acc = self;
        EnsembleResult {
            state_names: acc.state_names,
            times: acc.times,
            moments: acc.moments,
            histogram: acc.histogram,
            final_states: acc.final_states,
            final_states_f64: acc.final_states_f64,
            first_passage: acc.first_passage,
            trajectories: acc.count,
            steps: acc.steps,
            dt: acc.dt,
            device,
            batches: acc.batches,
            dispatches: acc.dispatches,
            setup_time: std::time::Duration::from_secs_f64(acc.setup_seconds),
            run_time: std::time::Duration::from_secs_f64(acc.run_seconds),
            sweep: None,
            adaptive: acc.adaptive,
            event: None,
            displacement: acc.displacement,
            origin_product: acc.origin_product,
            time_average: acc.time_average,
            jumps: None,
            observables: acc.observables,
            paths: None,
            quantiles: None,
            histograms: Vec::new(),
            histogram2d: None,
        }
    }
}
