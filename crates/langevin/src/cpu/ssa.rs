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

/// One trajectory of `ssa` between events: its counts, the tick of its next event, the events
/// fired, whether a propensity was negative, and the propensities at its state.
struct Gillespie {
    x: [f32; MAX_DIM],
    t_next: [u32; 2],
    events: u32,
    negative: bool,
    a: Rates,
}

impl Gillespie {
    /// The `FLAG_INIT` branch of the kernel: the initial state and the first event's tick.
    fn start(
        seg: &AdaptiveSegment,
        network: &ReactionNetwork,
        init: &[f32],
        dim: usize,
        trajectory: [u32; 2],
        p: &[f32],
    ) -> Gillespie {
        let mut g = Gillespie {
            x: initial_state(seg.key, init, dim, trajectory),
            t_next: [0, 0],
            events: 0,
            negative: false,
            a: [0.0; MAX_REACTIONS],
        };
        g.negative = network.propensities(seg.t_start, &g.x[..dim], p, &mut g.a);
        let u = event_uniforms(seg.key, trajectory, 0).0;
        g.t_next = next_time(seg, [0, 0], total(&g.a, network.reactions.len()), u);
        g
    }

    /// One pass of the kernel's event loop: `false` (firing nothing) once the next event lies
    /// beyond the target or the event budget is spent, else fires it.
    fn fire(
        &mut self,
        seg: &AdaptiveSegment,
        network: &ReactionNetwork,
        dim: usize,
        trajectory: [u32; 2],
        p: &[f32],
    ) -> bool {
        if beyond(seg, self.t_next) || self.events >= seg.max_steps {
            return false;
        }
        let reactions = network.reactions.len();
        let u = event_uniforms(seg.key, trajectory, self.events).1;
        let j = choose(&self.a, reactions, u * total(&self.a, reactions));
        for (v, c) in self.x[..dim].iter_mut().zip(&network.reactions[j].change) {
            *v += *c as f32;
        }
        self.events += 1;
        self.negative |=
            network.propensities(time_of(seg, self.t_next), &self.x[..dim], p, &mut self.a);
        let u = event_uniforms(seg.key, trajectory, self.events).0;
        self.t_next = next_time(seg, self.t_next, total(&self.a, reactions), u);
        true
    }
}

/// Twin of the `ssa` kernel for the network of `m`.
pub fn ssa<M: Model + ?Sized>(m: &M, network: &ReactionNetwork, b: Bindings<'_>) {
    let (seg, init, dim) = (b.seg, b.init, m.dim());
    for_each_invocation(b, dim, |inv| {
        let Invocation {
            trajectory,
            params,
            state: xs,
            clock,
            counts,
        } = inv;
        let p = &params[..];
        let mut g = if seg.flags & FLAG_INIT != 0 {
            Gillespie::start(seg, network, init, dim, trajectory, p)
        } else {
            let mut g = Gillespie {
                x: [0.0; MAX_DIM],
                t_next: [counts[2], counts[3]],
                events: counts[0],
                negative: counts[1] != 0,
                a: [0.0; MAX_REACTIONS],
            };
            g.x[..dim].copy_from_slice(xs);
            network.propensities(time_of(seg, g.t_next), &g.x[..dim], p, &mut g.a);
            g
        };
        for _ in 0..seg.attempts {
            if !g.fire(seg, network, dim, trajectory, p) {
                break;
            }
        }
        xs.copy_from_slice(&g.x[..dim]);
        let done = beyond(seg, g.t_next);
        clock[0] = if done {
            seg.t_target
        } else {
            time_of(seg, g.t_next)
        };
        clock[3] = if g.t_next[1] == NEVER[1] { 1.0 } else { 0.0 };
        counts.copy_from_slice(&[g.events, u32::from(g.negative), g.t_next[0], g.t_next[1]]);
        !done && g.events < seg.max_steps
    });
}

/// The event-resolved path of one trajectory up to `seg.t_target`, replayed with the kernel's
/// draws: the times of its events (its start first) and the counts after each, row by row.
/// `params` are the trajectory's parameters (its sweep values applied).
pub fn ssa_path(
    network: &ReactionNetwork,
    seg: &AdaptiveSegment,
    init: &[f32],
    dim: usize,
    trajectory: [u32; 2],
    params: &[f32],
) -> (Vec<f64>, Vec<f32>) {
    let mut g = Gillespie::start(seg, network, init, dim, trajectory, params);
    let mut times = vec![f64::from(seg.t_start)];
    let mut states = g.x[..dim].to_vec();
    loop {
        let at = time_of(seg, g.t_next);
        if !g.fire(seg, network, dim, trajectory, params) {
            break;
        }
        times.push(f64::from(at));
        states.extend_from_slice(&g.x[..dim]);
    }
    (times, states)
}
