//! Pseudo-spectral fields on periodic grids (1-D or 2-D, a batch of independent fields): the
//! nonlinear Klein-Gordon equation `phi_tt = Laplacian phi - V'(phi)` by Stormer-Verlet,
//! model A Langevin dynamics `d phi = (Laplacian phi - V'(phi)) dt + sqrt(2T) dW` and the KPZ
//! equation `dh = (nu Laplacian h + (lambda/2) |grad h|^2) dt + sqrt(D) dW` (dealiased) by
//! exponential time differencing (kernels `shaders/field.wgsl` with the FFT of
//! `shaders/fft.wgsl`; CPU twin [`crate::cpu::field`]).
//!
//! The potential `V(phi)` is an expression; `V'` comes from symbolic differentiation and is
//! compiled into the kernel. Grid points lie at `x_j = -L/2 + j L / n` per axis. Energies
//! (Klein-Gordon: `sum (pi^2/2 + V) dV + (1/2) sum_k |k|^2 |phi_k|^2 dV / N`; model A the same
//! without `pi`) and the x-momentum `-sum pi d_x phi dV` are computed spectrally in f64 on the
//! host at the save times.
//!
//! **Why dt is fixed.** Stormer-Verlet is symplectic only with a constant step: it then
//! conserves a modified energy within O(dt^2) for exponentially long times, so the energy
//! error oscillates instead of drifting. An adaptive step would break that. The step defaults
//! to `safety * 2 / omega_max` (the linear stability bound, `omega_max^2 = |k_max|^2 +
//! max V''` over the initial field) and a given step above the bound is refused.

pub mod config;
pub mod potential;
pub mod profiles;

pub use potential::Potential;

use crate::device::DeviceInfo;
use crate::error::{Error, Result};
use crate::expr::{self, Scope};
use crate::fft::{FftShape, MAX_FFT_POINTS};
use crate::real::{split, Precision, Real};
use crate::Engine;
use bytemuck::{Pod, Zeroable};
use rustfft::num_complex::Complex64;
use std::time::{Duration, Instant};

/// The equation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldEquation {
    /// `phi_tt = Laplacian phi - V'(phi)`, Stormer-Verlet.
    KleinGordon,
    /// `d phi = (Laplacian phi - V'(phi)) dt + sqrt(2 T) dW`, exponential time differencing.
    ModelA {
        /// The temperature T.
        temperature: f64,
    },
    /// `dh = (nu Laplacian h + (lambda / 2) |grad h|^2) dt + sqrt(D) dW`, exponential time
    /// differencing with the nonlinearity dealiased by the 2/3 rule (the potential is unused).
    Kpz {
        /// nu.
        nu: f64,
        /// lambda.
        lambda: f64,
        /// D.
        noise: f64,
    },
}

impl FieldEquation {
    /// Whether the state is kept in Fourier space (model A, KPZ).
    pub fn is_spectral(&self) -> bool {
        !matches!(self, FieldEquation::KleinGordon)
    }
}

/// A field run.
#[derive(Clone, Debug)]
pub struct FieldSpec {
    /// The equation.
    pub equation: FieldEquation,
    /// Points per axis (`[n, 1]` in 1-D), powers of two.
    pub points: [u32; 2],
    /// The domain's side per axis.
    pub length: [f64; 2],
    /// The potential.
    pub potential: Potential,
    /// The initial field, an expression in `x`, `y` and the potential's parameters.
    pub init_phi: String,
    /// The initial `phi_t` (Klein-Gordon), likewise.
    pub init_pi: String,
    /// Independent fields in the batch (model A: noise realisations).
    pub fields: u32,
    /// The step; `None` for `safety * 2 / omega_max`.
    pub dt: Option<f64>,
    /// The fraction of the stability bound the default step takes.
    pub safety: f64,
    /// End time.
    pub t_end: f64,
    /// Evenly spaced save times from 0, at least 2.
    pub saves: usize,
    /// The seed of the noise.
    pub seed: u64,
    /// Model A: the spectrum is averaged over the saves at or after this time.
    pub average_from: f64,
    /// Keep every field at every save (else only field 0's).
    pub keep_snapshots: bool,
    /// Antiperiodic along x, `phi(x + L) = -phi(x)` (Klein-Gordon in 1-D): room for a
    /// single kink.
    pub antiperiodic: bool,
    /// The precision of the stepping and the FFTs (f64 needs `SHADER_F64` on a GPU).
    pub precision: Precision,
    /// Fields per device batch (default and at most: as many as fit in 2^24 points); the
    /// batches run one after the other and give the same fields as one batch.
    pub batch_fields: Option<u32>,
    /// Start every field from its own thermal draw at this temperature
    /// ([`profiles::thermal`], mass^2 = V''(0)) instead of `init_phi` / `init_pi`.
    pub thermal: Option<f64>,
}

impl FieldSpec {
    /// A 1-D Klein-Gordon run of `n` points on a domain of `length` with `potential`, one
    /// field, 101 saves, safety 0.5.
    pub fn new(n: u32, length: f64, potential: Potential) -> Self {
        FieldSpec {
            equation: FieldEquation::KleinGordon,
            points: [n, 1],
            length: [length, length],
            potential,
            init_phi: "0".into(),
            init_pi: "0".into(),
            fields: 1,
            dt: None,
            safety: 0.5,
            t_end: 10.0,
            saves: 101,
            seed: 0,
            average_from: 0.0,
            keep_snapshots: false,
            antiperiodic: false,
            precision: Precision::F32,
            thermal: None,
            batch_fields: None,
        }
    }

    /// The shape of the batch.
    pub fn shape(&self) -> FftShape {
        FftShape::two_d(self.points[0], self.points[1], self.fields)
    }

    /// Grid spacing per axis.
    pub fn spacing(&self) -> [f64; 2] {
        [
            self.length[0] / f64::from(self.points[0]),
            self.length[1] / f64::from(self.points[1]),
        ]
    }

    /// The cell volume (length in 1-D, area in 2-D).
    pub fn cell(&self) -> f64 {
        let h = self.spacing();
        if self.points[1] > 1 {
            h[0] * h[1]
        } else {
            h[0]
        }
    }

    /// The grid coordinates of point `j` of a field.
    pub fn coordinates(&self, j: usize) -> [f64; 2] {
        let nx = self.points[0] as usize;
        let h = self.spacing();
        let x = -self.length[0] / 2.0 + (j % nx) as f64 * h[0];
        let y = if self.points[1] > 1 {
            -self.length[1] / 2.0 + (j / nx) as f64 * h[1]
        } else {
            0.0
        };
        [x, y]
    }

    /// `|k|^2` of entry `j` of a field's transform.
    pub fn k_squared(&self, j: usize) -> f64 {
        self.wave_vector(j).iter().map(|k| k * k).sum()
    }

    /// `(kx, ky)` of entry `j` of a field's transform (of `phi e^{-i pi x / L}` when
    /// antiperiodic: kx shifted by `pi / L`).
    pub fn wave_vector(&self, j: usize) -> [f64; 2] {
        let nx = self.points[0] as usize;
        let ny = self.points[1] as usize;
        let signed = |i: usize, n: usize| {
            if n > 1 && i >= n / 2 {
                i as f64 - n as f64
            } else {
                i as f64
            }
        };
        let tau = 2.0 * std::f64::consts::PI;
        let shift = if self.antiperiodic { 0.5 } else { 0.0 };
        [
            tau / self.length[0] * (signed(j % nx, nx) + shift),
            if ny > 1 {
                tau / self.length[1] * signed(j / nx, ny)
            } else {
                0.0
            },
        ]
    }

    /// The exact stationary spectrum `<|phi(k)|^2> / V` at `|k|^2 = k2` where it is known:
    /// model A linearised about 0, `T / (k^2 + V''(0))` (exact for a quadratic V); KPZ in 1-D,
    /// `D / (2 nu k^2)` for k != 0 (its stationary measure is Edwards-Wilkinson's).
    pub fn stationary_spectrum(&self, k2: f64) -> Option<f64> {
        match self.equation {
            FieldEquation::ModelA { temperature } => {
                let c = k2 + self.potential.second_derivative(0.0);
                (c > 0.0).then(|| temperature / c)
            }
            FieldEquation::Kpz { nu, noise, .. } if self.points[1] == 1 && k2 > 0.0 => {
                Some(noise / (2.0 * nu * k2))
            }
            _ => None,
        }
    }

    /// The largest `|k|^2` of the grid (both Nyquist wave numbers).
    pub fn k_max_squared(&self) -> f64 {
        let h = self.spacing();
        let kx = std::f64::consts::PI / h[0];
        let ky = if self.points[1] > 1 {
            std::f64::consts::PI / h[1]
        } else {
            0.0
        };
        kx * kx + ky * ky
    }

    /// The initial `phi` and `pi` of one field, in f64.
    ///
    /// # Errors
    /// [`Error::Expression`] naming `model.init` or `model.init_momentum`.
    pub fn initial(&self) -> Result<(Vec<f64>, Vec<f64>)> {
        let mut names: Vec<String> = self
            .potential
            .params
            .iter()
            .map(|(n, _)| n.clone())
            .collect();
        names.push("L".into());
        let values: Vec<f64> = self
            .potential
            .params
            .iter()
            .map(|(_, v)| *v)
            .chain([self.length[0]])
            .collect();
        let scope = Scope::new(&["x", "y"], &names);
        let parse = |field: &str, text: &str| {
            expr::parse(text, &scope).map_err(|e| Error::Expression {
                field: field.to_string(),
                rendered: e.render(field, text),
            })
        };
        let phi = parse("model.init", &self.init_phi)?;
        let pi = parse("model.init_momentum", &self.init_pi)?;
        let n = self.shape().field_size() as usize;
        let at = |node: &expr::Node| -> Vec<f64> {
            (0..n)
                .map(|j| expr::eval_f64(node, 0.0, &self.coordinates(j), &values))
                .collect()
        };
        Ok((at(&phi), at(&pi)))
    }

    /// The initial `phi` and `pi` of every field of the batch, one after the other: the same
    /// [`FieldSpec::initial`] for all, or a thermal draw per field.
    ///
    /// # Errors
    /// As [`FieldSpec::initial`]; [`Error::InvalidInput`] naming `model.profile` for a thermal
    /// field where `V''(0) <= 0` (its k = 0 mode has no equilibrium) or the boundary is
    /// antiperiodic.
    pub fn initial_batch(&self) -> Result<(Vec<f64>, Vec<f64>)> {
        let Some(temperature) = self.thermal else {
            let (phi, pi) = self.initial()?;
            let batch = |one: &[f64]| -> Vec<f64> {
                (0..self.fields).flat_map(|_| one.iter().copied()).collect()
            };
            return Ok((batch(&phi), batch(&pi)));
        };
        let mass2 = self.potential.second_derivative(0.0);
        if !(mass2 > 0.0 && mass2.is_finite()) {
            return Err(Error::invalid(
                "model.profile",
                "thermal",
                format!("a thermal field needs V''(0) > 0, its mass squared; V''(0) = {mass2}"),
            ));
        }
        if !(temperature.is_finite() && temperature >= 0.0) {
            return Err(Error::invalid(
                "model.profile.temperature",
                temperature,
                "at least 0",
            ));
        }
        if self.antiperiodic {
            return Err(Error::invalid(
                "model.profile",
                "thermal",
                "thermal fields are periodic",
            ));
        }
        let key = crate::philox::key_of_seed(self.seed);
        let (mut phi, mut pi) = (Vec::new(), Vec::new());
        for f in 0..self.fields {
            let (a, b) = profiles::thermal(self.points, self.length, mass2, temperature, key, f);
            phi.extend(a);
            pi.extend(b);
        }
        Ok((phi, pi))
    }

    /// The stability bound `2 / omega_max` for an initial field.
    pub fn stability_bound(&self, phi0: &[f64]) -> f64 {
        let curvature = phi0
            .iter()
            .map(|p| self.potential.second_derivative(*p))
            .fold(0.0f64, f64::max);
        2.0 / (self.k_max_squared() + curvature).sqrt()
    }

    fn check(&self) -> Result<()> {
        FftShape::two_d(self.points[0], self.points[1], 1).check()?;
        if self.fields == 0 {
            return Err(Error::invalid(
                "ensemble.trajectories",
                0,
                "at least one field",
            ));
        }
        if self.points[0] < 2 {
            return Err(Error::invalid(
                "grid.points[0]",
                self.points[0],
                "at least 2",
            ));
        }
        if self.shape().field_size() > MAX_FFT_POINTS {
            return Err(Error::Limit(format!(
                "a field of {} x {} points; at most 2^24 (the fields of a larger batch run 2^24 \
                 points at a time)",
                self.points[0], self.points[1]
            )));
        }
        for (k, l) in self.length.iter().enumerate() {
            if !(l.is_finite() && *l > 0.0) {
                return Err(Error::invalid(
                    format!("grid.length[{k}]"),
                    l,
                    "must be positive",
                ));
            }
        }
        if !(self.t_end.is_finite() && self.t_end > 0.0) {
            return Err(Error::invalid(
                "solver.t_end",
                self.t_end,
                "must be positive",
            ));
        }
        if self.saves < 2 {
            return Err(Error::invalid(
                "output.save_times",
                self.saves,
                "at least 2",
            ));
        }
        if !(self.safety > 0.0 && self.safety < 1.0) {
            return Err(Error::invalid(
                "solver.safety",
                self.safety,
                "must lie in (0, 1)",
            ));
        }
        if self.antiperiodic && (self.equation != FieldEquation::KleinGordon || self.points[1] > 1)
        {
            return Err(Error::invalid(
                "grid.boundary",
                "antiperiodic",
                "antiperiodic boundaries are for 1-D Klein-Gordon runs",
            ));
        }
        match self.equation {
            FieldEquation::ModelA { temperature }
                if !(temperature.is_finite() && temperature >= 0.0) =>
            {
                return Err(Error::invalid("model.kT", temperature, "at least 0"));
            }
            FieldEquation::Kpz { nu, lambda, noise } => {
                if !(nu.is_finite() && nu > 0.0) {
                    return Err(Error::invalid("model.nu", nu, "must be positive"));
                }
                if !lambda.is_finite() {
                    return Err(Error::invalid("model.lambda", lambda, "must be finite"));
                }
                if !(noise.is_finite() && noise >= 0.0) {
                    return Err(Error::invalid("model.noise", noise, "at least 0"));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The uniform of the field kernels (keep in sync with `shaders/field.wgsl`). The real values
/// are f32 pairs ([`crate::real::split`]) that kernels of either precision widen.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct FieldParams {
    /// The Philox key.
    pub key: [u32; 2],
    /// Points along x.
    pub nx: u32,
    /// Points along y.
    pub ny: u32,
    /// Fields.
    pub fields: u32,
    /// 1: dealias the nonlinear term (KPZ).
    pub dealias: u32,
    /// 1: antiperiodic along x.
    pub twist: u32,
    /// The batch's first field in the whole run (the noise's counter uses the run's index).
    pub first_field: u32,
    /// The step.
    pub dt: [f32; 2],
    /// 2 pi / Lx.
    pub kx_unit: [f32; 2],
    /// 2 pi / Ly.
    pub ky_unit: [f32; 2],
    /// V''(0), model A's linear part.
    pub mu: [f32; 2],
    /// sqrt(2 T / dV) (model A) or sqrt(D / dV) (KPZ).
    pub noise: [f32; 2],
    /// The factor on |k|^2 in the linear part (1 for model A).
    pub nu: [f32; 2],
    /// KPZ's lambda.
    pub lambda: [f32; 2],
}

/// Twin of `packed` in `shaders/field.wgsl`: a Klein-Gordon field is carried two real points
/// to a complex value (so that its transform is half as long) unless it is antiperiodic
/// (complex) or one point wide.
pub fn packs_field(params: &FieldParams) -> bool {
    params.twist == 0 && params.nx >= 2
}

/// The twiddles `exp(-2 pi i t / nx)`, `t = 0 ..= nx / 2`, that `packed_laplacian` reads
/// (computed in f64, as the FFT's); one entry when `nx` is 1.
pub fn packed_twiddles<R: Real>(nx: u32) -> Vec<[R; 2]> {
    let mut table = crate::fft::twiddles::<R>(nx);
    table.truncate(nx as usize / 2 + 1);
    table
}

/// What a backend holds between steps, read back at save times (widened to f64 from the
/// run's precision).
pub enum FieldState {
    /// Klein-Gordon: `phi` and `pi` of every field.
    KleinGordon {
        /// phi.
        phi: Vec<f64>,
        /// pi.
        momentum: Vec<f64>,
    },
    /// Model A and KPZ: the transform of every field.
    Spectral {
        /// phi_hat.
        phi_hat: Vec<[f64; 2]>,
    },
}

/// One backend's side of a field run.
pub trait FieldBackend {
    /// Takes `steps` steps.
    ///
    /// # Errors
    /// [`Error::Device`] for a device failure.
    fn steps(&mut self, steps: u32) -> Result<()>;
    /// The current state.
    ///
    /// # Errors
    /// [`Error::Device`] for a failed readback.
    fn read(&mut self) -> Result<FieldState>;
}

/// The observables of a field run.
#[derive(Clone, Debug)]
pub struct FieldResult {
    /// The save times.
    pub times: Vec<f64>,
    /// The step.
    pub dt: f64,
    /// The stability bound `2 / omega_max` of the initial field.
    pub stability_bound: f64,
    /// Per field and save: the energy (model A: the free energy without `pi`).
    pub energy: Vec<Vec<f64>>,
    /// Per field and save: the x-momentum (Klein-Gordon).
    pub momentum: Vec<Vec<f64>>,
    /// Per field and save: the roughness, the variance of the field over the grid.
    pub roughness: Vec<Vec<f64>>,
    /// Per save: field 0's phi (all fields' with `keep_snapshots`).
    pub snapshots: Vec<Vec<f32>>,
    /// Every field's phi at the last save, in the run's precision (widened to f64).
    pub final_phi: Vec<f64>,
    /// Model A and KPZ: per entry of a field's transform, `<|phi_k|^2> dV / N` (the continuum
    /// structure factor `<|phi(k)|^2> / V`) averaged over the fields and the saves from
    /// `average_from`.
    pub spectrum: Option<Vec<f64>>,
    /// What ran it.
    pub device: DeviceInfo,
    /// Pipelines and buffers.
    pub setup_time: Duration,
    /// The stepping.
    pub run_time: Duration,
    /// Steps per field.
    pub steps: u32,
    /// Points per field.
    pub points: u64,
    /// Fields.
    pub fields: u32,
}

impl FieldResult {
    /// The largest deviation of field `f`'s energy from its initial value, relative to it
    /// (absolute when it is 0); NaN if any energy is (a field that diverged reports so, not a
    /// drift of 0).
    pub fn energy_drift(&self, f: usize) -> f64 {
        let e = &self.energy[f];
        let scale = if e[0] == 0.0 { 1.0 } else { e[0].abs() };
        e.iter()
            .map(|v| (v - e[0]).abs() / scale)
            .fold(0.0, crate::stats::max_or_nan)
    }

    /// Point-steps per second of the stepping.
    pub fn point_steps_per_second(&self) -> f64 {
        self.points as f64 * f64::from(self.fields) * f64::from(self.steps)
            / self.run_time.as_secs_f64().max(1e-12)
    }
}

/// The spectral observables of one field: (energy, x-momentum, |phi_k|^2 per entry).
fn observe(spec: &FieldSpec, phi: &[f64], pi: Option<&[f64]>) -> (f64, f64, Vec<f64>) {
    let (nx, ny) = (spec.points[0] as usize, spec.points[1] as usize);
    let n = nx * ny;
    // An antiperiodic field is transformed as phi e^{-i pi x / L} (`wave_vector` shifts k).
    let phase = |j: usize| {
        if spec.antiperiodic {
            Complex64::from_polar(
                1.0,
                std::f64::consts::PI * spec.coordinates(j)[0] / spec.length[0],
            )
        } else {
            Complex64::new(1.0, 0.0)
        }
    };
    let mut hat: Vec<Complex64> = phi
        .iter()
        .enumerate()
        .map(|(j, v)| v * phase(j).conj())
        .collect();
    crate::cpu::fft::fft64(&mut hat, nx, ny, false);
    let dv = spec.cell();
    let power: Vec<f64> = hat.iter().map(Complex64::norm_sqr).collect();
    let gradient: f64 = power
        .iter()
        .enumerate()
        .map(|(j, p)| spec.k_squared(j) * p)
        .sum::<f64>()
        * dv
        / (2.0 * n as f64);
    let potential: f64 = phi.iter().map(|p| spec.potential.value(*p)).sum::<f64>() * dv;
    let kinetic: f64 = pi.map_or(0.0, |p| p.iter().map(|v| v * v).sum::<f64>() * dv / 2.0);
    let momentum = pi.map_or(0.0, |p| {
        // d_x phi spectrally: i kx phi_hat, back to space.
        let mut d: Vec<Complex64> = hat
            .iter()
            .enumerate()
            .map(|(j, h)| Complex64::new(0.0, spec.wave_vector(j)[0]) * h)
            .collect();
        crate::cpu::fft::fft64(&mut d, nx, ny, true);
        -p.iter()
            .enumerate()
            .zip(&d)
            .map(|((j, a), b)| a * (b * phase(j)).re)
            .sum::<f64>()
            * dv
    });
    (kinetic + gradient + potential, momentum, power)
}

/// The backend of `engine` for a run in precision `R` from the batch's initial `phi0`, `pi0`.
fn backend<'a, R: Real>(
    engine: &'a Engine,
    spec: &FieldSpec,
    params: FieldParams,
    phi0: &[f64],
    pi0: &[f64],
) -> Result<Box<dyn FieldBackend + 'a>> {
    let round = |v: &[f64]| -> Vec<R> { v.iter().map(|x| R::real(*x)).collect() };
    let (phi, pi) = (round(phi0), round(pi0));
    Ok(match engine.gpu() {
        Some(ctx) => Box::new(crate::gpu::field::GpuField::new(
            ctx, spec, params, &phi, &pi,
        )?),
        None => Box::new(crate::cpu::field::CpuField::new(spec, params, phi, pi)),
    })
}

/// Runs `spec` on `engine`'s backend.
///
/// # Errors
/// [`Error::InvalidInput`], [`Error::Expression`] or [`Error::Limit`] before any work;
/// [`Error::Device`] or [`Error::Shader`] from the device.
pub fn run(engine: &Engine, spec: &FieldSpec) -> Result<FieldResult> {
    let setup_start = Instant::now();
    spec.check()?;
    let (phi0, pi0) = spec.initial_batch()?;
    let bound = spec.stability_bound(&phi0);
    let dt = match (spec.dt, spec.equation) {
        (None, FieldEquation::Kpz { .. }) => {
            return Err(Error::invalid(
                "solver.dt",
                "missing",
                "a KPZ run needs its step (its nonlinearity is explicit)",
            ))
        }
        (Some(dt), FieldEquation::KleinGordon) if dt >= bound => {
            return Err(Error::invalid(
                "solver.dt",
                dt,
                format!("above the stability bound 2 / omega_max = {bound:.4e} of Stormer-Verlet"),
            ))
        }
        (Some(dt), _) if !(dt.is_finite() && dt > 0.0) => {
            return Err(Error::invalid("solver.dt", dt, "must be positive"))
        }
        (Some(dt), _) => dt,
        (None, _) => spec.safety * bound,
    };
    let steps_total = (spec.t_end / dt).ceil();
    if steps_total > f64::from(u32::MAX / 2) {
        return Err(Error::Limit(format!(
            "t_end / dt = {steps_total} steps; at most 2^31"
        )));
    }
    // The grid t_end / ceil(t_end / dt) keeps the step fixed and the end exact.
    let n_steps = steps_total as u32;
    let dt = spec.t_end / f64::from(n_steps);
    let save_steps = crate::interacting::save_steps(n_steps, spec.saves);
    let shape = spec.shape();
    let n = shape.field_size() as usize;
    let fields = spec.fields as usize;
    let (noise, nu, lambda, mu) = match spec.equation {
        FieldEquation::ModelA { temperature } => (
            (2.0 * temperature / spec.cell()).sqrt(),
            1.0,
            0.0,
            spec.potential.second_derivative(0.0),
        ),
        FieldEquation::Kpz { nu, lambda, noise } => ((noise / spec.cell()).sqrt(), nu, lambda, 0.0),
        FieldEquation::KleinGordon => (0.0, 1.0, 0.0, 0.0),
    };
    let params = FieldParams {
        key: crate::philox::key_of_seed(spec.seed),
        nx: spec.points[0],
        ny: spec.points[1],
        fields: spec.fields,
        dealias: u32::from(matches!(spec.equation, FieldEquation::Kpz { .. })),
        twist: u32::from(spec.antiperiodic),
        first_field: 0,
        dt: split(dt),
        kx_unit: split(2.0 * std::f64::consts::PI / spec.length[0]),
        ky_unit: split(2.0 * std::f64::consts::PI / spec.length[1]),
        mu: split(mu),
        noise: split(noise),
        nu: split(nu),
        lambda: split(lambda),
    };
    let mut setup_time = setup_start.elapsed();
    let mut run_time = Duration::ZERO;
    let mut energy = vec![Vec::new(); fields];
    let mut momentum = vec![Vec::new(); fields];
    let mut roughness = vec![Vec::new(); fields];
    let mut snapshots = vec![Vec::new(); save_steps.len()];
    let mut spectrum_sum = vec![0.0f64; n];
    let mut averaged = 0usize;
    let mut final_phi = Vec::with_capacity(fields * n);
    // Batches of at most 2^24 points run one after the other, each field with its own
    // index in the noise's counter, so the fields are those of one big batch.
    let fit = (MAX_FFT_POINTS / n as u64).max(1) as usize;
    let per_batch = spec
        .batch_fields
        .map_or(fit, |b| (b.max(1) as usize).min(fit));
    for first in (0..fields).step_by(per_batch) {
        let count = per_batch.min(fields - first);
        let setup_start = Instant::now();
        let chunk = FieldParams {
            fields: count as u32,
            first_field: first as u32,
            ..params
        };
        let range = first * n..(first + count) * n;
        let mut backend = match spec.precision {
            Precision::F32 => backend::<f32>(
                engine,
                spec,
                chunk,
                &phi0[range.clone()],
                &pi0[range.clone()],
            )?,
            Precision::F64 => {
                backend::<f64>(engine, spec, chunk, &phi0[range.clone()], &pi0[range])?
            }
        };
        setup_time += setup_start.elapsed();
        let run_start = Instant::now();
        let mut step = 0;
        for (save, &target) in save_steps.iter().enumerate() {
            if target > step {
                backend.steps(target - step)?;
                step = target;
            }
            let (phi_now, pi_now): (Vec<f64>, Option<Vec<f64>>) = match backend.read()? {
                FieldState::KleinGordon { phi, momentum } => (phi, Some(momentum)),
                FieldState::Spectral { phi_hat } => {
                    let mut z: Vec<Complex64> =
                        phi_hat.iter().map(|c| Complex64::new(c[0], c[1])).collect();
                    for field in z.chunks_mut(n) {
                        crate::cpu::fft::fft64(
                            field,
                            spec.points[0] as usize,
                            spec.points[1] as usize,
                            true,
                        );
                    }
                    (z.iter().map(|c| c.re).collect(), None)
                }
            };
            let t = f64::from(step) * dt;
            for local in 0..count {
                let f = first + local;
                let range = local * n..(local + 1) * n;
                let (e, p, power) = observe(
                    spec,
                    &phi_now[range.clone()],
                    pi_now.as_ref().map(|v| &v[range.clone()]),
                );
                energy[f].push(e);
                momentum[f].push(p);
                let values = &phi_now[range];
                let mean = values.iter().sum::<f64>() / n as f64;
                roughness[f]
                    .push(values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64);
                if spec.equation.is_spectral() && t >= spec.average_from - 1e-9 {
                    for (s, q) in spectrum_sum.iter_mut().zip(&power) {
                        *s += q;
                    }
                    averaged += 1;
                }
            }
            let keep = if spec.keep_snapshots {
                count * n
            } else if first == 0 {
                n
            } else {
                0
            };
            snapshots[save].extend(phi_now[..keep].iter().map(|v| *v as f32));
            if save + 1 == save_steps.len() {
                final_phi.extend_from_slice(&phi_now);
            }
        }
        run_time += run_start.elapsed();
    }
    let step = *save_steps.last().expect("at least 2 saves");
    let spectrum = (averaged > 0).then(|| {
        let scale = spec.cell() / (n as f64 * averaged as f64);
        spectrum_sum.iter().map(|s| s * scale).collect()
    });
    Ok(FieldResult {
        times: save_steps.iter().map(|s| f64::from(*s) * dt).collect(),
        dt,
        stability_bound: bound,
        energy,
        momentum,
        roughness,
        snapshots,
        final_phi,
        spectrum,
        device: engine.device().clone(),
        setup_time,
        run_time,
        steps: step,
        points: n as u64,
        fields: spec.fields,
    })
}

impl FieldSpec {
    /// Checks the run as [`run`] does before any device work (`langevin check`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] or [`Error::Limit`] naming the field.
    pub fn validate(&self) -> Result<()> {
        self.check().map(|_| ())
    }
}
