//! The chemical master equation of a reaction network, solved exactly on a finite state
//! projection (Munsky and Khammash 2006): the counts are bounded per species, probability that
//! would leave the box goes to a sink instead, and the mass in the sink is exactly the error of
//! every probability computed (the projected solution is a lower bound of the true one, short
//! by at most that mass). Time stepping is by uniformization (Jensen 1953): with `L` at least
//! every exit rate, `p(t) = sum_k Poisson(k; L t) (I + Q / L)^k p(0)`, summed in f64 over
//! steps of `L dt <= 20` until the Poisson tail is below 1e-16.

use crate::error::{Error, Result};
use crate::reactions::ReactionNetwork;

/// The master equation of a network on the box `[0, max_i]` of counts.
pub struct MasterEquation {
    bounds: Vec<u32>,
    /// Per state: (target state or `None` for the sink, rate) of each transition.
    transitions: Vec<Vec<(Option<usize>, f64)>>,
    /// Per state: total exit rate.
    exit: Vec<f64>,
    rate_bound: f64,
}

/// The probabilities at one time.
#[derive(Clone, Debug)]
pub struct Distribution {
    /// The time.
    pub t: f64,
    /// Probability of each state of the box (index with [`MasterEquation::index`]).
    pub p: Vec<f64>,
    /// The projection's error: probability that left the box by time `t`.
    pub error: f64,
}

impl MasterEquation {
    /// The projection of `network` on counts `0..=bounds[i]`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the box does not hold the initial counts, and
    /// [`Error::Limit`] beyond 10^7 states.
    pub fn new(network: &ReactionNetwork, bounds: &[u32]) -> Result<Self> {
        let s = network.species.len();
        if bounds.len() != s {
            return Err(Error::invalid(
                "cme.bounds",
                format!("{} bounds", bounds.len()),
                format!("one per species ({s})"),
            ));
        }
        for (i, (b, x0)) in bounds.iter().zip(&network.initial).enumerate() {
            if x0 > b {
                return Err(Error::invalid(
                    format!("cme.bounds.{}", network.species[i]),
                    b,
                    format!("the box must hold the initial count {x0}"),
                ));
            }
        }
        let states: f64 = bounds.iter().map(|b| f64::from(*b) + 1.0).product();
        if states > 1e7 {
            return Err(Error::Limit(format!(
                "the box has {states} states; at most 10^7"
            )));
        }
        let states = states as usize;
        let mut me = MasterEquation {
            bounds: bounds.to_vec(),
            transitions: Vec::with_capacity(states),
            exit: Vec::with_capacity(states),
            rate_bound: 0.0,
        };
        let mut a = vec![0.0; network.reactions.len()];
        let mut x = vec![0.0; s];
        for index in 0..states {
            let counts = me.counts(index);
            for (v, c) in x.iter_mut().zip(&counts) {
                *v = f64::from(*c);
            }
            network.propensities_f64(&x, &mut a);
            let mut out = Vec::new();
            let mut total = 0.0;
            for (r, &rate) in network.reactions.iter().zip(&a) {
                if rate <= 0.0 {
                    continue;
                }
                total += rate;
                let target: Option<Vec<u32>> = counts
                    .iter()
                    .zip(&r.change)
                    .zip(bounds)
                    .map(|((c, d), b)| {
                        let y = i64::from(*c) + i64::from(*d);
                        (0..=i64::from(*b)).contains(&y).then_some(y as u32)
                    })
                    .collect();
                out.push((target.map(|y| me.index(&y)), rate));
            }
            me.rate_bound = me.rate_bound.max(total);
            me.transitions.push(out);
            me.exit.push(total);
        }
        Ok(me)
    }

    /// Number of states in the box.
    pub fn states(&self) -> usize {
        self.exit.len()
    }

    /// The index of counts `x` (the first species varies fastest).
    pub fn index(&self, x: &[u32]) -> usize {
        let mut index = 0;
        for (c, b) in x.iter().zip(&self.bounds).rev() {
            index = index * (*b as usize + 1) + *c as usize;
        }
        index
    }

    /// The counts of state `index`.
    pub fn counts(&self, index: usize) -> Vec<u32> {
        let mut rest = index;
        self.bounds
            .iter()
            .map(|b| {
                let n = *b as usize + 1;
                let c = rest % n;
                rest /= n;
                c as u32
            })
            .collect()
    }

    /// `p + (Q p) / L` into `out`; what would leave the box is dropped (it goes to the sink).
    fn apply(&self, p: &[f64], out: &mut [f64]) {
        let l = self.rate_bound;
        for (o, (v, e)) in out.iter_mut().zip(p.iter().zip(&self.exit)) {
            *o = v * (1.0 - e / l);
        }
        for (from, moves) in self.transitions.iter().enumerate() {
            let v = p[from];
            if v == 0.0 {
                continue;
            }
            for (to, rate) in moves {
                if let Some(to) = to {
                    out[*to] += v * rate / l;
                }
            }
        }
    }

    /// The distribution at each of `times` (ascending, from 0) from the network's initial
    /// counts.
    pub fn solve(&self, initial: &[u32], times: &[f64]) -> Vec<Distribution> {
        let mut p = vec![0.0; self.states()];
        p[self.index(initial)] = 1.0;
        let mut now = 0.0;
        let mut out = Vec::new();
        let l = self.rate_bound.max(1e-300);
        for &t in times {
            while now < t {
                let dt = (t - now).min(20.0 / l);
                self.advance(&mut p, l * dt);
                now += dt;
            }
            let error = (1.0 - p.iter().sum::<f64>()).max(0.0);
            out.push(Distribution {
                t,
                p: p.clone(),
                error,
            });
        }
        out
    }

    /// Advances `p` by uniformized time `m = L dt` (at most 20, so that `exp(-m)` and the
    /// Poisson weights stay well inside f64).
    fn advance(&self, p: &mut Vec<f64>, m: f64) {
        let mut term = p.clone();
        let mut next = vec![0.0; p.len()];
        let mut weight = (-m).exp();
        let mut acc: Vec<f64> = term.iter().map(|v| v * weight).collect();
        let mut k = 0u32;
        // Past the mode (k > m) the Poisson terms fall geometrically by m / (k + 1) <= 20/21 or
        // faster: a weight below 1e-18 leaves a tail below 2e-17.
        while f64::from(k) <= m || weight > 1e-18 {
            k += 1;
            self.apply(&term, &mut next);
            std::mem::swap(&mut term, &mut next);
            weight *= m / f64::from(k);
            for (a, v) in acc.iter_mut().zip(&term) {
                *a += weight * v;
            }
        }
        *p = acc;
    }

    /// The mean and variance of species `i` under `p`.
    pub fn mean_variance(&self, p: &[f64], i: usize) -> (f64, f64) {
        let m = self.marginal(p, i);
        let mean: f64 = m.iter().enumerate().map(|(k, q)| k as f64 * q).sum();
        let variance = m
            .iter()
            .enumerate()
            .map(|(k, q)| (k as f64 - mean).powi(2) * q)
            .sum();
        (mean, variance)
    }

    /// The marginal distribution of species `i` from `p`.
    pub fn marginal(&self, p: &[f64], i: usize) -> Vec<f64> {
        let mut m = vec![0.0; self.bounds[i] as usize + 1];
        for (index, v) in p.iter().enumerate() {
            m[self.counts(index)[i] as usize] += v;
        }
        m
    }
}
