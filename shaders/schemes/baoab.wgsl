// BAOAB for underdamped Langevin dynamics (Leimkuhler and Matthews, 2013). The state holds
// POSITIONS coordinates q, then as many momenta p; the model supplies `force` (-dU/dq in the
// first POSITIONS slots) and the indices of friction, temperature and mass in `params`.
//   B: p += dt/2 F(q)   A: q += dt/2 p/m   O: p = c p + sqrt((1 - c^2) m kT) xi, c = exp(-gamma dt)
//   A: q += dt/2 p/m    B: p += dt/2 F(q)
// The O step reads the normals of the momentum slots (xi = dw / sqrt(dt)).
// Keep in sync with cpu/schemes.rs.
fn scheme_step(t: f32, dt: f32, x: State, dw: Noise, chi: Noise) -> State {
    let gamma = params[PARAM_GAMMA];
    let kt = params[PARAM_KT];
    let mass = params[PARAM_MASS];
    let h = 0.5 * dt;
    let c = exp(-gamma * dt);
    let kick = sqrt((1.0 - c * c) * mass * kt / dt);
    var y = x;
    let f0 = force(t, y);
    for (var i = 0u; i < POSITIONS; i++) {
        y[POSITIONS + i] += h * f0[i];
        y[i] += h * y[POSITIONS + i] / mass;
        y[POSITIONS + i] = c * y[POSITIONS + i] + kick * dw[POSITIONS + i];
        y[i] += h * y[POSITIONS + i] / mass;
    }
    let f1 = force(t + dt, y);
    for (var i = 0u; i < POSITIONS; i++) {
        y[POSITIONS + i] += h * f1[i];
    }
    return y;
}
