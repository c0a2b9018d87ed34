//! CPU twins of `shaders/schemes/*.wgsl`, written to read like them. `dw` holds the step's
//! `noise_dim` Brownian increments.

use crate::model::{Model, Underdamped};

use crate::scheme::Scheme;
use crate::state::{State, MAX_DIM};

/// Twin of `shaders/schemes/euler_maruyama.wgsl`.
#[inline]
pub fn euler_maruyama_step<M: Model + ?Sized>(
    m: &M,
    p: &[f32],
    t: f32,
    dt: f32,
    x: &State,
    dw: &State,
) -> State {
    let f = m.drift(t, x, p);
    let n = m.noise_apply(t, x, dw, p);
    let mut y = [0.0; MAX_DIM];
    for i in 0..m.dim() {
        y[i] = x[i] + f[i] * dt + n[i];
    }
    y
}

/// Twin of `shaders/schemes/milstein.wgsl`.
#[inline]
pub fn milstein_step<M: Model + ?Sized>(
    m: &M,
    p: &[f32],
    t: f32,
    dt: f32,
    x: &State,
    dw: &State,
) -> State {
    let f = m.drift(t, x, p);
    let g = m.diffusion(t, x, p);
    let gdg = m.diffusion_dg(t, x, p);
    let mut y = [0.0; MAX_DIM];
    for i in 0..m.dim() {
        y[i] = x[i] + f[i] * dt + g[i] * dw[i] + 0.5 * gdg[i] * (dw[i] * dw[i] - dt);
    }
    y
}

/// Twin of `shaders/schemes/heun.wgsl`.
#[inline]
pub fn heun_step<M: Model + ?Sized>(
    m: &M,
    p: &[f32],
    t: f32,
    dt: f32,
    x: &State,
    dw: &State,
) -> State {
    let f0 = m.drift(t, x, p);
    let n0 = m.noise_apply(t, x, dw, p);
    let mut predictor = [0.0; MAX_DIM];
    for i in 0..m.dim() {
        predictor[i] = x[i] + f0[i] * dt + n0[i];
    }
    let f1 = m.drift(t + dt, &predictor, p);
    let n1 = m.noise_apply(t + dt, &predictor, dw, p);
    let mut y = [0.0; MAX_DIM];
    for i in 0..m.dim() {
        y[i] = x[i] + 0.5 * (f0[i] + f1[i]) * dt + 0.5 * (n0[i] + n1[i]);
    }
    y
}

/// Twin of `shaders/schemes/rk4.wgsl`.
#[inline]
pub fn rk4_step<M: Model + ?Sized>(m: &M, p: &[f32], t: f32, dt: f32, x: &State) -> State {
    let h = 0.5 * dt;
    let dim = m.dim();
    let k1 = m.drift(t, x, p);
    let mut x2 = [0.0; MAX_DIM];
    for i in 0..dim {
        x2[i] = x[i] + h * k1[i];
    }
    let k2 = m.drift(t + h, &x2, p);
    let mut x3 = [0.0; MAX_DIM];
    for i in 0..dim {
        x3[i] = x[i] + h * k2[i];
    }
    let k3 = m.drift(t + h, &x3, p);
    let mut x4 = [0.0; MAX_DIM];
    for i in 0..dim {
        x4[i] = x[i] + dt * k3[i];
    }
    let k4 = m.drift(t + dt, &x4, p);
    let mut y = [0.0; MAX_DIM];
    for i in 0..dim {
        y[i] = x[i] + (dt / 6.0) * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
    }
    y
}

/// The constants of one splitting step: positions, half step, mass, and the O step's factor
/// `c = exp(-gamma ou_dt)` and kick per unit `dw` (`sqrt((1 - c^2) m kT / dt)`), read from `p`
/// as the shaders read them (`PARAM_GAMMA`, `PARAM_KT`, `PARAM_MASS`).
struct Splitting {
    n: usize,
    h: f32,
    mass: f32,
    c: f32,
    kick: f32,
}

#[inline]
fn splitting(u: &Underdamped, p: &[f32], dt: f32, ou_dt: f32) -> Splitting {
    let (gamma, kt, mass) = (p[u.gamma_param], p[u.kt_param], p[u.mass_param]);
    let c = (-gamma * ou_dt).exp();
    Splitting {
        n: u.positions,
        h: 0.5 * dt,
        mass,
        c,
        kick: ((1.0 - c * c) * mass * kt / dt).sqrt(),
    }
}

/// Twin of `shaders/schemes/baoab.wgsl`.
#[inline]
pub fn baoab_step<M: Model + ?Sized>(
    m: &M,
    u: &Underdamped,
    p: &[f32],
    t: f32,
    dt: f32,
    x: &State,
    dw: &State,
) -> State {
    let Splitting {
        n,
        h,
        mass,
        c,
        kick,
    } = splitting(u, p, dt, dt);
    let mut y = *x;
    let f0 = m.force(t, &y, p);
    for i in 0..n {
        y[n + i] += h * f0[i];
        y[i] += h * y[n + i] / mass;
        y[n + i] = c * y[n + i] + kick * dw[n + i];
        y[i] += h * y[n + i] / mass;
    }
    let f1 = m.force(t + dt, &y, p);
    for i in 0..n {
        y[n + i] += h * f1[i];
    }
    y
}

/// Twin of `shaders/schemes/obabo.wgsl`.
#[inline]
pub fn obabo_step<M: Model + ?Sized>(
    m: &M,
    u: &Underdamped,
    p: &[f32],
    t: f32,
    dt: f32,
    x: &State,
    dw: &State,
) -> State {
    let Splitting {
        n,
        h,
        mass,
        c,
        kick,
    } = splitting(u, p, dt, 0.5 * dt);
    let mut y = *x;
    let f0 = m.force(t, &y, p);
    for i in 0..n {
        y[n + i] = c * y[n + i] + kick * dw[i];
        y[n + i] += h * f0[i];
        y[i] += dt * y[n + i] / mass;
    }
    let f1 = m.force(t + dt, &y, p);
    for i in 0..n {
        y[n + i] += h * f1[i];
        y[n + i] = c * y[n + i] + kick * dw[n + i];
    }
    y
}

/// Twin of `shaders/schemes/sra1.wgsl`.
#[inline]
pub fn sra1_step<M: Model + ?Sized>(
    m: &M,
    p: &[f32],
    t: f32,
    dt: f32,
    x: &State,
    dw: &State,
    chi: &State,
) -> State {
    let f0 = m.drift(t, x, p);
    let mut kick = [0.0; MAX_DIM];
    let mut rest = [0.0; MAX_DIM];
    for j in 0..m.noise_dim() {
        kick[j] = 1.5 * chi[j];
        rest[j] = dw[j] - chi[j];
    }
    let g_kick = m.noise_apply(t + dt, x, &kick, p);
    let mut h2 = [0.0; MAX_DIM];
    for i in 0..m.dim() {
        h2[i] = x[i] + 0.75 * dt * f0[i] + g_kick[i];
    }
    let f1 = m.drift(t + 0.75 * dt, &h2, p);
    let late = m.noise_apply(t + dt, x, &rest, p);
    let early = m.noise_apply(t, x, chi, p);
    let mut y = [0.0; MAX_DIM];
    for i in 0..m.dim() {
        y[i] = x[i] + dt * (f0[i] / 3.0 + 2.0 * f1[i] / 3.0) + late[i] + early[i];
    }
    y
}

/// The twin of `scheme_step` for the chosen scheme: `dw` the step's increments, `chi` their
/// space-time Levy areas over dt (drawn only for schemes that read them).
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn scheme_step<M: Model + ?Sized>(
    scheme: Scheme,
    m: &M,
    p: &[f32],
    t: f32,
    dt: f32,
    x: &State,
    dw: &State,
    chi: &State,
) -> State {
    match scheme {
        Scheme::EulerMaruyama => euler_maruyama_step(m, p, t, dt, x, dw),
        Scheme::Milstein => milstein_step(m, p, t, dt, x, dw),
        Scheme::Sra1 | Scheme::Sra1Adaptive => sra1_step(m, p, t, dt, x, dw, chi),
        Scheme::Heun | Scheme::HeunAdaptive => heun_step(m, p, t, dt, x, dw),
        Scheme::Rk4 => rk4_step(m, p, t, dt, x),
        Scheme::Dopri5 => unreachable!("adaptive runs go through cpu::ode_adaptive"),
        Scheme::Ssa | Scheme::TauLeap => {
            unreachable!("jump processes go through cpu::ssa and cpu::tau_leap")
        }
        Scheme::Baoab => baoab_step(m, &underdamped(m), p, t, dt, x, dw),
        Scheme::Obabo => obabo_step(m, &underdamped(m), p, t, dt, x, dw),
    }
}

/// The split form of a model that a Langevin splitting steps; [`Scheme::check_model`] has
/// refused any other model before a run starts.
#[inline]
fn underdamped<M: Model + ?Sized>(m: &M) -> Underdamped {
    m.underdamped()
        .expect("Scheme::check_model admits only underdamped models to Langevin splittings")
}
