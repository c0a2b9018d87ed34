// High 32 bits of the 64-bit product a * b, by one 64-bit multiply (SHADER_INT64): a GPU
// does it in one or two instructions, where the 16-bit halves of `mul_hi.wgsl` take about
// twelve. Replaces that module when the device has the feature.
fn mul_hi(a: u32, b: u32) -> u32 {
    return u32((u64(a) * u64(b)) >> 32u);
}
