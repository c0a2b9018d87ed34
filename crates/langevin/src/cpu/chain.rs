//! Twin of `shaders/chain.wgsl`: a replica as one workgroup, its invocations run one after the
//! other between barriers (each writes only its own sites of the other half of the buffer).

use super::replica::{tree_sum, Partials, WORKGROUP_SIZE};
use crate::error::Result;
use crate::interacting::uniforms::ChainSegment;
use crate::interacting::{ReplicaBackend, FLAG_INIT, FLAG_SAVE};
use crate::philox::{box_muller4, philox4x32_10};
use rayon::prelude::*;

/// Twin of `STREAM_CHAIN_NOISE`.
const STREAM_CHAIN_NOISE: u32 = 43;

/// Twin of `drift`.
fn drift(seg: &ChainSegment, left: f32, x: f32, right: f32) -> f32 {
    let a = right - x;
    let b = x - left;
    match seg.model {
        1 => seg.nu * (a - b) + seg.lambda / 6.0 * (a * a + a * b + b * b),
        2 => seg.nu * (a.sin() - b.sin() + seg.lambda * (2.0 - a.cos() - b.cos())),
        _ => seg.nu * (a - b),
    }
}

/// Twin of the kernel `chain` for one replica: `quenched` its rates, `h` its two halves
/// (each `sites` long), `rough` its save slots.
pub fn chain(
    seg: &ChainSegment,
    replica: u32,
    quenched: &[f32],
    h: [&mut [f32]; 2],
    rough: &mut [f32],
) {
    let l = seg.sites as usize;
    let [h0, h1] = h;
    if seg.flags & FLAG_INIT != 0 {
        h0.fill(0.0);
    }
    let amplitude = (seg.noise * seg.dt).sqrt();
    for step in 0..seg.steps {
        let s = seg.first_step + step;
        let (from, to): (&[f32], &mut [f32]) = if s & 1 == 0 {
            (&*h0, &mut *h1)
        } else {
            (&*h1, &mut *h0)
        };
        for g in 0..l.div_ceil(4) {
            let xi = box_muller4(philox4x32_10(
                [replica, g as u32, s, STREAM_CHAIN_NOISE],
                seg.key,
            ));
            for lane in (0..4).filter(|lane| 4 * g + lane < l) {
                let i = 4 * g + lane;
                let x = from[i];
                let left = from[if i == 0 { l - 1 } else { i - 1 }];
                let right = from[if i + 1 == l { 0 } else { i + 1 }];
                let rate = drift(seg, left, x, right) + quenched[i];
                to[i] = x + seg.dt * rate + amplitude * xi[lane];
            }
        }
    }
    if seg.flags & FLAG_SAVE != 0 {
        let now: &[f32] = if (seg.first_step + seg.steps) & 1 == 0 {
            h0
        } else {
            h1
        };
        let mut partial: Partials = [[0.0; 2]; WORKGROUP_SIZE];
        for (lid, p) in partial.iter_mut().enumerate() {
            for v in now.iter().skip(lid).step_by(WORKGROUP_SIZE) {
                p[0] += v;
            }
        }
        let mean = tree_sum(partial)[0] / l as f32;
        let mut partial: Partials = [[0.0; 2]; WORKGROUP_SIZE];
        for (lid, p) in partial.iter_mut().enumerate() {
            for v in now.iter().skip(lid).step_by(WORKGROUP_SIZE) {
                let d = v - mean;
                p[0] += d * d;
            }
        }
        let w2 = tree_sum(partial)[0] / l as f32;
        let at = 2 * seg.slot as usize;
        rough[at] = mean;
        rough[at + 1] = w2;
    }
}

/// The CPU backend of a chain run: replicas in parallel.
pub struct CpuChain {
    sites: usize,
    saves: usize,
    quenched: Vec<f32>,
    h: Vec<f32>,
    rough: Vec<f32>,
}

impl CpuChain {
    /// Buffers for `replicas` chains of `sites`, with their quenched rates.
    pub fn new(replicas: u32, sites: u32, saves: usize, quenched: Vec<f32>) -> Self {
        let l = sites as usize;
        CpuChain {
            sites: l,
            saves,
            quenched,
            h: vec![0.0; 2 * l * replicas as usize],
            rough: vec![0.0; 2 * saves * replicas as usize],
        }
    }
}

impl ReplicaBackend<ChainSegment> for CpuChain {
    fn dispatch(&mut self, seg: &ChainSegment) -> Result<()> {
        let l = self.sites;
        // Each replica's two halves side by side here (the kernel keeps all first halves
        // first); the twin's layout does not change any number.
        self.h
            .par_chunks_mut(2 * l)
            .zip(self.rough.par_chunks_mut(2 * self.saves))
            .enumerate()
            .for_each(|(r, (h, rough))| {
                let (h0, h1) = h.split_at_mut(l);
                chain(
                    seg,
                    r as u32,
                    &self.quenched[r * l..(r + 1) * l],
                    [h0, h1],
                    rough,
                );
            });
        Ok(())
    }

    fn output(&mut self) -> Result<Vec<f32>> {
        Ok(self.rough.clone())
    }
}
