// Milstein for diagonal noise (Ito): strong order 1 when each g_i depends on x_i alone.
// Uses the model's diffusion_dg = g_i * dg_i/dx_i. Keep in sync with cpu/schemes.rs.
fn scheme_step(t: f32, dt: f32, x: State, dw: Noise, chi: Noise) -> State {
    let f = drift(t, x);
    let g = diffusion(t, x);
    let gdg = diffusion_dg(t, x);
    var y: State;
    for (var i = 0u; i < DIM; i++) {
        y[i] = x[i] + f[i] * dt + g[i] * dw[i] + 0.5 * gdg[i] * (dw[i] * dw[i] - dt);
    }
    return y;
}
