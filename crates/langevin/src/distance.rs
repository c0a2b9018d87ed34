//! Distances between two samples of states (two runs' final states, or a run against draws
//! from a law), in f64 on the host: per component the Wasserstein-1 and -2 distances of the
//! empirical laws (exact, from the sorted samples) and the two-sample Kolmogorov-Smirnov
//! statistic with its asymptotic p-value; for the whole state the sliced Wasserstein-2
//! distance and the energy distance; and the differences of means, variances and covariances
//! with their standard errors.
//!
//! A row with a non-finite component (a diverged trajectory) is left out and counted, never
//! compared.

use crate::philox::{box_muller4, philox4x32_10};

/// Philox stream of the directions of [`sliced_wasserstein2`].
const STREAM_SLICES: u32 = 60;

/// Directions [`compare`] averages the sliced Wasserstein-2 distance over.
pub const SLICES: usize = 256;

/// Rows of each sample [`compare`] takes the energy distance over (its cost is quadratic).
pub const ENERGY_SAMPLES: usize = 4096;

/// The Wasserstein-`p` distance (`p >= 1`) between the empirical laws of `a` and `b` (any
/// sizes): `(integral over u in (0, 1) of |F_a^-1(u) - F_b^-1(u)|^p)^(1/p)`, exact, the
/// quantile functions being step functions with steps at `i / n` and `j / m`. NaN if either
/// sample is empty.
pub fn wasserstein(a: &[f64], b: &[f64], p: f64) -> f64 {
    if a.is_empty() || b.is_empty() {
        return f64::NAN;
    }
    let (a, b) = (sorted(a), sorted(b));
    let (n, m) = (a.len() as u128, b.len() as u128);
    // Quantile levels in units of 1 / (n m), so that the breakpoints compare exactly.
    let (mut i, mut j, mut at) = (0usize, 0usize, 0u128);
    let mut sum = 0.0;
    while i < a.len() && j < b.len() {
        let next_a = (i as u128 + 1) * m;
        let next_b = (j as u128 + 1) * n;
        let next = next_a.min(next_b);
        sum += (next - at) as f64 * (a[i] - b[j]).abs().powf(p);
        at = next;
        i += usize::from(next_a == next);
        j += usize::from(next_b == next);
    }
    (sum / (n * m) as f64).powf(1.0 / p)
}

/// A two-sample Kolmogorov-Smirnov test.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct KsTest {
    /// `sup_x |F_a(x) - F_b(x)|`.
    pub statistic: f64,
    /// The asymptotic p-value: Kolmogorov's law at `(sqrt(e) + 0.12 + 0.11 / sqrt(e)) D`,
    /// `e = n m / (n + m)` (Stephens' correction, good for `e >= 4`).
    pub p_value: f64,
}

/// The two-sample Kolmogorov-Smirnov test of `a` against `b`; NaN for an empty sample.
pub fn ks_two_sample(a: &[f64], b: &[f64]) -> KsTest {
    if a.is_empty() || b.is_empty() {
        return KsTest {
            statistic: f64::NAN,
            p_value: f64::NAN,
        };
    }
    let (a, b) = (sorted(a), sorted(b));
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        // Step past every copy of the smaller value in both samples before comparing.
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    let e = n * m / (n + m);
    let lambda = (e.sqrt() + 0.12 + 0.11 / e.sqrt()) * d;
    KsTest {
        statistic: d,
        p_value: kolmogorov_q(lambda),
    }
}

/// `Q(lambda) = 2 sum_{k >= 1} (-1)^(k-1) exp(-2 k^2 lambda^2)`, the probability that the
/// Kolmogorov statistic exceeds `lambda` (1 at 0).
pub fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda < 0.2 {
        // The series converges slowly there, and Q is 1 to 15 digits.
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let term = (-2.0 * f64::from(k * k) * lambda * lambda).exp();
        sum += if k % 2 == 1 { term } else { -term };
        if term < 1e-17 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// The sliced Wasserstein-2 distance between samples `a` and `b` of `dim`-vectors (rows):
/// `sqrt(mean over directions theta of W2(theta . a, theta . b)^2)`, over `slices` directions
/// drawn uniformly on the sphere from Philox (key `seed`), so that it is the same number on
/// every machine. In one dimension it is [`wasserstein`] with `p = 2`.
pub fn sliced_wasserstein2(a: &[f64], b: &[f64], dim: usize, slices: usize, seed: u64) -> f64 {
    if dim == 1 {
        return wasserstein(a, b, 2.0);
    }
    let key = crate::philox::key_of_seed(seed);
    let mut total = 0.0;
    for s in 0..slices {
        let mut theta = Vec::with_capacity(dim);
        for block in 0..dim.div_ceil(4) {
            let words = philox4x32_10([s as u32, block as u32, 0, STREAM_SLICES], key);
            theta.extend(box_muller4(words).map(f64::from));
        }
        theta.truncate(dim);
        let norm = theta.iter().map(|t| t * t).sum::<f64>().sqrt();
        let project = |rows: &[f64]| -> Vec<f64> {
            rows.chunks_exact(dim)
                .map(|r| r.iter().zip(&theta).map(|(x, t)| x * t).sum::<f64>() / norm)
                .collect()
        };
        total += wasserstein(&project(a), &project(b), 2.0).powi(2);
    }
    (total / slices as f64).sqrt()
}

/// The energy distance between samples `a` and `b` of `dim`-vectors (rows), as scipy's
/// `energy_distance` defines it: `sqrt(2 E|X - Y| - E|X - X'| - E|Y - Y'|)` with the
/// expectations over all pairs of the samples (V-statistics); in one dimension
/// `sqrt(2 integral (F_a - F_b)^2 dx)`. Zero only for equal laws. Quadratic in the sizes.
pub fn energy_distance(a: &[f64], b: &[f64], dim: usize) -> f64 {
    let mean_distance = |x: &[f64], y: &[f64]| -> f64 {
        let (n, m) = (x.len() / dim, y.len() / dim);
        let mut sum = 0.0;
        for p in x.chunks_exact(dim) {
            for q in y.chunks_exact(dim) {
                sum += p
                    .iter()
                    .zip(q)
                    .map(|(u, v)| (u - v) * (u - v))
                    .sum::<f64>()
                    .sqrt();
            }
        }
        sum / (n * m) as f64
    };
    let squared = 2.0 * mean_distance(a, b) - mean_distance(a, a) - mean_distance(b, b);
    squared.max(0.0).sqrt()
}

/// One component compared between two samples.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ComponentComparison {
    /// Wasserstein-1 distance.
    pub w1: f64,
    /// Wasserstein-2 distance.
    pub w2: f64,
    /// Kolmogorov-Smirnov statistic.
    pub ks: f64,
    /// Its asymptotic p-value.
    pub ks_pvalue: f64,
    /// Mean of the first sample minus the second's.
    pub mean_diff: f64,
    /// Its standard error, `sqrt(s_a^2 / n + s_b^2 / m)`.
    pub mean_diff_se: f64,
}

/// Two samples of states compared.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// Rows compared in each sample.
    pub samples: [usize; 2],
    /// Rows left out of each (a non-finite component).
    pub dropped: [usize; 2],
    /// Per component.
    pub components: Vec<ComponentComparison>,
    /// Sliced Wasserstein-2 distance over [`SLICES`] directions (in one dimension, W2).
    pub sliced_w2: f64,
    /// Energy distance over the first [`ENERGY_SAMPLES`] rows of each sample.
    pub energy_distance: f64,
    /// Rows of each sample the energy distance used.
    pub energy_distance_samples: [usize; 2],
    /// Covariance matrix (unbiased) of the first sample minus the second's, row-major.
    pub covariance_diff: Vec<f64>,
    /// Per entry, its standard error: `sqrt(v_a / n + v_b / m)` with `v` the sample variance of
    /// the products of centred components (the variance of a sample covariance, to O(1/n)).
    pub covariance_diff_se: Vec<f64>,
}

/// Compares samples `a` and `b` of `dim`-vectors (rows).
pub fn compare(a: &[f64], b: &[f64], dim: usize) -> Comparison {
    let (a, dropped_a) = finite_rows(a, dim);
    let (b, dropped_b) = finite_rows(b, dim);
    let column =
        |x: &[f64], i: usize| -> Vec<f64> { x.iter().skip(i).step_by(dim).copied().collect() };
    let (sa, sb) = (Summary::of(&a, dim), Summary::of(&b, dim));
    let components = (0..dim)
        .map(|i| {
            let (x, y) = (column(&a, i), column(&b, i));
            let ks = ks_two_sample(&x, &y);
            ComponentComparison {
                w1: wasserstein(&x, &y, 1.0),
                w2: wasserstein(&x, &y, 2.0),
                ks: ks.statistic,
                ks_pvalue: ks.p_value,
                mean_diff: sa.mean[i] - sb.mean[i],
                mean_diff_se: (sa.cov[i * dim + i] / sa.n + sb.cov[i * dim + i] / sb.n).sqrt(),
            }
        })
        .collect();
    let take = |x: &[f64]| x[..x.len().min(ENERGY_SAMPLES * dim)].to_vec();
    let (ea, eb) = (take(&a), take(&b));
    Comparison {
        samples: [a.len() / dim, b.len() / dim],
        dropped: [dropped_a, dropped_b],
        components,
        sliced_w2: sliced_wasserstein2(&a, &b, dim, SLICES, 0),
        energy_distance: if ea.is_empty() || eb.is_empty() {
            f64::NAN
        } else {
            energy_distance(&ea, &eb, dim)
        },
        energy_distance_samples: [ea.len() / dim, eb.len() / dim],
        covariance_diff: sa.cov.iter().zip(&sb.cov).map(|(x, y)| x - y).collect(),
        covariance_diff_se: sa
            .cov_var
            .iter()
            .zip(&sb.cov_var)
            .map(|(x, y)| (x / sa.n + y / sb.n).sqrt())
            .collect(),
    }
}

/// The rows of `x` whose components are all finite, and how many were not.
fn finite_rows(x: &[f64], dim: usize) -> (Vec<f64>, usize) {
    let mut kept = Vec::with_capacity(x.len());
    let mut dropped = 0;
    for row in x.chunks_exact(dim) {
        if row.iter().all(|v| v.is_finite()) {
            kept.extend_from_slice(row);
        } else {
            dropped += 1;
        }
    }
    (kept, dropped)
}

/// Means, the unbiased covariance, and the variance of each centred product.
struct Summary {
    n: f64,
    mean: Vec<f64>,
    cov: Vec<f64>,
    cov_var: Vec<f64>,
}

impl Summary {
    fn of(x: &[f64], dim: usize) -> Summary {
        let rows = x.len() / dim;
        let n = rows as f64;
        let mut mean = vec![0.0; dim];
        for row in x.chunks_exact(dim) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v / n;
            }
        }
        let mut cov = vec![0.0; dim * dim];
        let mut square = vec![0.0; dim * dim];
        for row in x.chunks_exact(dim) {
            for i in 0..dim {
                for j in 0..dim {
                    let p = (row[i] - mean[i]) * (row[j] - mean[j]);
                    cov[i * dim + j] += p;
                    square[i * dim + j] += p * p;
                }
            }
        }
        let cov: Vec<f64> = cov.iter().map(|c| c / (n - 1.0)).collect();
        // The sample variance of the products (their mean is the biased covariance).
        let cov_var = square
            .iter()
            .zip(&cov)
            .map(|(s, c)| {
                let biased = c * (n - 1.0) / n;
                (s / n - biased * biased) * n / (n - 1.0)
            })
            .collect();
        Summary {
            n,
            mean,
            cov,
            cov_var,
        }
    }
}

fn sorted(x: &[f64]) -> Vec<f64> {
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed cases: the quantile functions of [0, 1, 2] and [0, 2] differ by 1 on
    /// (1/3, 2/3) only.
    #[test]
    fn wasserstein_of_small_samples_by_hand() {
        assert_eq!(wasserstein(&[0.0, 1.0], &[0.5], 1.0), 0.5);
        assert_eq!(wasserstein(&[0.0, 1.0], &[0.5], 2.0), 0.5);
        let w1 = wasserstein(&[2.0, 0.0, 1.0], &[0.0, 2.0], 1.0);
        assert!((w1 - 1.0 / 3.0).abs() < 1e-15, "{w1}");
        let w2 = wasserstein(&[0.0, 1.0, 2.0], &[2.0, 0.0], 2.0);
        assert!((w2 - (1.0f64 / 3.0).sqrt()).abs() < 1e-15, "{w2}");
        let shifted: Vec<f64> = [0.3, -1.0, 2.5].iter().map(|x| x + 0.75).collect();
        assert!((wasserstein(&[0.3, -1.0, 2.5], &shifted, 2.0) - 0.75).abs() < 1e-15);
        assert!(wasserstein(&[], &[1.0], 1.0).is_nan());
    }

    /// KS by hand, ties included: [1, 2, 2, 3] against [2, 4]: after 2 the CDFs are 3/4 and
    /// 1/2, after 3 they are 1 and 1/2.
    #[test]
    fn ks_statistic_by_hand() {
        let t = ks_two_sample(&[1.0, 2.0, 2.0, 3.0], &[2.0, 4.0]);
        assert_eq!(t.statistic, 0.5);
        assert_eq!(ks_two_sample(&[1.0, 2.0], &[2.0, 1.0]).statistic, 0.0);
    }

    /// Kolmogorov's law at published points: Q(1) = 0.26999967 (Smirnov's table), and the
    /// critical values 1.2238, 1.3581 and 1.6276 of the 10, 5 and 1 % levels.
    #[test]
    fn kolmogorov_tail_matches_the_table() {
        assert!((kolmogorov_q(1.0) - 0.269_999_67).abs() < 1e-8);
        assert!((kolmogorov_q(1.2238) - 0.10).abs() < 1e-4);
        assert!((kolmogorov_q(1.3581) - 0.05).abs() < 1e-4);
        assert!((kolmogorov_q(1.6276) - 0.01).abs() < 1e-4);
        assert_eq!(kolmogorov_q(0.0), 1.0);
    }

    /// In one dimension the energy distance is `sqrt(2 integral (F_a - F_b)^2 dx)`, here
    /// integrated over the merged sample's steps.
    #[test]
    fn energy_distance_in_one_dimension_is_the_cramer_integral() {
        let a = [0.1, 0.7, -0.4, 2.0, 1.1];
        let b = [0.0, 0.9, 3.0];
        let mut grid: Vec<f64> = a.iter().chain(&b).copied().collect();
        grid.sort_by(f64::total_cmp);
        let cdf = |s: &[f64], x: f64| s.iter().filter(|&&v| v <= x).count() as f64 / s.len() as f64;
        let integral: f64 = grid
            .windows(2)
            .map(|w| (cdf(&a, w[0]) - cdf(&b, w[0])).powi(2) * (w[1] - w[0]))
            .sum();
        let e = energy_distance(&a, &b, 1);
        assert!((e - (2.0 * integral).sqrt()).abs() < 1e-14, "{e}");
    }
}
