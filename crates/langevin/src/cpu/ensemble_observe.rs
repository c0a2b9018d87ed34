//! Twin of `shaders/ensemble_observe.wgsl`: one invocation per block of 64 trajectories folds
//! their values into moments in the same order, and bins the histogram component.

use super::moments::{is_finite_f32, merge_moments, moments_of};
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

/// Twin of the `ensemble_observe` kernel. `partials` holds `blocks * width` entries when the
/// segment saves (`width` is `dim`, or `3 dim` with `FLAG_ORIGIN`: displacements and
/// products with `origin` follow the state); `histogram` the bins then underflow, overflow
/// and non-finite counts. `stopped`: the first times of a stopping event (`EVENT_STOPS`),
/// whose trajectories are left out once they have stopped.
pub fn ensemble_observe(
    seg: &Segment,
    dim: usize,
    state: &[f32],
    partials: &mut [PartialMoments],
    histogram: &[AtomicU32],
    stopped: Option<&[f32]>,
    origin: Option<&[f32]>,
) {
    let origin = origin.filter(|_| seg.flags & FLAG_ORIGIN != 0);
    let width = if origin.is_some() { 3 * dim } else { dim };
    // Twin of `running`.
    let running = |j: usize| !stopped.is_some_and(|p| p[j] >= 0.0);
    let n = seg.trajectories as usize;
    let blocks = n.div_ceil(WG);
    let observe_block = |block: usize, out: &mut [PartialMoments]| {
        let first = block * WG;
        let end = (first + WG).min(n);
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
        }
        if seg.flags & FLAG_HISTOGRAM != 0 {
            for j in first..end {
                if running(j) {
                    let bin = histogram_bin(seg, state[j * dim + seg.hist_component as usize]);
                    histogram[bin].fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    };
    if seg.flags & FLAG_SAVE != 0 {
        partials[..blocks * width]
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
