//! Twin of `shaders/lib/jump_clock.wgsl`: the propensities' total, the choice of a reaction,
//! and the integer clock of the jump kernels (2^48 ticks per span).

use crate::adaptive::AdaptiveSegment;
use crate::reactions::MAX_REACTIONS;

/// The propensities of a network's reactions (the first `reactions` entries are used).
pub type Rates = [f32; MAX_REACTIONS];

/// Twin of `MAX_WAIT_TICKS`.
const MAX_WAIT_TICKS: f32 = 1_125_899_906_842_624.0;
/// Twin of `NEVER`.
pub const NEVER: [u32; 2] = [0, u32::MAX];

/// Twin of `total`.
pub fn total(a: &Rates, reactions: usize) -> f32 {
    let mut a0 = 0.0f32;
    for v in &a[..reactions] {
        a0 += v;
    }
    a0
}

/// Twin of `choose`.
pub fn choose(a: &Rates, reactions: usize, level: f32) -> usize {
    let mut sum = 0.0f32;
    let mut last = 0;
    for (j, v) in a[..reactions].iter().enumerate() {
        if *v > 0.0 {
            last = j;
            sum += v;
            if level < sum {
                return j;
            }
        }
    }
    last
}

/// Twin of `ticks_of`.
pub fn ticks_of(seg: &AdaptiveSegment, w: f32) -> [u32; 2] {
    let ticks = (w * seg.tick_rate).min(MAX_WAIT_TICKS);
    let hi = (ticks / 4_294_967_296.0).floor();
    [(ticks - hi * 4_294_967_296.0).round() as u32, hi as u32]
}

/// Twin of `add_ticks`.
pub fn add_ticks(t: [u32; 2], w: [u32; 2]) -> [u32; 2] {
    let (sum, carry) = t[0].overflowing_add(w[0]);
    [sum, t[1] + w[1] + u32::from(carry)]
}

/// Twin of `target_tick`.
pub fn target_tick(seg: &AdaptiveSegment) -> [u32; 2] {
    [seg.target_tick_lo, seg.target_tick_hi]
}

/// Twin of `before`.
pub fn before(a: [u32; 2], b: [u32; 2]) -> bool {
    a[1] < b[1] || (a[1] == b[1] && a[0] < b[0])
}

/// Twin of `time_of`.
pub fn time_of(seg: &AdaptiveSegment, t: [u32; 2]) -> f32 {
    seg.t_start + (t[1] as f32 * 4_294_967_296.0 + t[0] as f32) / seg.tick_rate
}
