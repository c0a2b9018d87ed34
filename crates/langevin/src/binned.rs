//! Histograms beyond the device's one: several 1-D histograms and a 2-D histogram of the
//! state's variables or the observables at the final time, binned on the host in f64 from
//! every trajectory's final state (which the run then reads back, bounded by the memory
//! rules as final states are). The observables are evaluated as the kernel does.

use crate::error::{Error, Result};
use crate::stats::Histogram;

/// A histogram of one value at the final time: a state component, or observable
/// `component - d`.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramSpec {
    /// Index of the value.
    pub component: usize,
    /// Number of equal-width bins.
    pub bins: u32,
    /// `[lo, hi)`; values outside count as underflow or overflow.
    pub range: (f64, f64),
}

impl HistogramSpec {
    /// The histogram with no value binned yet.
    pub fn empty(&self) -> Histogram {
        Histogram {
            component: self.component,
            lo: self.range.0,
            hi: self.range.1,
            counts: vec![0; self.bins as usize],
            underflow: 0,
            overflow: 0,
            non_finite: 0,
        }
    }
}

/// A 2-D histogram of two values over a rectangle.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram2dSpec {
    /// The two values (state variables, or observables after them).
    pub components: [usize; 2],
    /// Bins along each.
    pub bins: [u32; 2],
    /// `[lo, hi)` along each.
    pub range: [(f64, f64); 2],
}

/// A 2-D histogram's counts.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram2d {
    /// What was binned.
    pub spec: Histogram2dSpec,
    /// Counts, row-major: `counts[a * bins[1] + b]` for bin `a` of the first value and `b` of
    /// the second.
    pub counts: Vec<u64>,
    /// Finite pairs outside the rectangle.
    pub outside: u64,
    /// Pairs with a NaN or infinite value.
    pub non_finite: u64,
}

/// The bin of `v` among `bins` equal bins of `[lo, hi)`: `Ok(bin)`, or `Err(below)` outside
/// (`below`: under `lo`).
fn bin_of(v: f64, lo: f64, hi: f64, bins: u32) -> std::result::Result<usize, bool> {
    if v < lo {
        return Err(true);
    }
    if v >= hi {
        return Err(false);
    }
    let b = ((v - lo) / (hi - lo) * f64::from(bins)) as usize;
    Ok(b.min(bins as usize - 1))
}

/// Checks a histogram's bins and range, naming `field`.
///
/// # Errors
/// [`Error::InvalidInput`].
pub fn check(field: &str, bins: u32, lo: f64, hi: f64) -> Result<()> {
    if bins == 0 || bins > 1 << 20 {
        return Err(Error::invalid(
            format!("{field}.bins"),
            bins,
            "1 to 2^20 bins",
        ));
    }
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(Error::invalid(
            format!("{field}.range"),
            format!("[{lo}, {hi}]"),
            "must be finite with lo < hi",
        ));
    }
    Ok(())
}

/// Bins every row of `values` (one row of `width` values per trajectory) into `specs` and
/// `spec2d`.
pub fn bin(
    values: &[f32],
    width: usize,
    specs: &[HistogramSpec],
    spec2d: Option<&Histogram2dSpec>,
) -> (Vec<Histogram>, Option<Histogram2d>) {
    let mut histograms: Vec<Histogram> = specs.iter().map(HistogramSpec::empty).collect();
    let mut two = spec2d.map(|s| Histogram2d {
        spec: s.clone(),
        counts: vec![0; s.bins[0] as usize * s.bins[1] as usize],
        outside: 0,
        non_finite: 0,
    });
    for row in values.chunks(width) {
        for h in &mut histograms {
            let v = f64::from(row[h.component]);
            if !v.is_finite() {
                h.non_finite += 1;
                continue;
            }
            match bin_of(v, h.lo, h.hi, h.counts.len() as u32) {
                Ok(b) => h.counts[b] += 1,
                Err(true) => h.underflow += 1,
                Err(false) => h.overflow += 1,
            }
        }
        if let Some(t) = &mut two {
            let s = &t.spec;
            let (a, b) = (
                f64::from(row[s.components[0]]),
                f64::from(row[s.components[1]]),
            );
            if !(a.is_finite() && b.is_finite()) {
                t.non_finite += 1;
                continue;
            }
            match (
                bin_of(a, s.range[0].0, s.range[0].1, s.bins[0]),
                bin_of(b, s.range[1].0, s.range[1].1, s.bins[1]),
            ) {
                (Ok(i), Ok(j)) => t.counts[i * s.bins[1] as usize + j] += 1,
                _ => t.outside += 1,
            }
        }
    }
    (histograms, two)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_fall_in_their_bins() {
        let rows = [0.05f32, 0.5, 0.95, 0.99, -0.1, 0.2, 1.0, 0.0, f32::NAN, 0.5];
        // Rows of two values: (0.05, 0.5), (0.95, 0.99), (-0.1, 0.2), (1.0, 0.0), (NaN, 0.5).
        let spec = HistogramSpec {
            component: 0,
            bins: 2,
            range: (0.0, 1.0),
        };
        let two = Histogram2dSpec {
            components: [0, 1],
            bins: [2, 2],
            range: [(0.0, 1.0), (0.0, 1.0)],
        };
        let (h, t) = bin(&rows, 2, &[spec], Some(&two));
        assert_eq!(h[0].counts, vec![1, 1]);
        assert_eq!((h[0].underflow, h[0].overflow, h[0].non_finite), (1, 1, 1));
        let t = t.unwrap();
        assert_eq!(t.counts, vec![0, 1, 0, 1]);
        assert_eq!((t.outside, t.non_finite), (2, 1));
    }
}
