// Stochastic Heun for diagonal noise: a predictor-corrector that converges to the Stratonovich
// solution of dX = f dt + g o dW, strong order 1 for diagonal (commutative) noise; the
// classical Heun method (order 2) when g = 0. Keep in sync with cpu/schemes.rs.
fn scheme_step(t: f32, dt: f32, x: State, dw: State) -> State {
    let f0 = drift(t, x);
    let g0 = diffusion(t, x);
    var predictor: State;
    for (var i = 0u; i < DIM; i++) {
        predictor[i] = x[i] + f0[i] * dt + g0[i] * dw[i];
    }
    let f1 = drift(t + dt, predictor);
    let g1 = diffusion(t + dt, predictor);
    var y: State;
    for (var i = 0u; i < DIM; i++) {
        y[i] = x[i] + 0.5 * (f0[i] + f1[i]) * dt + 0.5 * (g0[i] + g1[i]) * dw[i];
    }
    return y;
}
