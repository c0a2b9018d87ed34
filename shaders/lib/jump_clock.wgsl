// What the jump kernels (`ssa`, `tau_leap`) share: the propensities' total, the choice of a
// reaction, and the clock. The clock is an integer count of ticks (low, high words), 2^48 per
// span of the run (`seg.tick_rate` per unit time; keep in sync with SSA_TICKS in adaptive.rs):
// a sum of float times would round differently on drivers that simplify `(a + b) - a` to `b`
// and on those that do not, and f32 alone would lose the waits of late events. A wait in ticks
// is at most 2^50 (beyond any target).
// Needs `adaptive_kernel` (seg) and `reactions` (Rates, REACTIONS).
// CPU twin: crates/langevin/src/cpu/jump_clock.rs.

const MAX_WAIT_TICKS: f32 = 1125899906842624.0;
const NEVER: vec2<u32> = vec2<u32>(0u, 0xffffffffu);

fn total(a: Rates) -> f32 {
    var a0 = 0.0;
    for (var j = 0u; j < REACTIONS; j++) {
        a0 += a[j];
    }
    return a0;
}

// The first reaction whose cumulative propensity exceeds `level`; the last one with a
// positive propensity when rounding leaves `level` at the total.
fn choose(a: Rates, level: f32) -> u32 {
    var sum = 0.0;
    var last = 0u;
    for (var j = 0u; j < REACTIONS; j++) {
        if a[j] > 0.0 {
            last = j;
            sum += a[j];
            if level < sum {
                return j;
            }
        }
    }
    return last;
}

// A wait in time units as ticks. Exact: below 2^24 the remainder is ticks itself; above, both
// parts are multiples of its ulp.
fn ticks_of(w: f32) -> vec2<u32> {
    let ticks = min(w * seg.tick_rate, MAX_WAIT_TICKS);
    let hi = floor(ticks / 4294967296.0);
    return vec2<u32>(u32(round(ticks - hi * 4294967296.0)), u32(hi));
}

fn add_ticks(t: vec2<u32>, w: vec2<u32>) -> vec2<u32> {
    let sum = t.x + w.x;
    return vec2<u32>(sum, t.y + w.y + select(0u, 1u, sum < t.x));
}

fn target_tick() -> vec2<u32> {
    return vec2<u32>(seg.target_tick_lo, seg.target_tick_hi);
}

fn before(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.y < b.y || (a.y == b.y && a.x < b.x);
}

// The time of tick `t`.
fn time_of(t: vec2<u32>) -> f32 {
    return seg.t_start + (f32(t.y) * 4294967296.0 + f32(t.x)) / seg.tick_rate;
}
