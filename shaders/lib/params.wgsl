// A trajectory's parameters: the shared values, then its sweep point's. The importing kernel
// defines the bindings `params_in` and `sweep`, the private array `params` of NPARAMS
// `Scalar`s, and imports `state_layout` (PARAM_WORDS, Scalar).
// CPU twin: `apply_sweep` in crates/langevin/src/sweep.rs.

// Overwrites the swept parameters with the values of this trajectory's grid point. The write
// goes through a loop over constant indices, so that `params` never needs a dynamic index
// (which would move it out of registers). Sweeps cover trajectories below 2^32.
fn apply_sweep(trajectory: vec2<u32>) {
    let sweeps = sweep[0];
    if sweeps == 0u {
        return;
    }
    let point = trajectory.x / sweep[1];
    for (var k = 0u; k < sweeps; k++) {
        let entry = 2u + 4u * k;
        let index = (point / sweep[entry + 2u]) % sweep[entry + 1u];
        let at = sweep[entry + 3u] + PARAM_WORDS * index;
        var value = Scalar(bitcast<f32>(sweep[at]));
        if PARAM_WORDS == 2u {
            value += Scalar(bitcast<f32>(sweep[at + 1u]));
        }
        for (var j = 0u; j < NPARAMS; j++) {
            if j == sweep[entry] {
                params[j] = value;
            }
        }
    }
}

// The private parameters of `trajectory`: the shared values, then its sweep point's. The model
// reads them from private memory, where they stay in registers through the step loop.
// With PARAM_WORDS = 2 (f64 kernels) each value, here and in the sweep table, is an f32 pair
// (hi, lo) whose sum in f64 is the value.
fn load_params(trajectory: vec2<u32>) {
    for (var k = 0u; k < NPARAMS; k++) {
        if PARAM_WORDS == 2u {
            params[k] = Scalar(params_in[2u * k]) + Scalar(params_in[2u * k + 1u]);
        } else {
            params[k] = Scalar(params_in[k]);
        }
    }
    apply_sweep(trajectory);
}

