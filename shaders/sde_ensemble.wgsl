// One invocation per trajectory: the state stays in registers for `step_count` steps, then goes
// back to `state` so the next dispatch (or batch readback) can continue it. At a save time the
// workgroup reduces (count, mean, M2) per component; at the final time it bins one component.
//
// `model` (DIM, State, drift, diffusion, diffusion_dg) and `scheme` (scheme_step) are chosen
// when the kernel is composed. CPU twin: crates/langevin/src/cpu/sde_ensemble.rs.
#import normal
#import moments
#import model
#import scheme

const WORKGROUP_SIZE: u32 = 64u;

const FLAG_INIT: u32 = 1u;
const FLAG_SAVE: u32 = 2u;
const FLAG_HISTOGRAM: u32 = 4u;

const STREAM_BROWNIAN: u32 = 0u;
const STREAM_INITIAL: u32 = 1u;

// Keep in sync with `Segment` in crates/langevin/src/plan.rs.
struct Segment {
    key: vec2<u32>,
    first_trajectory: vec2<u32>,
    trajectories: u32,
    step_begin: u32,
    step_count: u32,
    flags: u32,
    t0: f32,
    dt: f32,
    sqrt_substep_dt: f32,
    substeps: u32,
    hist_lo: f32,
    hist_inv_width: f32,
    hist_bins: u32,
    hist_component: u32,
}

@group(0) @binding(0) var<uniform> seg: Segment;
@group(0) @binding(1) var<storage, read> params: array<f32>;
// Initial law: means in [0, DIM), standard deviations in [DIM, 2 DIM).
@group(0) @binding(2) var<storage, read> init: array<f32>;
@group(0) @binding(3) var<storage, read_write> state: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<Moments>;
// Bins, then underflow, overflow and non-finite counts.
@group(0) @binding(5) var<storage, read_write> histogram: array<atomic<u32>>;

var<workgroup> wg_moments: array<Moments, WORKGROUP_SIZE>;

fn add_index(base: vec2<u32>, offset: u32) -> vec2<u32> {
    let lo = base.x + offset;
    return vec2<u32>(lo, base.y + select(0u, 1u, lo < base.x));
}

fn initial_state(trajectory: vec2<u32>) -> State {
    var noise = normal_stream(seg.key, trajectory, STREAM_INITIAL);
    var x: State;
    for (var i = 0u; i < DIM; i++) {
        x[i] = init[i] + init[DIM + i] * normal_at(&noise, i);
    }
    return x;
}

// The Brownian increment of step `s`: the sum of `substeps` finer increments, so that a coarse
// run and a fine run with the same seed follow the same Brownian path.
fn brownian_increment(noise: ptr<function, NormalStream>, s: u32) -> State {
    var dw: State;
    for (var j = 0u; j < seg.substeps; j++) {
        let first = (s * seg.substeps + j) * DIM;
        for (var i = 0u; i < DIM; i++) {
            dw[i] += normal_at(noise, first + i);
        }
    }
    for (var i = 0u; i < DIM; i++) {
        dw[i] *= seg.sqrt_substep_dt;
    }
    return dw;
}

fn histogram_bin(v: f32) -> u32 {
    if !is_finite_f32(v) {
        return seg.hist_bins + 2u;
    }
    let u = (v - seg.hist_lo) * seg.hist_inv_width;
    if u < 0.0 {
        return seg.hist_bins;
    }
    if u >= f32(seg.hist_bins) {
        return seg.hist_bins + 1u;
    }
    return min(u32(u), seg.hist_bins - 1u);
}

@compute @workgroup_size(64)
fn sde_ensemble(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let block = wid.y * nwg.x + wid.x;
    let local_index = block * WORKGROUP_SIZE + lid;
    let active = local_index < seg.trajectories;
    var x: State;
    if active {
        let trajectory = add_index(seg.first_trajectory, local_index);
        if (seg.flags & FLAG_INIT) != 0u {
            x = initial_state(trajectory);
        } else {
            for (var i = 0u; i < DIM; i++) {
                x[i] = state[local_index * DIM + i];
            }
        }
        var noise = normal_stream(seg.key, trajectory, STREAM_BROWNIAN);
        for (var n = 0u; n < seg.step_count; n++) {
            let s = seg.step_begin + n;
            let dw = brownian_increment(&noise, s);
            x = scheme_step(seg.t0 + f32(s) * seg.dt, seg.dt, x, dw);
        }
        for (var i = 0u; i < DIM; i++) {
            state[local_index * DIM + i] = x[i];
        }
    }
    if (seg.flags & FLAG_SAVE) != 0u {
        for (var i = 0u; i < DIM; i++) {
            wg_moments[lid] = moments_of(x[i], active);
            workgroupBarrier();
            for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride >>= 1u) {
                if lid < stride {
                    wg_moments[lid] = merge_moments(wg_moments[lid], wg_moments[lid + stride]);
                }
                workgroupBarrier();
            }
            // Workgroups past the batch (the dispatch grid is rounded up) write nothing.
            if lid == 0u && block * WORKGROUP_SIZE < seg.trajectories {
                partials[block * DIM + i] = wg_moments[0];
            }
            workgroupBarrier();
        }
    }
    if active && (seg.flags & FLAG_HISTOGRAM) != 0u {
        atomicAdd(&histogram[histogram_bin(x[seg.hist_component])], 1u);
    }
}
