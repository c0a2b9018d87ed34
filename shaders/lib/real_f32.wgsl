// Precision f32 for the kernels written over `real` (the FFT and the fields): `real` is f32 and
// the r_* functions are WGSL's built-ins. Its sibling real_f64.wgsl gives the same names in f64.
alias real = f32;

// A value carried in a uniform as an f32 pair (hi, lo), hi + lo its f64 value: in f32 the sum
// rounds back to hi.
fn widen(v: vec2<f32>) -> real {
    return v.x + v.y;
}

fn r_exp(x: real) -> real { return exp(x); }
fn r_log(x: real) -> real { return log(x); }
fn r_sin(x: real) -> real { return sin(x); }
fn r_cos(x: real) -> real { return cos(x); }
fn r_tan(x: real) -> real { return tan(x); }
fn r_atan(x: real) -> real { return atan(x); }
fn r_tanh(x: real) -> real { return tanh(x); }
fn r_sinh(x: real) -> real { return sinh(x); }
fn r_cosh(x: real) -> real { return cosh(x); }
fn r_pow(a: real, b: real) -> real { return pow(a, b); }
