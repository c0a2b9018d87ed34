//! What a field run is: the equation, the grid, the potential and the initial field, checked
//! before any work; the uniform of the kernels; what a backend holds between steps.

use super::potential::Potential;
use crate::error::{Error, Result};
use crate::expr::{self, Scope};
use crate::fft::plan::{FftShape, MAX_FFT_POINTS};
use crate::real::{Precision, Real};
use bytemuck::{Pod, Zeroable};

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
    /// ([`super::profiles::thermal`], mass^2 = V''(0)) instead of `init_phi` / `init_pi`.
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
            let (a, b) =
                super::profiles::thermal(self.points, self.length, mass2, temperature, key, f);
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

    pub(super) fn check(&self) -> Result<()> {
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

impl FieldSpec {
    /// Checks the run as [`super::run()`] does before any device work (`langevin check`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] or [`Error::Limit`] naming the field.
    pub fn validate(&self) -> Result<()> {
        self.check().map(|_| ())
    }
}
