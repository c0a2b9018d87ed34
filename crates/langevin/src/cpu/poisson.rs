//! Twin of `shaders/lib/poisson.wgsl`: Poisson variates by inversion below a mean of 10 and
//! Hormann's PTRS above, from the same Philox words.

use crate::philox::{philox4x32_10, uniform_open01};

/// Twin of `LN_FACTORIAL`.
const LN_FACTORIAL: [f32; 10] = [
    0.0,
    0.0,
    std::f32::consts::LN_2,
    1.791_759_5_f64 as f32,
    3.178_053_9_f64 as f32,
    4.787_491_7_f64 as f32,
    6.579_251_3_f64 as f32,
    8.525_161_4_f64 as f32,
    10.604_602_9_f64 as f32,
    12.801_827_5_f64 as f32,
];
/// Twin of `HALF_LN_TWO_PI`.
const HALF_LN_TWO_PI: f32 = 0.918_938_5_f64 as f32;

/// Twin of `log1p_minus`.
fn log1p_minus(d: f32) -> f32 {
    if d.abs() < 0.05 {
        let d2 = d * d;
        return d2 * (-0.5 + d * (1.0 / 3.0 + d * (-0.25 + d * (0.2 - d / 6.0))));
    }
    (1.0 + d).ln() - d
}

/// Twin of `poisson_log_pmf`.
pub fn poisson_log_pmf(k: f32, lam: f32) -> f32 {
    let n = k + 1.0;
    let d = (lam - n) / n;
    let correction = 1.0 / (12.0 * n) - 1.0 / (360.0 * n * n * n);
    k * log1p_minus(d) - d - 0.5 * n.ln() - HALF_LN_TWO_PI - correction
}

/// Twin of `poisson`.
pub fn poisson(key: [u32; 2], trajectory: [u32; 2], c: u32, w: u32, lam: f32) -> f32 {
    if lam <= 0.0 {
        return 0.0;
    }
    if lam < 10.0 {
        let u = uniform_open01(philox4x32_10([trajectory[0], trajectory[1], c, w], key)[0]);
        let mut p = (-lam).exp();
        let mut cumulative = p;
        let mut k = 0.0f32;
        for _ in 0..64 {
            if u <= cumulative {
                break;
            }
            k += 1.0;
            p *= lam / k;
            cumulative += p;
        }
        return k;
    }
    let slam = lam.sqrt();
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    for m in 0..32u32 {
        let words = philox4x32_10([trajectory[0], trajectory[1], c, w + 32 * m], key);
        for half in 0..2 {
            let u = uniform_open01(words[2 * half]) - 0.5;
            let v = uniform_open01(words[2 * half + 1]);
            let us = 0.5 - u.abs();
            let k = ((2.0 * a / us + b) * u + lam + 0.43).floor();
            if us >= 0.07 && v <= vr {
                return k;
            }
            if k < 0.0 || (us < 0.013 && v > us) {
                continue;
            }
            let lhs = (v * inv_alpha / (a / (us * us) + b)).ln();
            let rhs = if k < 10.0 {
                -lam + k * lam.ln() - LN_FACTORIAL[k as usize]
            } else {
                poisson_log_pmf(k, lam)
            };
            if lhs <= rhs {
                return k;
            }
        }
    }
    (lam + 0.5).floor()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ln_factorial(k: u32) -> f64 {
        (1..=k).map(|i| f64::from(i).ln()).sum()
    }

    /// The cancellation-free form of ln p(k) against the direct f64 formula.
    #[test]
    fn log_pmf_matches_f64() {
        for lam in [10.0f64, 37.5, 1e3, 1e5] {
            for dk in [-4.0, -1.0, 0.0, 2.0, 5.0] {
                let k = (lam + dk * lam.sqrt()).floor().max(10.0);
                let exact = -lam + k * lam.ln() - ln_factorial(k as u32);
                let got = f64::from(poisson_log_pmf(k as f32, lam as f32));
                // The mean itself is rounded to f32: d(ln p)/d lam = k / lam - 1 ~ 1 / sqrt(lam).
                let tol = 2e-5 * (1.0 + exact.abs()) + (lam - f64::from(lam as f32)).abs();
                assert!(
                    (got - exact).abs() < tol,
                    "lam {lam} k {k}: {got} vs {exact}"
                );
            }
        }
    }

    /// Means and variances of 2e5 draws at small and large means, within 5 standard errors.
    #[test]
    fn moments_match_the_mean() {
        for lam in [0.3f32, 4.0, 9.9, 10.0, 57.0, 3000.0] {
            let n = 200_000u32;
            let draws: Vec<f64> = (0..n)
                .map(|j| f64::from(poisson([1, 2], [j, 0], 7, 32, lam)))
                .collect();
            let mean = draws.iter().sum::<f64>() / f64::from(n);
            let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / f64::from(n - 1);
            let l = f64::from(lam);
            assert!(
                (mean - l).abs() < 5.0 * (l / f64::from(n)).sqrt(),
                "{lam}: mean {mean}"
            );
            // Var of the sample variance of a Poisson: (lam + 2 lam^2) / n, roughly.
            let se = ((l + 2.0 * l * l) / f64::from(n)).sqrt();
            assert!((var - l).abs() < 5.0 * se, "{lam}: variance {var}");
        }
    }
}
