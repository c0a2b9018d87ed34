// Observables of a batch at a save time, from the states `sde_ensemble` left in `state`.
// One invocation per block of BLOCK_SIZE trajectories (the blocks of the moment partials):
// it folds the block's values into (count, mean, M2) per component, in order, and bins the
// histogram component. No shared memory and no barriers, which drivers that emulate
// workgroups (lavapipe) run far faster than a tree reduction.
// CPU twin: crates/langevin/src/cpu/ensemble_observe.rs.
#import segment
#import moments
#import state_layout

@group(0) @binding(0) var<uniform> seg: Segment;
@group(0) @binding(1) var<storage, read> state: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<Moments>;
// Bins, then underflow, overflow and non-finite counts.
@group(0) @binding(3) var<storage, read_write> histogram: array<atomic<u32>>;
// First times of the watched condition; with EVENT_STOPS, stopped trajectories are left out.
@group(0) @binding(4) var<storage, read> passage: array<f32>;

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
    if (seg.flags & FLAG_SAVE) != 0u {
        for (var i = 0u; i < DIM; i++) {
            var m = Moments(0.0, 0.0, 0.0);
            for (var j = first; j < end; j++) {
                if running(j) {
                    m = merge_moments(m, moments_of(state[j * DIM + i]));
                }
            }
            partials[block * DIM + i] = m;
        }
    }
    if (seg.flags & FLAG_HISTOGRAM) != 0u {
        for (var j = first; j < end; j++) {
            if running(j) {
                atomicAdd(&histogram[histogram_bin(state[j * DIM + seg.hist_component])], 1u);
            }
        }
    }
}
