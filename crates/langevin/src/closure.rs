//! Moment equations of a reaction network with polynomial propensities, closed at a chosen
//! order, integrated in f64 on the CPU: the approximations users weigh against SSA (as
//! MomentClosure.jl does).
//!
//! The raw moments `E[X^a]` with `|a| <= order` evolve by
//! `d/dt E[X^a] = sum_j E[a_j(X) ((X + nu_j)^a - X^a)]`. The right side needs moments of
//! higher order, which a closure expresses by the tracked ones: the **normal** closure (order 2)
//! takes the higher central moments of a Gaussian with the tracked mean and covariance
//! (Isserlis); the **zero** closure (order 2 or 3) sets the central moments above the order to
//! zero. A closure is reported unphysical from the first time a mean or a variance turns
//! negative or a moment stops being finite.

use crate::error::{Error, Result};
use crate::expr::{BinOp, Node, Sym};
use crate::reactions::ReactionNetwork;
use std::collections::BTreeMap;

/// A multi-index: the power of each species.
type Powers = Vec<u32>;
/// A polynomial in the counts: monomial powers to coefficient.
type Poly = BTreeMap<Powers, f64>;

/// A moment closure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closure {
    /// Higher central moments of the Gaussian with the tracked mean and covariance (order 2).
    Normal,
    /// Higher central moments set to zero, at order 2 or 3.
    Zero(u32),
}

impl Closure {
    /// The name in configs: `normal2`, `zero2`, `zero3`.
    pub fn name(self) -> String {
        match self {
            Closure::Normal => "normal2".into(),
            Closure::Zero(m) => format!("zero{m}"),
        }
    }

    /// The closure named `name`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an unknown name.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "normal2" | "normal" => Ok(Closure::Normal),
            "zero2" => Ok(Closure::Zero(2)),
            "zero3" => Ok(Closure::Zero(3)),
            _ => Err(Error::invalid(
                "output.closures",
                name,
                "expected normal2, zero2 or zero3",
            )),
        }
    }

    fn order(self) -> u32 {
        match self {
            Closure::Normal => 2,
            Closure::Zero(m) => m,
        }
    }
}

fn add_into(p: &mut Poly, q: &Poly, scale: f64) {
    for (k, v) in q {
        *p.entry(k.clone()).or_insert(0.0) += scale * v;
    }
}

fn mul(p: &Poly, q: &Poly) -> Poly {
    let mut out = Poly::new();
    for (a, x) in p {
        for (b, y) in q {
            let k: Powers = a.iter().zip(b).map(|(i, j)| i + j).collect();
            *out.entry(k).or_insert(0.0) += x * y;
        }
    }
    out
}

fn constant(species: usize, v: f64) -> Poly {
    Poly::from([(vec![0; species], v)])
}

/// The polynomial of an expression in the counts, with the parameters' values substituted.
fn polynomial(node: &Node, species: usize, params: &[f64]) -> Option<Poly> {
    Some(match node {
        Node::Num(v) => constant(species, *v),
        Node::Sym(Sym::State(i)) => {
            let mut k = vec![0; species];
            k[*i] = 1;
            Poly::from([(k, 1.0)])
        }
        Node::Sym(Sym::Param(k)) => constant(species, params[*k]),
        Node::Sym(Sym::Time) => return None,
        Node::Neg(a) => {
            let mut p = polynomial(a, species, params)?;
            p.values_mut().for_each(|v| *v = -*v);
            p
        }
        Node::Bin(op, a, b) => {
            let pa = polynomial(a, species, params)?;
            match op {
                BinOp::Add | BinOp::Sub => {
                    let pb = polynomial(b, species, params)?;
                    let mut p = pa;
                    add_into(&mut p, &pb, if *op == BinOp::Add { 1.0 } else { -1.0 });
                    p
                }
                BinOp::Mul => mul(&pa, &polynomial(b, species, params)?),
                BinOp::Div => {
                    // Only by a constant.
                    let d = crate::expr::wgsl::folded_constant(b).or_else(|| {
                        polynomial(b, species, params).and_then(|q| {
                            (q.len() == 1).then(|| q.get(&vec![0; species]).copied())?
                        })
                    })?;
                    let mut p = pa;
                    p.values_mut().for_each(|v| *v /= d);
                    p
                }
                BinOp::Pow => {
                    let n = crate::expr::wgsl::integer_power(b)?;
                    if n < 0 {
                        return None;
                    }
                    let mut p = constant(species, 1.0);
                    for _ in 0..n {
                        p = mul(&p, &pa);
                    }
                    p
                }
            }
        }
        Node::Call(..) | Node::If { .. } => return None,
    })
}

/// All multi-indices of `species` powers with total degree at most `order`, by degree.
fn indices(species: usize, order: u32) -> Vec<Powers> {
    let mut out = vec![vec![0; species]];
    let mut frontier = out.clone();
    for _ in 0..order {
        let mut next = Vec::new();
        for k in &frontier {
            for i in 0..species {
                let mut n = k.clone();
                n[i] += 1;
                if !next.contains(&n) && !out.contains(&n) {
                    next.push(n);
                }
            }
        }
        out.extend(next.iter().cloned());
        frontier = next;
    }
    out
}

fn binomial(n: u32, k: u32) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * f64::from(n - i) / f64::from(i + 1))
}

/// The moment equations of a network, closed.
pub struct MomentEquations {
    species: usize,
    closure: Closure,
    /// Tracked raw moments (the first is the constant 1).
    tracked: Vec<Powers>,
    /// The monomials the right sides take the expectation of.
    monomials: Vec<Powers>,
    /// Per tracked moment: its right side as (monomial index, coefficient) pairs.
    rhs: Vec<Vec<(usize, f64)>>,
}

/// Means and variances over time from a closure, and when it went unphysical.
#[derive(Clone, Debug)]
pub struct ClosureSolution {
    /// The closure.
    pub closure: Closure,
    /// The times.
    pub times: Vec<f64>,
    /// Per time and species: mean.
    pub mean: Vec<Vec<f64>>,
    /// Per time and species: variance.
    pub variance: Vec<Vec<f64>>,
    /// The first time a mean or a variance was negative, or a moment not finite.
    pub unphysical_from: Option<f64>,
}

/// How a closure's means compare with an ensemble's (a run, or the master equation).
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The first time at which the closure's mean of a species (the second value) lies more
    /// than five standard errors of the ensemble's mean from it.
    pub departs_at: Option<(f64, usize)>,
    /// The species whose closure mean oscillates over the second half of the times where the
    /// ensemble's does not: it turns at least twice, and its range there exceeds twice the
    /// ensemble mean's range plus ten standard errors.
    pub oscillates_alone: Vec<usize>,
}

impl ClosureSolution {
    /// Compares the closure's means with an ensemble's `mean` and `variance` (per time of
    /// `self.times` and species) over `n` trajectories.
    pub fn verdict(&self, mean: &[Vec<f64>], variance: &[Vec<f64>], n: u64) -> Verdict {
        let se = |k: usize, i: usize| (variance[k][i].max(0.0) / n.max(1) as f64).sqrt();
        let species = self.mean.first().map_or(0, Vec::len);
        let departs_at = (0..self.times.len()).find_map(|k| {
            (0..species)
                .find(|&i| {
                    let gap = (self.mean[k][i] - mean[k][i]).abs();
                    gap > 5.0 * se(k, i) || gap.is_nan()
                })
                .map(|i| (self.times[k], i))
        });
        let late = self.times.len() / 2..self.times.len();
        let range = |v: &mut dyn Iterator<Item = f64>| {
            v.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                (lo.min(x), hi.max(x))
            })
        };
        let oscillates_alone = (0..species)
            .filter(|&i| {
                let closed: Vec<f64> = late.clone().map(|k| self.mean[k][i]).collect();
                let turns = closed
                    .windows(3)
                    .filter(|w| (w[1] - w[0]) * (w[2] - w[1]) < 0.0)
                    .count();
                let (lo, hi) = range(&mut closed.iter().copied());
                let (rlo, rhi) = range(&mut late.clone().map(|k| mean[k][i]));
                let noise = late.clone().map(|k| se(k, i)).fold(0.0, f64::max);
                turns >= 2 && hi - lo > 2.0 * (rhi - rlo) + 10.0 * noise
            })
            .collect();
        Verdict {
            departs_at,
            oscillates_alone,
        }
    }
}

impl MomentEquations {
    /// The closed moment equations of `network`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when a propensity is not a polynomial in the counts (or depends
    /// on `t`).
    pub fn new(network: &ReactionNetwork, closure: Closure) -> Result<Self> {
        let s = network.species.len();
        let params: Vec<f64> = network.params.iter().map(|(_, v)| *v).collect();
        let names: Vec<&str> = network.params.iter().map(|(n, _)| n.as_str()).collect();
        let scope = crate::expr::Scope::new(&network.species, &names);
        let tracked = indices(s, closure.order());
        let mut rhs = vec![Poly::new(); tracked.len()];
        for (j, r) in network.reactions.iter().enumerate() {
            let node =
                crate::expr::parse(&r.propensity, &scope).map_err(|e| Error::Expression {
                    field: format!("model.reactions[{j}]"),
                    rendered: e.render("model.reactions", &r.propensity),
                })?;
            let a = polynomial(&node, s, &params).ok_or_else(|| {
                Error::invalid(
                    format!("model.reactions[{j}]"),
                    &r.propensity,
                    "moment closures need propensities that are polynomials in the counts",
                )
            })?;
            for (alpha, out) in tracked.iter().zip(rhs.iter_mut()) {
                // (X + nu)^alpha - X^alpha, expanded.
                let mut shifted = constant(s, 1.0);
                for (i, &p) in alpha.iter().enumerate() {
                    let mut xi = vec![0; s];
                    xi[i] = 1;
                    let base = Poly::from([(xi, 1.0), (vec![0; s], f64::from(r.change[i]))]);
                    for _ in 0..p {
                        shifted = mul(&shifted, &base);
                    }
                }
                add_into(&mut shifted, &Poly::from([(alpha.clone(), 1.0)]), -1.0);
                add_into(out, &mul(&a, &shifted), 1.0);
            }
        }
        let mut monomials: Vec<Powers> = Vec::new();
        let rhs = rhs
            .into_iter()
            .map(|poly| {
                poly.into_iter()
                    .filter(|(_, c)| *c != 0.0)
                    .map(|(beta, c)| {
                        let at = monomials
                            .iter()
                            .position(|m| *m == beta)
                            .unwrap_or_else(|| {
                                monomials.push(beta);
                                monomials.len() - 1
                            });
                        (at, c)
                    })
                    .collect()
            })
            .collect();
        Ok(MomentEquations {
            species: s,
            closure,
            tracked,
            monomials,
            rhs,
        })
    }

    fn tracked_index(&self, k: &[u32]) -> Option<usize> {
        self.tracked.iter().position(|t| t == k)
    }

    /// E[X^beta] from the tracked raw moments `m`, closing beyond the order.
    fn raw(&self, m: &[f64], beta: &[u32]) -> f64 {
        if let Some(i) = self.tracked_index(beta) {
            return m[i];
        }
        // E[X^beta] = sum_{gamma <= beta} C(beta, gamma) mu^(beta - gamma) E[D^gamma].
        let mu: Vec<f64> = (0..self.species).map(|i| m[1 + i]).collect();
        let mut total = 0.0;
        for gamma in sub_indices(beta) {
            let mut w = 1.0;
            for i in 0..self.species {
                w *= binomial(beta[i], gamma[i]) * mu[i].powi((beta[i] - gamma[i]) as i32);
            }
            if w != 0.0 {
                total += w * self.central(m, &mu, &gamma);
            }
        }
        total
    }

    /// The central moment E[D^gamma]: from the tracked raw moments within the order, from the
    /// closure beyond it.
    fn central(&self, m: &[f64], mu: &[f64], gamma: &[u32]) -> f64 {
        let degree: u32 = gamma.iter().sum();
        if degree <= self.closure.order() {
            // sum_{delta <= gamma} C(gamma, delta) (-mu)^(gamma - delta) E[X^delta].
            return sub_indices(gamma)
                .iter()
                .map(|delta| {
                    let mut w = 1.0;
                    for i in 0..self.species {
                        w *= binomial(gamma[i], delta[i])
                            * (-mu[i]).powi((gamma[i] - delta[i]) as i32);
                    }
                    w * m[self.tracked_index(delta).expect("within the order")]
                })
                .sum();
        }
        match self.closure {
            Closure::Zero(_) => 0.0,
            Closure::Normal => {
                // Isserlis: the sum over pairings of the covariances.
                let mut labels = Vec::new();
                for (i, &p) in gamma.iter().enumerate() {
                    labels.extend(std::iter::repeat_n(i, p as usize));
                }
                let cov = |i: usize, k: usize| {
                    let mut idx = vec![0; self.species];
                    idx[i] += 1;
                    idx[k] += 1;
                    m[self
                        .tracked_index(&idx)
                        .expect("second moments are tracked")]
                        - mu[i] * mu[k]
                };
                pairings(&labels, &cov)
            }
        }
    }

    /// d/dt of the tracked raw moments: each monomial's expectation once, then the sums.
    fn derivative(&self, m: &[f64]) -> Vec<f64> {
        let values: Vec<f64> = self.monomials.iter().map(|b| self.raw(m, b)).collect();
        self.rhs
            .iter()
            .map(|terms| terms.iter().map(|(k, c)| c * values[*k]).sum())
            .collect()
    }

    /// Integrates from the counts `initial` (a point mass) by classical RK4 with `substeps`
    /// steps between the given times (ascending, from 0).
    pub fn solve(&self, initial: &[u32], times: &[f64], substeps: u32) -> ClosureSolution {
        let mut m: Vec<f64> = self
            .tracked
            .iter()
            .map(|k| {
                k.iter()
                    .zip(initial)
                    .map(|(p, x)| f64::from(*x).powi(*p as i32))
                    .product()
            })
            .collect();
        let mut now = 0.0;
        let mut out = ClosureSolution {
            closure: self.closure,
            times: times.to_vec(),
            mean: Vec::new(),
            variance: Vec::new(),
            unphysical_from: None,
        };
        for &t in times {
            let h = (t - now) / f64::from(substeps.max(1));
            for _ in 0..substeps.max(1) {
                if h <= 0.0 {
                    break;
                }
                let k1 = self.derivative(&m);
                let at = |k: &[f64], f: f64| -> Vec<f64> {
                    m.iter().zip(k).map(|(a, b)| a + f * b).collect()
                };
                let k2 = self.derivative(&at(&k1, h / 2.0));
                let k3 = self.derivative(&at(&k2, h / 2.0));
                let k4 = self.derivative(&at(&k3, h));
                for i in 0..m.len() {
                    m[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
                }
                now += h;
                if out.unphysical_from.is_none() && !self.physical(&m) {
                    out.unphysical_from = Some(now);
                }
            }
            now = t;
            let mean: Vec<f64> = (0..self.species).map(|i| m[1 + i]).collect();
            let variance = (0..self.species)
                .map(|i| match self.closure.order() {
                    1 => f64::NAN,
                    _ => {
                        let mut idx = vec![0; self.species];
                        idx[i] = 2;
                        m[self.tracked_index(&idx).expect("tracked")] - mean[i] * mean[i]
                    }
                })
                .collect();
            out.mean.push(mean);
            out.variance.push(variance);
        }
        out
    }

    /// Finite moments, nonnegative means and (from order 2) nonnegative variances.
    fn physical(&self, m: &[f64]) -> bool {
        m.iter().all(|v| v.is_finite())
            && (0..self.species).all(|i| {
                if m[1 + i] < 0.0 {
                    return false;
                }
                let mut idx = vec![0; self.species];
                idx[i] = 2;
                self.tracked_index(&idx)
                    .is_none_or(|k| m[k] - m[1 + i] * m[1 + i] >= -1e-9 * m[k].abs().max(1.0))
            })
    }
}

/// Every multi-index below `beta`, component by component.
fn sub_indices(beta: &[u32]) -> Vec<Powers> {
    let mut out = vec![Vec::new()];
    for &b in beta {
        out = out
            .into_iter()
            .flat_map(|prefix: Powers| {
                (0..=b).map(move |g| {
                    let mut p = prefix.clone();
                    p.push(g);
                    p
                })
            })
            .collect();
    }
    out
}

/// The sum over perfect matchings of `labels` of the product of `cov` over the pairs.
fn pairings(labels: &[usize], cov: &dyn Fn(usize, usize) -> f64) -> f64 {
    if labels.is_empty() {
        return 1.0;
    }
    if labels.len() % 2 == 1 {
        return 0.0;
    }
    let first = labels[0];
    let mut total = 0.0;
    for k in 1..labels.len() {
        let rest: Vec<usize> = labels[1..]
            .iter()
            .enumerate()
            .filter(|(i, _)| *i + 1 != k)
            .map(|(_, v)| *v)
            .collect();
        total += cov(first, labels[k]) * pairings(&rest, cov);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reactions::ReactionSpec;

    fn birth_death() -> ReactionNetwork {
        ReactionNetwork::new(
            &[("X".into(), 60)],
            &[("k".into(), 20.0), ("g".into(), 0.5)],
            &[
                ReactionSpec {
                    eq: "0 -> X".into(),
                    rate: Some("k".into()),
                    propensity: None,
                },
                ReactionSpec {
                    eq: "X -> 0".into(),
                    rate: Some("g".into()),
                    propensity: None,
                },
            ],
        )
        .unwrap()
    }

    /// Linear propensities close exactly: every closure gives birth-death's exact mean and
    /// variance (Binomial + Poisson).
    #[test]
    fn linear_networks_close_exactly() {
        let n = birth_death();
        for closure in [Closure::Normal, Closure::Zero(2), Closure::Zero(3)] {
            let eq = MomentEquations::new(&n, closure).unwrap();
            let s = eq.solve(&n.initial, &[0.5, 2.0, 8.0], 400);
            for (k, t) in s.times.iter().enumerate() {
                let q = (-0.5 * t).exp();
                let mean = 40.0 * (1.0 - q) + 60.0 * q;
                let var = 40.0 * (1.0 - q) + 60.0 * q * (1.0 - q);
                assert!((s.mean[k][0] - mean).abs() < 1e-9, "{closure:?}");
                assert!((s.variance[k][0] - var).abs() < 1e-8, "{closure:?}");
            }
            assert_eq!(s.unphysical_from, None);
        }
    }

    #[test]
    fn isserlis_gives_gaussian_moments() {
        let cov = |i: usize, k: usize| [[2.0, 0.5], [0.5, 1.0]][i][k];
        assert_eq!(pairings(&[0, 0, 0, 0], &cov), 3.0 * 4.0);
        assert_eq!(pairings(&[0, 0, 1, 1], &cov), 2.0 * 1.0 + 2.0 * 0.25);
        assert_eq!(pairings(&[0, 1, 1], &cov), 0.0);
    }
}
