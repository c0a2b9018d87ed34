// Observables of a batch at a save time, from the states `sde_ensemble` left in `state`.
// One invocation per block of BLOCK_SIZE trajectories (the blocks of the moment partials):
// it folds the block's values into (count, mean, M2) per observed value, in order, and bins
// the histogram component. The observed values (crates/langevin/src/observable.rs, `Columns`)
// are the state's components, then with FLAG_ORIGIN the displacements x_i - x_i(t0) and the
// products x_i(t0) x_i, then the user's observables, then with COVARIANCE the sums of each
// pair of the state's and the observables' values. No shared memory and no barriers, which
// drivers that emulate workgroups (lavapipe) run far faster than a tree reduction.
//
// `observables` (OBSERVABLES, PAIRS, COVARIED, NPARAMS, `observable_values`) is supplied when
// the kernel is composed.
// CPU twin: crates/langevin/src/cpu/ensemble_observe.rs.
#import segment
#import moments
#import state_layout
#import observables
#import params

@group(0) @binding(0) var<uniform> seg: Segment;
@group(0) @binding(1) var<storage, read> state: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<Moments>;
// Bins, then underflow, overflow and non-finite counts.
@group(0) @binding(3) var<storage, read_write> histogram: array<atomic<u32>>;
// First times of the watched condition; with EVENT_STOPS, stopped trajectories are left out.
@group(0) @binding(4) var<storage, read> passage: array<f32>;
// With FLAG_ORIGIN: the initial states.
@group(0) @binding(5) var<storage, read> origin: array<f32>;
// The parameters and the sweep, as `sde_ensemble` reads them, for the observables.
@group(0) @binding(6) var<storage, read> params_in: array<f32>;
@group(0) @binding(7) var<storage, read> sweep: array<u32>;

var<private> params: array<f32, NPARAMS>;

// The state then the observables of trajectory `j` of the batch at time `t`.
fn covaried_values(j: u32, t: f32) -> Covaried {
    var x: State;
    for (var i = 0u; i < DIM; i++) {
        x[i] = state[j * DIM + i];
    }
    load_params(add_index(seg.first_trajectory, j));
    let o = observable_values(t, x);
    var v: Covaried;
    for (var i = 0u; i < DIM; i++) {
        v[i] = x[i];
    }
    for (var k = 0u; k < OBSERVABLES; k++) {
        v[DIM + k] = o[k];
    }
    return v;
}

// The histogram's value of trajectory `j`: a state component or an observable.
fn histogram_value(j: u32, t: f32) -> f32 {
    if seg.hist_component < DIM {
        return state[j * DIM + seg.hist_component];
    }
    var v = covaried_values(j, t);
    return v[seg.hist_component];
}

fn running(j: u32) -> bool {
    return !(EVENT_STOPS && passage[j] >= 0.0);
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

const WORKGROUP_SIZE: u32 = 64u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn ensemble_observe(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let block = grid_index(wid, nwg, lid, WORKGROUP_SIZE);
    let first = block * BLOCK_SIZE;
    if first >= seg.trajectories {
        return;
    }
    let end = min(first + BLOCK_SIZE, seg.trajectories);
    let t = seg.t0 + f32(seg.step_begin + seg.step_count) * seg.dt;
    if (seg.flags & FLAG_SAVE) != 0u {
        let with_origin = (seg.flags & FLAG_ORIGIN) != 0u;
        let base = select(DIM, 3u * DIM, with_origin);
        let width = base + OBSERVABLES + PAIRS;
        for (var i = 0u; i < DIM; i++) {
            var m = Moments(0.0, 0.0, 0.0);
            var d = Moments(0.0, 0.0, 0.0);
            var c = Moments(0.0, 0.0, 0.0);
            for (var j = first; j < end; j++) {
                if running(j) {
                    let v = state[j * DIM + i];
                    m = merge_moments(m, moments_of(v));
                    if with_origin {
                        let v0 = origin[j * DIM + i];
                        d = merge_moments(d, moments_of(v - v0));
                        c = merge_moments(c, moments_of(v0 * v));
                    }
                }
            }
            partials[block * width + i] = m;
            if with_origin {
                partials[block * width + DIM + i] = d;
                partials[block * width + 2u * DIM + i] = c;
            }
        }
        if OBSERVABLES + PAIRS > 0u {
            var acc: array<Moments, EXTRA>;
            for (var j = first; j < end; j++) {
                if running(j) {
                    var v = covaried_values(j, t);
                    for (var k = 0u; k < OBSERVABLES; k++) {
                        acc[k] = merge_moments(acc[k], moments_of(v[DIM + k]));
                    }
                    var p = OBSERVABLES;
                    for (var a = 0u; a < PAIRED; a++) {
                        for (var b = a + 1u; b < COVARIED; b++) {
                            acc[p] = merge_moments(acc[p], moments_of(v[a] + v[b]));
                            p++;
                        }
                    }
                }
            }
            for (var k = 0u; k < OBSERVABLES + PAIRS; k++) {
                partials[block * width + base + k] = acc[k];
            }
        }
    }
    if (seg.flags & FLAG_HISTOGRAM) != 0u {
        for (var j = first; j < end; j++) {
            if running(j) {
                atomicAdd(&histogram[histogram_bin(histogram_value(j, t))], 1u);
            }
        }
    }
}
