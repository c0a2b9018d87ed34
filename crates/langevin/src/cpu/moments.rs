//! Twin of `shaders/lib/moments.wgsl`: the same f32 operations in the same order.

use crate::stats::PartialMoments;

/// Twin of `is_finite_f32`.
#[inline]
pub fn is_finite_f32(x: f32) -> bool {
    (x.to_bits() & 0x7F80_0000) != 0x7F80_0000
}

/// Twin of `moments_of`.
#[inline]
pub fn moments_of(x: f32) -> PartialMoments {
    if is_finite_f32(x) {
        PartialMoments {
            count: 1.0,
            mean: x,
            m2: 0.0,
        }
    } else {
        PartialMoments::default()
    }
}

/// Twin of `merge_moments`.
#[inline]
pub fn merge_moments(a: PartialMoments, b: PartialMoments) -> PartialMoments {
    let n = a.count + b.count;
    if n == 0.0 {
        return PartialMoments::default();
    }
    let delta = b.mean - a.mean;
    let wb = b.count / n;
    PartialMoments {
        count: n,
        mean: a.mean + delta * wb,
        m2: a.m2 + b.m2 + delta * delta * a.count * wb,
    }
}
