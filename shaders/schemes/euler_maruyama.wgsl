// Euler-Maruyama for diagonal noise (Ito): strong order 1/2, weak order 1.
// Keep in sync with crates/langevin/src/cpu/schemes.rs.
fn scheme_step(t: f32, dt: f32, x: State, dw: State) -> State {
    let f = drift(t, x);
    let g = diffusion(t, x);
    var y: State;
    for (var i = 0u; i < DIM; i++) {
        y[i] = x[i] + f[i] * dt + g[i] * dw[i];
    }
    return y;
}
