//! The uniforms of the interacting kernels (`shaders/kuramoto.wgsl`, `chain.wgsl`, `cbo.wgsl`,
//! `vicsek.wgsl`),
//! shared by the specs that fill them and the CPU twins that read them. A leaf module: it
//! imports neither the specs nor the backends, so neither imports the other through it.

use bytemuck::{Pod, Zeroable};

/// The most coordinates (the kernel's workgroup memory holds d + 1 sums per invocation).
pub const MAX_DIM_CBO: u32 = 32;

/// The uniform of one dispatch of `kuramoto` (keep in sync with `shaders/kuramoto.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct KuramotoSegment {
    /// The Philox key (the seed's low and high words).
    pub key: [u32; 2],
    /// Oscillators per replica.
    pub oscillators: u32,
    /// Replicas.
    pub replicas: u32,
    /// The global index of the dispatch's first step.
    pub first_step: u32,
    /// Steps to take.
    pub steps: u32,
    /// The save slot written after the steps (with `FLAG_SAVE`).
    pub slot: u32,
    /// Save times.
    pub saves: u32,
    /// The step.
    pub dt: f32,
    /// [`super::FLAG_INIT`] (draw the initial phases first), [`super::FLAG_SAVE`].
    pub flags: u32,
    /// Padding to 16 bytes.
    pub pad: [u32; 2],
}

/// The uniform of one dispatch of `chain` (keep in sync with `shaders/chain.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ChainSegment {
    /// The Philox key.
    pub key: [u32; 2],
    /// Sites per replica.
    pub sites: u32,
    /// Replicas.
    pub replicas: u32,
    /// The global index of the dispatch's first step.
    pub first_step: u32,
    /// Steps to take.
    pub steps: u32,
    /// The save slot written after the steps.
    pub slot: u32,
    /// Save times.
    pub saves: u32,
    /// The step.
    pub dt: f32,
    /// [`super::FLAG_INIT`], [`super::FLAG_SAVE`].
    pub flags: u32,
    /// [`super::chain::ChainModel::code`].
    pub model: u32,
    /// nu or K.
    pub nu: f32,
    /// lambda.
    pub lambda: f32,
    /// D.
    pub noise: f32,
    /// Padding to 16 bytes.
    pub pad: [u32; 2],
}

/// The uniform of one dispatch of `cbo` (keep in sync with `shaders/cbo.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct CboSegment {
    /// The Philox key.
    pub key: [u32; 2],
    /// Particles per run.
    pub particles: u32,
    /// Runs.
    pub replicas: u32,
    /// The global index of the dispatch's first step.
    pub first_step: u32,
    /// Steps to take.
    pub steps: u32,
    /// The save slot written after the steps.
    pub slot: u32,
    /// Save times.
    pub saves: u32,
    /// The step.
    pub dt: f32,
    /// [`super::FLAG_INIT`], [`super::FLAG_SAVE`].
    pub flags: u32,
    /// Coordinates.
    pub dim: u32,
    /// The objective's code.
    pub objective: u32,
    /// lambda.
    pub lambda: f32,
    /// sigma.
    pub sigma: f32,
    /// Initial alpha.
    pub alpha: f32,
    /// alpha's factor per step.
    pub alpha_growth: f32,
    /// alpha's cap.
    pub alpha_max: f32,
    /// 1 for per-coordinate noise.
    pub anisotropic: u32,
    /// Initial box.
    pub init_lo: f32,
    /// Initial box.
    pub init_hi: f32,
    /// The minimiser's coordinate.
    pub shift: f32,
    /// A run stops once the objective at its consensus falls below this.
    pub energy_tol: f32,
    /// A run stops once its consensus moves less than this in every coordinate.
    pub diff_tol: f32,
    /// Padding to 16 bytes.
    pub pad: u32,
}

/// Twin of `ORDER_BLOCK`: particles per partial sum of the order parameter.
pub const ORDER_BLOCK: u32 = 1024;

/// The uniform of the Vicsek kernels (keep in sync with `shaders/vicsek.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct VicsekParams {
    /// The Philox key.
    pub key: [u32; 2],
    /// Particles per replica.
    pub particles: u32,
    /// Replicas.
    pub replicas: u32,
    /// Cells per side m.
    pub cells_per_side: u32,
    /// The box side L.
    pub box_len: f32,
    /// m / L.
    pub inv_cell_len: f32,
    /// r^2.
    pub radius2: f32,
    /// v0 dt.
    pub step_len: f32,
    /// Loop iterations one invocation may run (llvmpipe leaves every loop after 65,535), 0 for
    /// no bound: a kernel whose cells would need more records its cost in the clock's
    /// `overrun` and does nothing, and the run is refused with [`crate::Error::Limit`].
    pub loop_budget: u32,
    /// Padding.
    pub pad1: u32,
    /// Padding.
    pub pad2: u32,
}
