// One invocation per trajectory: the state stays in registers for `step_count` steps, then goes
// back to `state` for the next dispatch or for `ensemble_observe`. No barriers here: drivers
// that emulate workgroups (lavapipe) run a kernel without them markedly faster.
//
// `state_layout` (DIM, State, GROUP_STEPS, GROUP_NORMALS), `model` (NPARAMS, drift, diffusion,
// diffusion_dg), `scheme` (scheme_step) and `observables` (OBSERVABLES, observable_values, which
// the time averages take beside the state) are supplied when the kernel is composed.
// CPU twin: crates/langevin/src/cpu/sde_ensemble.rs.
#import segment
#import normal
#import state_layout
#import model
#import scheme
#import trajectory
#import no_count_laws
#import event
#import observables

// Large workgroups: some drivers (lavapipe) pay a fixed cost per workgroup, which shows when a
// dispatch runs few steps.
const WORKGROUP_SIZE: u32 = 256u;

const STREAM_BROWNIAN: u32 = 0u;

@group(0) @binding(0) var<uniform> seg: Segment;
@group(0) @binding(1) var<storage, read> params_in: array<f32>;
// Initial law per component: the law code in [0, DIM) (0: normal, 1: uniform), the first
// parameter (mean or low end) in [DIM, 2 DIM), the second (sd or high end) in [2 DIM, 3 DIM).
@group(0) @binding(2) var<storage, read> init: array<f32>;
@group(0) @binding(3) var<storage, read_write> state: array<f32>;
// First-passage time per trajectory, negative while the level has not been reached.
@group(0) @binding(4) var<storage, read_write> passage: array<f32>;
// Parameter sweep (crates/langevin/src/sweep.rs): the number of sweeps and the trajectories
// per grid point, then per sweep its parameter index, length, stride and values' offset, then
// the values as f32 bits. A single 0 when nothing is swept.
@group(0) @binding(5) var<storage, read> sweep: array<u32>;
// With FLAG_ORIGIN: each trajectory's initial state, for displacements and autocorrelations.
@group(0) @binding(6) var<storage, read_write> origin: array<f32>;
// With FLAG_TIME_AVERAGE: per trajectory and averaged value (the state's components, then the
// observables), the compensated sums of v and v^2 over the averaged step ends: (sum v,
// compensation, sum v^2, compensation).
@group(0) @binding(7) var<storage, read_write> time_sums: array<f32>;

// The model reads its parameters from here: a private copy stays in registers, where loads
// from a storage buffer inside the step loop would not.
var<private> params: array<f32, NPARAMS>;

// The running time sums, in registers between loading and storing them.
var<private> sum_x: State;
var<private> comp_x: State;
var<private> sum_x2: State;
var<private> comp_x2: State;
var<private> sum_o: ObservableValues;
var<private> comp_o: ObservableValues;
var<private> sum_o2: ObservableValues;
var<private> comp_o2: ObservableValues;

// Values averaged per trajectory: the state's, then the observables'.
const AVERAGED: u32 = DIM + OBSERVABLES;

// Kahan's compensated sum: the time sums run over up to millions of steps in f32.
fn kahan_add(sum: ptr<private, State>, comp: ptr<private, State>, i: u32, v: f32) {
    let y = v - (*comp)[i];
    let t = (*sum)[i] + y;
    (*comp)[i] = (t - (*sum)[i]) - y;
    (*sum)[i] = t;
}

fn kahan_add_o(
    sum: ptr<private, ObservableValues>,
    comp: ptr<private, ObservableValues>,
    k: u32,
    v: f32,
) {
    let y = v - (*comp)[k];
    let t = (*sum)[k] + y;
    (*comp)[k] = (t - (*sum)[k]) - y;
    (*sum)[k] = t;
}

// Adds the state after `steps_done` steps, and its observables, to the time sums when it lies
// in the window.
fn average_step(x: State, steps_done: u32) {
    if (seg.flags & FLAG_TIME_AVERAGE) != 0u && steps_done > seg.average_from {
        for (var i = 0u; i < DIM; i++) {
            kahan_add(&sum_x, &comp_x, i, x[i]);
            kahan_add(&sum_x2, &comp_x2, i, x[i] * x[i]);
        }
        if OBSERVABLES > 0u {
            let o = observable_values(seg.t0 + f32(steps_done) * seg.dt, x);
            for (var k = 0u; k < OBSERVABLES; k++) {
                kahan_add_o(&sum_o, &comp_o, k, o[k]);
                kahan_add_o(&sum_o2, &comp_o2, k, o[k] * o[k]);
            }
        }
    }
}

// Whether the first-passage component is at or beyond its level. The component is picked by
// a loop over constant indices, so that `x` never needs a dynamic index (which would move it
// out of registers).
fn beyond_level(x: State) -> bool {
    var v = x[0];
    for (var i = 1u; i < DIM; i++) {
        if i == seg.fp_component {
            v = x[i];
        }
    }
    return select(v >= seg.fp_level, v <= seg.fp_level, seg.fp_direction == 1u);
}

// Whether what the run watches holds: the event's condition when it has one, else the first
// passage through the level.
fn watched(t: f32, x: State) -> bool {
    if HAS_EVENT {
        return event_hit(t, x);
    }
    return beyond_level(x);
}

// Records the time after `steps_done` steps if this is the first time the watched condition
// holds. TRACK_PASSAGE is a constant of the composed kernel (the CPU twin reads
// FLAG_FIRST_PASSAGE, set in the same runs).
fn record_passage(hit: ptr<function, f32>, x: State, steps_done: u32) {
    let t = seg.t0 + f32(steps_done) * seg.dt;
    if TRACK_PASSAGE && *hit < 0.0 && watched(t, x) {
        *hit = t;
    }
}

// The state after a step: `next`, unless a stopping event has frozen the trajectory.
fn advance(x: State, next: State, hit: f32) -> State {
    if EVENT_STOPS && hit >= 0.0 {
        return x;
    }
    return next;
}

// 1 / sqrt(3), for the space-time Levy area.
const INV_SQRT3: f32 = 0.57735026918962576;

// One step by the stream: used where a step group would straddle the dispatch's ends, and
// when a step's increment sums `substeps` finer ones (so coarse and fine runs with the same
// seed follow the same Brownian path). Normal g = (s * substeps + j) * NORMALS + i: the NOISE
// increments, then (when LEVY_AREA) the NOISE normals of their space-time Levy areas, summed
// over substeps exactly: I(1,0) = sum over substeps of (W so far) h + h (dW + dZ / sqrt 3) / 2.
fn step_by_stream(noise: ptr<function, NormalStream>, s: u32, x: State) -> State {
    var raw: Noise;
    var area: Noise;
    let h = seg.dt / f32(seg.substeps);
    for (var j = 0u; DRAWS_NOISE && j < seg.substeps; j++) {
        let first = (s * seg.substeps + j) * NORMALS;
        for (var i = 0u; i < NOISE; i++) {
            let a = normal_at(noise, first + i);
            if LEVY_AREA {
                let b = normal_at(noise, first + NOISE + i);
                let w = raw[i] * seg.sqrt_substep_dt;
                area[i] += w * h + 0.5 * h * seg.sqrt_substep_dt * (a + b * INV_SQRT3);
            }
            raw[i] += a;
        }
    }
    var dw: Noise;
    var chi: Noise;
    for (var i = 0u; i < NOISE; i++) {
        dw[i] = raw[i] * seg.sqrt_substep_dt;
        chi[i] = area[i] / seg.dt;
    }
    return scheme_step(seg.t0 + f32(s) * seg.dt, seg.dt, x, dw, chi);
}

// GROUP_STEPS steps whose GROUP_NORMALS normals fill whole Philox blocks, so the block loop
// and the step loop unroll with constant indices: the same normals as `step_by_stream` when
// substeps = 1, without a branch per normal. `s` is a multiple of GROUP_STEPS. A scheme that
// reads no increments draws none (DRAWS_NOISE). The loops have constant bounds: the composer
// unrolls them (crates/langevin/src/unroll.rs), so `z`, `x` and the noise stay in registers.
fn step_group(trajectory: vec2<u32>, s: u32, x_in: State, hit: ptr<function, f32>) -> State {
    var z: array<f32, GROUP_NORMALS>;
    let first_block = (s * NORMALS) >> 2u;
    for (var b = 0u; b < GROUP_NORMALS / 4u; b++) {
        if DRAWS_NOISE {
            let ctr = vec4<u32>(trajectory.x, trajectory.y, first_block + b, STREAM_BROWNIAN);
            let n = box_muller4(philox4x32_10(ctr, seg.key)) * seg.sqrt_substep_dt;
            z[4u * b] = n.x;
            z[4u * b + 1u] = n.y;
            z[4u * b + 2u] = n.z;
            z[4u * b + 3u] = n.w;
        }
    }
    var x = x_in;
    for (var u = 0u; u < GROUP_STEPS; u++) {
        var dw: Noise;
        var chi: Noise;
        for (var i = 0u; i < NOISE; i++) {
            dw[i] = z[u * NORMALS + i];
            if LEVY_AREA {
                // The min changes nothing when LEVY_AREA holds (the index is then below
                // GROUP_NORMALS); it keeps the unrolled constant index in bounds when it does not.
                let area_normal = min(u * NORMALS + NOISE + i, GROUP_NORMALS - 1u);
                chi[i] = 0.5 * (dw[i] + z[area_normal] * INV_SQRT3);
            }
        }
        x = advance(x, scheme_step(seg.t0 + f32(s + u) * seg.dt, seg.dt, x, dw, chi), *hit);
        record_passage(hit, x, s + u + 1u);
        average_step(x, s + u + 1u);
    }
    return x;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sde_ensemble(
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
    var hit = -1.0;
    let averages = (seg.flags & FLAG_TIME_AVERAGE) != 0u;
    if (seg.flags & FLAG_INIT) != 0u {
        x = initial_state(trajectory);
        record_passage(&hit, x, 0u);
        if (seg.flags & FLAG_ORIGIN) != 0u {
            for (var i = 0u; i < DIM; i++) {
                origin[local_index * DIM + i] = x[i];
            }
        }
    } else {
        for (var i = 0u; i < DIM; i++) {
            x[i] = state[local_index * DIM + i];
        }
        if TRACK_PASSAGE {
            hit = passage[local_index];
        }
        if averages {
            for (var i = 0u; i < DIM; i++) {
                let at = 4u * (local_index * AVERAGED + i);
                sum_x[i] = time_sums[at];
                comp_x[i] = time_sums[at + 1u];
                sum_x2[i] = time_sums[at + 2u];
                comp_x2[i] = time_sums[at + 3u];
            }
            for (var k = 0u; k < OBSERVABLES; k++) {
                let at = 4u * (local_index * AVERAGED + DIM + k);
                sum_o[k] = time_sums[at];
                comp_o[k] = time_sums[at + 1u];
                sum_o2[k] = time_sums[at + 2u];
                comp_o2[k] = time_sums[at + 3u];
            }
        }
    }
    var noise = normal_stream(seg.key, trajectory, STREAM_BROWNIAN);
    var s = seg.step_begin;
    let end = seg.step_begin + seg.step_count;
    if seg.substeps == 1u {
        while s < end && s % GROUP_STEPS != 0u {
            x = advance(x, step_by_stream(&noise, s, x), hit);
            s++;
            record_passage(&hit, x, s);
            average_step(x, s);
        }
        while s + GROUP_STEPS <= end {
            x = step_group(trajectory, s, x, &hit);
            s += GROUP_STEPS;
        }
    }
    while s < end {
        x = advance(x, step_by_stream(&noise, s, x), hit);
        s++;
        record_passage(&hit, x, s);
        average_step(x, s);
    }
    for (var i = 0u; i < DIM; i++) {
        state[local_index * DIM + i] = x[i];
    }
    if averages {
        for (var i = 0u; i < DIM; i++) {
            let at = 4u * (local_index * AVERAGED + i);
            time_sums[at] = sum_x[i];
            time_sums[at + 1u] = comp_x[i];
            time_sums[at + 2u] = sum_x2[i];
            time_sums[at + 3u] = comp_x2[i];
        }
        for (var k = 0u; k < OBSERVABLES; k++) {
            let at = 4u * (local_index * AVERAGED + DIM + k);
            time_sums[at] = sum_o[k];
            time_sums[at + 1u] = comp_o[k];
            time_sums[at + 2u] = sum_o2[k];
            time_sums[at + 3u] = comp_o2[k];
        }
    }
    if TRACK_PASSAGE {
        passage[local_index] = hit;
    }
}
