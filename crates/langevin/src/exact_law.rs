//! One sample against an exact law: the one-sample Kolmogorov-Smirnov test and the
//! Wasserstein-1 and -2 distances between the empirical law and the exact one, in f64.
//!
//! A law is a named family (`normal(m, s)`, `uniform(a, b)`, `exponential(rate)`), a CDF
//! expression in `x`, or a histogram (the CDF linear within each bin). The distances are
//! integrals over quantile levels, `W_p^p = integral_0^1 |F_n^-1(u) - F^-1(u)|^p du`: on each
//! level interval `((i - 1)/n, i/n]` the sample's quantile is its `i`-th smallest value, and the
//! law's quantile is taken at the interval's `SUBLEVELS` midpoints (bisection on the CDF where
//! it has no closed form), so the error is far below the sampling error of any sample.

use crate::distance::kolmogorov_q;
use crate::error::{Error, Result};
use crate::expr::{self, Program, Scope};

/// Quantile points per level interval of the sample.
pub const SUBLEVELS: usize = 4;

/// An exact law on the real line.
#[derive(Clone, Debug)]
pub enum Law {
    /// `N(mean, sd^2)`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation, positive.
        sd: f64,
    },
    /// Uniform on `[lo, hi]`.
    Uniform {
        /// Lower end.
        lo: f64,
        /// Upper end.
        hi: f64,
    },
    /// Exponential of this rate on `[0, inf)`.
    Exponential {
        /// Rate, positive.
        rate: f64,
    },
    /// A CDF given as an expression in `x`, nondecreasing from 0 to 1.
    Cdf {
        /// The expression as written.
        text: String,
        /// Its program (f64).
        program: Program,
    },
    /// Probabilities per bin (normalised), uniform within each.
    Histogram {
        /// Bin edges, ascending, one more than the bins.
        edges: Vec<f64>,
        /// The CDF at each edge.
        cdf: Vec<f64>,
    },
}

/// `erfc(x)` to about 1e-15: the Maclaurin series of erf below 2 in absolute value, Lentz's
/// continued fraction of erfc above.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x.abs() < 2.0 {
        let (mut sum, mut term, mut k) = (0.0, x, 0.0);
        loop {
            let add = term / (2.0 * k + 1.0);
            sum += add;
            if add.abs() < 1e-17 * sum.abs().max(1e-300) {
                break;
            }
            k += 1.0;
            term *= -x * x / k;
        }
        return 1.0 - sum * 2.0 / std::f64::consts::PI.sqrt();
    }
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    // erfc x = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))).
    let tiny = 1e-300;
    let mut f = x;
    let (mut c, mut d) = (x, 0.0);
    for k in 1..300 {
        let a = k as f64 / 2.0;
        d = x + a * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = x + a / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x * x).exp() / (f * std::f64::consts::PI.sqrt())
}

impl Law {
    /// Parses `normal(m, s)`, `uniform(a, b)`, `exponential(rate)` or `cdf(EXPR)` (an
    /// expression in `x`), the numbers themselves expressions of constants.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] or [`Error::Expression`] naming `--law`.
    pub fn parse(text: &str) -> Result<Law> {
        let field = "--law";
        let bad = |why: &str| Error::invalid(field, text, why);
        let trimmed = text.trim();
        let (name, args) = trimmed
            .split_once('(')
            .and_then(|(n, rest)| Some((n.trim(), rest.strip_suffix(')')?)))
            .ok_or_else(|| {
                bad("normal(m, s), uniform(a, b), exponential(rate) or cdf(EXPRESSION in x)")
            })?;
        let number = |src: &str| -> Result<f64> {
            let node = expr::parse(src, &Scope::default()).map_err(|e| Error::Expression {
                field: field.into(),
                rendered: e.render(field, src),
            })?;
            let program = Program::compile(&node).ok_or_else(|| bad("nests too deep"))?;
            Ok(f64::from(program.eval(0.0, &[], &[])))
        };
        let two = || -> Result<(f64, f64)> {
            let (a, b) = args
                .split_once(',')
                .ok_or_else(|| bad("needs two numbers"))?;
            Ok((number(a)?, number(b)?))
        };
        let law = match name {
            "normal" => {
                let (mean, sd) = two()?;
                Law::Normal { mean, sd }
            }
            "uniform" => {
                let (lo, hi) = two()?;
                Law::Uniform { lo, hi }
            }
            "exponential" => Law::Exponential {
                rate: number(args)?,
            },
            "cdf" => {
                let scope = Scope::new(&["x"], &[] as &[&str]);
                let node = expr::parse(args, &scope).map_err(|e| Error::Expression {
                    field: field.into(),
                    rendered: e.render(field, args),
                })?;
                let program = Program::compile(&node).ok_or_else(|| bad("nests too deep"))?;
                Law::Cdf {
                    text: args.to_string(),
                    program,
                }
            }
            _ => {
                return Err(bad(
                    "normal(m, s), uniform(a, b), exponential(rate) or cdf(EXPRESSION in x)",
                ))
            }
        };
        law.check(text)?;
        Ok(law)
    }

    /// A histogram law from bin edges and each bin's weight (counts or probabilities).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `--law` for unsorted edges or weights that are negative
    /// or sum to zero.
    pub fn histogram(edges: Vec<f64>, weights: &[f64]) -> Result<Law> {
        let total: f64 = weights.iter().sum();
        let sorted = edges.windows(2).all(|w| w[0] < w[1]);
        if edges.len() != weights.len() + 1
            || !sorted
            || weights.iter().any(|w| w.is_nan() || *w < 0.0)
            || total.is_nan()
            || total <= 0.0
        {
            return Err(Error::invalid(
                "--law",
                "the histogram",
                "ascending bins with weights >= 0 of positive sum",
            ));
        }
        let mut cdf = vec![0.0];
        let mut sum = 0.0;
        for w in weights {
            sum += w;
            cdf.push(sum / total);
        }
        Ok(Law::Histogram { edges, cdf })
    }

    fn check(&self, text: &str) -> Result<()> {
        let ok = match self {
            Law::Normal { mean, sd } => mean.is_finite() && sd.is_finite() && *sd > 0.0,
            Law::Uniform { lo, hi } => lo.is_finite() && hi.is_finite() && lo < hi,
            Law::Exponential { rate } => rate.is_finite() && *rate > 0.0,
            Law::Cdf { .. } | Law::Histogram { .. } => true,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(
                "--law",
                text,
                "finite parameters: sd > 0, lo < hi, rate > 0",
            ))
        }
    }

    /// The CDF at `x`.
    pub fn cdf(&self, x: f64) -> f64 {
        match self {
            Law::Normal { mean, sd } => 0.5 * erfc(-(x - mean) / (sd * std::f64::consts::SQRT_2)),
            Law::Uniform { lo, hi } => ((x - lo) / (hi - lo)).clamp(0.0, 1.0),
            Law::Exponential { rate } => {
                if x <= 0.0 {
                    0.0
                } else {
                    -(-rate * x).exp_m1()
                }
            }
            Law::Cdf { program, .. } => program.eval_in::<f64>(0.0, &[x], &[]).clamp(0.0, 1.0),
            Law::Histogram { edges, cdf } => {
                if x <= edges[0] {
                    return 0.0;
                }
                let last = edges.len() - 1;
                if x >= edges[last] {
                    return 1.0;
                }
                let b = edges.partition_point(|e| *e <= x) - 1;
                let w = (x - edges[b]) / (edges[b + 1] - edges[b]);
                cdf[b] + w * (cdf[b + 1] - cdf[b])
            }
        }
    }

    /// The quantile at level `u` in (0, 1): in closed form for the families, by bisection on
    /// the CDF otherwise (from a bracket grown around `guess`).
    pub fn quantile(&self, u: f64, guess: f64) -> f64 {
        match self {
            Law::Uniform { lo, hi } => lo + u * (hi - lo),
            Law::Exponential { rate } => -(-u).ln_1p() / rate,
            _ => {
                let (mut lo, mut hi) = (guess - 1.0, guess + 1.0);
                let mut width = 1.0;
                while self.cdf(lo) > u && width < 1e300 {
                    width *= 2.0;
                    lo = guess - width;
                }
                width = 1.0;
                while self.cdf(hi) < u && width < 1e300 {
                    width *= 2.0;
                    hi = guess + width;
                }
                for _ in 0..200 {
                    let mid = 0.5 * (lo + hi);
                    if mid <= lo || mid >= hi {
                        break;
                    }
                    if self.cdf(mid) < u {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                0.5 * (lo + hi)
            }
        }
    }

    /// The law's mean and standard deviation where the family has them in closed form.
    pub fn moments(&self) -> Option<(f64, f64)> {
        match *self {
            Law::Normal { mean, sd } => Some((mean, sd)),
            Law::Uniform { lo, hi } => Some((0.5 * (lo + hi), (hi - lo) / 12f64.sqrt())),
            Law::Exponential { rate } => Some((1.0 / rate, 1.0 / rate)),
            _ => None,
        }
    }
}

/// A sample against an exact law.
#[derive(Clone, Debug, PartialEq)]
pub struct LawComparison {
    /// Finite values used.
    pub samples: usize,
    /// Non-finite values left out.
    pub dropped: usize,
    /// `sup_x |F_n(x) - F(x)|`.
    pub ks: f64,
    /// Its asymptotic p-value (Kolmogorov's law at `(sqrt(n) + 0.12 + 0.11 / sqrt(n)) D`).
    pub ks_pvalue: f64,
    /// Wasserstein-1 between the empirical and the exact law.
    pub w1: f64,
    /// Wasserstein-2.
    pub w2: f64,
    /// The sample's mean less the law's, when the law's is known.
    pub mean_diff: Option<f64>,
    /// Its standard error (the law's sd over sqrt(n)).
    pub mean_diff_se: Option<f64>,
}

/// Compares `sample` with `law` (non-finite values left out and counted).
pub fn against(sample: &[f64], law: &Law) -> LawComparison {
    let mut x: Vec<f64> = sample.iter().copied().filter(|v| v.is_finite()).collect();
    let dropped = sample.len() - x.len();
    let n = x.len();
    if n == 0 {
        return LawComparison {
            samples: 0,
            dropped,
            ks: f64::NAN,
            ks_pvalue: f64::NAN,
            w1: f64::NAN,
            w2: f64::NAN,
            mean_diff: None,
            mean_diff_se: None,
        };
    }
    x.sort_unstable_by(f64::total_cmp);
    let nf = n as f64;
    let mut d = 0.0f64;
    for (i, v) in x.iter().enumerate() {
        let f = law.cdf(*v);
        d = d.max((i + 1) as f64 / nf - f).max(f - i as f64 / nf);
    }
    let root = nf.sqrt();
    let ks_pvalue = kolmogorov_q((root + 0.12 + 0.11 / root) * d);
    let (mut w1, mut w2) = (0.0, 0.0);
    let mut guess = x[0];
    for (i, v) in x.iter().enumerate() {
        for k in 0..SUBLEVELS {
            let u = (i as f64 + (k as f64 + 0.5) / SUBLEVELS as f64) / nf;
            let q = law.quantile(u, guess);
            guess = q;
            let gap = (v - q).abs();
            w1 += gap;
            w2 += gap * gap;
        }
    }
    let points = (n * SUBLEVELS) as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let moments = law.moments();
    LawComparison {
        samples: n,
        dropped,
        ks: d,
        ks_pvalue,
        w1: w1 / points,
        w2: (w2 / points).sqrt(),
        mean_diff: moments.map(|(m, _)| mean - m),
        mean_diff_se: moments.map(|(_, s)| s / root),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_tabulated_values() {
        // Abramowitz and Stegun, table 7.1.
        for (x, erf) in [
            (0.5, 0.520_499_877_8),
            (1.0, 0.842_700_792_9),
            (2.0, 0.995_322_265_0),
        ] {
            assert!((1.0 - erfc(x) - erf).abs() < 1e-10, "{x}");
            assert!((erfc(-x) - 1.0 - erf).abs() < 1e-10, "{x}");
        }
        assert!((erfc(3.0) - 2.209_049_699_858_544e-5).abs() < 1e-18);
    }

    #[test]
    fn quantiles_invert_the_cdf() {
        let laws = [
            Law::parse("normal(1, 2)").unwrap(),
            Law::parse("cdf(0.5 + atan(x)/pi)").unwrap(),
            Law::parse("exponential(3)").unwrap(),
            Law::histogram(vec![0.0, 1.0, 3.0], &[1.0, 3.0]).unwrap(),
        ];
        for law in &laws {
            for u in [0.01, 0.3, 0.5, 0.97] {
                let q = law.quantile(u, 0.0);
                assert!((law.cdf(q) - u).abs() < 1e-12, "{law:?} at {u}");
            }
        }
        assert!(Law::parse("normal(0, -1)").is_err());
        assert!(Law::parse("gamma(2)").is_err());
    }

    /// The uniform sample i / (n + 1) against U(0, 1): D = 1/(n + 1), W1 about 1/(4n).
    #[test]
    fn a_regular_sample_is_close_to_its_law() {
        let n = 1000;
        let x: Vec<f64> = (1..=n).map(|i| i as f64 / (n + 1) as f64).collect();
        let c = against(&x, &Law::parse("uniform(0, 1)").unwrap());
        assert!((c.ks - 1.0 / (n + 1) as f64).abs() < 1e-12, "{}", c.ks);
        assert!(c.w1 < 1.0 / n as f64 && c.w2 >= c.w1, "{c:?}");
        assert_eq!(c.ks_pvalue, 1.0);
    }
}
