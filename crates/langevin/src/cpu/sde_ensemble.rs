//! Twin of `shaders/sde_ensemble.wgsl`: one call is one dispatch over a batch, workgroup by
//! workgroup (in parallel with rayon), each invocation's loop written as in the shader.

use super::moments::{is_finite_f32, merge_moments, moments_of};
use super::schemes::scheme_step;
use crate::model::{Model, State, MAX_DIM};
use crate::philox::{NormalStream, STREAM_BROWNIAN, STREAM_INITIAL};
use crate::plan::{Segment, FLAG_HISTOGRAM, FLAG_INIT, FLAG_SAVE, WORKGROUP_SIZE};
use crate::scheme::Scheme;
use crate::stats::PartialMoments;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering};

const WG: usize = WORKGROUP_SIZE as usize;

/// The kernel's bindings, in the shader's order.
pub struct Bindings<'a> {
    /// `seg`.
    pub seg: &'a Segment,
    /// `params`.
    pub params: &'a [f32],
    /// `init`.
    pub init: &'a [f32],
    /// `state`, the batch's states.
    pub state: &'a mut [f32],
    /// `partials` of the dispatch's save slot (`blocks * DIM` entries when saving).
    pub partials: &'a mut [PartialMoments],
    /// `histogram`: bins, underflow, overflow, non-finite.
    pub histogram: &'a [AtomicU32],
}

fn add_index(base: [u32; 2], offset: u32) -> [u32; 2] {
    let lo = base[0].wrapping_add(offset);
    [lo, base[1] + u32::from(lo < base[0])]
}

fn initial_state(seg: &Segment, init: &[f32], dim: usize, trajectory: [u32; 2]) -> State {
    let mut noise = NormalStream::new(seg.key, trajectory, STREAM_INITIAL);
    let mut x = [0.0; MAX_DIM];
    for i in 0..dim {
        x[i] = init[i] + init[dim + i] * noise.normal_at(i as u32);
    }
    x
}

fn brownian_increment(seg: &Segment, dim: usize, noise: &mut NormalStream, s: u32) -> State {
    let mut dw = [0.0; MAX_DIM];
    for j in 0..seg.substeps {
        let first = (s * seg.substeps + j) * dim as u32;
        for i in 0..dim {
            dw[i] += noise.normal_at(first + i as u32);
        }
    }
    for w in dw.iter_mut().take(dim) {
        *w *= seg.sqrt_substep_dt;
    }
    dw
}

fn histogram_bin(seg: &Segment, v: f32) -> usize {
    let bins = seg.hist_bins;
    if !is_finite_f32(v) {
        return bins as usize + 2;
    }
    let u = (v - seg.hist_lo) * seg.hist_inv_width;
    if u < 0.0 {
        return bins as usize;
    }
    if u >= bins as f32 {
        return bins as usize + 1;
    }
    (u as u32).min(bins - 1) as usize
}

/// One workgroup: `block_state` holds its trajectories' states; returns its partials.
#[allow(clippy::too_many_arguments)]
fn sde_ensemble_workgroup(
    block: usize,
    seg: &Segment,
    model: &dyn Model,
    scheme: Scheme,
    params: &[f32],
    init: &[f32],
    block_state: &mut [f32],
    histogram: &[AtomicU32],
) -> [PartialMoments; MAX_DIM] {
    let dim = model.dim();
    let mut xs = [[0.0f32; MAX_DIM]; WG];
    let mut active = [false; WG];
    for lid in 0..WG {
        let local_index = (block * WG + lid) as u32;
        active[lid] = local_index < seg.trajectories;
        if !active[lid] {
            continue;
        }
        let trajectory = add_index(seg.first_trajectory, local_index);
        let mut x = if seg.flags & FLAG_INIT != 0 {
            initial_state(seg, init, dim, trajectory)
        } else {
            let mut x = [0.0; MAX_DIM];
            x[..dim].copy_from_slice(&block_state[lid * dim..(lid + 1) * dim]);
            x
        };
        let mut noise = NormalStream::new(seg.key, trajectory, STREAM_BROWNIAN);
        for n in 0..seg.step_count {
            let s = seg.step_begin + n;
            let dw = brownian_increment(seg, dim, &mut noise, s);
            x = scheme_step(scheme, model, params, seg.t0 + s as f32 * seg.dt, seg.dt, &x, &dw);
        }
        block_state[lid * dim..(lid + 1) * dim].copy_from_slice(&x[..dim]);
        xs[lid] = x;
    }
    let mut partials = [PartialMoments::default(); MAX_DIM];
    if seg.flags & FLAG_SAVE != 0 {
        for i in 0..dim {
            let mut wg_moments = [PartialMoments::default(); WG];
            for lid in 0..WG {
                wg_moments[lid] = moments_of(xs[lid][i], active[lid]);
            }
            let mut stride = WG / 2;
            while stride > 0 {
                for lid in 0..stride {
                    wg_moments[lid] = merge_moments(wg_moments[lid], wg_moments[lid + stride]);
                }
                stride >>= 1;
            }
            partials[i] = wg_moments[0];
        }
    }
    if seg.flags & FLAG_HISTOGRAM != 0 {
        for lid in (0..WG).filter(|&lid| active[lid]) {
            let bin = histogram_bin(seg, xs[lid][seg.hist_component as usize]);
            histogram[bin].fetch_add(1, Ordering::Relaxed);
        }
    }
    partials
}

/// Twin of the `sde_ensemble` kernel: advances every trajectory of the batch by the segment.
pub fn sde_ensemble(model: &dyn Model, scheme: Scheme, b: Bindings<'_>) {
    let dim = model.dim();
    let n = b.seg.trajectories as usize;
    let seg = b.seg;
    let (params, init, histogram) = (b.params, b.init, b.histogram);
    let block_partials: Vec<[PartialMoments; MAX_DIM]> = b.state[..n * dim]
        .par_chunks_mut(WG * dim)
        .enumerate()
        .map(|(block, block_state)| {
            sde_ensemble_workgroup(block, seg, model, scheme, params, init, block_state, histogram)
        })
        .collect();
    if seg.flags & FLAG_SAVE != 0 {
        for (block, p) in block_partials.iter().enumerate() {
            b.partials[block * dim..(block + 1) * dim].copy_from_slice(&p[..dim]);
        }
    }
}
