//! Statistics merged in f64 on the host: moments by Chan's parallel formula, histograms as
//! integer counts. The devices hand over per-workgroup partials in f32; folding them in a fixed
//! order (by global trajectory block) makes the result independent of batching.

/// Which way a first passage crosses its level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Direction {
    /// The first time the component is at or above the level.
    Up,
    /// The first time the component is at or below the level.
    Down,
}

/// `f64::max` for folding error measures, except that NaN wins: `f64::max(0.0, NaN)` is 0.0,
/// which would let a NaN result pass the bound it is checked against.
pub fn max_or_nan(worst: f64, value: f64) -> f64 {
    if worst.is_nan() || value.is_nan() {
        f64::NAN
    } else {
        worst.max(value)
    }
}

/// Count, mean and sum of squared deviations (M2) of a sample, in f64.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Moments {
    /// Number of finite values.
    pub count: u64,
    /// Their mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
}

impl Moments {
    /// Moments of a slice (two-pass, for tests and small data).
    pub fn of(values: impl IntoIterator<Item = f64> + Clone) -> Moments {
        let mut m = Moments::default();
        for v in values {
            m.merge(&Moments {
                count: 1,
                mean: v,
                m2: 0.0,
            });
        }
        m
    }

    /// Merges another sample into this one (Chan, Golub and LeVeque, 1979).
    #[inline]
    pub fn merge(&mut self, other: &Moments) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        let n_a = self.count as f64;
        let n_b = other.count as f64;
        let n = n_a + n_b;
        let delta = other.mean - self.mean;
        self.mean += delta * n_b / n;
        self.m2 += other.m2 + delta * delta * n_a * n_b / n;
        self.count += other.count;
    }

    /// The mean, or NaN for an empty sample.
    pub fn mean_or_nan(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.mean
        }
    }

    /// Unbiased sample variance `M2 / (n - 1)`; NaN for fewer than two values.
    pub fn variance(&self) -> f64 {
        if self.count < 2 {
            f64::NAN
        } else {
            self.m2 / (self.count - 1) as f64
        }
    }

    /// Standard error of the mean, `sqrt(variance / n)`.
    pub fn std_error(&self) -> f64 {
        (self.variance() / self.count as f64).sqrt()
    }
}

/// One workgroup's moments as the kernels write them. Keep in sync with `Moments` in
/// `shaders/lib/moments.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct PartialMoments {
    /// Number of finite values (an integer below 2^24, exact in f32).
    pub count: f32,
    /// Their mean.
    pub mean: f32,
    /// Sum of squared deviations.
    pub m2: f32,
}

impl From<PartialMoments> for Moments {
    fn from(p: PartialMoments) -> Self {
        Moments {
            count: p.count as u64,
            mean: f64::from(p.mean),
            m2: f64::from(p.m2),
        }
    }
}

/// First-passage times of one component through a level, over the trajectories that reached
/// it by the final time.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FirstPassage {
    /// Index of the component.
    pub component: usize,
    /// The level.
    pub level: f64,
    /// Up or down.
    pub direction: Direction,
    /// Trajectories that reached the level.
    pub hit: u64,
    /// Their passage times, in trajectory order.
    pub times: Vec<f32>,
}

/// Mean, standard deviation (unbiased) and median (the lower one for an even count) of
/// recorded first times; NaN where there are too few.
pub fn time_summary(times: &[f32]) -> (f64, f64, f64) {
    let m = Moments::of(times.iter().map(|&t| f64::from(t)));
    let median = if times.is_empty() {
        f64::NAN
    } else {
        let mut t = times.to_vec();
        let k = (t.len() - 1) / 2;
        let (_, m, _) = t.select_nth_unstable_by(k, f32::total_cmp);
        f64::from(*m)
    };
    (m.mean_or_nan(), m.variance().sqrt(), median)
}

impl FirstPassage {
    /// Mean passage time of the trajectories that reached the level (NaN if none did).
    pub fn mean(&self) -> f64 {
        time_summary(&self.times).0
    }

    /// Standard deviation of the passage times (unbiased variance).
    pub fn std(&self) -> f64 {
        time_summary(&self.times).1
    }

    /// Median passage time (the lower median for an even count; NaN if none reached).
    pub fn median(&self) -> f64 {
        time_summary(&self.times).2
    }

    /// The fraction of all `trajectories` that reached the level by time `t`.
    pub fn fraction_by(&self, t: f64, trajectories: u64) -> f64 {
        self.times.iter().filter(|&&x| f64::from(x) <= t).count() as f64 / trajectories as f64
    }
}

/// A histogram of one component at the final time.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Histogram {
    /// Index of the binned component.
    pub component: usize,
    /// Lower edge of the first bin.
    pub lo: f64,
    /// Upper edge of the last bin.
    pub hi: f64,
    /// Counts per bin.
    pub counts: Vec<u64>,
    /// Values below `lo`.
    pub underflow: u64,
    /// Values at or above `hi`.
    pub overflow: u64,
    /// NaN or infinite values.
    pub non_finite: u64,
}

impl Histogram {
    /// Bin edges, `bins + 1` of them.
    pub fn edges(&self) -> Vec<f64> {
        let n = self.counts.len();
        (0..=n)
            .map(|k| self.lo + (self.hi - self.lo) * k as f64 / n as f64)
            .collect()
    }

    /// Adds the raw device counts (bins, underflow, overflow, non-finite).
    pub fn add_raw(&mut self, raw: &[u32]) {
        let n = self.counts.len();
        for (c, r) in self.counts.iter_mut().zip(raw) {
            *c += u64::from(*r);
        }
        self.underflow += u64::from(raw[n]);
        self.overflow += u64::from(raw[n + 1]);
        self.non_finite += u64::from(raw[n + 2]);
    }
}

/// The distribution of an integer-valued component (a species' count, a counter): trajectories
/// per value, one bin per integer from `lo`, grown as values arrive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntHistogram {
    /// The value of the first bin.
    pub lo: i64,
    /// Trajectories at `lo`, `lo + 1`, ...
    pub counts: Vec<u64>,
    /// Trajectories left out (not finite, or short of the time).
    pub missing: u64,
}

impl IntHistogram {
    /// Counts one value; a value that is not a finite integer counts as missing.
    pub fn add(&mut self, value: f32) {
        if value.is_finite() && value.fract() == 0.0 {
            *self.slot(value as i64) += 1;
        } else {
            self.missing += 1;
        }
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &IntHistogram) {
        for (v, c) in other.values().filter(|(_, c)| *c > 0) {
            *self.slot(v) += c;
        }
        self.missing += other.missing;
    }

    /// The bin of `v`, made when needed.
    fn slot(&mut self, v: i64) -> &mut u64 {
        if self.counts.is_empty() {
            self.lo = v;
        }
        if v < self.lo {
            let grow = (self.lo - v) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.lo = v;
        }
        let k = (v - self.lo) as usize;
        if k >= self.counts.len() {
            self.counts.resize(k + 1, 0);
        }
        &mut self.counts[k]
    }

    /// The trajectories counted at a value.
    pub fn count(&self, value: i64) -> u64 {
        usize::try_from(value - self.lo)
            .ok()
            .and_then(|k| self.counts.get(k))
            .copied()
            .unwrap_or(0)
    }

    /// The trajectories counted at some value.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `(value, trajectories)` for every bin.
    pub fn values(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .map(|(k, c)| (self.lo + k as i64, *c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chan_merge_equals_two_pass() {
        let data: Vec<f64> = (0..1000)
            .map(|i| ((i * 37) % 101) as f64 * 0.1 + 1e6)
            .collect();
        let mean = data.iter().sum::<f64>() / data.len() as f64;
        let m2: f64 = data.iter().map(|x| (x - mean).powi(2)).sum();
        let mut merged = Moments::default();
        for chunk in data.chunks(7) {
            merged.merge(&Moments::of(chunk.iter().copied()));
        }
        assert_eq!(merged.count, 1000);
        assert!((merged.mean - mean).abs() < 1e-9);
        assert!((merged.m2 - m2).abs() < 1e-6 * m2);
    }

    #[test]
    fn integer_histogram_grows_both_ways_and_merges() {
        let mut a = IntHistogram::default();
        for v in [3.0, 5.0, 3.0, -2.0, f32::NAN, 2.5] {
            a.add(v);
        }
        assert_eq!((a.lo, a.counts.len(), a.missing), (-2, 8, 2));
        assert_eq!(
            (a.count(3), a.count(5), a.count(-2), a.count(4)),
            (2, 1, 1, 0)
        );
        let mut b = IntHistogram::default();
        b.add(9.0);
        b.add(3.0);
        b.merge(&a);
        assert_eq!((b.lo, b.total(), b.count(3), b.count(9)), (-2, 6, 3, 1));
        assert_eq!(b.missing, 2);
    }
}
