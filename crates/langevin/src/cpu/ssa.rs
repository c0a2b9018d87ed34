//! Twin of `shaders/ssa.wgsl`: Gillespie's direct method, one invocation per trajectory (in
//! parallel with rayon), written as in the shader. The bindings are those of `ode_adaptive`.

use super::jump_clock::{
    add_ticks, before, choose, target_tick, ticks_of, time_of, total, Rates, NEVER,
};
use super::ode_adaptive::{for_each_invocation, Bindings, Invocation};
use super::trajectory::initial_state;
use crate::adaptive::AdaptiveSegment;
use crate::model::Model;
use crate::philox::{philox4x32_10, uniform_open01};
use crate::plan::FLAG_INIT;
use crate::reactions::{ReactionNetwork, MAX_REACTIONS};
use crate::state::MAX_DIM;

/// Twin of `STREAM_JUMP`.
pub const STREAM_JUMP: u32 = 16;

/// Twin of `event_uniforms`.
pub fn event_uniforms(key: [u32; 2], trajectory: [u32; 2], k: u32) -> (f32, f32) {
    let w = philox4x32_10([trajectory[0], trajectory[1], k >> 1, STREAM_JUMP], key);
    let lane = 2 * (k & 1) as usize;
    (uniform_open01(w[lane]), uniform_open01(w[lane + 1]))
}

/// Twin of `next_time`.
fn next_time(seg: &AdaptiveSegment, t: [u32; 2], a0: f32, u: f32) -> [u32; 2] {
    if a0 <= 0.0 || t[1] == NEVER[1] {
        return NEVER;
    }
    add_ticks(t, ticks_of(seg, -u.ln() / a0))
}

/// Twin of `beyond`.
fn beyond(seg: &AdaptiveSegment, t: [u32; 2]) -> bool {
    before(target_tick(seg), t)
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
        clock[3] = if t_next[1] == NEVER[1] { 1.0 } else { 0.0 };
        counts.copy_from_slice(&[events, u32::from(negative), t_next[0], t_next[1]]);
        !done && events < seg.max_steps
    });
}
