// Uniform and normal variates from Philox words, bit-for-bit the recipe of `philox.rs`.
//
// Counter layout (see ARCHITECTURE.md): (trajectory low, trajectory high, block, stream).
// One Philox call gives four words, hence four normals: normal number g of a stream lives in
// block g / 4, lane g % 4. Keep in sync with crates/langevin/src/philox.rs.
#import philox

// 23 random bits plus half an ulp: the result lies in (0, 1), so log never sees 0.
fn uniform_open01(word: u32) -> f32 {
    return (f32(word >> 9u) + 0.5) * 1.1920929e-7;
}

// Box-Muller on two pairs of words; the angle stays in (-pi, pi), where Vulkan bounds the
// error of sin and cos. Near u = 1 a driver's log may round -2 log u to zero or below (Vulkan
// allows an absolute error of 2^-21 there): the max keeps the radius real.
fn box_muller4(words: vec4<u32>) -> vec4<f32> {
    let r0 = sqrt(max(-2.0 * log(uniform_open01(words.x)), 0.0));
    let a0 = 3.14159265 * (2.0 * uniform_open01(words.y) - 1.0);
    let r1 = sqrt(max(-2.0 * log(uniform_open01(words.z)), 0.0));
    let a1 = 3.14159265 * (2.0 * uniform_open01(words.w) - 1.0);
    return vec4<f32>(r0 * cos(a0), r0 * sin(a0), r1 * cos(a1), r1 * sin(a1));
}

// A stream of standard normals for one (key, trajectory, stream) with a one-block cache.
struct NormalStream {
    key: vec2<u32>,
    trajectory: vec2<u32>,
    stream: u32,
    cached_block: u32,
    has_cache: bool,
    cache: vec4<f32>,
}

fn normal_stream(key: vec2<u32>, trajectory: vec2<u32>, stream: u32) -> NormalStream {
    return NormalStream(key, trajectory, stream, 0u, false, vec4<f32>(0.0));
}

// Normal number `index` of the stream. Depends only on (key, trajectory, stream, index), never
// on which block happened to be cached, so chunking cannot change a trajectory.
fn normal_at(s: ptr<function, NormalStream>, index: u32) -> f32 {
    let block = index >> 2u;
    if !(*s).has_cache || (*s).cached_block != block {
        let ctr = vec4<u32>((*s).trajectory.x, (*s).trajectory.y, block, (*s).stream);
        (*s).cache = box_muller4(philox4x32_10(ctr, (*s).key));
        (*s).cached_block = block;
        (*s).has_cache = true;
    }
    return (*s).cache[index & 3u];
}
