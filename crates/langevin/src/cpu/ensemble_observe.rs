//! Twin of `shaders/ensemble_observe.wgsl`: one invocation per block of 64 trajectories folds
//! their values into moments in the same order, and bins the histogram component.

use super::moments::{is_finite_f32, merge_moments, moments_of};
use super::trajectory::add_index;
use crate::observable::{Columns, Observables};
use crate::plan::{Segment, BLOCK_SIZE, FLAG_HISTOGRAM, FLAG_ORIGIN, FLAG_SAVE};
use crate::stats::PartialMoments;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering};

const WG: usize = BLOCK_SIZE as usize;

/// Twin of `histogram_bin`.
pub fn histogram_bin(seg: &Segment, v: f32) -> usize {
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

/// The bindings of `ensemble_observe`, in the shader's order.
pub struct Bindings<'a> {
    /// `seg`.
    pub seg: &'a Segment,
    /// `state`, the batch's states.
    pub state: &'a [f32],
    /// `partials`: `blocks * width` entries when the segment saves.
    pub partials: &'a mut [PartialMoments],
    /// `histogram`: the bins, then underflow, overflow and non-finite counts.
    pub histogram: &'a [AtomicU32],
    /// `passage` of a stopping event (`EVENT_STOPS`): trajectories are left out once
    /// stopped. `None` without one.
    pub stopped: Option<&'a [f32]>,
    /// `origin`, the initial states, with `FLAG_ORIGIN`.
    pub origin: Option<&'a [f32]>,
    /// `params_in`.
    pub params: &'a [f32],
    /// `sweep`.
    pub sweep: &'a [u32],
}

/// What `covaried_values` reads.
#[derive(Clone, Copy)]
struct Inputs<'a> {
    observables: &'a Observables,
    dim: usize,
    seg: &'a Segment,
    state: &'a [f32],
    params: &'a [f32],
    sweep: &'a [u32],
}

/// Twin of `covaried_values`: the state then the observables of trajectory `j` at `t`, with
/// `params` holding the trajectory's parameters.
fn covaried_values(inputs: Inputs<'_>, j: usize, t: f32, params: &mut Vec<f32>, v: &mut [f32]) {
    let dim = inputs.dim;
    let x = &inputs.state[j * dim..(j + 1) * dim];
    v[..dim].copy_from_slice(x);
    let trajectory = add_index(inputs.seg.first_trajectory, j as u32);
    inputs.observables.of_trajectory(
        inputs.params,
        inputs.sweep,
        trajectory,
        t,
        x,
        params,
        &mut v[dim..],
    );
}

/// Twin of the `ensemble_observe` kernel for `observables` observed as `columns` says.
pub fn ensemble_observe(observables: &Observables, columns: Columns, b: Bindings<'_>) {
    let seg = b.seg;
    let dim = columns.dim;
    let origin = b.origin.filter(|_| seg.flags & FLAG_ORIGIN != 0);
    let base = if origin.is_some() { 3 * dim } else { dim };
    let extra = observables.len() + columns.pairs();
    let width = base + extra;
    let (state, stopped) = (b.state, b.stopped);
    let inputs = Inputs {
        observables,
        dim,
        seg,
        state,
        params: b.params,
        sweep: b.sweep,
    };
    let histogram = b.histogram;
    // Twin of `running`.
    let running = |j: usize| !stopped.is_some_and(|p| p[j] >= 0.0);
    let n = seg.trajectories as usize;
    let blocks = n.div_ceil(WG);
    let t = seg.t0 + (seg.step_begin + seg.step_count) as f32 * seg.dt;
    let nparams = b.params.len();
    let observe_block = |block: usize, out: &mut [PartialMoments]| {
        let first = block * WG;
        let end = (first + WG).min(n);
        let mut params: Vec<f32> = Vec::with_capacity(nparams);
        let mut v = vec![0.0f32; columns.covaried()];
        if seg.flags & FLAG_SAVE != 0 {
            for i in 0..dim {
                let mut m = PartialMoments::default();
                let mut d = PartialMoments::default();
                let mut c = PartialMoments::default();
                for j in first..end {
                    if running(j) {
                        let v = state[j * dim + i];
                        m = merge_moments(m, moments_of(v));
                        if let Some(origin) = origin {
                            let v0 = origin[j * dim + i];
                            d = merge_moments(d, moments_of(v - v0));
                            c = merge_moments(c, moments_of(v0 * v));
                        }
                    }
                }
                out[i] = m;
                if origin.is_some() {
                    out[dim + i] = d;
                    out[2 * dim + i] = c;
                }
            }
            if extra > 0 {
                let k = observables.len();
                let acc = &mut out[base..width];
                acc.fill(PartialMoments::default());
                let paired = if columns.covariance { v.len() } else { 0 };
                for j in first..end {
                    if running(j) {
                        covaried_values(inputs, j, t, &mut params, &mut v);
                        for o in 0..k {
                            acc[o] = merge_moments(acc[o], moments_of(v[dim + o]));
                        }
                        let mut p = k;
                        for a in 0..paired {
                            for c in a + 1..v.len() {
                                acc[p] = merge_moments(acc[p], moments_of(v[a] + v[c]));
                                p += 1;
                            }
                        }
                    }
                }
            }
        }
        if seg.flags & FLAG_HISTOGRAM != 0 {
            let component = seg.hist_component as usize;
            for j in first..end {
                if running(j) {
                    // Twin of `histogram_value`.
                    let value = if component < dim {
                        state[j * dim + component]
                    } else {
                        covaried_values(inputs, j, t, &mut params, &mut v);
                        v[component]
                    };
                    histogram[histogram_bin(seg, value)].fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    };
    if seg.flags & FLAG_SAVE != 0 {
        b.partials[..blocks * width]
            .par_chunks_mut(width)
            .enumerate()
            .for_each(|(block, out)| observe_block(block, out));
    } else {
        (0..blocks)
            .into_par_iter()
            .for_each(|block| observe_block(block, &mut []));
    }
}

/// The counts a batch's histogram holds (bins, underflow, overflow, non-finite); empty when
/// the run has no histogram.
pub fn histogram_counts(histogram: &[AtomicU32], bins: u32) -> Vec<u32> {
    if bins == 0 {
        return Vec::new();
    }
    histogram
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .collect()
}
