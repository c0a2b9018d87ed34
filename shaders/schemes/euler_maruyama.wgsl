// Euler-Maruyama (Ito), diagonal or general noise (`noise_apply` is G dw): strong order 1/2
// (1 for additive noise), weak order 1.
// Keep in sync with crates/langevin/src/cpu/schemes.rs.
fn scheme_step(t: f32, dt: f32, x: State, dw: Noise, chi: Noise) -> State {
    let f = drift(t, x);
    let n = noise_apply(t, x, dw);
    var y: State;
    for (var i = 0u; i < DIM; i++) {
        y[i] = x[i] + f[i] * dt + n[i];
    }
    return y;
}
