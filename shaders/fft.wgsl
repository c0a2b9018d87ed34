// Batched complex-to-complex FFT, Stockham autosort (no bit reversal): a transform of length
// n = 2^m is a sequence of passes, radix 16 (and one pass of radix 2, 4 or 8 first when 4
// does not divide m), each reading `src` and writing `dst` in natural order, the host swapping
// the two between passes.
// A pass of radix R with p = the product of the radices before it takes, for each of the
// n / R butterflies i (k = i mod p):
//   u_r = src[i + r n / R] * w^(r k n / (R p)),   w = exp(2 pi i sign / n),  r = 0 .. R-1,
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
#import real_spectrum

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

// w^t for the pass's length and direction.
fn twiddle(t: u32) -> vec2<real> {
    let w = twiddles[pass_.twiddle_offset + t];
    return vec2<real>(w.x, real(pass_.conj) * w.y);
}

// The product by w^(n/4): -i forward, +i inverse.
fn rot(d: vec2<real>) -> vec2<real> {
    let conj = real(pass_.conj);
    return vec2<real>(conj * d.y, -conj * d.x);
}

// The 4-point DFT of (u0, u1, u2, u3) in the pass's direction: radix 4's butterfly, and the
// two stages of radix 16's.
fn dft4(u0: vec2<real>, u1: vec2<real>, u2: vec2<real>, u3: vec2<real>) -> array<vec2<real>, 4> {
    let a0 = u0 + u2;
    let a1 = u0 - u2;
    let b0 = u1 + u3;
    let b1 = rot(u1 - u3);
    return array<vec2<real>, 4>(a0 + b0, a1 + b1, a0 - b0, a1 - b1);
}

// The first element of line `l`.
fn line_base(l: u32) -> u32 {
    let field = l / pass_.lines_per_field;
    return field * pass_.field_size + (l % pass_.lines_per_field) * pass_.line_stride;
}

fn flat_index_fft(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE_FFT + lid;
}

// Butterfly g of a pass of radix R (g < lines n / R): its line's first element, its index i
// in the line, the distance n / R between its inputs, its twiddle step k n / (R p) and its
// first output j = R (i - k) + k.
struct Butterfly {
    base: u32,
    i: u32,
    count: u32,
    step: u32,
    j: u32,
}

fn butterfly(g: u32, radix: u32) -> Butterfly {
    let count = pass_.n / radix;
    let i = g % count;
    let k = i & (pass_.p - 1u);
    return Butterfly(line_base(g / count), i, count, k * (count / pass_.p), radix * (i - k) + k);
}

// Input r of butterfly b, before its twiddle.
fn load(b: Butterfly, r: u32) -> vec2<real> {
    return src[b.base + (b.i + r * b.count) * pass_.elem_stride];
}

// Input r of butterfly b times its twiddle w^(r step).
fn twiddled(b: Butterfly, r: u32) -> vec2<real> {
    return cmul(load(b, r), twiddle(r * b.step));
}

// Output r of butterfly b, scaled.
fn store(b: Butterfly, r: u32, v: vec2<real>) {
    dst[b.base + (b.j + r * pass_.p) * pass_.elem_stride] = real(pass_.scale) * v;
}

@compute @workgroup_size(WORKGROUP_SIZE_FFT)
fn fft_radix2(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let g = flat_index_fft(lid, wid, nwg);
    if g >= pass_.lines * (pass_.n / 2u) {
        return;
    }
    let b = butterfly(g, 2u);
    let u0 = load(b, 0u);
    let u1 = twiddled(b, 1u);
    store(b, 0u, u0 + u1);
    store(b, 1u, u0 - u1);
}

@compute @workgroup_size(WORKGROUP_SIZE_FFT)
fn fft_radix4(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let g = flat_index_fft(lid, wid, nwg);
    if g >= pass_.lines * (pass_.n / 4u) {
        return;
    }
    let b = butterfly(g, 4u);
    let v = dft4(load(b, 0u), twiddled(b, 1u), twiddled(b, 2u), twiddled(b, 3u));
    for (var r = 0u; r < 4u; r++) {
        store(b, r, v[r]);
    }
}

// Radix 8 as 2 x 4: with r = 2a + b and k = k1 + 4 k2 (W = w^(n/8), W^4 = -1),
//   X_(k1 + 4 k2) = Y0_k1 + (-1)^k2 W^k1 Y1_k1,   Yb = the 4-point DFT of (u_b, u_(b+2), u_(b+4), u_(b+6)).
// W^2 is `rot`; W and W^3 come from the twiddle table (n / 8 and 3n / 8), so f64 runs keep
// f64 constants.
@compute @workgroup_size(WORKGROUP_SIZE_FFT)
fn fft_radix8(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let g = flat_index_fft(lid, wid, nwg);
    if g >= pass_.lines * (pass_.n / 8u) {
        return;
    }
    let b = butterfly(g, 8u);
    var u: array<vec2<real>, 8>;
    u[0] = load(b, 0u);
    for (var r = 1u; r < 8u; r++) {
        u[r] = twiddled(b, r);
    }
    let y0 = dft4(u[0], u[2], u[4], u[6]);
    let y1 = dft4(u[1], u[3], u[5], u[7]);
    let z = array<vec2<real>, 4>(
        y1[0],
        cmul(y1[1], twiddle(b.count)),
        rot(y1[2]),
        cmul(y1[3], twiddle(3u * b.count)),
    );
    for (var k1 = 0u; k1 < 4u; k1++) {
        store(b, k1, y0[k1] + z[k1]);
        store(b, k1 + 4u, y0[k1] - z[k1]);
    }
}

// Radix 16 as 4 x 4: with r = 4a + b and k = k1 + 4 k2 (W = w^(n/16)),
//   X_(k1 + 4 k2) = sum_b W^(4 b k2) W^(b k1) Yb_k1,   Yb = the 4-point DFT of (u_b, u_(b+4), u_(b+8), u_(b+12)),
// that is, the 4-point DFT over b of Zb_k1 = W^(b k1) Yb_k1. Of the W^(b k1), W^4 and W^6 are
// `rot` of 1 and W^2, W^9 = -W; W, W^2 and W^3 come from the twiddle table.
@compute @workgroup_size(WORKGROUP_SIZE_FFT)
fn fft_radix16(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let g = flat_index_fft(lid, wid, nwg);
    if g >= pass_.lines * (pass_.n / 16u) {
        return;
    }
    let b = butterfly(g, 16u);
    var u: array<vec2<real>, 16>;
    u[0] = load(b, 0u);
    for (var r = 1u; r < 16u; r++) {
        u[r] = twiddled(b, r);
    }
    let w1 = twiddle(b.count);
    let w2 = twiddle(2u * b.count);
    let w3 = twiddle(3u * b.count);
    let y0 = dft4(u[0], u[4], u[8], u[12]);
    let y1 = dft4(u[1], u[5], u[9], u[13]);
    let y2 = dft4(u[2], u[6], u[10], u[14]);
    let y3 = dft4(u[3], u[7], u[11], u[15]);
    let x0 = dft4(y0[0], y1[0], y2[0], y3[0]);
    let x1 = dft4(y0[1], cmul(y1[1], w1), cmul(y2[1], w2), cmul(y3[1], w3));
    let x2 = dft4(y0[2], cmul(y1[2], w2), rot(y2[2]), rot(cmul(y3[2], w2)));
    let x3 = dft4(y0[3], cmul(y1[3], w3), rot(cmul(y2[3], w2)), -cmul(y3[3], w1));
    for (var k2 = 0u; k2 < 4u; k2++) {
        store(b, 4u * k2, x0[k2]);
        store(b, 4u * k2 + 1u, x1[k2]);
        store(b, 4u * k2 + 2u, x2[k2]);
        store(b, 4u * k2 + 3u, x3[k2]);
    }
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
    let w = twiddles[pass_.twiddle_offset + k];
    dst[l * pass_.elem_stride + k] = rfft_unpack(src[base + k % h], src[base + (h - k) % h], w);
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
    let w = twiddles[pass_.twiddle_offset + k];
    dst[l * pass_.line_stride + k] = rfft_repack(src[base + k], src[base + h - k], w);
}
