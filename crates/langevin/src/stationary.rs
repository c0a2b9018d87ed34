//! Stationary densities of one-dimensional gradient flows with constant noise.
//!
//! A component that evolves on its own as `dX = f(X) dt + g dW`, with `f` a function of `X`
//! alone and `g` a constant, is a gradient flow `f = -U'` whose stationary density is
//! `p(x) ∝ exp(-2 U(x) / g^2) = exp((2 / g^2) ∫ f)`. Plots overlay it on the final histogram
//! and tests compare histograms with it. The integral is done numerically on a fine grid, so
//! any drift written as an expression works, not only those with a closed-form potential.

/// The drift and noise of a one-dimensional gradient flow `dX = f(X) dt + g dW`.
pub struct ScalarFlow<'a> {
    drift: Box<dyn Fn(f64) -> f64 + 'a>,
    noise: f64,
}

/// Grid intervals per histogram bin for the integrals (trapezoidal rule; its relative error
/// is far below any sampling error a histogram can show).
const SUBDIVISIONS: usize = 64;

impl<'a> ScalarFlow<'a> {
    /// The flow `dX = drift(X) dt + noise dW`.
    pub fn new(drift: impl Fn(f64) -> f64 + 'a, noise: f64) -> Self {
        ScalarFlow {
            drift: Box::new(drift),
            noise,
        }
    }

    /// The noise amplitude `g`.
    pub fn noise(&self) -> f64 {
        self.noise
    }

    /// The unnormalised log-density `(2 / g^2) ∫_{x_0}^{x} f` at the points of a uniform grid
    /// from `x_0 = grid[0]`, by the trapezoidal rule.
    fn log_density(&self, grid: &[f64]) -> Vec<f64> {
        let scale = 2.0 / (self.noise * self.noise);
        let mut out = Vec::with_capacity(grid.len());
        let mut acc = 0.0;
        let mut prev = (self.drift)(grid[0]);
        out.push(0.0);
        for w in grid.windows(2) {
            let next = (self.drift)(w[1]);
            acc += 0.5 * (prev + next) * (w[1] - w[0]);
            prev = next;
            out.push(scale * acc);
        }
        out
    }

    /// The probability of each bin `[edges[j], edges[j + 1])` under the stationary density
    /// conditioned on `[edges[0], edges[last]]`, so that the probabilities sum to one. `None`
    /// when the noise is zero or the density cannot be evaluated (a non-finite drift).
    pub fn bin_probabilities(&self, edges: &[f64]) -> Option<Vec<f64>> {
        if edges.len() < 2 || self.noise == 0.0 || !self.noise.is_finite() {
            return None;
        }
        let mut grid = Vec::with_capacity((edges.len() - 1) * SUBDIVISIONS + 1);
        for w in edges.windows(2) {
            for k in 0..SUBDIVISIONS {
                grid.push(w[0] + (w[1] - w[0]) * k as f64 / SUBDIVISIONS as f64);
            }
        }
        grid.push(edges[edges.len() - 1]);
        let log_p = self.log_density(&grid);
        let top = log_p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !top.is_finite() {
            return None;
        }
        let p: Vec<f64> = log_p.iter().map(|l| (l - top).exp()).collect();
        let mut bins: Vec<f64> = (0..edges.len() - 1)
            .map(|j| {
                let s = j * SUBDIVISIONS;
                (s..s + SUBDIVISIONS)
                    .map(|i| 0.5 * (p[i] + p[i + 1]) * (grid[i + 1] - grid[i]))
                    .sum()
            })
            .collect();
        let total: f64 = bins.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            return None;
        }
        bins.iter_mut().for_each(|b| *b /= total);
        Some(bins)
    }

    /// The stationary density at `points` evenly spaced over `[lo, hi]`, normalised on that
    /// interval, as `(x, p(x))` pairs: the curve drawn over a histogram of that range.
    pub fn density(&self, lo: f64, hi: f64, points: usize) -> Option<Vec<(f64, f64)>> {
        if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater)
            || points < 2
            || self.noise == 0.0
        {
            return None;
        }
        let n = (points - 1) * SUBDIVISIONS;
        let grid: Vec<f64> = (0..=n)
            .map(|i| lo + (hi - lo) * i as f64 / n as f64)
            .collect();
        let log_p = self.log_density(&grid);
        let top = log_p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !top.is_finite() {
            return None;
        }
        let p: Vec<f64> = log_p.iter().map(|l| (l - top).exp()).collect();
        let total: f64 =
            p.windows(2).map(|w| 0.5 * (w[0] + w[1])).sum::<f64>() * (hi - lo) / n as f64;
        Some(
            (0..points)
                .map(|k| (grid[k * SUBDIVISIONS], p[k * SUBDIVISIONS] / total))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ornstein-Uhlenbeck `dX = -theta (X - mu) dt + sigma dW` is stationary at
    /// N(mu, sigma^2 / (2 theta)); the bin probabilities must match the normal CDF.
    #[test]
    fn ornstein_uhlenbeck_bins_are_the_normal_law() {
        let (theta, mu, sigma) = (1.5, 0.3, 0.8);
        let flow = ScalarFlow::new(move |x| -theta * (x - mu), sigma);
        let s = sigma / (2.0 * theta).sqrt();
        let edges: Vec<f64> = (0..=40).map(|j| -2.0 + 0.1 * j as f64).collect();
        let bins = flow.bin_probabilities(&edges).unwrap();
        let cdf = |x: f64| 0.5 * erfc(-(x - mu) / (s * std::f64::consts::SQRT_2));
        let mass = cdf(2.0) - cdf(-2.0);
        for (j, b) in bins.iter().enumerate() {
            let exact = (cdf(edges[j + 1]) - cdf(edges[j])) / mass;
            assert!((b - exact).abs() < 1e-6, "bin {j}: {b} vs {exact}");
        }
        let curve = flow.density(-2.0, 2.0, 81).unwrap();
        for (x, p) in curve {
            let exact = (-(x - mu).powi(2) / (2.0 * s * s)).exp()
                / (s * (2.0 * std::f64::consts::PI).sqrt())
                / mass;
            assert!(
                (p - exact).abs() < 1e-5 * exact.max(1.0),
                "{x}: {p} vs {exact}"
            );
        }
    }

    #[test]
    fn zero_noise_has_no_density() {
        assert!(ScalarFlow::new(|x| -x, 0.0)
            .bin_probabilities(&[0.0, 1.0])
            .is_none());
    }

    /// The complementary error function by the Chebyshev fit of Numerical Recipes (`erfcc`),
    /// fractional error below 1.2e-7 everywhere: enough for the 1e-6 comparisons above.
    fn erfc(x: f64) -> f64 {
        let z = x.abs();
        let t = 1.0 / (1.0 + 0.5 * z);
        let r = t
            * (-z * z - 1.26551223
                + t * (1.00002368
                    + t * (0.37409196
                        + t * (0.09678418
                            + t * (-0.18628806
                                + t * (0.27886807
                                    + t * (-1.13520398
                                        + t * (1.48851587
                                            + t * (-0.82215223 + t * 0.17087277)))))))))
                .exp();
        if x >= 0.0 {
            r
        } else {
            2.0 - r
        }
    }
}
