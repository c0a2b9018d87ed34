//! Twin of `shaders/field.wgsl`: the same buffers and kernels by name, each a loop over the
//! points, with the FFT through [`crate::cpu::fft`], generic over the precision `R` as the
//! kernels are over `real`. The arithmetic is the kernels'; the device's exp, sin, cos and the
//! FFT's rounding may differ.

use super::fft::{rfft_repack, rfft_unpack};
use crate::error::Result;
use crate::fft::plan::{Direction, FftShape};
use crate::field::potential::Potential;
use crate::field::spec::{FieldBackend, FieldEquation, FieldParams, FieldSpec, FieldState};
use crate::philox::{box_muller4, philox4x32_10};
use crate::real::Real;
use rayon::prelude::*;

/// Twin of `STREAM_FIELD_NOISE`.
const STREAM_FIELD_NOISE: u32 = 49;

/// The buffers, as bound.
pub struct FieldBuffers<R: Real> {
    /// The uniform.
    pub params: FieldParams,
    /// phi per point.
    pub phi: Vec<R>,
    /// pi per point.
    pub momentum: Vec<R>,
    /// The force per point.
    pub force: Vec<R>,
    /// The complex work buffer.
    pub work: Vec<[R; 2]>,
    /// Model A's state.
    pub phi_hat: Vec<[R; 2]>,
    /// (step, next).
    pub clock: [u32; 2],
    /// `exp(-2 pi i t / nx)`, `t = 0 ..= nx / 2` ([`crate::field::spec::packed_twiddles`]).
    pub twiddles_x: Vec<[R; 2]>,
}

/// A constant in `R`.
fn c<R: Real>(v: f64) -> R {
    R::real(v)
}

/// Twin of `signed_index`: the wave number of index `i` of a transform of length `n`.
fn signed_index<R: Real>(i: usize, n: usize) -> R {
    if n > 1 && i >= n / 2 {
        c::<R>(i as f64) - c(n as f64)
    } else {
        c(i as f64)
    }
}

impl<R: Real> FieldBuffers<R> {
    /// Twin of `k_squared`.
    fn k_squared(&self, j: usize) -> R {
        let [kx, ky] = self.wave_vector(j);
        kx * kx + ky * ky
    }

    /// Twin of `wave_vector`.
    fn wave_vector(&self, j: usize) -> [R; 2] {
        let p = &self.params;
        let (nx, ny) = (p.nx as usize, p.ny as usize);
        let within = j % (nx * ny);
        let (ix, iy) = (within % nx, within / nx);
        [
            R::widen(p.kx_unit) * (signed_index::<R>(ix, nx) + c::<R>(0.5) * c(f64::from(p.twist))),
            R::widen(p.ky_unit) * signed_index(iy, ny),
        ]
    }

    /// Twin of `twist_phase`.
    fn twist_phase(&self, j: usize) -> [R; 2] {
        let nx = self.params.nx as usize;
        let ix = (j % (nx * self.params.ny as usize)) % nx;
        let a = c::<R>(std::f64::consts::PI) * (c::<R>(ix as f64) / c(nx as f64) - c(0.5));
        [a.cos(), a.sin()]
    }

    /// Twin of `packed`.
    fn packed(&self) -> bool {
        crate::field::spec::packs_field(&self.params)
    }

    /// Twin of `field_entries`.
    fn field_entries(&self) -> usize {
        if self.packed() {
            self.phi.len() / 2
        } else {
            self.phi.len()
        }
    }

    /// Twin of `unpacked_entry`.
    fn unpacked_entry(&self, j: usize, f: R) -> [R; 2] {
        if self.params.twist == 0 {
            return [f, R::zero()];
        }
        let e = self.twist_phase(j);
        [f * e[0], -f * e[1]]
    }

    /// Twin of `field_value`.
    fn field_value(&self, j: usize) -> R {
        if self.packed() {
            return self.work[j / 2][j % 2];
        }
        let w = self.work[j];
        if self.params.twist == 0 {
            return w[0];
        }
        let e = self.twist_phase(j);
        w[0] * e[0] - w[1] * e[1]
    }

    /// Twin of `packed_k_squared`.
    fn packed_k_squared(&self, kx: usize, iy: usize) -> R {
        let ny = self.params.ny as usize;
        let k = R::widen(self.params.kx_unit) * c(kx as f64);
        let q = R::widen(self.params.ky_unit) * signed_index(iy, ny);
        k * k + q * q
    }

    /// Twin of `packed_laplacian_at`.
    fn packed_laplacian_at(&self, a: usize, iy: usize, z: [R; 2], m: [R; 2]) -> [R; 2] {
        let (nx, ny) = (self.params.nx as usize, self.params.ny as usize);
        let h = nx / 2;
        let my = (ny - iy) % ny;
        let wa = self.twiddles_x[a];
        let x = rfft_unpack(z, m, wa);
        let x_mirror = rfft_unpack(m, z, self.twiddles_x[h - a]);
        let (k2, k2_mirror) = (
            self.packed_k_squared(a, iy),
            self.packed_k_squared(h - a, my),
        );
        let y = [-k2 * x[0], -k2 * x[1]];
        let y_mirror = [-k2_mirror * x_mirror[0], -k2_mirror * x_mirror[1]];
        rfft_repack(y, y_mirror, wa)
    }

    /// Twin of `kept`.
    fn kept(&self, j: usize) -> bool {
        let (nx, ny) = (self.params.nx as usize, self.params.ny as usize);
        let within = j % (nx * ny);
        let (ix, iy) = (within % nx, within / nx);
        let (mx, my) = (ix.min(nx - ix), iy.min(ny - iy));
        3 * mx < nx && (ny == 1 || 3 * my < ny)
    }

    /// Twin of `mirror`.
    fn mirror(&self, j: usize) -> usize {
        let (nx, ny) = (self.params.nx as usize, self.params.ny as usize);
        let n = nx * ny;
        let (base, within) = (j - j % n, j % n);
        let (ix, iy) = (within % nx, within / nx);
        base + ((ny - iy) % ny) * nx + (nx - ix) % nx
    }

    fn shape(&self) -> FftShape {
        FftShape::two_d(self.params.nx, self.params.ny, self.params.fields)
    }
}

/// Twin of `tick`.
fn tick<R: Real>(b: &mut FieldBuffers<R>) {
    b.clock[0] = b.clock[1];
    b.clock[1] = b.clock[1].wrapping_add(1);
}

/// Twin of `point_noise`.
fn point_noise<R: Real>(p: &FieldParams, step: u32, j: usize) -> R {
    let n = (p.nx * p.ny) as usize;
    let (field, within) = (p.first_field + (j / n) as u32, (j % n) as u32);
    let xi = box_muller4(philox4x32_10(
        [field, within / 4, step, STREAM_FIELD_NOISE],
        p.key,
    ))[(within % 4) as usize];
    R::real(f64::from(xi))
}

/// Twin of the kernel `packed_laplacian`: each entry and its mirror, from the lower index.
pub fn packed_laplacian<R: Real>(b: &mut FieldBuffers<R>) {
    let (nx, ny) = (b.params.nx as usize, b.params.ny as usize);
    let h = nx / 2;
    let size = h * ny;
    for j in 0..b.phi.len() / 2 {
        let base = j - j % size;
        let (a, iy) = ((j % size) % h, (j % size) / h);
        let (ma, my) = ((h - a) % h, (ny - iy) % ny);
        let m = base + my * h + ma;
        if m < j {
            continue;
        }
        let (z, zm) = (b.work[j], b.work[m]);
        b.work[j] = b.packed_laplacian_at(a, iy, z, zm);
        if m != j {
            b.work[m] = b.packed_laplacian_at(ma, my, zm, z);
        }
    }
}

/// Twin of the kernel `spectral_laplacian`.
pub fn spectral_laplacian<R: Real>(b: &mut FieldBuffers<R>) {
    for j in 0..b.work.len() {
        let k2 = b.k_squared(j);
        b.work[j] = [-k2 * b.work[j][0], -k2 * b.work[j][1]];
    }
}

/// Twin of `drift_point`.
fn drift_point<R: Real>(b: &mut FieldBuffers<R>, j: usize) -> R {
    let dt = R::widen(b.params.dt);
    let p = b.momentum[j] + c::<R>(0.5) * dt * b.force[j];
    let f = b.phi[j] + dt * p;
    b.momentum[j] = p;
    b.phi[j] = f;
    f
}

/// Twin of the kernel `kg_drift`: an entry of `work` at a time (a pair of points packed).
pub fn kg_drift<R: Real>(b: &mut FieldBuffers<R>) {
    for i in 0..b.field_entries() {
        b.work[i] = if b.packed() {
            [drift_point(b, 2 * i), drift_point(b, 2 * i + 1)]
        } else {
            let f = drift_point(b, i);
            b.unpacked_entry(i, f)
        };
    }
}

/// Twin of the kernel `kg_kick`.
pub fn kg_kick<R: Real>(b: &mut FieldBuffers<R>, potential: &Potential, params: &[f32]) {
    let dt = R::widen(b.params.dt);
    for j in 0..b.phi.len() {
        let f = b.field_value(j) - potential.dv_as(b.phi[j], params);
        b.force[j] = f;
        b.momentum[j] += c::<R>(0.5) * dt * f;
    }
}

/// Twin of the kernel `kg_load`.
pub fn kg_load<R: Real>(b: &mut FieldBuffers<R>) {
    for i in 0..b.field_entries() {
        b.work[i] = if b.packed() {
            [b.phi[2 * i], b.phi[2 * i + 1]]
        } else {
            b.unpacked_entry(i, b.phi[i])
        };
    }
}

/// Twin of the kernel `kg_force`.
pub fn kg_force<R: Real>(b: &mut FieldBuffers<R>, potential: &Potential, params: &[f32]) {
    for j in 0..b.phi.len() {
        b.force[j] = b.field_value(j) - potential.dv_as(b.phi[j], params);
    }
}

/// Twin of the kernel `a_load`.
pub fn a_load<R: Real>(b: &mut FieldBuffers<R>) {
    tick(b);
    b.work.copy_from_slice(&b.phi_hat);
}

/// Twin of the kernel `a_prepare`.
pub fn a_prepare<R: Real>(b: &mut FieldBuffers<R>, potential: &Potential, params: &[f32]) {
    let p = b.params;
    let mu = R::widen(p.mu);
    let step = b.clock[0];
    b.work.par_iter_mut().enumerate().for_each(|(j, w)| {
        let f = w[0];
        *w = [
            mu * f - potential.dv_as(f, params),
            point_noise(&p, step, j),
        ];
    });
}

/// Twin of the kernel `a_update`.
pub fn a_update<R: Real>(b: &mut FieldBuffers<R>) {
    let p = b.params;
    let (dt, nu, mu, noise) = (
        R::widen(p.dt),
        R::widen(p.nu),
        R::widen(p.mu),
        R::widen(p.noise),
    );
    let (half, one, two) = (c::<R>(0.5), R::one(), c::<R>(2.0));
    for j in 0..b.work.len() {
        let z = b.work[j];
        let zm = b.work[b.mirror(j)];
        let nonlinear = if p.dealias != 0 && !b.kept(j) {
            [R::zero(), R::zero()]
        } else {
            [half * (z[0] + zm[0]), half * (z[1] - zm[1])]
        };
        let xi = [half * (z[1] + zm[1]), half * (zm[0] - z[0])];
        let c = nu * b.k_squared(j) + mu;
        let cdt = c * dt;
        let decay = (-cdt).exp();
        let (gain, spread) = if cdt.abs() > R::real(1e-4) {
            ((one - decay) / c, (one - decay * decay) / (two * c))
        } else {
            (dt * (one - half * cdt), dt * (one - cdt))
        };
        let amp = noise * spread.sqrt();
        let h = b.phi_hat[j];
        b.phi_hat[j] = [
            decay * h[0] + gain * nonlinear[0] + amp * xi[0],
            decay * h[1] + gain * nonlinear[1] + amp * xi[1],
        ];
    }
}

/// Twin of the kernel `kpz_load`.
pub fn kpz_load<R: Real>(b: &mut FieldBuffers<R>) {
    tick(b);
    for j in 0..b.work.len() {
        let [kx, ky] = b.wave_vector(j);
        let h = b.phi_hat[j];
        b.work[j] = if b.kept(j) {
            [-kx * h[1] - ky * h[0], kx * h[0] - ky * h[1]]
        } else {
            [R::zero(), R::zero()]
        };
    }
}

/// Twin of the kernel `kpz_prepare`.
pub fn kpz_prepare<R: Real>(b: &mut FieldBuffers<R>) {
    let p = b.params;
    let half_lambda = c::<R>(0.5) * R::widen(p.lambda);
    let step = b.clock[0];
    b.work.par_iter_mut().enumerate().for_each(|(j, w)| {
        *w = [
            half_lambda * (w[0] * w[0] + w[1] * w[1]),
            point_noise(&p, step, j),
        ];
    });
}

/// The CPU backend of a field run, in precision `R`.
pub struct CpuField<R: Real> {
    buffers: FieldBuffers<R>,
    potential: Potential,
    params: Vec<f32>,
    equation: FieldEquation,
}

impl<R: Real> CpuField<R> {
    /// The buffers of `spec` from the initial `phi` and `pi` of every field.
    pub fn new(spec: &FieldSpec, params: FieldParams, phi: Vec<R>, pi: Vec<R>) -> Self {
        let n = phi.len();
        // A packed Klein-Gordon field holds two points an entry.
        let packed =
            spec.equation == FieldEquation::KleinGordon && crate::field::spec::packs_field(&params);
        let work_entries = if packed { n / 2 } else { n };
        let mut b = FieldBuffers {
            params,
            phi,
            momentum: pi,
            force: vec![R::zero(); n],
            work: vec![[R::zero(); 2]; work_entries],
            phi_hat: vec![[R::zero(); 2]; n],
            clock: [0; 2],
            twiddles_x: crate::field::spec::packed_twiddles(params.nx),
        };
        let potential = spec.potential.clone();
        let values = potential.params_f32();
        let shape = b.shape();
        match spec.equation {
            FieldEquation::KleinGordon => {
                kg_load(&mut b);
                laplacian(&mut b);
                kg_force(&mut b, &potential, &values);
            }
            FieldEquation::ModelA { .. } | FieldEquation::Kpz { .. } => {
                // phi + 0i through the FFT, as the device run's initial transform.
                b.work = b.phi.iter().map(|v| [*v, R::zero()]).collect();
                super::fft::fft(&mut b.work, shape, Direction::Forward);
                b.phi_hat.copy_from_slice(&b.work);
            }
        }
        CpuField {
            buffers: b,
            potential,
            params: values,
            equation: spec.equation,
        }
    }
}

/// The spectral Laplacian of `work` in place: FFT, `packed_laplacian` (or
/// `spectral_laplacian` for an unpacked field), inverse FFT.
fn laplacian<R: Real>(b: &mut FieldBuffers<R>) {
    let p = b.params;
    if b.packed() {
        let shape = FftShape::two_d(p.nx / 2, p.ny, p.fields);
        super::fft::fft(&mut b.work, shape, Direction::Forward);
        packed_laplacian(b);
        super::fft::fft(&mut b.work, shape, Direction::Inverse);
    } else {
        let shape = b.shape();
        super::fft::fft(&mut b.work, shape, Direction::Forward);
        spectral_laplacian(b);
        super::fft::fft(&mut b.work, shape, Direction::Inverse);
    }
}

impl<R: Real> FieldBackend for CpuField<R> {
    fn steps(&mut self, steps: u32) -> Result<()> {
        let b = &mut self.buffers;
        let shape = b.shape();
        for _ in 0..steps {
            match self.equation {
                FieldEquation::KleinGordon => {
                    kg_drift(b);
                    laplacian(b);
                    kg_kick(b, &self.potential, &self.params);
                }
                FieldEquation::ModelA { .. } | FieldEquation::Kpz { .. } => {
                    let kpz = matches!(self.equation, FieldEquation::Kpz { .. });
                    if kpz {
                        kpz_load(b)
                    } else {
                        a_load(b)
                    }
                    super::fft::fft(&mut b.work, shape, Direction::Inverse);
                    if kpz {
                        kpz_prepare(b);
                    } else {
                        a_prepare(b, &self.potential, &self.params);
                    }
                    super::fft::fft(&mut b.work, shape, Direction::Forward);
                    a_update(b);
                }
            }
        }
        Ok(())
    }

    fn read(&mut self) -> Result<FieldState> {
        let b = &self.buffers;
        let wide = |v: &[R]| v.iter().map(|x| x.wide()).collect();
        Ok(match self.equation {
            FieldEquation::KleinGordon => FieldState::KleinGordon {
                phi: wide(&b.phi),
                momentum: wide(&b.momentum),
            },
            FieldEquation::ModelA { .. } | FieldEquation::Kpz { .. } => FieldState::Spectral {
                phi_hat: b
                    .phi_hat
                    .iter()
                    .map(|z| [z[0].wide(), z[1].wide()])
                    .collect(),
            },
        })
    }
}
