//! Consensus-based optimisation (Pinnau, Totzeck, Tse and Martin 2017; CBXpy): M independent
//! runs of N particles in d dimensions, one workgroup per run (kernel `shaders/cbo.wgsl`, CPU
//! twin [`crate::cpu::cbo`]). Each step weighs the particles by `exp(-alpha (f - min f))`
//! (the minimum subtracted, so that the weights never underflow all at once), moves them
//! toward the weighted mean c by `lambda dt` and shakes them by `sigma sqrt(dt) |x - c|`
//! (isotropic: the Euclidean norm on every coordinate; anisotropic: each coordinate's own
//! distance), with alpha multiplied by `alpha_growth` per step up to `alpha_max`. The
//! defaults are CBXpy's: dt 0.01, lambda 1, sigma 5.1, alpha 1 growing by 1.05 to 1e5.
//!
//! The result is each run's consensus and objective at the save times; a run succeeds when
//! its final consensus lies within 0.25 of the minimiser in every coordinate (the criterion
//! of the CBO literature).

use super::cbo_objective::{ObjectiveExpr, NO_OBJECTIVE_EXPR};
pub use super::uniforms::{CboSegment, MAX_DIM_CBO};
use super::ReplicaBackend;
use crate::device::DeviceInfo;
use crate::error::{Error, Result};
use crate::gpu::replicas::{GpuReplicas, Storage};
use crate::plan::LoopCost;
use crate::Engine;
use std::time::{Duration, Instant};

/// The objective: a built-in one, each with its minimum 0 at `x = shift` in every
/// coordinate, or an expression in `v = x - shift` ([`ObjectiveExpr`]).
#[derive(Clone, Debug)]
pub enum Objective {
    /// `sum v^2`.
    Sphere,
    /// `10 d + sum (v^2 - 10 cos(2 pi v))`.
    Rastrigin,
    /// `-20 exp(-0.2 sqrt(sum v^2 / d)) - exp(sum cos(2 pi v) / d) + 20 + e`.
    Ackley,
    /// An expression with reductions over the coordinates, e.g.
    /// `1 + sum_i(x_i^2) / 4000 - prod_i(cos(x_i / sqrt(i)))` (Griewank).
    Expr(Box<ObjectiveExpr>),
}

impl Objective {
    fn code(&self) -> u32 {
        match self {
            Objective::Sphere => 0,
            Objective::Rastrigin => 1,
            Objective::Ackley => 2,
            Objective::Expr(_) => 3,
        }
    }

    /// The name of a built-in objective, or the expression.
    pub fn name(&self) -> String {
        match self {
            Objective::Expr(e) => e.text.clone(),
            other => format!("{other:?}").to_lowercase(),
        }
    }

    /// The objective at `v = x - shift` in f64.
    pub fn value(&self, v: &[f64]) -> f64 {
        if let Objective::Expr(e) = self {
            return e.value(v);
        }
        let d = v.len() as f64;
        let sum_sq: f64 = v.iter().map(|a| a * a).sum();
        let sum_cos: f64 = v
            .iter()
            .map(|a| (2.0 * std::f64::consts::PI * a).cos())
            .sum();
        match self {
            Objective::Sphere => sum_sq,
            Objective::Rastrigin => 10.0 * d + sum_sq - 10.0 * sum_cos,
            Objective::Ackley => {
                -20.0 * (-0.2 * (sum_sq / d).sqrt()).exp() - (sum_cos / d).exp()
                    + 20.0
                    + std::f64::consts::E
            }
            Objective::Expr(_) => unreachable!("handled above"),
        }
    }
}

impl std::str::FromStr for Objective {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sphere" => Ok(Objective::Sphere),
            "rastrigin" => Ok(Objective::Rastrigin),
            "ackley" => Ok(Objective::Ackley),
            name if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                Err(Error::invalid(
                    "model.objective",
                    name,
                    "expected \"sphere\", \"rastrigin\", \"ackley\" or an expression such as \
                     \"sum_i(x_i^2)\"",
                ))
            }
            text => Ok(Objective::Expr(Box::new(ObjectiveExpr::parse(
                "model.objective",
                text,
            )?))),
        }
    }
}

/// A CBO run.
#[derive(Clone, Debug)]
pub struct CboSpec {
    /// The objective.
    pub objective: Objective,
    /// Where its minimum lies, in every coordinate.
    pub shift: f64,
    /// Coordinates, 1 to [`MAX_DIM_CBO`].
    pub dim: u32,
    /// Particles per run.
    pub particles: u32,
    /// Drift toward the consensus.
    pub lambda: f64,
    /// Noise.
    pub sigma: f64,
    /// Initial alpha.
    pub alpha: f64,
    /// alpha's factor per step.
    pub alpha_growth: f64,
    /// alpha's cap.
    pub alpha_max: f64,
    /// Per-coordinate noise (else isotropic).
    pub anisotropic: bool,
    /// Initial positions, uniform in `[lo, hi]` per coordinate.
    pub init: (f64, f64),
    /// The step.
    pub dt: f64,
    /// Steps (iterations).
    pub steps: u32,
    /// Independent runs.
    pub replicas: u32,
    /// The seed.
    pub seed: u64,
    /// Evenly spaced save steps, at least 2.
    pub saves: usize,
    /// Stop a run once the objective at its consensus falls below this (CBXpy's
    /// `energy_tol`).
    pub energy_tol: Option<f64>,
    /// Stop a run once its consensus moves less than this in every coordinate in one step
    /// (CBXpy's `diff_tol`, in the max norm).
    pub diff_tol: Option<f64>,
}

impl CboSpec {
    /// A consensus `c` as reported: its coordinates, then the objective there evaluated on
    /// the host in f64 from those same f32 coordinates (and rounded to f32). The kernel's own
    /// f32 value at its consensus only decides when a run stops: the objective reported is
    /// the objective at the point reported, whatever the kernel's rounding.
    pub fn reported(&self, c: &[f32]) -> Vec<f32> {
        let v: Vec<f64> = c.iter().map(|x| f64::from(*x) - self.shift).collect();
        let mut out = c.to_vec();
        out.push(self.objective.value(&v) as f32);
        out
    }

    /// CBXpy's settings on `objective` in `dim` dimensions: N = 100 particles, anisotropic
    /// noise, initial positions uniform in [-3, 3], 1000 steps, 100 runs.
    pub fn new(objective: Objective, dim: u32) -> Self {
        CboSpec {
            objective,
            shift: 0.0,
            dim,
            particles: 100,
            lambda: 1.0,
            sigma: 5.1,
            alpha: 1.0,
            alpha_growth: 1.05,
            alpha_max: 1e5,
            anisotropic: true,
            init: (-3.0, 3.0),
            dt: 0.01,
            steps: 1000,
            replicas: 100,
            seed: 0,
            saves: 11,
            energy_tol: None,
            diff_tol: None,
        }
    }

    fn check(&self) -> Result<Vec<u32>> {
        if self.dim == 0 || self.dim > MAX_DIM_CBO {
            return Err(Error::invalid(
                "model.dim",
                self.dim,
                format!("must be 1 to {MAX_DIM_CBO}"),
            ));
        }
        if self.particles == 0 {
            return Err(Error::invalid("model.particles", 0, "must be at least 1"));
        }
        let total = u64::from(self.particles) * u64::from(self.dim) * u64::from(self.replicas);
        if self.replicas == 0 || total > 1 << 26 {
            return Err(Error::Limit(format!(
                "{} runs of {} particles in {} dimensions; at most 2^26 coordinates in one run",
                self.replicas, self.particles, self.dim
            )));
        }
        super::check_values(
            &[
                ("model.lambda", self.lambda),
                ("model.sigma", self.sigma),
                ("model.alpha", self.alpha),
                ("model.alpha_growth", self.alpha_growth),
                ("model.alpha_max", self.alpha_max),
                ("model.shift", self.shift),
                ("model.init[0]", self.init.0),
                ("model.init[1]", self.init.1),
            ],
            &[
                "model.sigma",
                "model.alpha",
                "model.alpha_growth",
                "model.alpha_max",
            ],
        )?;
        for (field, tol) in [
            ("model.energy_tol", self.energy_tol),
            ("model.diff_tol", self.diff_tol),
        ] {
            if tol.is_some_and(|t| !t.is_finite()) {
                return Err(Error::invalid(field, tol.unwrap_or(0.0), "must be finite"));
            }
        }
        if self.init.1 <= self.init.0 {
            return Err(Error::invalid(
                "model.init",
                format!("[{}, {}]", self.init.0, self.init.1),
                "the initial box needs lo < hi",
            ));
        }
        if self.steps == 0 {
            return Err(Error::invalid("solver.steps", 0, "must be at least 1"));
        }
        if !(self.dt.is_finite() && self.dt > 0.0) {
            return Err(Error::invalid("solver.dt", self.dt, "must be positive"));
        }
        if self.saves < 2 {
            return Err(Error::invalid(
                "output.save_times",
                self.saves,
                "must be at least 2",
            ));
        }
        Ok(super::save_steps(self.steps, self.saves))
    }
}

/// The consensus of every run.
#[derive(Clone, Debug)]
pub struct CboResult {
    /// The save steps.
    pub steps: Vec<u32>,
    /// Coordinates.
    pub dim: u32,
    /// Per run and save: the consensus, then the objective there (d + 1 values; the
    /// objective evaluated on the host in f64 at these f32 coordinates, [`CboSpec::reported`]).
    pub consensus: Vec<Vec<Vec<f32>>>,
    /// Per run and save: the step at which the run met a tolerance and stopped, if it had.
    pub stopped: Vec<Vec<Option<u32>>>,
    /// The minimiser's coordinate.
    pub shift: f64,
    /// What ran it.
    pub device: DeviceInfo,
    /// Pipeline creation and buffers.
    pub setup_time: Duration,
    /// The stepping.
    pub run_time: Duration,
    /// Particles per run.
    pub particles: u32,
}

impl CboResult {
    /// The fraction of runs whose final consensus is within `tolerance` of the minimiser in
    /// every coordinate.
    pub fn success_rate(&self, tolerance: f64) -> f64 {
        self.success_rate_at(self.steps.len() - 1, tolerance)
    }

    /// [`CboResult::success_rate`] of the consensus at save `slot`.
    pub fn success_rate_at(&self, slot: usize, tolerance: f64) -> f64 {
        let hits = self
            .consensus
            .iter()
            .filter(|run| {
                let last = &run[slot];
                last[..self.dim as usize]
                    .iter()
                    .all(|c| (f64::from(*c) - self.shift).abs() < tolerance)
            })
            .count();
        hits as f64 / self.consensus.len() as f64
    }

    /// The run whose final consensus has the lowest objective: (run, point, value).
    pub fn best(&self) -> (usize, Vec<f32>, f32) {
        let d = self.dim as usize;
        self.consensus
            .iter()
            .enumerate()
            .map(|(r, run)| {
                let last = run.last().expect("a save");
                (r, last[..d].to_vec(), last[d])
            })
            .min_by(|a, b| a.2.total_cmp(&b.2))
            .expect("a run")
    }

    /// The fraction of runs that met a tolerance and stopped by the end.
    pub fn stopped_fraction(&self) -> f64 {
        let stopped = self
            .stopped
            .iter()
            .filter(|run| run.last().is_some_and(Option::is_some))
            .count();
        stopped as f64 / self.stopped.len() as f64
    }

    /// Particle-steps per second of the stepping.
    pub fn particle_steps_per_second(&self) -> f64 {
        f64::from(self.particles)
            * self.consensus.len() as f64
            * f64::from(*self.steps.last().unwrap_or(&0))
            / self.run_time.as_secs_f64().max(1e-12)
    }
}

/// The loop iterations of one `cbo` invocation (`shaders/cbo.wgsl`), which owns `P` of the N
/// particles, in d dimensions (`B = ceil(d / 4)` blocks of normals; each loop counted by
/// [`super::trips`]; the loops over a block's four lanes and Philox's rounds are unrolled).
/// An objective costs at most two loops over d (an expression copies the coordinates, then
/// reduces them). A consensus: the objective of each particle, a tree minimum, `d + 1` sums
/// cleared, each particle's weighted coordinates, the `d + 1` sums stored and reduced by a
/// tree that loops over them in each of its rounds, and the division. A step: the step loop,
/// a consensus, the movement check and the objective there, and each particle's norm and
/// blocks of normals. Once: the initial draw, the kept consensus loaded and stored, and at a
/// save time a consensus with its objective, stored.
pub fn loop_cost(particles: u32, dim: u32) -> LoopCost {
    use super::{trips, TREE};
    let p = super::per_invocation(particles);
    let d = u64::from(dim);
    let blocks = d.div_ceil(4);
    let objective = 2 * trips(d);
    let consensus = trips(p)
        + p * objective
        + TREE
        + trips(d + 1)
        + trips(p)
        + p * trips(d)
        + trips(d + 1)
        + TREE
        + 6 * trips(d + 1)
        + trips(d);
    LoopCost {
        per_step: 1 + consensus + trips(d) + objective + trips(p) + p * (trips(d) + trips(blocks)),
        once: 1 + trips(p) + p * trips(blocks) + 3 * trips(d) + consensus + objective,
    }
}

/// Runs `spec` on `engine`'s backend.
///
/// # Errors
/// [`Error::InvalidInput`] or [`Error::Limit`] before any work; [`Error::Device`] or
/// [`Error::Shader`] from the device.
pub fn run(engine: &Engine, spec: &CboSpec) -> Result<CboResult> {
    let setup_start = Instant::now();
    let save_steps = spec.check()?;
    let saves = save_steps.len();
    let (n, d, m) = (
        u64::from(spec.particles),
        u64::from(spec.dim),
        u64::from(spec.replicas),
    );
    // Per run and save: the consensus, the objective there, the stopping step + 1 (0 while
    // running; the f32's bits).
    let out_len = (d + 2) * saves as u64 * m;
    let mut backend: Box<dyn ReplicaBackend<CboSegment> + '_> = match engine.gpu() {
        Some(ctx) => Box::new(GpuReplicas::new(
            ctx,
            "cbo",
            std::mem::size_of::<CboSegment>() as u64,
            &[
                Storage::Scratch(4 * n * d * m),
                Storage::Scratch(4 * n * m),
                Storage::Scratch(4 * (u64::from(MAX_DIM_CBO) + 1) * m),
            ],
            4 * out_len,
            spec.replicas,
            &[(
                "cbo_objective",
                &match &spec.objective {
                    Objective::Expr(e) => e.wgsl(),
                    _ => NO_OBJECTIVE_EXPR.to_string(),
                },
            )],
        )?),
        None => Box::new(crate::cpu::cbo::CpuCbo::new(
            spec.replicas,
            spec.particles,
            spec.dim,
            saves,
            match &spec.objective {
                Objective::Expr(e) => Some((**e).clone()),
                _ => None,
            },
        )),
    };
    // A step costs about d units per particle.
    let per_dispatch = super::steps_per_dispatch(
        engine,
        spec.particles * spec.dim,
        loop_cost(spec.particles, spec.dim),
        || {
            format!(
                "model.particles = {} in model.dim = {} dimensions",
                spec.particles, spec.dim
            )
        },
    )?;
    let setup_time = setup_start.elapsed();
    let run_start = Instant::now();
    let key = crate::philox::key_of_seed(spec.seed);
    super::drive(backend.as_mut(), &save_steps, per_dispatch, |s| {
        CboSegment {
            key,
            particles: spec.particles,
            replicas: spec.replicas,
            first_step: s.first_step,
            steps: s.steps,
            slot: s.slot,
            saves: saves as u32,
            dt: spec.dt as f32,
            flags: s.flags,
            dim: spec.dim,
            objective: spec.objective.code(),
            lambda: spec.lambda as f32,
            sigma: spec.sigma as f32,
            alpha: spec.alpha as f32,
            alpha_growth: spec.alpha_growth as f32,
            alpha_max: spec.alpha_max as f32,
            anisotropic: u32::from(spec.anisotropic),
            init_lo: spec.init.0 as f32,
            init_hi: spec.init.1 as f32,
            shift: spec.shift as f32,
            energy_tol: spec.energy_tol.map_or(f32::NEG_INFINITY, |t| t as f32),
            diff_tol: spec.diff_tol.map_or(-1.0, |t| t as f32),
            pad: 0,
        }
    })?;
    let flat = backend.output()?;
    let run_time = run_start.elapsed();
    let per_save = spec.dim as usize + 2;
    let runs = flat.chunks(per_save * saves);
    Ok(CboResult {
        steps: save_steps,
        dim: spec.dim,
        consensus: runs
            .clone()
            .map(|r| {
                r.chunks(per_save)
                    .map(|s| spec.reported(&s[..per_save - 2]))
                    .collect()
            })
            .collect(),
        stopped: runs
            .map(|r| {
                r.chunks(per_save)
                    .map(|s| s[per_save - 1].to_bits().checked_sub(1))
                    .collect()
            })
            .collect(),
        shift: spec.shift,
        device: engine.device().clone(),
        setup_time,
        run_time,
        particles: spec.particles,
    })
}

impl CboSpec {
    /// Checks the run as [`run`] does before any device work (`langevin check`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] or [`Error::Limit`] naming the field.
    pub fn validate(&self) -> Result<()> {
        self.check().map(|_| ())
    }
}
