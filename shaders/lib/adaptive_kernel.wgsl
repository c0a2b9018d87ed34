// What the kernels driven by the adaptive host loop share (`ode_adaptive`, `sde_adaptive`,
// `ssa`; crates/langevin/src/adaptive.rs): the uniform of one dispatch and the bindings. Each
// kernel says what its four `clock` words and four `counts` words per trajectory hold.
// Needs `state_layout` (Scalar) and `model` (NPARAMS). Keep `AdaptiveSegment` in sync with crates/langevin/src/adaptive.rs.
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
    // For `ssa`: t_target in ticks of span / 2^48 from t_start (low, high words).
    target_tick_lo: u32,
    target_tick_hi: u32,
    // For `ssa`: ticks per unit time, 2^48 / span.
    tick_rate: f32,
    // For f64 kernels (`Scalar` is f64): t_start and t_target as (hi, lo) pairs with these
    // low words; zero for f32 kernels.
    t_start_lo: f32,
    t_target_lo: f32,
    unused: vec2<u32>,
}

@group(0) @binding(0) var<uniform> seg: AdaptiveSegment;
@group(0) @binding(1) var<storage, read> params_in: array<f32>;
@group(0) @binding(2) var<storage, read> init: array<f32>;
// `Scalar` (the state layout's) is f32, or f64 for the f64 kernels of `ode_adaptive`.
@group(0) @binding(3) var<storage, read_write> state: array<Scalar>;
// Four words per trajectory; the first is the time reached, which the host reads.
@group(0) @binding(4) var<storage, read_write> clock: array<Scalar>;
// Four words per trajectory; the first two are read by the host as accepted and rejected
// steps (`ssa`: events, and whether a propensity was negative).
@group(0) @binding(5) var<storage, read_write> counts: array<u32>;
@group(0) @binding(6) var<storage, read> sweep: array<u32>;
// Trajectories still short of the target after this dispatch.
@group(0) @binding(7) var<storage, read_write> unfinished: atomic<u32>;

// The model reads its parameters from here, in registers through the step loop.
var<private> params: array<Scalar, NPARAMS>;
