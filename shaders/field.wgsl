// Pseudo-spectral field updates on periodic grids of nx x ny points (ny = 1 in 1-D), a batch
// of independent fields side by side. The Laplacian is spectral: the field goes through the
// FFT (shaders/fft.wgsl) in the complex work buffer, is multiplied by -|k|^2 and comes back
// through the inverse (which carries the 1 / N).
//
// Nonlinear Klein-Gordon, phi_tt = Laplacian phi - V'(phi), by Stormer-Verlet (kick-drift-kick)
// with the force of the last step reused (one Laplacian per step):
//   kg_drift:  pi += dt/2 f;  phi += dt pi;  work = phi            (then FFT, Laplacian, FFT^-1)
//   kg_kick:   f = work - V'(phi);  pi += dt/2 f
// kg_force sets f alone, once, before the first step.
//
// A real field is packed two points to a complex value, z_m = phi_2m + i phi_2m+1 along x
// (`packed`), so its transform is the complex one of nx/2 x ny points in work buffers of
// half the size: half the work and memory of transforming phi + 0i. The Laplacian of the
// packed transform Z (`packed_laplacian`) unpacks the full spectrum's X_k and X_-k from Z_k
// and conj Z_-k, multiplies them by -|k|^2 and packs the result back (lib/real_spectrum.wgsl,
// as the FFT's rfft_post and irfft_pre), so that the inverse nx/2 x ny transform gives
// Laplacian phi packed the same way.
// An antiperiodic field (below) is complex and goes through the nx x ny transform,
// multiplied by `spectral_laplacian`.
//
// Model A (Allen-Cahn) Langevin dynamics, d phi = (Laplacian phi - V'(phi)) dt + sqrt(2T) dW,
// kept in Fourier space (phi_hat), by exponential time differencing: with c_k = |k|^2 + mu
// (mu = V''(0), the linear part) and N(phi) = mu phi - V'(phi),
//   phi_hat <- e^{-c dt} phi_hat + (1 - e^{-c dt}) / c * N_hat + sqrt(2T/dV (1 - e^{-2c dt}) / (2c)) Xi,
// Xi the transform of independent standard normals per point (dV the cell volume), exact for
// the linear part: the stationary spectrum of V = mu phi^2 / 2 is <|phi_hat_k|^2> = T N / (dV c_k)
// at any dt. A step: a_load (work = phi_hat), FFT^-1, a_prepare (work = N(phi) + i xi), FFT,
// a_update (unpacks N_hat and Xi from Z_k and conj Z_{-k}, since both are transforms of real
// fields).
//
// KPZ, dh = (nu Laplacian h + (lambda / 2) |grad h|^2) dt + sqrt(D) dW, on the same machinery
// with c_k = nu |k|^2 and N = (lambda / 2) |grad h|^2, dealiased by the 2/3 rule: only wave
// numbers |m| < n/3 per axis enter the gradient and receive N, so the product is exact for
// them. A step: kpz_load (work = i kx h_hat - ky h_hat, masked), FFT^-1 (work = (h_x, h_y)),
// kpz_prepare (work = N + i xi), FFT, a_update.
//
// Randomness: Philox counter (field in the run, group of 4 points, step, STREAM_FIELD_NOISE); the normals
// are f32 in either precision. Written over `real` (the virtual module `precision`: f32, or f64
// where the adapter has SHADER_F64); the real-valued parameters come as f32 pairs widened to
// `real`. CPU twin: crates/langevin/src/cpu/field.rs.
#import precision
#import normal
#import potential
#import real_spectrum

const WORKGROUP_SIZE_FIELD: u32 = 64u;
const STREAM_FIELD_NOISE: u32 = 49u;

// Keep in sync with `FieldParams` in crates/langevin/src/field/mod.rs.
struct FieldParams {
    key: vec2<u32>,
    nx: u32,
    ny: u32,
    fields: u32,
    // 1: the nonlinear term is dealiased (KPZ).
    dealias: u32,
    // 1: antiperiodic along x, phi(x + L) = -phi(x) (Klein-Gordon in 1-D).
    twist: u32,
    // The batch's first field in the whole run: the noise's counter uses the run's index.
    first_field: u32,
    // Each an f32 pair (hi, lo) with hi + lo the f64 value (`widen`).
    dt: vec2<f32>,
    kx_unit: vec2<f32>,
    ky_unit: vec2<f32>,
    mu: vec2<f32>,
    // sqrt(2 T / dV): the noise amplitude per point and unit time.
    noise: vec2<f32>,
    // The linear part's factor on |k|^2 (1 for model A).
    nu: vec2<f32>,
    // KPZ's lambda.
    lambda: vec2<f32>,
}

// The step being taken (advanced by a_load) and the next one.
struct FieldClock {
    step: u32,
    next: u32,
}

@group(0) @binding(0) var<uniform> params: FieldParams;
@group(0) @binding(1) var<storage, read_write> phi: array<real>;
@group(0) @binding(2) var<storage, read_write> momentum: array<real>;
@group(0) @binding(3) var<storage, read_write> force: array<real>;
// The complex buffer the FFT has left its result in (or is to start from).
@group(0) @binding(4) var<storage, read_write> work: array<vec2<real>>;
@group(0) @binding(5) var<storage, read_write> phi_hat: array<vec2<real>>;
@group(0) @binding(6) var<storage, read_write> clock: FieldClock;
// exp(-2 pi i t / nx) for t = 0 .. nx/2, computed in f64 (`packed_laplacian`).
@group(0) @binding(7) var<storage, read_write> twiddles_x: array<vec2<real>>;

fn flat_index_field(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE_FIELD + lid;
}

fn total_points() -> u32 {
    return params.nx * params.ny * params.fields;
}

// The wave number of index i of a transform of length n: i, or i - n from n/2 on.
fn signed_index(i: u32, n: u32) -> real {
    return real(i) - select(0.0, real(n), i >= n / 2u && n > 1u);
}

// (kx, ky) of entry j of a field's transform (wave numbers 0, 1, .., n/2 - 1, -n/2, .., -1 in
// units of 2 pi / L per axis).
fn wave_vector(j: u32) -> vec2<real> {
    let within = j % (params.nx * params.ny);
    let ix = within % params.nx;
    let iy = within / params.nx;
    let kx = widen(params.kx_unit) * (signed_index(ix, params.nx) + 0.5 * real(params.twist));
    let ky = widen(params.ky_unit) * signed_index(iy, params.ny);
    return vec2<real>(kx, ky);
}

// An antiperiodic field is carried as psi = phi e^{-i pi x / L}, which is periodic; its
// wave numbers are shifted by pi / L (`wave_vector`). The phase e^{i pi x_j / L} of point j,
// x_j = -L/2 + j L / n.
fn twist_phase(j: u32) -> vec2<real> {
    let ix = (j % (params.nx * params.ny)) % params.nx;
    let a = 3.141592653589793 * (real(ix) / real(params.nx) - 0.5);
    return vec2<real>(r_cos(a), r_sin(a));
}

// Whether the Klein-Gordon field is carried packed, two real points to a complex value
// (periodic, nx even), rather than as a complex value per point (antiperiodic, or nx = 1).
fn packed() -> bool {
    return params.twist == 0u && params.nx >= 2u;
}

// Work entries of the Klein-Gordon field: a pair of points each when packed.
fn field_entries() -> u32 {
    return select(total_points(), total_points() / 2u, packed());
}

// The work entry of point j's real field value f when unpacked: twisted when antiperiodic.
// (Packed, entry i is the pair of points 2i and 2i + 1, which one invocation stores together:
// a store to one component of a vector may access the whole vector.)
fn unpacked_entry(j: u32, f: real) -> vec2<real> {
    if params.twist == 0u {
        return vec2<real>(f, 0.0);
    }
    let e = twist_phase(j);
    return vec2<real>(f * e.x, -f * e.y);
}

// Point j's real field value from the work buffer (unpacked, or untwisted when antiperiodic).
fn field_value(j: u32) -> real {
    if packed() {
        return work[j / 2u][j % 2u];
    }
    let w = work[j];
    if params.twist == 0u {
        return w.x;
    }
    let e = twist_phase(j);
    return w.x * e.x - w.y * e.y;
}

fn k_squared(j: u32) -> real {
    let k = wave_vector(j);
    return k.x * k.x + k.y * k.y;
}

// Invocation 0 of a step's first kernel advances the step (nothing else reads it there).
fn tick(j: u32) {
    if j == 0u {
        clock.step = clock.next;
        clock.next = clock.next + 1u;
    }
}

// The standard normal of point j at this step.
fn point_noise(j: u32) -> real {
    let n = params.nx * params.ny;
    let within = j % n;
    let xi = box_muller4(philox4x32_10(vec4<u32>(params.first_field + j / n, within / 4u, clock.step, STREAM_FIELD_NOISE), params.key));
    return real(xi[within % 4u]);
}

// Whether entry j survives the 2/3 rule: |m| < n/3 along every axis.
fn kept(j: u32) -> bool {
    let within = j % (params.nx * params.ny);
    let ix = within % params.nx;
    let iy = within / params.nx;
    let mx = min(ix, params.nx - ix);
    let my = min(iy, params.ny - iy);
    return 3u * mx < params.nx && (params.ny == 1u || 3u * my < params.ny);
}

// The entry of -k in the same field.
fn mirror(j: u32) -> u32 {
    let n = params.nx * params.ny;
    let base = j - j % n;
    let within = j % n;
    let ix = within % params.nx;
    let iy = within / params.nx;
    return base + ((params.ny - iy) % params.ny) * params.nx + (params.nx - ix) % params.nx;
}

// |k|^2 of the full spectrum's entry (kx, iy), kx = 0 .. nx/2.
fn packed_k_squared(kx: u32, iy: u32) -> real {
    let k = widen(params.kx_unit) * real(kx);
    let q = widen(params.ky_unit) * signed_index(iy, params.ny);
    return k * k + q * q;
}

// The Laplacian's packed entry (a, iy), a < h = nx/2, from the packed transform's entries
// z = Z(a, iy) and m = Z(h - a mod h, -iy): X(a, iy) and X(h - a, -iy) unpacked, times
// -|k|^2, packed again.
fn packed_laplacian_at(a: u32, iy: u32, z: vec2<real>, m: vec2<real>) -> vec2<real> {
    let h = params.nx / 2u;
    let my = (params.ny - iy) % params.ny;
    let wa = twiddles_x[a];
    let x = rfft_unpack(z, m, wa);
    let x_mirror = rfft_unpack(m, z, twiddles_x[h - a]);
    let y = -packed_k_squared(a, iy) * x;
    let y_mirror = -packed_k_squared(h - a, my) * x_mirror;
    return rfft_repack(y, y_mirror, wa);
}

// The Laplacian of a packed field's transform (nx/2 x ny per field), in place. Entry (a, iy)
// and its mirror (h - a mod h, -iy) read each other, so one invocation computes both: the one
// at the lower index of the two.
@compute @workgroup_size(WORKGROUP_SIZE_FIELD)
fn packed_laplacian(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let j = flat_index_field(lid, wid, nwg);
    if j >= total_points() / 2u {
        return;
    }
    let h = params.nx / 2u;
    let size = h * params.ny;
    let base = j - j % size;
    let a = (j % size) % h;
    let iy = (j % size) / h;
    let ma = (h - a) % h;
    let my = (params.ny - iy) % params.ny;
    let m = base + my * h + ma;
    if m < j {
        return;
    }
    let z = work[j];
    let zm = work[m];
    work[j] = packed_laplacian_at(a, iy, z, zm);
    if m != j {
        work[m] = packed_laplacian_at(ma, my, zm, z);
    }
}

// The Laplacian of an unpacked (antiperiodic) field's transform, in place.
@compute @workgroup_size(WORKGROUP_SIZE_FIELD)
fn spectral_laplacian(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let j = flat_index_field(lid, wid, nwg);
    if j >= total_points() {
        return;
    }
    work[j] = -k_squared(j) * work[j];
}

// Drifts point j (pi += dt/2 f, phi += dt pi) and returns its new phi.
fn drift_point(j: u32) -> real {
    let dt = widen(params.dt);
    let p = momentum[j] + 0.5 * dt * force[j];
    let f = phi[j] + dt * p;
    momentum[j] = p;
    phi[j] = f;
    return f;
}

// One invocation per work entry: a pair of points when packed.
@compute @workgroup_size(WORKGROUP_SIZE_FIELD)
fn kg_drift(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = flat_index_field(lid, wid, nwg);
    if i >= field_entries() {
        return;
    }
    if packed() {
        work[i] = vec2<real>(drift_point(2u * i), drift_point(2u * i + 1u));
    } else {
        work[i] = unpacked_entry(i, drift_point(i));
    }
}

@compute @workgroup_size(WORKGROUP_SIZE_FIELD)
fn kg_kick(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let j = flat_index_field(lid, wid, nwg);
    if j >= total_points() {
        return;
    }
    let f = field_value(j) - dv(phi[j]);
    force[j] = f;
    momentum[j] = momentum[j] + 0.5 * widen(params.dt) * f;
}

@compute @workgroup_size(WORKGROUP_SIZE_FIELD)
fn kg_load(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = flat_index_field(lid, wid, nwg);
    if i >= field_entries() {
        return;
    }
    if packed() {
        work[i] = vec2<real>(phi[2u * i], phi[2u * i + 1u]);
    } else {
        work[i] = unpacked_entry(i, phi[i]);
    }
}

@compute @workgroup_size(WORKGROUP_SIZE_FIELD)
fn kg_force(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let j = flat_index_field(lid, wid, nwg);
    if j >= total_points() {
        return;
    }
    force[j] = field_value(j) - dv(phi[j]);
}

@compute @workgroup_size(WORKGROUP_SIZE_FIELD)
fn a_load(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let j = flat_index_field(lid, wid, nwg);
    tick(j);
    if j >= total_points() {
        return;
    }
    work[j] = phi_hat[j];
}

@compute @workgroup_size(WORKGROUP_SIZE_FIELD)
fn a_prepare(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let j = flat_index_field(lid, wid, nwg);
    if j >= total_points() {
        return;
    }
    let f = work[j].x;
    work[j] = vec2<real>(widen(params.mu) * f - dv(f), point_noise(j));
}

@compute @workgroup_size(WORKGROUP_SIZE_FIELD)
fn a_update(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let j = flat_index_field(lid, wid, nwg);
    if j >= total_points() {
        return;
    }
    let z = work[j];
    let zm = work[mirror(j)];
    // Z = A + i B with A, B transforms of real fields: A = (Z + conj Z_-k) / 2,
    // B = (Z - conj Z_-k) / (2i).
    var nonlinear = 0.5 * vec2<real>(z.x + zm.x, z.y - zm.y);
    if params.dealias != 0u && !kept(j) {
        nonlinear = vec2<real>(0.0);
    }
    let xi = 0.5 * vec2<real>(z.y + zm.y, zm.x - z.x);
    let dt = widen(params.dt);
    let c = widen(params.nu) * k_squared(j) + widen(params.mu);
    let cdt = c * dt;
    let decay = r_exp(-cdt);
    // (1 - e^{-c dt}) / c and (1 - e^{-2 c dt}) / (2 c), with their limits dt as c -> 0.
    var gain = dt;
    var spread = dt;
    if abs(cdt) > 1e-4 {
        gain = (1.0 - decay) / c;
        spread = (1.0 - decay * decay) / (2.0 * c);
    } else {
        gain = dt * (1.0 - 0.5 * cdt);
        spread = dt * (1.0 - cdt);
    }
    phi_hat[j] = decay * phi_hat[j] + gain * nonlinear + widen(params.noise) * sqrt(spread) * xi;
}

@compute @workgroup_size(WORKGROUP_SIZE_FIELD)
fn kpz_load(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let j = flat_index_field(lid, wid, nwg);
    tick(j);
    if j >= total_points() {
        return;
    }
    let k = wave_vector(j);
    let h = phi_hat[j];
    // i kx h_hat + i (i ky h_hat): the transforms of h_x and h_y as real and imaginary parts.
    var g = vec2<real>(-k.x * h.y - k.y * h.x, k.x * h.x - k.y * h.y);
    if !kept(j) {
        g = vec2<real>(0.0);
    }
    work[j] = g;
}

@compute @workgroup_size(WORKGROUP_SIZE_FIELD)
fn kpz_prepare(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let j = flat_index_field(lid, wid, nwg);
    if j >= total_points() {
        return;
    }
    let g = work[j];
    work[j] = vec2<real>(0.5 * widen(params.lambda) * dot(g, g), point_noise(j));
}
