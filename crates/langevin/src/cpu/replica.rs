//! Twin of `shaders/lib/replica.wgsl`: the workgroup size of the replica kernels and their
//! tree sum, over every invocation's partial in invocation order.

/// Twin of `WORKGROUP_SIZE`.
pub const WORKGROUP_SIZE: usize = 64;

/// Every invocation's partial of a tree sum.
pub type Partials = [[f32; 2]; WORKGROUP_SIZE];

/// Twin of `tree_sum`: the same additions in the same order.
pub fn tree_sum(mut partial: Partials) -> [f32; 2] {
    let mut stride = WORKGROUP_SIZE / 2;
    while stride > 0 {
        for lid in 0..stride {
            partial[lid][0] += partial[lid + stride][0];
            partial[lid][1] += partial[lid + stride][1];
        }
        stride /= 2;
    }
    partial[0]
}
