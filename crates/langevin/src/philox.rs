//! Philox4x32-10 and the variates built on it, bit-for-bit the recipe of `shaders/lib/`.
//!
//! Counter-based: the output depends only on `(counter, key)`, so any trajectory's noise can be
//! produced anywhere, in any order, on any backend. The engine keys Philox by the 64-bit seed
//! and counts with `(trajectory low, trajectory high, block, stream)`; see `ARCHITECTURE.md`.
//!
//! Keep in sync with `shaders/lib/philox.wgsl` and `shaders/lib/normal.wgsl`.

use crate::vmath;

/// Multiplier of the first Philox lane pair.
pub const PHILOX_M0: u32 = 0xD251_1F53;
/// Multiplier of the second Philox lane pair.
pub const PHILOX_M1: u32 = 0xCD9E_8D57;
/// Weyl increment of the first key word.
pub const PHILOX_W0: u32 = 0x9E37_79B9;
/// Weyl increment of the second key word.
pub const PHILOX_W1: u32 = 0xBB67_AE85;

/// Stream of the Brownian increments of a trajectory.
pub const STREAM_BROWNIAN: u32 = 0;
/// Stream of the initial state of a trajectory (normal laws).
pub const STREAM_INITIAL: u32 = 1;
/// Stream of the initial state of a trajectory (uniform laws).
pub const STREAM_INITIAL_UNIFORM: u32 = 2;

/// High 32 bits of `a * b`, as the shader builds it from 16-bit halves.
#[inline(always)]
pub fn mul_hi(a: u32, b: u32) -> u32 {
    ((u64::from(a) * u64::from(b)) >> 32) as u32
}

#[inline(always)]
fn philox_round(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let hi0 = mul_hi(PHILOX_M0, ctr[0]);
    let lo0 = PHILOX_M0.wrapping_mul(ctr[0]);
    let hi1 = mul_hi(PHILOX_M1, ctr[2]);
    let lo1 = PHILOX_M1.wrapping_mul(ctr[2]);
    [hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0]
}

/// One Philox4x32-10 block: ten rounds, the key bumped by the Weyl constants between rounds.
#[inline]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut ctr = counter;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k = [k[0].wrapping_add(PHILOX_W0), k[1].wrapping_add(PHILOX_W1)];
        }
        ctr = philox_round(ctr, k);
    }
    ctr
}

/// [`philox4x32_10`] for eight counters at once (`counter[w][lane]`: word `w` of each lane's
/// counter), the same bits lane by lane; written over arrays so that the compiler runs the
/// lanes in vector registers.
#[inline]
pub fn philox4x32_10_lanes(counter: &[[u32; 8]; 4], key: [u32; 2]) -> [[u32; 8]; 4] {
    let mut c = *counter;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k = [k[0].wrapping_add(PHILOX_W0), k[1].wrapping_add(PHILOX_W1)];
        }
        let mut next = [[0u32; 8]; 4];
        for l in 0..8 {
            let p0 = u64::from(PHILOX_M0) * u64::from(c[0][l]);
            let p1 = u64::from(PHILOX_M1) * u64::from(c[2][l]);
            next[0][l] = (p1 >> 32) as u32 ^ c[1][l] ^ k[0];
            next[1][l] = p1 as u32;
            next[2][l] = (p0 >> 32) as u32 ^ c[3][l] ^ k[1];
            next[3][l] = p0 as u32;
        }
        c = next;
    }
    c
}

/// The Philox key of a 64-bit seed: low word first.
pub fn key_of_seed(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// A 64-bit trajectory index as the two counter words (low, high).
pub fn words_of_index(index: u64) -> [u32; 2] {
    [index as u32, (index >> 32) as u32]
}

/// 23 random bits plus half an ulp: a uniform variate in (0, 1), never 0 or 1.
#[inline(always)]
pub fn uniform_open01(word: u32) -> f32 {
    ((word >> 9) as f32 + 0.5) * 1.192_092_9e-7
}

/// Four standard normals from one Philox block by Box-Muller, the angle kept in (-pi, pi)
/// and the radius kept real (`max(-2 ln u, 0)`, as the shader must). The logarithm, sine and
/// cosine are the polynomials of `vmath.rs`, so that [`box_muller4_lanes`] vectorises and
/// gives the same bits.
#[inline(always)]
pub fn box_muller4(words: [u32; 4]) -> [f32; 4] {
    let r0 = (-2.0 * vmath::ln(uniform_open01(words[0]))).max(0.0).sqrt();
    let a0 = std::f32::consts::PI * (2.0 * uniform_open01(words[1]) - 1.0);
    let r1 = (-2.0 * vmath::ln(uniform_open01(words[2]))).max(0.0).sqrt();
    let a1 = std::f32::consts::PI * (2.0 * uniform_open01(words[3]) - 1.0);
    let (s0, c0) = vmath::sin_cos(a0);
    let (s1, c1) = vmath::sin_cos(a1);
    [r0 * c0, r0 * s0, r1 * c1, r1 * s1]
}

/// [`box_muller4`] for eight Philox blocks at once (`words[w][lane]`, as
/// [`philox4x32_10_lanes`] returns them): `normals[k][lane]` is normal `k` of each lane's
/// block, the same bits lane by lane.
#[inline]
pub fn box_muller4_lanes(words: &[[u32; 8]; 4]) -> [[f32; 8]; 4] {
    let mut normals = [[0.0; 8]; 4];
    for l in 0..8 {
        let z = box_muller4([words[0][l], words[1][l], words[2][l], words[3][l]]);
        for (k, z) in z.into_iter().enumerate() {
            normals[k][l] = z;
        }
    }
    normals
}

/// Standard normals of one (key, trajectory, stream), addressed by index, with a one-block
/// cache: normal `g` is lane `g % 4` of block `g / 4`. Mirrors `NormalStream` in the shader.
#[derive(Clone, Debug)]
pub struct NormalStream {
    key: [u32; 2],
    trajectory: [u32; 2],
    stream: u32,
    cached_block: Option<u32>,
    cache: [f32; 4],
}

impl NormalStream {
    /// The stream `stream` of trajectory `trajectory` under `key`.
    pub fn new(key: [u32; 2], trajectory: [u32; 2], stream: u32) -> Self {
        Self {
            key,
            trajectory,
            stream,
            cached_block: None,
            cache: [0.0; 4],
        }
    }

    /// Normal number `index` of the stream; independent of what was asked before.
    #[inline]
    pub fn normal_at(&mut self, index: u32) -> f32 {
        let block = index >> 2;
        if self.cached_block != Some(block) {
            let ctr = [self.trajectory[0], self.trajectory[1], block, self.stream];
            self.cache = box_muller4(philox4x32_10(ctr, self.key));
            self.cached_block = Some(block);
        }
        self.cache[(index & 3) as usize]
    }
}

/// The sum, in f64, of the standard normals that the engine feeds one component of a
/// trajectory over steps `[step_begin, step_end)`; `dim` and `substeps` are those of the run.
/// Times `sqrt(dt / substeps)` it is the Brownian increment over those steps: tests use it to
/// build exact solutions driven by the same path.
pub fn brownian_sum(
    seed: u64,
    trajectory: u64,
    dim: u32,
    component: u32,
    substeps: u32,
    step_begin: u32,
    step_end: u32,
) -> f64 {
    let mut stream = NormalStream::new(
        key_of_seed(seed),
        words_of_index(trajectory),
        STREAM_BROWNIAN,
    );
    let mut sum = 0.0f64;
    for s in step_begin..step_end {
        for j in 0..substeps {
            sum += f64::from(stream.normal_at((s * substeps + j) * dim + component));
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_hi_matches_16_bit_halves() {
        // The shader's construction, spelled out, against the 64-bit product.
        fn halves(a: u32, b: u32) -> u32 {
            let (a_lo, a_hi, b_lo, b_hi) = (a & 0xFFFF, a >> 16, b & 0xFFFF, b >> 16);
            let lo_lo = a_lo * b_lo;
            let hi_lo = a_hi * b_lo;
            let lo_hi = a_lo * b_hi;
            let hi_hi = a_hi * b_hi;
            let cross = (lo_lo >> 16) + (hi_lo & 0xFFFF) + lo_hi;
            hi_hi + (hi_lo >> 16) + (cross >> 16)
        }
        let mut x = 0x1234_5678u32;
        for _ in 0..100_000 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let y = x.rotate_left(13) ^ 0xDEAD_BEEF;
            assert_eq!(halves(x, y), mul_hi(x, y));
        }
        assert_eq!(halves(u32::MAX, u32::MAX), mul_hi(u32::MAX, u32::MAX));
    }

    #[test]
    fn uniform_stays_inside_the_open_interval() {
        assert!(uniform_open01(0) > 0.0);
        assert!(uniform_open01(u32::MAX) < 1.0);
        assert_eq!(uniform_open01(0), 2f32.powi(-24));
        assert_eq!(uniform_open01(u32::MAX), 1.0 - 2f32.powi(-24));
    }

    #[test]
    fn box_muller_lanes_give_the_scalar_normals_to_the_bit() {
        let key = [0x0bad_5eed, 0x0000_0001];
        for block in 0..4096u32 {
            let counters: [[u32; 4]; 8] = std::array::from_fn(|l| [l as u32, 0, block, 0]);
            let words: [[u32; 4]; 8] = counters.map(|c| philox4x32_10(c, key));
            let by_word: [[u32; 8]; 4] =
                std::array::from_fn(|w| std::array::from_fn(|l| words[l][w]));
            let lanes = box_muller4_lanes(&by_word);
            for (l, w) in words.iter().enumerate() {
                let one = box_muller4(*w);
                for k in 0..4 {
                    assert_eq!(
                        lanes[k][l].to_bits(),
                        one[k].to_bits(),
                        "block {block} lane {l}"
                    );
                }
            }
        }
    }

    #[test]
    fn lanes_give_the_scalar_blocks() {
        let key = [0x1234_5678, 0x9abc_def0];
        let counters: [[u32; 4]; 8] =
            std::array::from_fn(|l| [l as u32 * 0x0101_0101, u32::MAX - l as u32, 7 * l as u32, 3]);
        let words: [[u32; 8]; 4] = std::array::from_fn(|w| std::array::from_fn(|l| counters[l][w]));
        let out = philox4x32_10_lanes(&words, key);
        for (l, ctr) in counters.iter().enumerate() {
            let one = philox4x32_10(*ctr, key);
            for w in 0..4 {
                assert_eq!(out[w][l], one[w], "lane {l} word {w}");
            }
        }
    }

    #[test]
    fn normal_stream_ignores_access_order() {
        let mut a = NormalStream::new([1, 2], [3, 0], 0);
        let mut b = NormalStream::new([1, 2], [3, 0], 0);
        let forward: Vec<f32> = (0..64).map(|g| a.normal_at(g)).collect();
        let backward: Vec<f32> = (0..64).rev().map(|g| b.normal_at(g)).collect();
        let backward: Vec<f32> = backward.into_iter().rev().collect();
        assert_eq!(forward, backward);
    }
}
