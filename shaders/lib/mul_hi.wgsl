// High 32 bits of the 64-bit product a * b, from 16-bit halves: core WGSL has no 64-bit
// integers. Where the adapter has SHADER_INT64, pipelines take `mul_hi_u64.wgsl` instead
// (`shader::native_mul_hi`), with the same result for every input.
fn mul_hi(a: u32, b: u32) -> u32 {
    let a_lo = a & 0xFFFFu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xFFFFu;
    let b_hi = b >> 16u;
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    // Cannot overflow: (2^16 - 1) + (2^16 - 1) + (2^16 - 1)^2 < 2^32.
    let cross = (lo_lo >> 16u) + (hi_lo & 0xFFFFu) + lo_hi;
    return hi_hi + (hi_lo >> 16u) + (cross >> 16u);
}
