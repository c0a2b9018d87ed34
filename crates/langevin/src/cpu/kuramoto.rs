//! Twin of `shaders/kuramoto.wgsl`: one replica at a time as one workgroup, its invocations
//! simulated in order: per invocation the update of the oscillators it owns with the partial
//! sums of their new (cos, sin), then the same tree of sums the workgroup memory holds. The f32 operations are the
//! kernel's; only the device's sin, cos and log may round differently.

use super::replica::{tree_sum, Partials, WORKGROUP_SIZE};
use crate::error::Result;
use crate::interacting::uniforms::KuramotoSegment;
use crate::interacting::{ReplicaBackend, FLAG_INIT, FLAG_SAVE};
use crate::philox::{box_muller4, philox4x32_10, uniform_open01};
use rayon::prelude::*;

/// Twin of `STREAM_PHASE_NOISE`.
const STREAM_PHASE_NOISE: u32 = 40;
/// Twin of `STREAM_PHASE_INIT`.
const STREAM_PHASE_INIT: u32 = 41;
const TWO_PI: f32 = std::f32::consts::TAU;

/// The oscillators invocation `lid` owns, in its order: groups lid, lid + WORKGROUP_SIZE, ...
/// of four.
fn owned(n: u32, lid: u32) -> impl Iterator<Item = usize> {
    (lid..n.div_ceil(4))
        .step_by(WORKGROUP_SIZE)
        .flat_map(move |g| {
            (0..4)
                .filter(move |l| 4 * g + l < n)
                .map(move |l| (4 * g + l) as usize)
        })
}

/// Twin of `wrap`.
fn wrap(th: f32) -> f32 {
    th - TWO_PI * (th / TWO_PI).round()
}

/// Twin of the kernel `kuramoto` for one replica: `omega`, `theta` and `trig` are its
/// oscillators', `order` its save slots. The invocations of the workgroup run one after the
/// other between barriers (each touches only its own oscillators).
pub fn kuramoto(
    seg: &KuramotoSegment,
    replica: u32,
    coupling: [f32; 2],
    omega: &[f32],
    theta: &mut [f32],
    trig: &mut [[f32; 2]],
    order: &mut [f32],
) {
    let n = seg.oscillators;
    let wg = WORKGROUP_SIZE;
    if seg.flags & FLAG_INIT != 0 {
        for g in 0..n.div_ceil(4) {
            let w = philox4x32_10([replica, g, 0, STREAM_PHASE_INIT], seg.key);
            for lane in (0..4).filter(|l| 4 * g + l < n) {
                let th = std::f32::consts::PI * (2.0 * uniform_open01(w[lane as usize]) - 1.0);
                theta[(4 * g + lane) as usize] = th;
                trig[(4 * g + lane) as usize] = [th.cos(), th.sin()];
            }
        }
    }
    let mut partial: Partials = [[0.0; 2]; WORKGROUP_SIZE];
    for (lid, mine) in partial.iter_mut().enumerate() {
        for i in owned(n, lid as u32) {
            mine[0] += trig[i][0];
            mine[1] += trig[i][1];
        }
    }
    let mut sums = tree_sum(partial);
    let k_over_n = coupling[0] / n as f32;
    let amplitude = (2.0 * coupling[1] * seg.dt).sqrt();
    for step in 0..seg.steps {
        let s = seg.first_step + step;
        let mut partial: Partials = [[0.0; 2]; WORKGROUP_SIZE];
        for (lid, mine) in partial.iter_mut().enumerate() {
            for g in (lid as u32..n.div_ceil(4)).step_by(wg) {
                let xi = if amplitude > 0.0 {
                    box_muller4(philox4x32_10([replica, g, s, STREAM_PHASE_NOISE], seg.key))
                } else {
                    [0.0; 4]
                };
                for lane in (0..4).filter(|l| 4 * g + l < n) {
                    let i = (4 * g + lane) as usize;
                    let cs = trig[i];
                    let pull = k_over_n * (sums[1] * cs[0] - sums[0] * cs[1]);
                    let th =
                        wrap(theta[i] + seg.dt * (omega[i] + pull) + amplitude * xi[lane as usize]);
                    let next = [th.cos(), th.sin()];
                    theta[i] = th;
                    trig[i] = next;
                    mine[0] += next[0];
                    mine[1] += next[1];
                }
            }
        }
        sums = tree_sum(partial);
    }
    if seg.flags & FLAG_SAVE != 0 {
        let at = 2 * seg.slot as usize;
        order[at] = sums[0] / n as f32;
        order[at + 1] = sums[1] / n as f32;
    }
}

/// The CPU backend of a Kuramoto run: replicas in parallel.
pub struct CpuKuramoto {
    oscillators: usize,
    saves: usize,
    coupling: Vec<[f32; 2]>,
    omega: Vec<f32>,
    theta: Vec<f32>,
    trig: Vec<[f32; 2]>,
    order: Vec<f32>,
}

impl CpuKuramoto {
    /// Buffers for `replicas` replicas of `oscillators`, with their (K, D) and frequencies.
    pub fn new(
        replicas: u32,
        oscillators: u32,
        saves: usize,
        coupling: Vec<[f32; 2]>,
        omega: Vec<f32>,
    ) -> Self {
        let n = oscillators as usize;
        CpuKuramoto {
            oscillators: n,
            saves,
            coupling,
            omega,
            theta: vec![0.0; n * replicas as usize],
            trig: vec![[0.0; 2]; n * replicas as usize],
            order: vec![0.0; 2 * saves * replicas as usize],
        }
    }
}

impl ReplicaBackend<KuramotoSegment> for CpuKuramoto {
    fn dispatch(&mut self, seg: &KuramotoSegment) -> Result<()> {
        let n = self.oscillators;
        self.theta
            .par_chunks_mut(n)
            .zip(self.trig.par_chunks_mut(n))
            .zip(self.order.par_chunks_mut(2 * self.saves))
            .enumerate()
            .for_each(|(r, ((theta, trig), order))| {
                kuramoto(
                    seg,
                    r as u32,
                    self.coupling[r],
                    &self.omega[r * n..(r + 1) * n],
                    theta,
                    trig,
                    order,
                );
            });
        Ok(())
    }

    fn output(&mut self) -> Result<Vec<f32>> {
        Ok(self.order.clone())
    }
}
