// Complex products and the two halves of a real transform done by a complex one of half the
// length: a real row x packed as z_j = x_2j + i x_2j+1 has the transform Z_k = E_k + i O_k,
// with E and O the transforms of the even and odd samples, whose own symmetry (E_-k =
// conj E_k) separates them. With w = exp(-2 pi i k / n) for the full length n:
//   rfft_unpack:  X_k = E_k + w O_k,  E_k = (Z_k + conj Z_-k) / 2,  O_k = (Z_k - conj Z_-k) / 2i
//   rfft_repack:  Z_k = (X_k + conj X_{h-k}) / 2 + i conj(w) (X_k - conj X_{h-k}) / 2
// (h = n / 2, indices of Z mod h), the inverse of the first for a spectrum X of a real row.
// Used by the FFT's rfft_post / irfft_pre and by the packed field's Laplacian (field.wgsl).
// Written over `real`. Twins: crates/langevin/src/cpu/fft.rs.
#import precision

fn cmul(a: vec2<real>, b: vec2<real>) -> vec2<real> {
    return vec2<real>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

fn conj2(a: vec2<real>) -> vec2<real> {
    return vec2<real>(a.x, -a.y);
}

// X_k from Z_k, the mirror entry Z_-k and w = exp(-2 pi i k / n).
fn rfft_unpack(zk: vec2<real>, mirror_z: vec2<real>, w: vec2<real>) -> vec2<real> {
    let zc = conj2(mirror_z);
    let e = 0.5 * (zk + zc);
    let d = 0.5 * (zk - zc);
    // d / i = -i d.
    return e + cmul(w, vec2<real>(d.y, -d.x));
}

// Z_k from X_k, the mirror entry X_{h-k} and w = exp(-2 pi i k / n).
fn rfft_repack(xk: vec2<real>, mirror_x: vec2<real>, w: vec2<real>) -> vec2<real> {
    let xc = conj2(mirror_x);
    let e = 0.5 * (xk + xc);
    // w^-k (X_k - conj X_{h-k}) / 2, then times i.
    let o = cmul(conj2(w), 0.5 * (xk - xc));
    return e + vec2<real>(-o.y, o.x);
}
