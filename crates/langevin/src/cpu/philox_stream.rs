//! Twins of `shaders/philox_kat.wgsl` and `shaders/normal_fill.wgsl`.

use crate::philox::{box_muller4, philox4x32_10};
use bytemuck::{Pod, Zeroable};
use rayon::prelude::*;

/// Twin of `philox_kat`: one Philox block per `(counter, key)`.
pub fn philox_kat(input: &[([u32; 4], [u32; 2])]) -> Vec<[u32; 4]> {
    input.iter().map(|(c, k)| philox4x32_10(*c, *k)).collect()
}

/// The uniform of `normal_fill`. Keep in sync with `NormalFill` in `shaders/normal_fill.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct NormalFill {
    /// Philox key.
    pub key: [u32; 2],
    /// Global index of the first trajectory.
    pub first_trajectory: [u32; 2],
    /// Stream number.
    pub stream: u32,
    /// Blocks of four normals per trajectory.
    pub blocks_per_trajectory: u32,
    /// Blocks in all.
    pub blocks: u32,
    /// Padding to 16 bytes.
    pub _pad: u32,
}

/// Twin of `normal_fill`: `4 * blocks` normals, trajectory-major.
pub fn normal_fill(fill: &NormalFill) -> Vec<f32> {
    let mut out = vec![0.0f32; 4 * fill.blocks as usize];
    out.par_chunks_mut(4).enumerate().for_each(|(i, o)| {
        let i = i as u32;
        let local_trajectory = i / fill.blocks_per_trajectory;
        let block = i % fill.blocks_per_trajectory;
        let lo = fill.first_trajectory[0].wrapping_add(local_trajectory);
        let hi = fill.first_trajectory[1] + u32::from(lo < fill.first_trajectory[0]);
        o.copy_from_slice(&box_muller4(philox4x32_10(
            [lo, hi, block, fill.stream],
            fill.key,
        )));
    });
    out
}
