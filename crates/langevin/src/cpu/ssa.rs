//! Twin of `shaders/ssa.wgsl`: Gillespie's direct method, one invocation per trajectory (in
//! parallel with rayon), written as in the shader. The bindings are those of `ode_adaptive`.

use super::ode_adaptive::{for_each_invocation, Bindings, Invocation};
use super::trajectory::initial_state;
use crate::adaptive::AdaptiveSegment;
use crate::model::{Model, MAX_DIM};
use crate::philox::{philox4x32_10, uniform_open01};
use crate::plan::FLAG_INIT;
use crate::reactions::{ReactionNetwork, MAX_REACTIONS};

/// Twin of `STREAM_JUMP`.
pub const STREAM_JUMP: u32 = 16;

type Rates = [f32; MAX_REACTIONS];

/// Twin of `event_uniforms`.
pub fn event_uniforms(key: [u32; 2], trajectory: [u32; 2], k: u32) -> (f32, f32) {
    let w = philox4x32_10([trajectory[0], trajectory[1], k >> 1, STREAM_JUMP], key);
    let lane = 2 * (k & 1) as usize;
    (uniform_open01(w[lane]), uniform_open01(w[lane + 1]))
}

/// Twin of `MAX_WAIT_TICKS`.
const MAX_WAIT_TICKS: f32 = 1_125_899_906_842_624.0;
/// Twin of `NEVER`.
const NEVER: [u32; 2] = [0, u32::MAX];

/// Twin of `add_wait`.
fn add_wait(seg: &AdaptiveSegment, t: [u32; 2], w: f32) -> [u32; 2] {
    let ticks = (w * seg.tick_rate).min(MAX_WAIT_TICKS);
    let hi = (ticks / 4_294_967_296.0).floor();
    let lo = (ticks - hi * 4_294_967_296.0).round() as u32;
    let (sum, carry) = t[0].overflowing_add(lo);
    [sum, t[1] + hi as u32 + u32::from(carry)]
}

/// Twin of `total`.
fn total(a: &Rates, reactions: usize) -> f32 {
    let mut a0 = 0.0f32;
    for v in &a[..reactions] {
        a0 += v;
    }
    a0
}

/// Twin of `next_time`.
fn next_time(seg: &AdaptiveSegment, t: [u32; 2], a0: f32, u: f32) -> [u32; 2] {
    if a0 <= 0.0 || t[1] == NEVER[1] {
        return NEVER;
    }
    add_wait(seg, t, -u.ln() / a0)
}

/// Twin of `time_of`.
fn time_of(seg: &AdaptiveSegment, t: [u32; 2]) -> f32 {
    seg.t_start + (t[1] as f32 * 4_294_967_296.0 + t[0] as f32) / seg.tick_rate
}

/// Twin of `choose`.
fn choose(a: &Rates, reactions: usize, level: f32) -> usize {
    let mut sum = 0.0f32;
    let mut last = 0;
    for (j, v) in a[..reactions].iter().enumerate() {
        if *v > 0.0 {
            last = j;
            sum += v;
            if level < sum {
                return j;
            }
        }
    }
    last
}

/// Twin of `beyond`.
fn beyond(seg: &AdaptiveSegment, t: [u32; 2]) -> bool {
    t[1] > seg.target_tick_hi || (t[1] == seg.target_tick_hi && t[0] > seg.target_tick_lo)
}

/// Twin of the `ssa` kernel for the network of `m`.
pub fn ssa<M: Model + ?Sized>(m: &M, network: &ReactionNetwork, b: Bindings<'_>) {
    let (seg, init, dim) = (b.seg, b.init, m.dim());
    let reactions = network.reactions.len();
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
        let (mut t_next, mut events, mut negative);
        if seg.flags & FLAG_INIT != 0 {
            x = initial_state(seg.key, init, dim, trajectory);
            events = 0u32;
            negative = network.propensities(seg.t_start, &x[..dim], p, &mut a);
            let u = event_uniforms(seg.key, trajectory, 0).0;
            t_next = next_time(seg, [0, 0], total(&a, reactions), u);
        } else {
            x[..dim].copy_from_slice(xs);
            t_next = [counts[2], counts[3]];
            negative = counts[1] != 0;
            events = counts[0];
            network.propensities(time_of(seg, t_next), &x[..dim], p, &mut a);
        }
        for _ in 0..seg.attempts {
            if beyond(seg, t_next) || events >= seg.max_steps {
                break;
            }
            let u = event_uniforms(seg.key, trajectory, events).1;
            let j = choose(&a, reactions, u * total(&a, reactions));
            for (v, c) in x[..dim].iter_mut().zip(&network.reactions[j].change) {
                *v += *c as f32;
            }
            events += 1;
            negative |= network.propensities(time_of(seg, t_next), &x[..dim], p, &mut a);
            let u = event_uniforms(seg.key, trajectory, events).0;
            t_next = next_time(seg, t_next, total(&a, reactions), u);
        }
        xs.copy_from_slice(&x[..dim]);
        let done = beyond(seg, t_next);
        clock[0] = if done {
            seg.t_target
        } else {
            time_of(seg, t_next)
        };
        counts.copy_from_slice(&[events, u32::from(negative), t_next[0], t_next[1]]);
        !done && events < seg.max_steps
    });
}
