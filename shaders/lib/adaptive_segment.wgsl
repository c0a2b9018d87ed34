// The uniform of one dispatch of an adaptive kernel (`ode_adaptive`, `sde_adaptive`). Keep in
// sync with `AdaptiveSegment` in crates/langevin/src/adaptive.rs.
struct AdaptiveSegment {
    key: vec2<u32>,
    first_trajectory: vec2<u32>,
    trajectories: u32,
    flags: u32,
    t_start: f32,
    t_target: f32,
    // The first step tried: a time for `ode_adaptive`, a number of leaves for `sde_adaptive`.
    h_init: f32,
    rtol: f32,
    atol: f32,
    attempts: u32,
    max_steps: u32,
    // The Brownian tree of `sde_adaptive`: its span from t_start, its depth, the leaf of
    // t_target, and the longest step in leaves.
    span: f32,
    depth: u32,
    target_leaf: u32,
    max_leaves: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}
