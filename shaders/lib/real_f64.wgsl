// Precision f64 (adapters with SHADER_F64) for the kernels written over `real`. Vulkan, Metal
// and D3D12 have no f64 exp, log or trigonometry (SPIR-V's GLSL.std.450 defines them for 16-
// and 32-bit floats only), so the r_* functions are built here from what f64 does have
// (+ - * /, round, floor, ldexp, sqrt, and f32 estimates to refine):
//   exp:      x = k ln 2 + r, |r| <= ln 2 / 2 (ln 2 in two parts, the first exact times k), Taylor to r^13 (error
//             below 5e-18 relative), times 2^k.
//   sin, cos: x = k pi/2 + r, |r| <= pi/4 (pi/2 in three parts, fdlibm's, good for |x| < 1e9), Taylor to
//             r^17 / r^18 (error below 1e-19), the quadrant from k mod 4.
//   log:      the f32 log refined by one Halley step on e^y = x (cubic: 1e-7 becomes
//             1e-21), for x within f32's range.
//   atan:     the f32 atan refined by two Newton steps on tan y = x.
//   tan, tanh, sinh, cosh, pow from those. Accurate to a few ulp where they matter here.
// The CPU twin uses Rust's f64 functions; the two agree to about 1e-16 relative.
alias real = f64;

fn widen(v: vec2<f32>) -> real {
    return f64(v.x) + f64(v.y);
}

fn r_exp(x_in: f64) -> f64 {
    let x = clamp(x_in, -745.0, 709.0);
    let k = round(x * 1.4426950408889634);
    let r = (x - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
    var p: f64 = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    return ldexp(p, i32(k));
}

// sin r and cos r for |r| <= pi / 4.
fn sin_reduced(r: f64) -> f64 {
    let s = r * r;
    var p: f64 = -1.0 / 355687428096000.0;
    p = p * s + 1.0 / 1307674368000.0;
    p = p * s - 1.0 / 6227020800.0;
    p = p * s + 1.0 / 39916800.0;
    p = p * s - 1.0 / 362880.0;
    p = p * s + 1.0 / 5040.0;
    p = p * s - 1.0 / 120.0;
    p = p * s + 1.0 / 6.0;
    return r - r * s * p;
}

fn cos_reduced(r: f64) -> f64 {
    let s = r * r;
    var p: f64 = 1.0 / 6402373705728000.0;
    p = p * s - 1.0 / 20922789888000.0;
    p = p * s + 1.0 / 87178291200.0;
    p = p * s - 1.0 / 479001600.0;
    p = p * s + 1.0 / 3628800.0;
    p = p * s - 1.0 / 40320.0;
    p = p * s + 1.0 / 720.0;
    p = p * s - 1.0 / 24.0;
    p = p * s + 0.5;
    return 1.0 - s * p;
}

// (sin x, cos x).
fn sin_cos(x: f64) -> vec2<f64> {
    let k = round(x * 0.6366197723675814);
    let r = ((x - k * 1.57079632673412561417e+00) - k * 6.07710050630396597660e-11) - k * 2.02226624879595063154e-21;
    let s = sin_reduced(r);
    let c = cos_reduced(r);
    let q = i32(k - 4.0 * floor(k * 0.25));
    switch q {
        case 0: { return vec2<f64>(s, c); }
        case 1: { return vec2<f64>(c, -s); }
        case 2: { return vec2<f64>(-s, -c); }
        default: { return vec2<f64>(-c, s); }
    }
}

fn r_sin(x: f64) -> f64 { return sin_cos(x).x; }
fn r_cos(x: f64) -> f64 { return sin_cos(x).y; }

fn r_tan(x: f64) -> f64 {
    let sc = sin_cos(x);
    return sc.x / sc.y;
}

fn r_log(x: f64) -> f64 {
    // The f32 log (-inf at 0, NaN below) refined by one Halley step.
    var y = f64(log(f32(x)));
    if x > 0.0 {
        let e = r_exp(y);
        y = y + 2.0 * (x - e) / (x + e);
    }
    return y;
}

fn r_atan(x: f64) -> f64 {
    var y = f64(atan(f32(x)));
    for (var i = 0; i < 2; i++) {
        let sc = sin_cos(y);
        y = y - (sc.x - x * sc.y) * sc.y;
    }
    return y;
}

fn r_tanh(x: f64) -> f64 {
    if abs(x) > 20.0 {
        return sign(x);
    }
    let e = r_exp(2.0 * x);
    return (e - 1.0) / (e + 1.0);
}

fn r_sinh(x: f64) -> f64 {
    let e = r_exp(x);
    return 0.5 * (e - 1.0 / e);
}

fn r_cosh(x: f64) -> f64 {
    let e = r_exp(x);
    return 0.5 * (e + 1.0 / e);
}

fn r_pow(a: f64, b: f64) -> f64 {
    return r_exp(b * r_log(a));
}
