// OBABO for underdamped Langevin dynamics (Bussi and Parrinello, 2007): half-step thermostats
// around velocity Verlet. The state and the model's terms are as for BAOAB; the first O reads
// the normals of the position slots and the second those of the momentum slots, so each step
// uses its own 2 POSITIONS independent normals.
//   O: p = c p + sqrt((1 - c^2) m kT) xi, c = exp(-gamma dt/2)   B: p += dt/2 F(q)
//   A: q += dt p/m   B: p += dt/2 F(q)   O
// Keep in sync with cpu/schemes.rs.
fn scheme_step(t: f32, dt: f32, x: State, dw: Noise, chi: Noise) -> State {
    let gamma = params[PARAM_GAMMA];
    let kt = params[PARAM_KT];
    let mass = params[PARAM_MASS];
    let h = 0.5 * dt;
    let c = exp(-gamma * h);
    let kick = sqrt((1.0 - c * c) * mass * kt / dt);
    var y = x;
    let f0 = force(t, y);
    for (var i = 0u; i < POSITIONS; i++) {
        y[POSITIONS + i] = c * y[POSITIONS + i] + kick * dw[i];
        y[POSITIONS + i] += h * f0[i];
        y[i] += dt * y[POSITIONS + i] / mass;
    }
    let f1 = force(t + dt, y);
    for (var i = 0u; i < POSITIONS; i++) {
        y[POSITIONS + i] += h * f1[i];
        y[POSITIONS + i] = c * y[POSITIONS + i] + kick * dw[POSITIONS + i];
    }
    return y;
}
