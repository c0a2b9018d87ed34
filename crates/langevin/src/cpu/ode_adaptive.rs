//! Twin of `shaders/ode_adaptive.wgsl`: Dormand-Prince 5(4) with a step size per trajectory,
//! one invocation per trajectory (in parallel with rayon), written as in the shader.

use super::trajectory::{add_index, initial_state_in};
use crate::adaptive::{AdaptiveBatch, AdaptiveSegment, Readback};
use crate::error::Result;
use crate::model::{DriftF64, Model};
use crate::plan::FLAG_INIT;
use crate::real::Real;
use crate::scheme::Scheme;
use crate::spec::ResolvedRun;
use crate::state::MAX_DIM;
use crate::sweep::apply_sweep;
use rayon::prelude::*;
use std::borrow::Cow;
use std::sync::atomic::{AtomicU32, Ordering};

// The shader's constants, as decimal values: `Scalar` rounds them (to f32 as the shader's
// abstract literals are rounded, or not at all in f64).
const C2: f64 = 0.2;
const C3: f64 = 0.3;
const C4: f64 = 0.8;
const C5: f64 = 0.8888888888888888;
const A21: f64 = 0.2;
const A31: f64 = 0.075;
const A32: f64 = 0.225;
const A41: f64 = 0.9777777777777777;
const A42: f64 = -3.7333333333333334;
const A43: f64 = 3.5555555555555554;
const A51: f64 = 2.9525986892242035;
const A52: f64 = -11.595793324188385;
const A53: f64 = 9.822892851699436;
const A54: f64 = -0.2908093278463649;
const A61: f64 = 2.8462752525252526;
const A62: f64 = -10.757575757575758;
const A63: f64 = 8.906422717743473;
const A64: f64 = 0.2784090909090909;
const A65: f64 = -0.2735313036020583;
const B1: f64 = 0.09114583333333333;
const B3: f64 = 0.44923629829290207;
const B4: f64 = 0.6510416666666666;
const B5: f64 = -0.322376179245283;
const B6: f64 = 0.13095238095238096;
const E1: f64 = 0.0012326388888888888;
const E3: f64 = -0.0042527702905061394;
const E4: f64 = 0.03697916666666667;
const E5: f64 = -0.05086379716981132;
const E6: f64 = 0.0419047619047619;
const E7: f64 = -0.025;

/// The Dormand-Prince tableau rounded to `Scalar`.
struct Tableau<R> {
    c: [R; 4],
    a: [R; 15],
    b: [R; 5],
    e: [R; 6],
}

impl<R: Real> Tableau<R> {
    fn new() -> Self {
        let r = R::real;
        Tableau {
            c: [C2, C3, C4, C5].map(r),
            a: [
                A21, A31, A32, A41, A42, A43, A51, A52, A53, A54, A61, A62, A63, A64, A65,
            ]
            .map(r),
            b: [B1, B3, B4, B5, B6].map(r),
            e: [E1, E3, E4, E5, E6, E7].map(r),
        }
    }
}

/// A state of `Scalar` components; those past the model's dimension are unused.
type Vector<R> = [R; MAX_DIM];

/// Twin of `Attempt`.
struct Attempt<R> {
    y: Vector<R>,
    k7: Vector<R>,
    err: R,
}

/// Twin of `dopri5_attempt`; `drift(t, x)` is the model's, with the trajectory's parameters.
#[allow(clippy::too_many_arguments)]
fn dopri5_attempt<R: Real>(
    tab: &Tableau<R>,
    drift: &impl Fn(R, &Vector<R>) -> Vector<R>,
    dim: usize,
    seg: &AdaptiveSegment,
    t: R,
    h: R,
    x: &Vector<R>,
    k1: &Vector<R>,
) -> Attempt<R> {
    let ([c2, c3, c4, c5], a, [b1, b3, b4, b5, b6], [e1, e3, e4, e5, e6, e7]) =
        (tab.c, tab.a, tab.b, tab.e);
    let [a21, a31, a32, a41, a42, a43, a51, a52, a53, a54, a61, a62, a63, a64, a65] = a;
    let mut z = [R::zero(); MAX_DIM];
    for i in 0..dim {
        z[i] = x[i] + h * a21 * k1[i];
    }
    let k2 = drift(t + c2 * h, &z);
    for i in 0..dim {
        z[i] = x[i] + h * (a31 * k1[i] + a32 * k2[i]);
    }
    let k3 = drift(t + c3 * h, &z);
    for i in 0..dim {
        z[i] = x[i] + h * (a41 * k1[i] + a42 * k2[i] + a43 * k3[i]);
    }
    let k4 = drift(t + c4 * h, &z);
    for i in 0..dim {
        z[i] = x[i] + h * (a51 * k1[i] + a52 * k2[i] + a53 * k3[i] + a54 * k4[i]);
    }
    let k5 = drift(t + c5 * h, &z);
    for i in 0..dim {
        z[i] = x[i] + h * (a61 * k1[i] + a62 * k2[i] + a63 * k3[i] + a64 * k4[i] + a65 * k5[i]);
    }
    let k6 = drift(t + h, &z);
    let mut y = [R::zero(); MAX_DIM];
    for i in 0..dim {
        y[i] = x[i] + h * (b1 * k1[i] + b3 * k3[i] + b4 * k4[i] + b5 * k5[i] + b6 * k6[i]);
    }
    let k7 = drift(t + h, &y);
    let (atol, rtol) = (R::real(f64::from(seg.atol)), R::real(f64::from(seg.rtol)));
    let mut sum = R::zero();
    for i in 0..dim {
        let e = h * (e1 * k1[i] + e3 * k3[i] + e4 * k4[i] + e5 * k5[i] + e6 * k6[i] + e7 * k7[i]);
        let scale = atol + rtol * x[i].abs().max(y[i].abs());
        sum += (e / scale) * (e / scale);
    }
    Attempt {
        y,
        k7,
        err: (sum / R::real(dim as f64)).sqrt(),
    }
}

pub use crate::twin::AdaptiveBindings as Bindings;

/// One invocation of a kernel of the adaptive host loop: its global trajectory index, its
/// parameters (the sweep applied, as `load_params` does) and its words of `state`, `clock`
/// and `counts`.
pub struct Invocation<'s, S = f32> {
    /// Global trajectory index (low, high).
    pub trajectory: [u32; 2],
    /// The trajectory's parameters.
    pub params: Vec<S>,
    /// Its state.
    pub state: &'s mut [S],
    /// Its four `clock` words.
    pub clock: &'s mut [S],
    /// Its four `counts` words.
    pub counts: &'s mut [u32],
}

/// Runs `body` for every invocation of the batch, in parallel with rayon; each one for which
/// it returns true (still short of the target) is counted in `unfinished`.
pub fn for_each_invocation<S: Real>(
    b: Bindings<'_, S>,
    dim: usize,
    body: impl Fn(Invocation<'_, S>) -> bool + Sync,
) {
    let seg = b.seg;
    let n = seg.trajectories as usize;
    let (sweep, unfinished) = (b.sweep, b.unfinished);
    // Twin of `load_params` before its sweep.
    let params_in: Vec<S> = b.params.chunks(S::WORDS).map(S::stored).collect();
    b.state[..n * dim]
        .par_chunks_mut(dim)
        .zip(b.clock[..4 * n].par_chunks_mut(4))
        .zip(b.counts[..4 * n].par_chunks_mut(4))
        .enumerate()
        .for_each(|(local_index, ((state, clock), counts))| {
            let mut params = params_in.clone();
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
    dormand_prince(m.dim(), &|t, x, p| m.drift(t, x, p), b);
}

/// Twin of the `ode_adaptive` kernel composed in f64 (`Scalar = f64`), for `drift`.
pub fn ode_adaptive_f64(dim: usize, drift: &dyn DriftF64, b: Bindings<'_, f64>) {
    dormand_prince(dim, &|t, x, p| drift.drift_f64(t, x, p), b);
}

/// The body of `ode_adaptive` over `Scalar = R`.
fn dormand_prince<R: Real>(
    dim: usize,
    drift: &(impl Fn(R, &Vector<R>, &[R]) -> Vector<R> + Sync),
    b: Bindings<'_, R>,
) {
    let (seg, init) = (b.seg, b.init);
    let tab = Tableau::<R>::new();
    let t_target = R::widen([seg.t_target, seg.t_target_lo]);
    for_each_invocation(b, dim, |inv| {
        let Invocation {
            trajectory,
            params,
            state: xs,
            clock,
            counts,
        } = inv;
        let p = &params[..];
        let f = |t: R, x: &Vector<R>| drift(t, x, p);
        let mut x = [R::zero(); MAX_DIM];
        let (mut t, mut h, mut err_prev, mut accepted, mut rejected);
        if seg.flags & FLAG_INIT != 0 {
            x = initial_state_in(seg.key, init, dim, trajectory);
            t = R::widen([seg.t_start, seg.t_start_lo]);
            h = R::real(f64::from(seg.h_init));
            (err_prev, accepted, rejected) = (1e-4f32, 0u32, 0u32);
        } else {
            x[..dim].copy_from_slice(xs);
            (t, h) = (clock[0], clock[1]);
            err_prev = clock[2].wide() as f32;
            (accepted, rejected) = (counts[0], counts[1]);
        }
        let mut k1 = f(t, &x);
        for _ in 0..seg.attempts {
            if t >= t_target || accepted + rejected >= seg.max_steps {
                break;
            }
            let remaining = t_target - t;
            let clamped = h >= remaining;
            let hs = if clamped { remaining } else { h };
            let a = dopri5_attempt(&tab, &f, dim, seg, t, hs, &x, &k1);
            let err = a.err.min(R::real(1e30)).wide() as f32;
            if a.err <= R::one() {
                t = if clamped { t_target } else { t + hs };
                x = a.y;
                k1 = a.k7;
                accepted += 1;
                let e = err.max(1e-10);
                let factor = (0.9 * e.powf(-0.17) * err_prev.powf(0.04)).clamp(0.2, 10.0);
                err_prev = err.max(1e-4);
                let grown = hs * R::real(f64::from(factor));
                h = if clamped { grown.max(h) } else { grown };
            } else {
                rejected += 1;
                let shrink = if err.is_nan() {
                    0.2
                } else {
                    (0.9 * err.powf(-0.2)).max(0.2)
                };
                h = hs * R::real(f64::from(shrink));
            }
        }
        xs.copy_from_slice(&x[..dim]);
        clock[..3].copy_from_slice(&[t, h, R::real(f64::from(err_prev))]);
        counts[..2].copy_from_slice(&[accepted, rejected]);
        t < t_target && accepted + rejected < seg.max_steps
    });
}

/// A batch on the CPU twin of `ode_adaptive` or `sde_adaptive` (by the scheme): the kernel's
/// buffers as vectors. `S` is the kernel's `Scalar`: f64 runs `ode_adaptive` in f64.
pub struct CpuBatch<'a, S = f32> {
    model: &'a dyn Model,
    scheme: Scheme,
    params: Cow<'a, [f32]>,
    init: Cow<'a, [f32]>,
    sweep: Cow<'a, [u32]>,
    state: Vec<S>,
    clock: Vec<S>,
    counts: Vec<u32>,
}

impl<'a, S: TwinScalar> CpuBatch<'a, S> {
    /// Buffers for `count` trajectories of `run`.
    pub fn new(model: &'a dyn Model, scheme: Scheme, run: &'a ResolvedRun, count: u32) -> Self {
        let n = count as usize;
        CpuBatch {
            model,
            scheme,
            params: run.params_for::<S>(),
            init: run.init_for::<S>(),
            sweep: run.sweep_table_for::<S>(),
            state: vec![S::zero(); n * model.dim()],
            clock: vec![S::zero(); 4 * n],
            counts: vec![0; 4 * n],
        }
    }
}

impl<S> CpuBatch<'_, S> {
    /// The kernel's bindings over the batch's buffers.
    fn bindings<'b>(
        &'b mut self,
        seg: &'b AdaptiveSegment,
        unfinished: &'b AtomicU32,
    ) -> Bindings<'b, S> {
        Bindings {
            seg,
            params: &self.params,
            init: &self.init,
            state: &mut self.state,
            clock: &mut self.clock,
            counts: &mut self.counts,
            sweep: &self.sweep,
            unfinished,
        }
    }
}

/// The kernels' `Scalar` on the twin: which kernel a batch runs, and how it is read.
pub trait TwinScalar: Real {
    /// Runs one dispatch of the batch's kernel.
    fn dispatch(batch: &mut CpuBatch<'_, Self>, seg: &AdaptiveSegment, unfinished: &AtomicU32);
    /// The batch's states and clocks for the host loop.
    fn readback(states: &[Self], clock: &[Self]) -> Readback;
}

impl TwinScalar for f32 {
    fn dispatch(b: &mut CpuBatch<'_, f32>, seg: &AdaptiveSegment, unfinished: &AtomicU32) {
        let (model, scheme) = (b.model, b.scheme);
        let bindings = b.bindings(seg, unfinished);
        match model.reactions() {
            Some(network) if scheme.kind() == crate::scheme::SchemeKind::Jump => {
                model.cpu_jumps(scheme, network, bindings);
            }
            _ if scheme.on_brownian_tree() => model.cpu_sde_adaptive(scheme, bindings),
            _ => model.cpu_ode_adaptive(bindings),
        }
    }
    fn readback(states: &[f32], clock: &[f32]) -> Readback {
        Readback::narrow(states.to_vec(), clock)
    }
}

impl TwinScalar for f64 {
    fn dispatch(b: &mut CpuBatch<'_, f64>, seg: &AdaptiveSegment, unfinished: &AtomicU32) {
        let model = b.model;
        let drift = model
            .f64_drift()
            .expect("f64 runs are checked to have an f64 drift");
        ode_adaptive_f64(model.dim(), drift, b.bindings(seg, unfinished));
    }
    fn readback(states: &[f64], clock: &[f64]) -> Readback {
        Readback::wide(states.to_vec(), clock)
    }
}

impl<S: TwinScalar> AdaptiveBatch for CpuBatch<'_, S> {
    fn dispatch(&mut self, seg: &AdaptiveSegment) -> Result<u32> {
        let unfinished = AtomicU32::new(0);
        S::dispatch(self, seg, &unfinished);
        Ok(unfinished.load(Ordering::Relaxed))
    }

    fn read(&mut self) -> Result<Readback> {
        Ok(S::readback(&self.state, &self.clock))
    }

    fn counts(&mut self) -> Result<Vec<u32>> {
        Ok(self.counts.clone())
    }
}
