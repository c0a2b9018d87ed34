//! Twin of `shaders/tau_leap.wgsl`: tau-leaping with Cao-Gillespie-Petzold step selection,
//! critical reactions fired one at a time and SSA runs when leaps would be short, one
//! invocation per trajectory (in parallel with rayon), written as in the shader.

use super::jump_clock::{add_ticks, before, choose, ticks_of, time_of, total, Rates};
use super::ode_adaptive::{for_each_invocation, Bindings, Invocation};
use super::poisson::poisson;
use super::trajectory::initial_state;
use crate::adaptive::AdaptiveSegment;
use crate::model::Model;
use crate::philox::{philox4x32_10, uniform_open01};
use crate::reactions::{ReactionNetwork, MAX_REACTIONS};
use crate::state::MAX_DIM;

const WORD_CRITICAL: u32 = 24;
const WORD_SSA: u32 = 25;
const WORD_POISSON: u32 = 32;
const N_CRITICAL: f32 = 10.0;
const SSA_THRESHOLD: f32 = 10.0;
const SSA_RUN: f32 = 100.0;
/// Twin of `remaining`.
fn remaining(seg: &AdaptiveSegment, t: [u32; 2]) -> f32 {
    let b = [seg.target_tick_lo, seg.target_tick_hi];
    let borrow = u32::from(b[0] < t[0]);
    ((b[1] - t[1] - borrow) as f32 * 4_294_967_296.0 + b[0].wrapping_sub(t[0]) as f32)
        / seg.tick_rate
}

/// Twin of the `tau_leap` kernel for the network of `m`.
pub fn tau_leap<M: Model + ?Sized>(m: &M, network: &ReactionNetwork, b: Bindings<'_>) {
    let (seg, init, dim) = (b.seg, b.init, m.dim());
    let r = network.reactions.len();
    let orders = network.highest_orders();
    let target = super::jump_clock::target_tick(seg);
    let change = |j: usize, i: usize| network.reactions[j].change[i] as f32;
    for_each_invocation(b, dim, |inv| {
        let Invocation {
            trajectory,
            params,
            state: xs,
            clock,
            counts,
        } = inv;
        let p = &params[..];
        let mut a: Rates = [0.0; MAX_REACTIONS];
        let mut x = [0.0; MAX_DIM];
        let (mut t, mut steps, mut negative, mut ssa_left, mut cap);
        if seg.flags & crate::plan::FLAG_INIT != 0 {
            x = initial_state(seg.key, init, dim, trajectory);
            (t, steps, negative, ssa_left, cap) = ([0u32, 0u32], 0u32, false, 0.0f32, 0.0f32);
        } else {
            x[..dim].copy_from_slice(xs);
            (ssa_left, cap) = (clock[1], clock[2]);
            (steps, negative) = (counts[0], counts[1] != 0);
            t = [counts[2], counts[3]];
        }
        for _ in 0..seg.attempts {
            if !before(t, target) || steps >= seg.max_steps {
                break;
            }
            negative |= network.propensities(time_of(seg, t), &x[..dim], p, &mut a);
            let a0 = total(&a, r);
            if a0 <= 0.0 {
                t = target;
                break;
            }
            let rest = remaining(seg, t);
            if ssa_left > 0.0 {
                let w = philox4x32_10([trajectory[0], trajectory[1], steps, WORD_SSA], seg.key);
                let wait = -uniform_open01(w[0]).ln() / a0;
                steps += 1;
                if wait >= rest {
                    t = target;
                    ssa_left = 0.0;
                    continue;
                }
                let j = choose(&a, r, uniform_open01(w[1]) * a0);
                for (i, v) in x[..dim].iter_mut().enumerate() {
                    *v += change(j, i);
                }
                t = add_ticks(t, ticks_of(seg, wait));
                ssa_left -= 1.0;
                continue;
            }
            let mut critical = [false; MAX_REACTIONS];
            let mut a0c = 0.0f32;
            for j in 0..r {
                let mut firings = 1e30f32;
                for (i, v) in x[..dim].iter().enumerate() {
                    let c = change(j, i);
                    if c < 0.0 && orders[i].0 > 0 {
                        firings = firings.min((v / -c).floor());
                    }
                }
                critical[j] = a[j] > 0.0 && firings < N_CRITICAL;
                a0c += if critical[j] { a[j] } else { 0.0 };
            }
            let mut tau1 = 1e30f32;
            for (i, v) in x[..dim].iter().enumerate() {
                let (mut mu, mut s2, mut reactant) = (0.0f32, 0.0f32, false);
                for j in 0..r {
                    if !critical[j] {
                        let c = change(j, i);
                        mu += c * a[j];
                        s2 += c * c * a[j];
                        reactant = reactant || c < 0.0;
                    }
                }
                if reactant && orders[i].0 > 0 {
                    let g = ReactionNetwork::g_factor(orders[i], *v);
                    let bound = (seg.rtol * v / g).max(1.0);
                    tau1 =
                        tau1.min((bound / mu.abs().max(1e-30)).min(bound * bound / s2.max(1e-30)));
                }
            }
            if cap > 0.0 {
                tau1 = tau1.min(cap);
            }
            if tau1 < SSA_THRESHOLD / a0 {
                ssa_left = SSA_RUN;
                continue;
            }
            let w = philox4x32_10(
                [trajectory[0], trajectory[1], steps, WORD_CRITICAL],
                seg.key,
            );
            let tau2 = if a0c > 0.0 {
                -uniform_open01(w[0]).ln() / a0c
            } else {
                1e30
            };
            let mut tau = tau1.min(rest);
            let fire = tau2 < tau;
            if fire {
                tau = tau2;
            }
            let mut y = x;
            for j in 0..r {
                if !critical[j] && a[j] > 0.0 {
                    let k = poisson(
                        seg.key,
                        trajectory,
                        steps,
                        WORD_POISSON + j as u32,
                        a[j] * tau,
                    );
                    for (i, v) in y[..dim].iter_mut().enumerate() {
                        *v += k * change(j, i);
                    }
                }
            }
            if fire {
                let mut ac: Rates = [0.0; MAX_REACTIONS];
                for j in 0..r {
                    ac[j] = if critical[j] { a[j] } else { 0.0 };
                }
                let j = choose(&ac, r, uniform_open01(w[1]) * a0c);
                for (i, v) in y[..dim].iter_mut().enumerate() {
                    *v += change(j, i);
                }
            }
            steps += 1;
            if (0..dim).any(|i| y[i] < 0.0 && orders[i].0 > 0) {
                cap = 0.5 * tau;
                continue;
            }
            x = y;
            cap = 0.0;
            t = if !fire && tau1 >= rest {
                target
            } else {
                add_ticks(t, ticks_of(seg, tau))
            };
        }
        xs.copy_from_slice(&x[..dim]);
        let done = !before(t, target);
        network.propensities(time_of(seg, t), &x[..dim], p, &mut a);
        let absorbed = total(&a, r) <= 0.0;
        clock.copy_from_slice(&[
            if done { seg.t_target } else { time_of(seg, t) },
            ssa_left,
            cap,
            if absorbed { 1.0 } else { 0.0 },
        ]);
        counts.copy_from_slice(&[steps, u32::from(negative), t[0], t[1]]);
        !done && steps < seg.max_steps
    });
}
