// Batched complex-to-complex FFT, Stockham autosort (no bit reversal): a transform of length
// n = 2^m is a sequence of passes, radix 4 (and one radix-2 pass first when m is odd), each
// reading `src` and writing `dst` in natural order, the host swapping the two between passes.
// A pass of radix R with p = the product of the radices before it takes, for each of the
// n / R butterflies i (k = i mod p):
//   u_r = src[i + r n / R] * w^(r k n / (R p)),   w = exp(-2 pi i sign / n),  r = 0 .. R-1,
//   v   = the R-point DFT of u,
//   dst[R (i - k) + k + r p] = scale * v_r,
// which leaves the DFT in natural order after the last pass (Stockham 1966; in this form as in
// Bainville's OpenCL FFT notes). Forward: sign = -1, X_k = sum_j x_j e^{-2 pi i jk/n}, no
// scale; inverse: sign = +1 and scale 1/n on the last pass, so inverse(forward(x)) = x.
//
// Many transforms run in one dispatch: line l of a field starts at
// field * field_size + (l mod lines_per_field) * line_stride and its elements are elem_stride
// apart, which covers a batch of 1-D fields and the rows (stride 1) or columns (stride nx) of
// 2-D fields. Twiddles come from a table of exp(-2 pi i t / n), t < n, computed in f64 on the
// host. Written over `real` (the virtual module `precision`: f32, or f64 where the adapter has
// SHADER_F64). CPU twin: crates/langevin/src/cpu/fft.rs (through rustfft).
#import precision

const WORKGROUP_SIZE_FFT: u32 = 64u;

// Keep in sync with `FftPass` in crates/langevin/src/fft.rs.
struct FftPass {
    n: u32,
    p: u32,
    lines: u32,
    lines_per_field: u32,
    field_size: u32,
    line_stride: u32,
    elem_stride: u32,
    twiddle_offset: u32,
    // +1 forward, -1 inverse: the imaginary part of the twiddles is multiplied by it.
    conj: f32,
    scale: f32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> pass_: FftPass;
@group(0) @binding(1) var<storage, read> src: array<vec2<real>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec2<real>>;
@group(0) @binding(3) var<storage, read> twiddles: array<vec2<real>>;

fn cmul(a: vec2<real>, b: vec2<real>) -> vec2<real> {
    return vec2<real>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

// w^t for the pass's length and direction.
fn twiddle(t: u32) -> vec2<real> {
    let w = twiddles[pass_.twiddle_offset + t];
    return vec2<real>(w.x, real(pass_.conj) * w.y);
}

// The first element of line `l`.
fn line_base(l: u32) -> u32 {
    let field = l / pass_.lines_per_field;
    return field * pass_.field_size + (l % pass_.lines_per_field) * pass_.line_stride;
}

fn flat_index_fft(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE_FFT + lid;
}

@compute @workgroup_size(WORKGROUP_SIZE_FFT)
fn fft_radix2(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let half = pass_.n / 2u;
    let g = flat_index_fft(lid, wid, nwg);
    if g >= pass_.lines * half {
        return;
    }
    let i = g % half;
    let base = line_base(g / half);
    let es = pass_.elem_stride;
    let p = pass_.p;
    let k = i & (p - 1u);
    let scale = real(pass_.scale);
    let u0 = src[base + i * es];
    let u1 = cmul(src[base + (i + half) * es], twiddle(k * (pass_.n / (2u * p))));
    let j = ((i - k) << 1u) + k;
    dst[base + j * es] = scale * (u0 + u1);
    dst[base + (j + p) * es] = scale * (u0 - u1);
}

@compute @workgroup_size(WORKGROUP_SIZE_FFT)
fn fft_radix4(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let quarter = pass_.n / 4u;
    let g = flat_index_fft(lid, wid, nwg);
    if g >= pass_.lines * quarter {
        return;
    }
    let i = g % quarter;
    let base = line_base(g / quarter);
    let es = pass_.elem_stride;
    let p = pass_.p;
    let k = i & (p - 1u);
    let scale = real(pass_.scale);
    let step = k * (pass_.n / (4u * p));
    let u0 = src[base + i * es];
    let u1 = cmul(src[base + (i + quarter) * es], twiddle(step));
    let u2 = cmul(src[base + (i + 2u * quarter) * es], twiddle(2u * step));
    let u3 = cmul(src[base + (i + 3u * quarter) * es], twiddle(3u * step));
    let a0 = u0 + u2;
    let a1 = u0 - u2;
    let b0 = u1 + u3;
    // (u1 - u3) times -i (forward) or +i (inverse).
    let d = u1 - u3;
    let conj = real(pass_.conj);
    let b1 = vec2<real>(conj * d.y, -conj * d.x);
    let j = ((i - k) << 2u) + k;
    dst[base + j * es] = scale * (a0 + b0);
    dst[base + (j + p) * es] = scale * (a1 + b1);
    dst[base + (j + 2u * p) * es] = scale * (a0 - b0);
    dst[base + (j + 3u * p) * es] = scale * (a1 - b1);
}

// Real transforms of rows of n real values (n = pass_.n even, h = n / 2): a row read as h
// complex values z_j = x_{2j} + i x_{2j+1} goes through the length-h passes above, giving
// Z_k = E_k + i O_k with E, O the transforms of the even and odd samples. Line l's Z starts
// at l * line_stride (= l h), its n / 2 + 1 coefficients X at l * elem_stride (= l (h + 1));
// the twiddles of length n start at twiddle_offset.
//   rfft_post (k = 0 .. h):  E_k = (Z_k + conj Z_{h-k}) / 2,  O_k = (Z_k - conj Z_{h-k}) / 2i,
//                            X_k = E_k + w^k O_k                    (indices mod h)
//   irfft_pre (k = 0 .. h-1): Z_k = (X_k + conj X_{h-k}) / 2 + i w^-k (X_k - conj X_{h-k}) / 2,
// after which the inverse length-h passes (with 1 / h) give back z, so that the real inverse
// carries 1 / n overall, as numpy's irfft.

fn conj2(a: vec2<real>) -> vec2<real> {
    return vec2<real>(a.x, -a.y);
}

@compute @workgroup_size(WORKGROUP_SIZE_FFT)
fn rfft_post(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let h = pass_.n / 2u;
    let g = flat_index_fft(lid, wid, nwg);
    if g >= pass_.lines * (h + 1u) {
        return;
    }
    let k = g % (h + 1u);
    let l = g / (h + 1u);
    let base = l * pass_.line_stride;
    let zk = src[base + k % h];
    let zc = conj2(src[base + (h - k) % h]);
    let e = 0.5 * (zk + zc);
    let d = 0.5 * (zk - zc);
    // d / i = -i d.
    let o = vec2<real>(d.y, -d.x);
    dst[l * pass_.elem_stride + k] = e + cmul(twiddles[pass_.twiddle_offset + k], o);
}

@compute @workgroup_size(WORKGROUP_SIZE_FFT)
fn irfft_pre(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let h = pass_.n / 2u;
    let g = flat_index_fft(lid, wid, nwg);
    if g >= pass_.lines * h {
        return;
    }
    let k = g % h;
    let l = g / h;
    let base = l * pass_.elem_stride;
    let xk = src[base + k];
    let xc = conj2(src[base + h - k]);
    let e = 0.5 * (xk + xc);
    // w^-k (X_k - conj X_{h-k}) / 2, then times i.
    let o = cmul(conj2(twiddles[pass_.twiddle_offset + k]), 0.5 * (xk - xc));
    dst[l * pass_.line_stride + k] = e + vec2<real>(-o.y, o.x);
}
