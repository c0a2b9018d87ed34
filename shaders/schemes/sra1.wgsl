// SRA1 (Rossler 2010, "Runge-Kutta methods for the strong approximation of solutions of
// stochastic differential equations", SIAM J. Numer. Anal. 48:922) for additive noise
// G(t): strong order 1.5, weak order 2. `chi` is the space-time Levy area over the step,
// I(1,0) / dt, which the kernel draws alongside `dw`. noise_apply(t, x, v) is G(t) v (x is
// not read for additive noise). Keep in sync with cpu/schemes.rs.
const STRONG_ORDER: f32 = 1.5;

fn scheme_step(t: f32, dt: f32, x: State, dw: Noise, chi: Noise) -> State {
    let f0 = drift(t, x);
    var kick: Noise;
    var rest: Noise;
    for (var j = 0u; j < NOISE; j++) {
        kick[j] = 1.5 * chi[j];
        rest[j] = dw[j] - chi[j];
    }
    let g_kick = noise_apply(t + dt, x, kick);
    var h2: State;
    for (var i = 0u; i < DIM; i++) {
        h2[i] = x[i] + 0.75 * dt * f0[i] + g_kick[i];
    }
    let f1 = drift(t + 0.75 * dt, h2);
    let late = noise_apply(t + dt, x, rest);
    let early = noise_apply(t, x, chi);
    var y: State;
    for (var i = 0u; i < DIM; i++) {
        y[i] = x[i] + dt * (f0[i] / 3.0 + 2.0 * f1[i] / 3.0) + late[i] + early[i];
    }
    return y;
}
