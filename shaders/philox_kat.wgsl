// Raw Philox4x32-10 blocks for given (counter, key) pairs: the known-answer check of the
// generator on the device. CPU twin: crates/langevin/src/cpu/philox_stream.rs.
#import philox

// Element 2 i is the counter, element 2 i + 1 holds the key in .xy.
@group(0) @binding(0) var<storage, read> kat_input: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> kat_output: array<vec4<u32>>;

@compute @workgroup_size(64)
fn philox_kat(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 64u + gid.x;
    if i < arrayLength(&kat_output) {
        kat_output[i] = philox4x32_10(kat_input[2u * i], kat_input[2u * i + 1u].xy);
    }
}
