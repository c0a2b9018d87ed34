// (count, mean, M2) with Chan's pairwise update, in f32, for blocks of trajectories; the
// host merges the blocks' partials in f64. Keep in sync with cpu/moments.rs.

struct Moments {
    count: f32,
    mean: f32,
    m2: f32,
}

// Non-finite values (NaN, +-inf) are left out of the moments; the host counts them as
// diverged from count < trajectories.
fn is_finite_f32(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7F800000u) != 0x7F800000u;
}

fn moments_of(x: f32) -> Moments {
    if is_finite_f32(x) {
        return Moments(1.0, x, 0.0);
    }
    return Moments(0.0, 0.0, 0.0);
}

fn merge_moments(a: Moments, b: Moments) -> Moments {
    let n = a.count + b.count;
    if n == 0.0 {
        return Moments(0.0, 0.0, 0.0);
    }
    let delta = b.mean - a.mean;
    let wb = b.count / n;
    return Moments(n, a.mean + delta * wb, a.m2 + b.m2 + delta * delta * a.count * wb);
}
