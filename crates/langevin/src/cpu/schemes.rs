//! CPU twins of `shaders/schemes/*.wgsl`, written to read like them.

use crate::model::{Model, State, MAX_DIM};
use crate::scheme::Scheme;

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
    let g = m.diffusion(t, x, p);
    let mut y = [0.0; MAX_DIM];
    for i in 0..m.dim() {
        y[i] = x[i] + f[i] * dt + g[i] * dw[i];
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

/// The twin of `scheme_step` for the chosen scheme.
#[inline]
pub fn scheme_step<M: Model + ?Sized>(
    scheme: Scheme,
    m: &M,
    p: &[f32],
    t: f32,
    dt: f32,
    x: &State,
    dw: &State,
) -> State {
    match scheme {
        Scheme::EulerMaruyama => euler_maruyama_step(m, p, t, dt, x, dw),
        Scheme::Milstein => milstein_step(m, p, t, dt, x, dw),
    }
}
