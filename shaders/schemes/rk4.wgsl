// The classical fourth-order Runge-Kutta method for dX = f(t, X) dt (the model has no noise;
// `dw` is not read). Keep in sync with cpu/schemes.rs.
fn scheme_step(t: f32, dt: f32, x: State, dw: Noise, chi: Noise) -> State {
    let h = 0.5 * dt;
    let k1 = drift(t, x);
    var x2: State;
    for (var i = 0u; i < DIM; i++) {
        x2[i] = x[i] + h * k1[i];
    }
    let k2 = drift(t + h, x2);
    var x3: State;
    for (var i = 0u; i < DIM; i++) {
        x3[i] = x[i] + h * k2[i];
    }
    let k3 = drift(t + h, x3);
    var x4: State;
    for (var i = 0u; i < DIM; i++) {
        x4[i] = x[i] + dt * k3[i];
    }
    let k4 = drift(t + dt, x4);
    var y: State;
    for (var i = 0u; i < DIM; i++) {
        y[i] = x[i] + (dt / 6.0) * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
    }
    return y;
}
