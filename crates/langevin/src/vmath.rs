//! The f32 logarithm, sine and cosine of the CPU twin's Box-Muller transform, as branch-free
//! polynomials that the compiler can run over lanes of trajectories in vector registers.
//!
//! The C library's `logf` and `sincosf` are calls, one number at a time: they were a quarter
//! of the CPU twin's time in an Euler-Maruyama step and kept its lanes of eight scalar. These
//! are Cephes' `logf`, `sinf` and `cosf` (S. L. Moshier, *Methods and Programs for
//! Mathematical Functions*, 1989): the same polynomials, with the branches turned into selects
//! and the rounding into a magic-number addition, so that a loop over lanes vectorises. On the
//! arguments Box-Muller gives them (every `u` in (0, 1) that [`crate::philox::uniform_open01`]
//! makes, every angle in (-pi, pi)) the logarithm is within 0.85 ulp of the exact value and
//! the sine and cosine within 1.5 ulp: `tests` below checks all 2^23 of each against f64,
//! in line with the peak relative errors Cephes publishes (7.6e-8 for `logf`, 1.2e-7 for
//! `sinf` and `cosf`; one ulp is 6e-8 to 1.2e-7).
//!
//! The device keeps WGSL's `log`, `sin` and `cos`: the two backends agree within the bound of
//! Vulkan's precision rules, as they did before, while every path of the twin (lanes or one
//! trajectory at a time) draws the same bits.

/// 1 / sqrt(2): mantissas below it are doubled, so that the polynomial's argument stays in
/// [sqrt(1/2) - 1, sqrt(2) - 1).
const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// ln 2 as a short head (exact times any exponent of an f32) and a tail.
const LN2_HEAD: f32 = 355.0 / 512.0;
const LN2_TAIL: f32 = -2.121_944_4e-4;

/// Cephes' `logf` polynomial, highest power first: ln(1 + f) = f - f^2 / 2 + f^3 P(f).
const LN_POLY: [f32; 9] = [
    7.037_683_6e-2,
    -1.151_461e-1,
    1.167_699_9e-1,
    -1.242_014_1e-1,
    1.424_932_3e-1,
    -1.666_805_8e-1,
    2.000_071_5e-1,
    -2.499_999_4e-1,
    3.333_333e-1,
];

/// Natural logarithm of a positive, normal, finite `x`. (Box-Muller's uniforms lie in
/// [2^-24, 1): no zero, sub-normal, infinite or negative input reaches it.)
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    // x = m 2^e with m in [1/2, 1).
    let e = ((bits >> 23) & 0xff) as i32 - 126;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    let low = m < SQRT_HALF;
    let f = if low { m + m - 1.0 } else { m - 1.0 };
    let e = (e - i32::from(low)) as f32;
    let z = f * f;
    let p = LN_POLY[1..].iter().fold(LN_POLY[0], |p, &c| p * f + c);
    let y = f * z * p + LN2_TAIL * e - 0.5 * z;
    (f + y) + LN2_HEAD * e
}

/// 1.5 2^23: adding it to a float of magnitude below 2^22 rounds it to the nearest integer,
/// which then sits in the low bits of the sum.
const ROUNDER: f32 = 12_582_912.0;

/// pi / 2 in three parts: the first two have few enough bits that their products with the
/// small quadrant numbers used here are exact.
const HALF_PI_1: f32 = 1.570_312_5;
const HALF_PI_2: f32 = 4.837_513e-4;
const HALF_PI_3: f32 = 7.549_79e-8;

/// `(sin x, cos x)` for `|x|` up to a few thousand (Box-Muller's angles lie in (-pi, pi)).
#[inline(always)]
pub fn sin_cos(x: f32) -> (f32, f32) {
    // The nearest multiple k of pi / 2, and y = x - k pi / 2 in [-pi / 4, pi / 4].
    let shifted = x * std::f32::consts::FRAC_2_PI + ROUNDER;
    let k = shifted.to_bits().wrapping_sub(ROUNDER.to_bits());
    let q = shifted - ROUNDER;
    let y = ((x - q * HALF_PI_1) - q * HALF_PI_2) - q * HALF_PI_3;
    let z = y * y;
    let sin_y = ((-1.951_529_6e-4 * z + 8.332_161e-3) * z - 1.666_665_5e-1) * z * y + y;
    let cos_y =
        ((2.443_315_7e-5 * z - 1.388_731_6e-3) * z + 4.166_664_6e-2) * z * z - 0.5 * z + 1.0;
    // Quadrant k mod 4: odd quadrants swap sine and cosine; the sine is negated in quadrants
    // 2 and 3, the cosine in 1 and 2.
    let swap = k & 1 != 0;
    let (s, c) = if swap { (cos_y, sin_y) } else { (sin_y, cos_y) };
    let sin_sign = (k & 2) << 30;
    let cos_sign = (k.wrapping_add(1) & 2) << 30;
    (
        f32::from_bits(s.to_bits() ^ sin_sign),
        f32::from_bits(c.to_bits() ^ cos_sign),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::philox::uniform_open01;

    /// |approx - exact| in units of the last place of `exact` rounded to f32; infinite for a
    /// NaN, which `f64::max` would otherwise drop from the worst case.
    fn ulps(approx: f32, exact: f64) -> f64 {
        let e = exact as f32;
        let ulp = f64::from(f32::from_bits(e.abs().to_bits() + 1) - e.abs());
        let d = (f64::from(approx) - exact).abs() / ulp;
        if d.is_nan() {
            f64::INFINITY
        } else {
            d
        }
    }

    /// Every uniform Box-Muller can draw: `uniform_open01` keeps 23 bits of the word.
    fn every_uniform() -> impl Iterator<Item = f32> {
        (0..1u32 << 23).map(|k| uniform_open01(k << 9))
    }

    #[test]
    fn ln_is_within_one_ulp_on_every_uniform() {
        let worst = every_uniform()
            .map(|u| ulps(ln(u), f64::from(u).ln()))
            .fold(0.0, f64::max);
        assert!(worst <= 1.0, "worst error {worst} ulp");
    }

    #[test]
    fn ln_matches_known_values() {
        assert_eq!(ln(1.0), 0.0);
        assert!((ln(0.5) + std::f32::consts::LN_2).abs() <= f32::EPSILON * 0.5);
        assert!((ln(f32::MIN_POSITIVE) - (-87.336_55)).abs() < 1e-4);
        assert!((ln(2.0f32.powi(100)) - 69.314_72).abs() < 1e-4);
    }

    #[test]
    fn sin_cos_are_within_one_and_a_half_ulp_on_every_angle() {
        let (mut worst_sin, mut worst_cos) = (0.0f64, 0.0f64);
        for u in every_uniform() {
            // The angle as `box_muller4` forms it.
            let a = std::f32::consts::PI * (2.0 * u - 1.0);
            let (s, c) = sin_cos(a);
            let (es, ec) = f64::from(a).sin_cos();
            worst_sin = worst_sin.max(ulps(s, es));
            worst_cos = worst_cos.max(ulps(c, ec));
        }
        assert!(worst_sin <= 1.5, "sine: worst error {worst_sin} ulp");
        assert!(worst_cos <= 1.5, "cosine: worst error {worst_cos} ulp");
    }

    #[test]
    fn sin_cos_follow_the_quadrants() {
        for (x, s, c) in [
            (0.0f32, 0.0f32, 1.0f32),
            (std::f32::consts::FRAC_PI_2, 1.0, 0.0),
            (-std::f32::consts::FRAC_PI_2, -1.0, 0.0),
            (std::f32::consts::PI, 0.0, -1.0),
            (-std::f32::consts::PI, 0.0, -1.0),
            (
                3.0 * std::f32::consts::FRAC_PI_4,
                0.5f32.sqrt(),
                -(0.5f32.sqrt()),
            ),
            (100.0, -0.506_365_6, 0.862_318_9),
        ] {
            let (gs, gc) = sin_cos(x);
            assert!((gs - s).abs() < 1e-6, "sin({x}) = {gs}, not {s}");
            assert!((gc - c).abs() < 1e-6, "cos({x}) = {gc}, not {c}");
        }
    }
}
