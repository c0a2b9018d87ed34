//! Twin of `shaders/vicsek.wgsl`: the same buffers and the same kernels by name, each a loop
//! over the invocations it would launch. The atomic kernels run their invocations in index
//! order (any order gives the same step, which is what the sort in `vicsek_sort` is for);
//! `vicsek_align` runs its particles in parallel, in index order where the kernel takes them
//! in cell order (each particle's result does not depend on which invocation computes it).
//! The f32 operations are the kernel's; only
//! the device's sin, cos and atan2 may round differently.

use super::replica::{tree_sum, Partials, WORKGROUP_SIZE};
use crate::error::Result;
use crate::interacting::uniforms::{VicsekParams, ORDER_BLOCK};
use crate::interacting::VicsekBackend;
use crate::philox::{philox4x32_10, uniform_open01};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering};

/// Twin of `STREAM_VICSEK_NOISE`.
const STREAM_VICSEK_NOISE: u32 = 47;
/// Twin of `STREAM_VICSEK_INIT`.
const STREAM_VICSEK_INIT: u32 = 48;

/// The buffers of the kernels, as bound.
#[derive(Clone, Debug, Default)]
pub struct VicsekBuffers {
    /// The uniform.
    pub params: VicsekParams,
    /// Per replica: eta.
    pub eta: Vec<f32>,
    /// `clock`: (step, next, filled, overrun).
    pub clock: [u32; 4],
    /// Per particle: (x, y, cos, sin) read this step.
    pub state: Vec<[f32; 4]>,
    /// Per particle: written for the next step.
    pub next: Vec<[f32; 4]>,
    /// Per cell: (count, start).
    pub cells: Vec<[u32; 2]>,
    /// Per particle: (cell, slot, neighbours).
    pub binned: Vec<[u32; 3]>,
    /// Particle indices grouped by cell.
    pub sorted: Vec<u32>,
    /// Per replica and block: (sum cos, sum sin).
    pub partials: Vec<[f32; 2]>,
}

impl VicsekBuffers {
    fn total_particles(&self) -> usize {
        (self.params.particles * self.params.replicas) as usize
    }

    /// Twin of `cell_coord`.
    fn cell_coord(&self, x: f32) -> u32 {
        ((x * self.params.inv_cell_len) as u32).min(self.params.cells_per_side - 1)
    }
}

/// Twin of `wrap_box`.
fn wrap_box(x: f32, box_len: f32) -> f32 {
    let w = x - box_len * (x / box_len).floor();
    if w >= box_len {
        0.0
    } else {
        w
    }
}

/// Twin of `min_image`.
fn min_image(d: f32, box_len: f32) -> f32 {
    d - box_len * (d / box_len).round()
}

/// Twin of the kernel `vicsek_init`.
pub fn vicsek_init(b: &mut VicsekBuffers) {
    let p = b.params;
    for i in 0..b.total_particles() {
        let replica = i as u32 / p.particles;
        let w = philox4x32_10(
            [replica, i as u32 % p.particles, 0, STREAM_VICSEK_INIT],
            p.key,
        );
        let th = std::f32::consts::PI * (2.0 * uniform_open01(w[2]) - 1.0);
        b.state[i] = [
            wrap_box(p.box_len * uniform_open01(w[0]), p.box_len),
            wrap_box(p.box_len * uniform_open01(w[1]), p.box_len),
            th.cos(),
            th.sin(),
        ];
    }
}

/// Twin of the kernel `vicsek_clear`.
pub fn vicsek_clear(b: &mut VicsekBuffers) {
    b.clock[0] = b.clock[1];
    b.clock[1] = b.clock[1].wrapping_add(1);
    b.clock[2] = 0;
    for cell in &mut b.cells {
        cell[0] = 0;
    }
}

/// Twin of the kernel `vicsek_bin`: invocations in index order take the arrival slots.
pub fn vicsek_bin(b: &mut VicsekBuffers) {
    let m = b.params.cells_per_side;
    for i in 0..b.total_particles() {
        let s = b.state[i];
        let cell =
            (i as u32 / b.params.particles) * m * m + b.cell_coord(s[1]) * m + b.cell_coord(s[0]);
        let slot = b.cells[cell as usize][0];
        b.cells[cell as usize][0] += 1;
        b.binned[i] = [cell, slot, b.binned[i][2]];
    }
}

/// Twin of the kernel `vicsek_alloc`: invocations in index order take their ranges.
pub fn vicsek_alloc(b: &mut VicsekBuffers) {
    for cell in &mut b.cells {
        cell[1] = b.clock[2];
        b.clock[2] += cell[0];
    }
}

/// Twin of the kernel `vicsek_scatter`.
pub fn vicsek_scatter(b: &mut VicsekBuffers) {
    for i in 0..b.total_particles() {
        let [cell, slot, _] = b.binned[i];
        b.sorted[(b.cells[cell as usize][1] + slot) as usize] = i as u32;
    }
}

/// Twin of `within_budget`: whether `cost` loop iterations fit the budget; if not, records
/// them in the clock's `overrun`.
fn within_budget(budget: u32, overrun: &AtomicU32, cost: u32) -> bool {
    if budget == 0 || cost <= budget {
        return true;
    }
    overrun.fetch_max(cost, Ordering::Relaxed);
    false
}

/// Twin of the kernel `vicsek_sort`.
pub fn vicsek_sort(b: &mut VicsekBuffers) {
    let overrun = AtomicU32::new(b.clock[3]);
    for &[count, start] in &b.cells {
        if !within_budget(
            b.params.loop_budget,
            &overrun,
            count + count * (count + 1) / 2,
        ) {
            continue;
        }
        let range = &mut b.sorted[start as usize..(start + count) as usize];
        for a in 1..range.len() {
            let v = range[a];
            let mut k = a;
            while k > 0 && range[k - 1] > v {
                range[k] = range[k - 1];
                k -= 1;
            }
            range[k] = v;
        }
    }
    b.clock[3] = overrun.into_inner();
}

/// Twin of the kernel `vicsek_align`, its particles in parallel.
pub fn vicsek_align(b: &mut VicsekBuffers) {
    let p = b.params;
    let m = p.cells_per_side;
    let step = b.clock[0];
    let (state, cells, sorted, eta) = (&b.state, &b.cells, &b.sorted, &b.eta);
    let overrun = AtomicU32::new(b.clock[3]);
    let cell_coord = |x: f32| ((x * p.inv_cell_len) as u32).min(m - 1);
    b.next
        .par_iter_mut()
        .zip(b.binned.par_iter_mut())
        .enumerate()
        .for_each(|(i, (next, binned))| {
            let replica = i as u32 / p.particles;
            let first_cell = replica * m * m;
            let me = state[i];
            let (cx, cy) = (cell_coord(me[0]), cell_coord(me[1]));
            let cell_of =
                |dy: u32, dx: u32| first_cell + (cy + m + dy - 1) % m * m + (cx + m + dx - 1) % m;
            let occupants: u32 = (0..3)
                .flat_map(|dy| (0..3).map(move |dx| (dy, dx)))
                .map(|(dy, dx)| cells[cell_of(dy, dx) as usize][0])
                .sum();
            if !within_budget(p.loop_budget, &overrun, 2 * 16 + 9 + occupants) {
                return;
            }
            let mut sum = [0.0f32; 2];
            let mut neighbours = 0;
            for dy in 0..3 {
                for dx in 0..3 {
                    let [count, start] = cells[cell_of(dy, dx) as usize];
                    for k in 0..count {
                        let other = state[sorted[(start + k) as usize] as usize];
                        let sx = min_image(other[0] - me[0], p.box_len);
                        let sy = min_image(other[1] - me[1], p.box_len);
                        if sx * sx + sy * sy < p.radius2 {
                            sum[0] += other[2];
                            sum[1] += other[3];
                            neighbours += 1;
                        }
                    }
                }
            }
            let w = philox4x32_10(
                [replica, i as u32 % p.particles, step, STREAM_VICSEK_NOISE],
                p.key,
            );
            let th = sum[1].atan2(sum[0]) + eta[replica as usize] * (uniform_open01(w[0]) - 0.5);
            let heading = [th.cos(), th.sin()];
            *next = [
                wrap_box(me[0] + p.step_len * heading[0], p.box_len),
                wrap_box(me[1] + p.step_len * heading[1], p.box_len),
                heading[0],
                heading[1],
            ];
            binned[2] = neighbours;
        });
    b.clock[3] = overrun.into_inner();
}

/// Twin of the kernel `vicsek_order`: per (replica, block) the tree sum of the invocations'
/// strided partials.
pub fn vicsek_order(b: &mut VicsekBuffers) {
    let p = b.params;
    let blocks = p.particles.div_ceil(ORDER_BLOCK);
    for group in 0..blocks * p.replicas {
        let (replica, block) = (group / blocks, group % blocks);
        let end = ((block + 1) * ORDER_BLOCK).min(p.particles);
        let mut partial: Partials = [[0.0; 2]; WORKGROUP_SIZE];
        for (lid, mine) in partial.iter_mut().enumerate() {
            for q in (block * ORDER_BLOCK + lid as u32..end).step_by(WORKGROUP_SIZE) {
                let s = b.state[(replica * p.particles + q) as usize];
                mine[0] += s[2];
                mine[1] += s[3];
            }
        }
        b.partials[group as usize] = tree_sum(partial);
    }
}

/// The CPU backend of a Vicsek run.
pub struct CpuVicsek {
    buffers: VicsekBuffers,
    saved: Vec<[f32; 2]>,
}

impl CpuVicsek {
    /// Buffers for `params`, eta per replica and `saves` save slots.
    pub fn new(params: VicsekParams, eta: Vec<f32>, saves: u32) -> Self {
        let particles = (params.particles * params.replicas) as usize;
        let m = params.cells_per_side as usize;
        let blocks = (params.particles.div_ceil(ORDER_BLOCK) * params.replicas) as usize;
        CpuVicsek {
            buffers: VicsekBuffers {
                params,
                eta,
                clock: [0; 4],
                state: vec![[0.0; 4]; particles],
                next: vec![[0.0; 4]; particles],
                cells: vec![[0; 2]; m * m * params.replicas as usize],
                binned: vec![[0; 3]; particles],
                sorted: vec![0; particles],
                partials: vec![[0.0; 2]; blocks],
            },
            saved: vec![[0.0; 2]; blocks * saves as usize],
        }
    }
}

impl VicsekBackend for CpuVicsek {
    fn init(&mut self) -> Result<()> {
        vicsek_init(&mut self.buffers);
        Ok(())
    }

    fn steps(&mut self, steps: u32) -> Result<()> {
        let b = &mut self.buffers;
        for _ in 0..steps {
            vicsek_clear(b);
            vicsek_bin(b);
            vicsek_alloc(b);
            vicsek_scatter(b);
            vicsek_sort(b);
            vicsek_align(b);
            std::mem::swap(&mut b.state, &mut b.next);
        }
        Ok(())
    }

    fn save(&mut self, slot: u32) -> Result<()> {
        vicsek_order(&mut self.buffers);
        let n = self.buffers.partials.len();
        self.saved[slot as usize * n..(slot as usize + 1) * n]
            .copy_from_slice(&self.buffers.partials);
        Ok(())
    }

    fn partials(&mut self) -> Result<Vec<[f32; 2]>> {
        Ok(self.saved.clone())
    }

    fn overrun(&mut self) -> Result<u32> {
        Ok(self.buffers.clock[3])
    }

    fn state(&mut self) -> Result<(Vec<[f32; 4]>, Vec<u32>)> {
        Ok((
            self.buffers.state.clone(),
            self.buffers.binned.iter().map(|b| b[2]).collect(),
        ))
    }
}
