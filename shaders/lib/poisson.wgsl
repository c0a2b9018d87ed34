// Poisson variates from Philox words, exact for every mean: inversion by sequential search
// below a mean of 10, Hormann's transformed rejection with squeeze (PTRS; "The transformed
// rejection method for generating Poisson random variables", Insurance: Mathematics and
// Economics 12, 1993) above, with its acceptance test written without the cancellation that
// f32 would otherwise suffer for large means. Draw m of a sampler keyed (trajectory, c, w)
// uses Philox counter (trajectory, c, w + 32 m); the caller keeps w + 32 m clear of its other
// streams. CPU twin: crates/langevin/src/cpu/poisson.rs.
#import normal

// ln(k!) for k < 10.
const LN_FACTORIAL = array<f32, 10>(0.0, 0.0, 0.6931472, 1.7917595, 3.1780539, 4.7874917,
                                    6.5792513, 8.5251614, 10.6046029, 12.8018275);
const HALF_LN_TWO_PI: f32 = 0.9189385;

// log(1 + d) - d for |d| < 0.5, by its series when small.
fn log1p_minus(d: f32) -> f32 {
    if abs(d) < 0.05 {
        let d2 = d * d;
        return d2 * (-0.5 + d * (1.0 / 3.0 + d * (-0.25 + d * (0.2 - d / 6.0))));
    }
    return log(1.0 + d) - d;
}

// ln of the Poisson probability of k at mean lam, for k >= 10 and lam >= 10:
// -lam + k ln lam - ln k! by Stirling's series, arranged around d = (lam - k - 1) / (k + 1).
fn poisson_log_pmf(k: f32, lam: f32) -> f32 {
    let n = k + 1.0;
    let d = (lam - n) / n;
    let correction = 1.0 / (12.0 * n) - 1.0 / (360.0 * n * n * n);
    return k * log1p_minus(d) - d - 0.5 * log(n) - HALF_LN_TWO_PI - correction;
}

// A Poisson variate of mean lam >= 0 from the words of counter (trajectory, c, w + 32 m): up
// to 32 callers (one per reaction) share a counter c with words w = w0 + j.
fn poisson(key: vec2<u32>, trajectory: vec2<u32>, c: u32, w: u32, lam: f32) -> f32 {
    if lam <= 0.0 {
        return 0.0;
    }
    if lam < 10.0 {
        let u = uniform_open01(philox4x32_10(vec4<u32>(trajectory.x, trajectory.y, c, w), key).x);
        var p = exp(-lam);
        var cumulative = p;
        var k = 0.0;
        // The tail beyond lam + 40 is below 1e-16 for lam < 10.
        for (var i = 0u; i < 64u; i++) {
            if u <= cumulative {
                break;
            }
            k += 1.0;
            p *= lam / k;
            cumulative += p;
        }
        return k;
    }
    let slam = sqrt(lam);
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    // Acceptance is about 0.9 per attempt; 64 attempts fail with probability below 1e-60.
    for (var m = 0u; m < 32u; m++) {
        let words = philox4x32_10(vec4<u32>(trajectory.x, trajectory.y, c, w + 32u * m), key);
        for (var half = 0u; half < 2u; half++) {
            let u = uniform_open01(words[2u * half]) - 0.5;
            let v = uniform_open01(words[2u * half + 1u]);
            let us = 0.5 - abs(u);
            let k = floor((2.0 * a / us + b) * u + lam + 0.43);
            if us >= 0.07 && v <= vr {
                return k;
            }
            if k < 0.0 || (us < 0.013 && v > us) {
                continue;
            }
            let lhs = log(v * inv_alpha / (a / (us * us) + b));
            var rhs: f32;
            if k < 10.0 {
                rhs = -lam + k * log(lam) - LN_FACTORIAL[u32(k)];
            } else {
                rhs = poisson_log_pmf(k, lam);
            }
            if lhs <= rhs {
                return k;
            }
        }
    }
    return floor(lam + 0.5);
}
