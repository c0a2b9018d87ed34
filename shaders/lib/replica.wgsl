// What the replica kernels (`kuramoto`, `chain`; crates/langevin/src/interacting/) share: one
// workgroup per replica, the dispatch flags, and the tree sum in workgroup memory that every
// step ends with. CPU twin: crates/langevin/src/cpu/replica.rs.

// Small workgroups: fewer rounds of the tree per step, and on drivers that emulate
// workgroups (lavapipe) fewer invocations to switch between at each barrier.
const WORKGROUP_SIZE: u32 = 64u;
const FLAG_INIT: u32 = 1u;
const FLAG_SAVE: u32 = 2u;

var<workgroup> partial: array<vec2<f32>, WORKGROUP_SIZE>;

// The replica of a workgroup (workgroups may be laid out in two dimensions).
fn replica_of(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + wid.y * nwg.x;
}

// The workgroup's total of each invocation's `mine`, by halving strides (every invocation
// gets it). Call from uniform control flow.
fn tree_sum(lid: u32, mine: vec2<f32>) -> vec2<f32> {
    partial[lid] = mine;
    workgroupBarrier();
    for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride >>= 1u) {
        if lid < stride {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}
