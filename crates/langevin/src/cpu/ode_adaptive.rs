//! Twin of `shaders/ode_adaptive.wgsl`: Dormand-Prince 5(4) with a step size per trajectory,
//! one invocation per trajectory (in parallel with rayon), written as in the shader.

use super::trajectory::{add_index, initial_state};
use crate::adaptive::{AdaptiveBatch, AdaptiveSegment};
use crate::error::Result;
use crate::model::{Model, State, MAX_DIM};
use crate::plan::FLAG_INIT;
use crate::scheme::Scheme;
use crate::sweep::apply_sweep;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering};

// The shader's constants, rounded from the same decimal values to f32.
const C2: f32 = 0.2_f64 as f32;
const C3: f32 = 0.3_f64 as f32;
const C4: f32 = 0.8_f64 as f32;
const C5: f32 = 0.8888888888888888_f64 as f32;
const A21: f32 = 0.2_f64 as f32;
const A31: f32 = 0.075_f64 as f32;
const A32: f32 = 0.225_f64 as f32;
const A41: f32 = 0.9777777777777777_f64 as f32;
const A42: f32 = -3.7333333333333334_f64 as f32;
const A43: f32 = 3.5555555555555554_f64 as f32;
const A51: f32 = 2.9525986892242035_f64 as f32;
const A52: f32 = -11.595793324188385_f64 as f32;
const A53: f32 = 9.822892851699436_f64 as f32;
const A54: f32 = -0.2908093278463649_f64 as f32;
const A61: f32 = 2.8462752525252526_f64 as f32;
const A62: f32 = -10.757575757575758_f64 as f32;
const A63: f32 = 8.906422717743473_f64 as f32;
const A64: f32 = 0.2784090909090909_f64 as f32;
const A65: f32 = -0.2735313036020583_f64 as f32;
const B1: f32 = 0.09114583333333333_f64 as f32;
const B3: f32 = 0.44923629829290207_f64 as f32;
const B4: f32 = 0.6510416666666666_f64 as f32;
const B5: f32 = -0.322376179245283_f64 as f32;
const B6: f32 = 0.13095238095238096_f64 as f32;
const E1: f32 = 0.0012326388888888888_f64 as f32;
const E3: f32 = -0.0042527702905061394_f64 as f32;
const E4: f32 = 0.03697916666666667_f64 as f32;
const E5: f32 = -0.05086379716981132_f64 as f32;
const E6: f32 = 0.0419047619047619_f64 as f32;
const E7: f32 = -0.025_f64 as f32;

/// Twin of `Attempt`.
struct Attempt {
    y: State,
    k7: State,
    err: f32,
}

/// Twin of `dopri5_attempt`.
fn dopri5_attempt<M: Model + ?Sized>(
    m: &M,
    p: &[f32],
    seg: &AdaptiveSegment,
    t: f32,
    h: f32,
    x: &State,
    k1: &State,
) -> Attempt {
    let dim = m.dim();
    let mut z = [0.0; MAX_DIM];
    for i in 0..dim {
        z[i] = x[i] + h * A21 * k1[i];
    }
    let k2 = m.drift(t + C2 * h, &z, p);
    for i in 0..dim {
        z[i] = x[i] + h * (A31 * k1[i] + A32 * k2[i]);
    }
    let k3 = m.drift(t + C3 * h, &z, p);
    for i in 0..dim {
        z[i] = x[i] + h * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i]);
    }
    let k4 = m.drift(t + C4 * h, &z, p);
    for i in 0..dim {
        z[i] = x[i] + h * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]);
    }
    let k5 = m.drift(t + C5 * h, &z, p);
    for i in 0..dim {
        z[i] = x[i] + h * (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i] + A65 * k5[i]);
    }
    let k6 = m.drift(t + h, &z, p);
    let mut y = [0.0; MAX_DIM];
    for i in 0..dim {
        y[i] = x[i] + h * (B1 * k1[i] + B3 * k3[i] + B4 * k4[i] + B5 * k5[i] + B6 * k6[i]);
    }
    let k7 = m.drift(t + h, &y, p);
    let mut sum = 0.0f32;
    for i in 0..dim {
        let e = h * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i] + E7 * k7[i]);
        let scale = seg.atol + seg.rtol * x[i].abs().max(y[i].abs());
        sum += (e / scale) * (e / scale);
    }
    Attempt {
        y,
        k7,
        err: (sum / dim as f32).sqrt(),
    }
}

/// The kernel's bindings, in the shader's order.
pub struct Bindings<'a> {
    /// `seg`.
    pub seg: &'a AdaptiveSegment,
    /// `params_in`.
    pub params: &'a [f32],
    /// `init`.
    pub init: &'a [f32],
    /// `state`.
    pub state: &'a mut [f32],
    /// `clock`: time reached, next step, previous error, and (for `sde_adaptive`) the leaf
    /// reached, per trajectory.
    pub clock: &'a mut [f32],
    /// `counts`: accepted and rejected steps per trajectory, then two words of `ssa`'s clock.
    pub counts: &'a mut [u32],
    /// `sweep`.
    pub sweep: &'a [u32],
    /// `unfinished`.
    pub unfinished: &'a AtomicU32,
}

/// One invocation of a kernel of the adaptive host loop: its global trajectory index, its
/// parameters (the sweep applied, as `load_params` does) and its words of `state`, `clock`
/// and `counts`.
pub struct Invocation<'s> {
    /// Global trajectory index (low, high).
    pub trajectory: [u32; 2],
    /// The trajectory's parameters.
    pub params: Vec<f32>,
    /// Its state.
    pub state: &'s mut [f32],
    /// Its four `clock` words.
    pub clock: &'s mut [f32],
    /// Its four `counts` words.
    pub counts: &'s mut [u32],
}

/// Runs `body` for every invocation of the batch, in parallel with rayon; each one for which
/// it returns true (still short of the target) is counted in `unfinished`.
pub fn for_each_invocation(
    b: Bindings<'_>,
    dim: usize,
    body: impl Fn(Invocation<'_>) -> bool + Sync,
) {
    let seg = b.seg;
    let n = seg.trajectories as usize;
    let (params_in, sweep, unfinished) = (b.params, b.sweep, b.unfinished);
    b.state[..n * dim]
        .par_chunks_mut(dim)
        .zip(b.clock[..4 * n].par_chunks_mut(4))
        .zip(b.counts[..4 * n].par_chunks_mut(4))
        .enumerate()
        .for_each(|(local_index, ((state, clock), counts))| {
            let mut params = params_in.to_vec();
            let trajectory = add_index(seg.first_trajectory, local_index as u32);
            apply_sweep(sweep, trajectory, &mut params);
            let short = body(Invocation {
                trajectory,
                params,
                state,
                clock,
                counts,
            });
            if short {
                unfinished.fetch_add(1, Ordering::Relaxed);
            }
        });
}

/// Twin of the `ode_adaptive` kernel.
pub fn ode_adaptive<M: Model + ?Sized>(m: &M, b: Bindings<'_>) {
    let (seg, init, dim) = (b.seg, b.init, m.dim());
    for_each_invocation(b, dim, |inv| {
        let Invocation {
            trajectory,
            params,
            state: xs,
            clock,
            counts,
        } = inv;
        let p = &params[..];
        let mut x = [0.0; MAX_DIM];
        let (mut t, mut h, mut err_prev, mut accepted, mut rejected);
        if seg.flags & FLAG_INIT != 0 {
            x = initial_state(seg.key, init, dim, trajectory);
            (t, h, err_prev, accepted, rejected) = (seg.t_start, seg.h_init, 1e-4f32, 0u32, 0u32);
        } else {
            x[..dim].copy_from_slice(xs);
            (t, h, err_prev) = (clock[0], clock[1], clock[2]);
            (accepted, rejected) = (counts[0], counts[1]);
        }
        let mut k1 = m.drift(t, &x, p);
        for _ in 0..seg.attempts {
            if t >= seg.t_target || accepted + rejected >= seg.max_steps {
                break;
            }
            let remaining = seg.t_target - t;
            let clamped = h >= remaining;
            let hs = if clamped { remaining } else { h };
            let a = dopri5_attempt(m, p, seg, t, hs, &x, &k1);
            if a.err <= 1.0 {
                t = if clamped { seg.t_target } else { t + hs };
                x = a.y;
                k1 = a.k7;
                accepted += 1;
                let e = a.err.max(1e-10);
                let factor = (0.9 * e.powf(-0.17) * err_prev.powf(0.04)).clamp(0.2, 10.0);
                err_prev = a.err.max(1e-4);
                h = if clamped {
                    (hs * factor).max(h)
                } else {
                    hs * factor
                };
            } else {
                rejected += 1;
                let shrink = if a.err.is_nan() {
                    0.2
                } else {
                    (0.9 * a.err.powf(-0.2)).max(0.2)
                };
                h = hs * shrink;
            }
        }
        xs.copy_from_slice(&x[..dim]);
        clock[..3].copy_from_slice(&[t, h, err_prev]);
        counts[..2].copy_from_slice(&[accepted, rejected]);
        t < seg.t_target && accepted + rejected < seg.max_steps
    });
}

/// A batch on the CPU twin of `ode_adaptive` or `sde_adaptive` (by the scheme): the kernel's
/// buffers as vectors.
pub struct CpuBatch<'a> {
    model: &'a dyn Model,
    scheme: Scheme,
    params: &'a [f32],
    init: &'a [f32],
    sweep: &'a [u32],
    state: Vec<f32>,
    clock: Vec<f32>,
    counts: Vec<u32>,
}

impl<'a> CpuBatch<'a> {
    /// Buffers for `count` trajectories.
    pub fn new(
        model: &'a dyn Model,
        scheme: Scheme,
        params: &'a [f32],
        init: &'a [f32],
        sweep: &'a [u32],
        count: u32,
    ) -> Self {
        let n = count as usize;
        CpuBatch {
            model,
            scheme,
            params,
            init,
            sweep,
            state: vec![0.0; n * model.dim()],
            clock: vec![0.0; 4 * n],
            counts: vec![0; 4 * n],
        }
    }
}

impl AdaptiveBatch for CpuBatch<'_> {
    fn dispatch(&mut self, seg: &AdaptiveSegment) -> Result<u32> {
        let unfinished = AtomicU32::new(0);
        let bindings = Bindings {
            seg,
            params: self.params,
            init: self.init,
            state: &mut self.state,
            clock: &mut self.clock,
            counts: &mut self.counts,
            sweep: self.sweep,
            unfinished: &unfinished,
        };
        match self.model.reactions() {
            Some(network) if self.scheme.kind() == crate::scheme::SchemeKind::Jump => {
                self.model.cpu_jumps(self.scheme, network, bindings);
            }
            _ if self.scheme.on_brownian_tree() => {
                self.model.cpu_sde_adaptive(self.scheme, bindings);
            }
            _ => self.model.cpu_ode_adaptive(bindings),
        }
        Ok(unfinished.load(Ordering::Relaxed))
    }

    fn read(&mut self) -> Result<(Vec<f32>, Vec<f32>)> {
        Ok((self.state.clone(), self.clock.clone()))
    }

    fn counts(&mut self) -> Result<Vec<u32>> {
        Ok(self.counts.clone())
    }
}
