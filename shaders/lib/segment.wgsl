// The uniform of one dispatch over a batch of trajectories, shared by `sde_ensemble` and
// `ensemble_observe`. Keep in sync with `Segment` in crates/langevin/src/segment.rs.

// Trajectories per block of moment partials: the unit in which the host folds statistics,
// so that batches (whole blocks) cannot change the result.
const BLOCK_SIZE: u32 = 64u;

const FLAG_INIT: u32 = 1u;
const FLAG_SAVE: u32 = 2u;
const FLAG_HISTOGRAM: u32 = 4u;
const FLAG_FIRST_PASSAGE: u32 = 8u;
const FLAG_ORIGIN: u32 = 16u;
const FLAG_TIME_AVERAGE: u32 = 32u;

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
    fp_level: f32,
    fp_component: u32,
    // 0: up (x >= level), 1: down (x <= level).
    fp_direction: u32,
    // With FLAG_TIME_AVERAGE: the first step whose end state enters the time average.
    average_from: u32,
}

// The linear index of an invocation in a grid of workgroups of `group_size`; the grid is
// two-dimensional when a batch has more workgroups than one dimension allows.
fn grid_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, group_size: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * group_size + lid;
}

// The global index (low, high words) `offset` trajectories after `base`.
fn add_index(base: vec2<u32>, offset: u32) -> vec2<u32> {
    let lo = base.x + offset;
    return vec2<u32>(lo, base.y + select(0u, 1u, lo < base.x));
}
