// Stochastic Heun: a predictor-corrector that converges to the Stratonovich solution of
// dX = f dt + G o dW (diagonal or general noise; `noise_apply` is G dw), strong order 1 for
// commutative noise; the classical Heun method (order 2) when G = 0. Keep in sync with
// cpu/schemes.rs.
const STRONG_ORDER: f32 = 1.0;

fn scheme_step(t: f32, dt: f32, x: State, dw: Noise, chi: Noise) -> State {
    let f0 = drift(t, x);
    let n0 = noise_apply(t, x, dw);
    var predictor: State;
    for (var i = 0u; i < DIM; i++) {
        predictor[i] = x[i] + f0[i] * dt + n0[i];
    }
    let f1 = drift(t + dt, predictor);
    let n1 = noise_apply(t + dt, predictor, dw);
    var y: State;
    for (var i = 0u; i < DIM; i++) {
        y[i] = x[i] + 0.5 * (f0[i] + f1[i]) * dt + 0.5 * (n0[i] + n1[i]);
    }
    return y;
}
