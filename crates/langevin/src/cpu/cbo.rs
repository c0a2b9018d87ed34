//! Twin of `shaders/cbo.wgsl`: a run as one workgroup, its invocations one after the other
//! between barriers (each owns the particles lid, lid + WORKGROUP_SIZE, ...), the sums in the
//! kernel's order.

use super::replica::WORKGROUP_SIZE;
use crate::error::Result;
use crate::interacting::cbo_objective::ObjectiveExpr;
use crate::interacting::uniforms::{CboSegment, MAX_DIM_CBO};
use crate::interacting::{ReplicaBackend, FLAG_INIT, FLAG_SAVE};
use crate::philox::{box_muller4, philox4x32_10, uniform_open01};
use rayon::prelude::*;

/// Twin of `STREAM_CBO`.
const STREAM_CBO: u32 = 45;
/// Twin of `STREAM_CBO_INIT`.
const STREAM_CBO_INIT: u32 = 46;
const TAU: f32 = std::f32::consts::TAU;

/// Twin of `objective_of`.
fn objective_of(seg: &CboSegment, sum_sq: f32, sum_cos: f32) -> f32 {
    let d = seg.dim as f32;
    match seg.objective {
        1 => 10.0 * d + sum_sq - 10.0 * sum_cos,
        2 => -20.0 * (-0.2 * (sum_sq / d).sqrt()).exp() - (sum_cos / d).exp() + 20.0 + 2.718_281_7,
        _ => sum_sq,
    }
}

/// Twin of `objective` and `objective_at_consensus`: the objective at point `p` (`expr`
/// for an expression objective).
fn objective(seg: &CboSegment, expr: Option<&ObjectiveExpr>, p: &[f32]) -> f32 {
    if let Some(e) = expr.filter(|_| seg.objective == 3) {
        let v: Vec<f32> = p.iter().map(|x| x - seg.shift).collect();
        return e.value_f32(&v);
    }
    let (mut sum_sq, mut sum_cos) = (0.0f32, 0.0f32);
    for v in p {
        let v = v - seg.shift;
        sum_sq += v * v;
        sum_cos += (TAU * v).cos();
    }
    objective_of(seg, sum_sq, sum_cos)
}

/// Twin of `alpha_at`.
fn alpha_at(seg: &CboSegment, s: u32) -> f32 {
    (seg.alpha * seg.alpha_growth.powf(s as f32)).min(seg.alpha_max)
}

/// Twin of `consensus_of` (with `tree_min` and `reduce_consensus`): the consensus of the run
/// whose positions are `x` (particle-major) at weight `alpha`.
fn consensus_of(
    seg: &CboSegment,
    expr: Option<&ObjectiveExpr>,
    x: &[f32],
    fx: &mut [f32],
    alpha: f32,
) -> Vec<f32> {
    let (n, d) = (seg.particles as usize, seg.dim as usize);
    let mut lowest = [f32::MAX; WORKGROUP_SIZE];
    for (lid, low) in lowest.iter_mut().enumerate() {
        let mut mine = 3.4e38f32;
        for i in (lid..n).step_by(WORKGROUP_SIZE) {
            let f = objective(seg, expr, &x[i * d..(i + 1) * d]);
            fx[i] = f;
            mine = mine.min(f);
        }
        *low = mine;
    }
    let mut stride = WORKGROUP_SIZE / 2;
    while stride > 0 {
        for lid in 0..stride {
            lowest[lid] = lowest[lid].min(lowest[lid + stride]);
        }
        stride /= 2;
    }
    let f_min = lowest[0];
    let mut sums = vec![vec![0.0f32; d + 1]; WORKGROUP_SIZE];
    for (lid, acc) in sums.iter_mut().enumerate() {
        for i in (lid..n).step_by(WORKGROUP_SIZE) {
            let w = (-alpha * (fx[i] - f_min)).exp();
            for k in 0..d {
                acc[k] += w * x[i * d + k];
            }
            acc[d] += w;
        }
    }
    let mut stride = WORKGROUP_SIZE / 2;
    while stride > 0 {
        for lid in 0..stride {
            for k in 0..=d {
                sums[lid][k] += sums[lid + stride][k];
            }
        }
        stride /= 2;
    }
    (0..d).map(|k| sums[0][k] / sums[0][d]).collect()
}

/// The buffers of one run: positions, objectives, what `halt` keeps, save slots (d + 2
/// values each).
pub struct CboRun<'a> {
    /// Positions, particle-major.
    pub x: &'a mut [f32],
    /// Objectives.
    pub fx: &'a mut [f32],
    /// The previous consensus and the stopping step + 1 (bits).
    pub halt: &'a mut [f32],
    /// Save slots.
    pub out: &'a mut [f32],
}

/// Twin of the kernel `cbo` for one run.
pub fn cbo(seg: &CboSegment, expr: Option<&ObjectiveExpr>, run: u32, b: CboRun<'_>) {
    let CboRun { x, fx, halt, out } = b;
    let (n, d) = (seg.particles as usize, seg.dim as usize);
    let blocks = d.div_ceil(4);
    if seg.flags & FLAG_INIT != 0 {
        for i in 0..n {
            for j in 0..blocks {
                let w = philox4x32_10([run, (i * blocks + j) as u32, 0, STREAM_CBO_INIT], seg.key);
                for lane in (0..4).filter(|l| 4 * j + l < d) {
                    x[i * d + 4 * j + lane] =
                        seg.init_lo + (seg.init_hi - seg.init_lo) * uniform_open01(w[lane]);
                }
            }
        }
    }
    let max_dim = MAX_DIM_CBO as usize;
    let mut stopped_at = 0u32;
    let mut previous = [0.0f32; MAX_DIM_CBO as usize];
    if seg.flags & FLAG_INIT == 0 {
        stopped_at = halt[max_dim].to_bits();
        previous[..d].copy_from_slice(&halt[..d]);
    }
    for step in 0..seg.steps {
        let s = seg.first_step + step;
        let c = consensus_of(seg, expr, x, fx, alpha_at(seg, s));
        if stopped_at == 0 {
            let mut moved = 0.0f32;
            for (p, ck) in previous.iter_mut().zip(&c) {
                moved = moved.max((ck - *p).abs());
                *p = *ck;
            }
            if objective(seg, expr, &c) < seg.energy_tol || (s > 0 && moved < seg.diff_tol) {
                stopped_at = s + 1;
            }
        }
        if stopped_at != 0 {
            continue;
        }
        let drift = seg.lambda * seg.dt;
        let kick = seg.sigma * seg.dt.sqrt();
        for i in 0..n {
            let p = &mut x[i * d..(i + 1) * d];
            let mut norm = 0.0f32;
            for (v, ck) in p.iter().zip(&c) {
                let diff = v - ck;
                norm += diff * diff;
            }
            let norm = norm.sqrt();
            for j in 0..blocks {
                let xi = box_muller4(philox4x32_10(
                    [run, (i * blocks + j) as u32, s, STREAM_CBO],
                    seg.key,
                ));
                for lane in (0..4).filter(|l| 4 * j + l < d) {
                    let k = 4 * j + lane;
                    let diff = p[k] - c[k];
                    let scale = if seg.anisotropic != 0 {
                        diff.abs()
                    } else {
                        norm
                    };
                    p[k] = p[k] - drift * diff + kick * scale * xi[lane];
                }
            }
        }
    }
    halt[..d].copy_from_slice(&previous[..d]);
    halt[max_dim] = f32::from_bits(stopped_at);
    if seg.flags & FLAG_SAVE != 0 {
        let c = consensus_of(seg, expr, x, fx, alpha_at(seg, seg.first_step + seg.steps));
        let at = seg.slot as usize * (d + 2);
        out[at..at + d].copy_from_slice(&c);
        out[at + d] = objective(seg, expr, &c);
        out[at + d + 1] = f32::from_bits(stopped_at);
    }
}

/// The CPU backend of a CBO run: runs in parallel.
pub struct CpuCbo {
    particles: usize,
    dim: usize,
    saves: usize,
    x: Vec<f32>,
    fx: Vec<f32>,
    halt: Vec<f32>,
    out: Vec<f32>,
    expr: Option<ObjectiveExpr>,
}

impl CpuCbo {
    /// Buffers for `runs` runs of `particles` in `dim` dimensions; `expr` for an expression
    /// objective.
    pub fn new(
        runs: u32,
        particles: u32,
        dim: u32,
        saves: usize,
        expr: Option<ObjectiveExpr>,
    ) -> Self {
        let (n, d, m) = (particles as usize, dim as usize, runs as usize);
        CpuCbo {
            particles: n,
            dim: d,
            saves,
            x: vec![0.0; n * d * m],
            fx: vec![0.0; n * m],
            halt: vec![0.0; (MAX_DIM_CBO as usize + 1) * m],
            out: vec![0.0; (d + 2) * saves * m],
            expr,
        }
    }
}

impl ReplicaBackend<CboSegment> for CpuCbo {
    fn dispatch(&mut self, seg: &CboSegment) -> Result<()> {
        let (n, d) = (self.particles, self.dim);
        let expr = self.expr.as_ref();
        self.x
            .par_chunks_mut(n * d)
            .zip(self.fx.par_chunks_mut(n))
            .zip(self.halt.par_chunks_mut(MAX_DIM_CBO as usize + 1))
            .zip(self.out.par_chunks_mut((d + 2) * self.saves))
            .enumerate()
            .for_each(|(r, (((x, fx), halt), out))| {
                cbo(seg, expr, r as u32, CboRun { x, fx, halt, out });
            });
        Ok(())
    }

    fn output(&mut self) -> Result<Vec<f32>> {
        Ok(self.out.clone())
    }
}
