// Fills a buffer with the normals that the engine draws: `per_trajectory` normals for each of a
// run of consecutive trajectories. Used to test the variates and their independence.
// CPU twin: crates/langevin/src/cpu/philox_stream.rs.
#import normal

// Keep in sync with `NormalFill` in crates/langevin/src/cpu/philox_stream.rs.
struct NormalFill {
    key: vec2<u32>,
    first_trajectory: vec2<u32>,
    stream: u32,
    blocks_per_trajectory: u32,
    blocks: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> fill: NormalFill;
@group(0) @binding(1) var<storage, read_write> normals: array<vec4<f32>>;

@compute @workgroup_size(64)
fn normal_fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 64u + gid.x;
    if i >= fill.blocks {
        return;
    }
    let local_trajectory = i / fill.blocks_per_trajectory;
    let block = i % fill.blocks_per_trajectory;
    let lo = fill.first_trajectory.x + local_trajectory;
    let trajectory = vec2<u32>(lo, fill.first_trajectory.y + select(0u, 1u, lo < fill.first_trajectory.x));
    let ctr = vec4<u32>(trajectory.x, trajectory.y, block, fill.stream);
    normals[i] = box_muller4(philox4x32_10(ctr, fill.key));
}
