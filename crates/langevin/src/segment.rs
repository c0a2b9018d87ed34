//! The uniform of one dispatch over a batch of trajectories and its flags: the twin of
//! `shaders/lib/segment.wgsl`, shared by the plan that fills it and the kernels (and their CPU
//! twins) that read it.

use bytemuck::{Pod, Zeroable};

/// Trajectories per block of moment partials (`BLOCK_SIZE` in `shaders/lib/segment.wgsl`).
/// Statistics are folded block by block in global order and batches are whole blocks, so the
/// batching cannot change a result.
pub const BLOCK_SIZE: u32 = 64;

/// Draw the initial state instead of loading it.
pub const FLAG_INIT: u32 = 1;
/// Reduce moments into the save slot's partials.
pub const FLAG_SAVE: u32 = 2;
/// Bin the histogram component.
pub const FLAG_HISTOGRAM: u32 = 4;
/// Track first-passage times.
pub const FLAG_FIRST_PASSAGE: u32 = 8;
/// Keep each trajectory's initial state and observe displacements and products with it.
pub const FLAG_ORIGIN: u32 = 16;
/// Sum each trajectory's states (and squares) from step `average_from` on, for time averages.
pub const FLAG_TIME_AVERAGE: u32 = 32;

/// The uniform of one dispatch. Keep in sync with `Segment` in `shaders/lib/segment.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Segment {
    /// Philox key from the seed.
    pub key: [u32; 2],
    /// Global index of the batch's first trajectory (low, high).
    pub first_trajectory: [u32; 2],
    /// Trajectories in the batch.
    pub trajectories: u32,
    /// First step index of this dispatch.
    pub step_begin: u32,
    /// Steps in this dispatch.
    pub step_count: u32,
    /// `FLAG_*` bits.
    pub flags: u32,
    /// Start time of the run.
    pub t0: f32,
    /// Step.
    pub dt: f32,
    /// `sqrt(dt / substeps)`.
    pub sqrt_substep_dt: f32,
    /// Brownian substeps per step.
    pub substeps: u32,
    /// Lower edge of the histogram.
    pub hist_lo: f32,
    /// Bins per unit.
    pub hist_inv_width: f32,
    /// Number of bins.
    pub hist_bins: u32,
    /// Component to bin.
    pub hist_component: u32,
    /// First-passage level.
    pub fp_level: f32,
    /// First-passage component.
    pub fp_component: u32,
    /// 0: up (x >= level), 1: down (x <= level).
    pub fp_direction: u32,
    /// With `FLAG_TIME_AVERAGE`: the first step whose end state enters the time average.
    pub average_from: u32,
}
