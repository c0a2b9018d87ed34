// Per-trajectory set-up shared by the kernels that run one trajectory per invocation
// (`sde_ensemble`, `ode_adaptive`): global indices, the parameter sweep and the initial state.
// A kernel importing this module defines the bindings `seg` (with the Philox `key`),
// `params_in`, `init` and `sweep`, the private array `params`, and imports `state_layout` and
// `model`, and one of `count_laws` (the jump kernels) or `no_count_laws` (the others), which
// defines `initial_count`. Initial states are computed in `Scalar` from f32 draws.
// CPU twins: crates/langevin/src/cpu/trajectory.rs (`apply_sweep` in sweep.rs).
#import normal
#import params

const STREAM_INITIAL: u32 = 1u;
const STREAM_INITIAL_UNIFORM: u32 = 2u;
const LAW_UNIFORM: f32 = 1.0;
const LAW_POISSON: f32 = 2.0;
const LAW_BINOMIAL: f32 = 3.0;
const LAW_UNIFORM_INT: f32 = 4.0;
const LAW_TABLE: f32 = 5.0;


// The uniform of component `i` of the initial stream of uniforms (one word per component).
fn component_uniform(trajectory: vec2<u32>, i: u32) -> f32 {
    let ctr = vec4<u32>(trajectory.x, trajectory.y, i >> 2u, STREAM_INITIAL_UNIFORM);
    return uniform_open01(philox4x32_10(ctr, seg.key)[i & 3u]);
}

fn initial_state(trajectory: vec2<u32>) -> State {
    var noise = normal_stream(seg.key, trajectory, STREAM_INITIAL);
    var x: State;
    for (var i = 0u; i < DIM; i++) {
        var a = Scalar(init[DIM + i]);
        var b = Scalar(init[2u * DIM + i]);
        if PARAM_WORDS == 2u {
            // The f64 kernels' `init` carries the parameters' low words after the f32 array.
            a += Scalar(init[3u * DIM + i]);
            b += Scalar(init[4u * DIM + i]);
        }
        if init[i] == LAW_UNIFORM || init[i] == LAW_UNIFORM_INT {
            let u = component_uniform(trajectory, i);
            if init[i] == LAW_UNIFORM {
                x[i] = a + (b - a) * Scalar(u);
            } else {
                // lo + floor((hi - lo + 1) u), u in (0, 1): every integer of lo..=hi alike.
                let span = f32(b - a) + 1.0;
                x[i] = a + Scalar(min(floor(span * u), span - 1.0));
            }
        } else if init[i] == LAW_POISSON || init[i] == LAW_BINOMIAL || init[i] == LAW_TABLE {
            // From `count_laws` in the jump kernels (`no_count_laws` elsewhere: the spec
            // refuses these laws off the jump schemes).
            x[i] = initial_count(init[i], a, b, i, trajectory);
        } else {
            x[i] = a + b * Scalar(normal_at(&noise, i));
        }
    }
    return x;
}

