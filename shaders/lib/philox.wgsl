// Philox4x32-10 counter-based generator (Salmon et al., SC11), bit-identical to `philox.rs`.
//
// The 32x32 -> 64 multiply is `mul_hi` (16-bit halves, or one 64-bit multiply where the
// device has SHADER_INT64). Keep in sync with crates/langevin/src/philox.rs.

#import mul_hi

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

fn philox_round(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    let hi0 = mul_hi(PHILOX_M0, ctr.x);
    let lo0 = PHILOX_M0 * ctr.x;
    let hi1 = mul_hi(PHILOX_M1, ctr.z);
    let lo1 = PHILOX_M1 * ctr.z;
    return vec4<u32>(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);
}

// Ten rounds with the key bumped by the Weyl constants between rounds.
fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var ctr = counter;
    var k = key;
    for (var round = 0u; round < 10u; round++) {
        if round > 0u {
            k = k + vec2<u32>(PHILOX_W0, PHILOX_W1);
        }
        ctr = philox_round(ctr, k);
    }
    return ctr;
}
