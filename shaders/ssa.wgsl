// Gillespie's direct method (Gillespie 1977): one invocation per trajectory, integer counts
// held exactly in f32 (below 2^24). Event k of a trajectory draws its two uniforms from Philox
// block k / 2 of the jump stream (lanes 2 (k % 2) and 2 (k % 2) + 1): the first sets the
// waiting time to event k, -log(u) / a0, the second picks the reaction, the first j whose
// cumulative propensity exceeds u a0. So a trajectory is one seed whatever the dispatches.
//
// The state between dispatches is the counts, the time of the next event (an integer count of
// ticks: SSA times are long sums of short waits), and the events so far. A
// dispatch fires at most `seg.attempts` events and stops a trajectory at the first event
// beyond `seg.t_target`, whose time it keeps (the counts hold until then, so they are the
// counts at t_target). A trajectory that has fired `seg.max_steps` events stops where it is.
//
// `state_layout`, `model` (NPARAMS) and `reactions` (REACTIONS, CHANGE, propensities) are
// supplied when the kernel is composed. CPU twin: crates/langevin/src/cpu/ssa.rs.
#import segment
#import state_layout
#import model
#import trajectory
#import count_laws
#import adaptive_kernel
#import reactions
#import jump_clock

const WORKGROUP_SIZE: u32 = 64u;
// Philox counter word 3 of the jump stream (the SDE streams use 0 to 2, the Brownian tree 3
// to 6).
const STREAM_JUMP: u32 = 16u;

// Per trajectory, `clock`: the time reached (t_target once the next event lies beyond it), two
// unused words, and 1 when no reaction can fire (absorbed), else 0; `counts`: events fired, 1 once a propensity expression has been negative (it
// was taken as zero), and the next event's tick (low, high words).

// The uniforms of event k: (waiting time, choice).
fn event_uniforms(trajectory: vec2<u32>, k: u32) -> vec2<f32> {
    let w = philox4x32_10(vec4<u32>(trajectory.x, trajectory.y, k >> 1u, STREAM_JUMP), seg.key);
    let lane = 2u * (k & 1u);
    return vec2<f32>(uniform_open01(w[lane]), uniform_open01(w[lane + 1u]));
}

// The tick of the next event after `t`, with event k's waiting-time uniform; never for a0 = 0.
fn next_time(t: vec2<u32>, a0: f32, u: f32) -> vec2<u32> {
    if a0 <= 0.0 || t.y == NEVER.y {
        return NEVER;
    }
    return add_ticks(t, ticks_of(-log(u) / a0));
}

// Whether tick `t` lies beyond the target.
fn beyond(t: vec2<u32>) -> bool {
    return before(target_tick(), t);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn ssa(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let local_index = grid_index(wid, nwg, lid, WORKGROUP_SIZE);
    if local_index >= seg.trajectories {
        return;
    }
    let trajectory = add_index(seg.first_trajectory, local_index);
    load_params(trajectory);
    var x: State;
    var t_next: vec2<u32>;
    var events: u32;
    var negative: bool;
    var p: Propensities;
    if (seg.flags & FLAG_INIT) != 0u {
        x = initial_state(trajectory);
        events = 0u;
        p = propensities(seg.t_start, x);
        negative = p.negative;
        t_next = next_time(vec2<u32>(0u, 0u), total(p.a), event_uniforms(trajectory, 0u).x);
    } else {
        for (var i = 0u; i < DIM; i++) {
            x[i] = state[local_index * DIM + i];
        }
        t_next = vec2<u32>(counts[4u * local_index + 2u], counts[4u * local_index + 3u]);
        negative = counts[4u * local_index + 1u] != 0u;
        events = counts[4u * local_index];
        p = propensities(time_of(t_next), x);
    }
    for (var n = 0u; n < seg.attempts; n++) {
        if beyond(t_next) || events >= seg.max_steps {
            break;
        }
        let j = choose(p.a, event_uniforms(trajectory, events).y * total(p.a));
        for (var i = 0u; i < DIM; i++) {
            x[i] += CHANGE[j * DIM + i];
        }
        events++;
        p = propensities(time_of(t_next), x);
        negative = negative || p.negative;
        t_next = next_time(t_next, total(p.a), event_uniforms(trajectory, events).x);
    }
    for (var i = 0u; i < DIM; i++) {
        state[local_index * DIM + i] = x[i];
    }
    let done = beyond(t_next);
    clock[4u * local_index] = select(time_of(t_next), seg.t_target, done);
    clock[4u * local_index + 3u] = select(0.0, 1.0, t_next.y == NEVER.y);
    counts[4u * local_index] = events;
    counts[4u * local_index + 1u] = select(0u, 1u, negative);
    counts[4u * local_index + 2u] = t_next.x;
    counts[4u * local_index + 3u] = t_next.y;
    if !done && events < seg.max_steps {
        atomicAdd(&unfinished, 1u);
    }
}
