//! The Vicsek model of self-propelled particles (Vicsek et al., PRL 75, 1226 (1995)): N
//! particles of speed `v0` in a periodic square box of side L; each step every particle takes
//! the mean heading of the particles within distance `r` (itself included), turned by a
//! uniform angle in `[-eta/2, eta/2]`, and moves along it. The polar order parameter
//! `v_a = |sum_i e^{i theta_i}| / N` goes from about 1 (flocking) at small noise to
//! `O(N^-1/2)` at large noise: at `eta = 2 pi` every heading is uniform and independent, so
//! `<v_a^2> = 1 / N` exactly and `<v_a> = sqrt(pi / (4 N)) (1 - 1/(8N) + ...)`.
//!
//! Neighbours are found with a cell list built on the device every step (kernels in
//! `shaders/vicsek.wgsl`, CPU twin [`crate::cpu::vicsek`]), never by all pairs; the host only
//! queues the step pipelines and reads the saved partial sums at the end, merged in f64.
//! Replicas run side by side, each with its own `eta` (a sweep of `eta` runs in one batch);
//! a sweep of the density changes the box, so it is one run per value ([`run_densities`]).

use crate::device::DeviceInfo;
use crate::error::{Error, Result};
use crate::stats::Moments;
use crate::sweep::{ResolvedSweep, Sweep};
use crate::Engine;
use std::time::{Duration, Instant};

pub use super::uniforms::{VicsekParams, ORDER_BLOCK};
pub use super::VicsekBackend;

/// The most particles of one run (all replicas), and of cells.
pub const MAX_PARTICLES: u64 = 1 << 24;

/// A Vicsek run.
#[derive(Clone, Debug)]
pub struct VicsekSpec {
    /// Particles per replica.
    pub particles: u32,
    /// The side L of the periodic box.
    pub box_len: f64,
    /// The interaction radius r.
    pub radius: f64,
    /// The speed v0.
    pub speed: f64,
    /// The noise amplitude eta in [0, 2 pi] (sweepable as `eta`).
    pub noise: f64,
    /// The time step (Vicsek's is 1).
    pub dt: f64,
    /// Steps.
    pub steps: u32,
    /// Independent replicas.
    pub replicas: u32,
    /// The seed of every random stream.
    pub seed: u64,
    /// Evenly spaced save steps from 0 to `steps`, at least 2.
    pub saves: usize,
    /// Sweeps of `eta` across the replicas.
    pub sweeps: Vec<Sweep>,
    /// The first step of the window over which `v_a` is averaged.
    pub average_from: u32,
    /// Read back the final positions, headings and neighbour counts.
    pub keep_state: bool,
}

impl VicsekSpec {
    /// `particles` particles at density 4 (L = sqrt(N / 4)), r = 1, v0 = 0.5, eta = 1,
    /// dt = 1, 1000 steps, one replica, 101 saves, the average over the second half.
    pub fn new(particles: u32) -> Self {
        VicsekSpec {
            particles,
            box_len: (f64::from(particles) / 4.0).sqrt(),
            radius: 1.0,
            speed: 0.5,
            noise: 1.0,
            dt: 1.0,
            steps: 1000,
            replicas: 1,
            seed: 0,
            saves: 101,
            sweeps: Vec::new(),
            average_from: 500,
            keep_state: false,
        }
    }

    /// The density N / L^2.
    pub fn density(&self) -> f64 {
        f64::from(self.particles) / (self.box_len * self.box_len)
    }

    /// Cells per side: `floor(L / r)`, so that a cell is at least r wide.
    pub fn cells_per_side(&self) -> u32 {
        (self.box_len / self.radius * (1.0 + 1e-12))
            .floor()
            .min(f64::from(u32::MAX)) as u32
    }

    fn check(&self) -> Result<Resolved> {
        let total = u64::from(self.particles) * u64::from(self.replicas);
        if self.particles == 0 || self.replicas == 0 || total > MAX_PARTICLES {
            return Err(Error::invalid(
                "model.particles",
                format!("{} x {} replicas", self.particles, self.replicas),
                "1 to 2^24 particles over all replicas",
            ));
        }
        super::check_values(
            &[
                ("model.box", self.box_len),
                ("model.radius", self.radius),
                ("model.speed", self.speed),
                ("model.noise", self.noise),
                ("solver.dt", self.dt),
            ],
            &[
                "model.box",
                "model.radius",
                "model.speed",
                "model.noise",
                "solver.dt",
            ],
        )?;
        if self.radius <= 0.0 || self.box_len <= 0.0 {
            return Err(Error::invalid(
                "model.radius",
                self.radius,
                "the radius and the box must be positive",
            ));
        }
        let m = self.cells_per_side();
        if m < 3 {
            return Err(Error::invalid(
                "model.box",
                self.box_len,
                format!(
                    "the box must hold at least 3 cells of side r = {} per side (L >= 3 r)",
                    self.radius
                ),
            ));
        }
        let cells = u64::from(m) * u64::from(m) * u64::from(self.replicas);
        if cells > MAX_PARTICLES {
            return Err(Error::Limit(format!(
                "{cells} cells of side r over all replicas; at most 2^24 (make r larger or \
                 the box smaller)"
            )));
        }
        if self.steps == 0 || self.steps > u32::MAX / 2 {
            return Err(Error::invalid("solver.steps", self.steps, "1 to 2^31"));
        }
        if self.saves < 2 || self.saves > self.steps as usize + 1 {
            return Err(Error::invalid(
                "output.save_times",
                self.saves,
                "at least 2, at most steps + 1",
            ));
        }
        if self.average_from >= self.steps {
            return Err(Error::invalid(
                "output.average_from",
                self.average_from,
                "must come before the last step",
            ));
        }
        let sweep = ResolvedSweep::resolve_in_blocks(
            &self.sweeps,
            &[("eta".to_string(), self.noise)],
            u64::from(self.replicas),
            0,
            1,
        )?;
        let eta: Vec<f64> = (0..u64::from(self.replicas))
            .map(|r| match &sweep {
                Some(s) => s.values_at(s.point_of(r))[0],
                None => self.noise,
            })
            .collect();
        if let Some(bad) = eta.iter().find(|e| !(e.is_finite() && **e >= 0.0)) {
            return Err(Error::invalid(
                "ensemble.sweep.eta",
                bad,
                "the noise amplitude must be at least 0",
            ));
        }
        Ok(Resolved {
            save_steps: super::save_steps(self.steps, self.saves),
            eta,
            sweep,
        })
    }

    /// The uniform of the kernels for this run.
    pub fn params(&self) -> VicsekParams {
        let m = self.cells_per_side();
        VicsekParams {
            key: crate::philox::key_of_seed(self.seed),
            particles: self.particles,
            replicas: self.replicas,
            cells_per_side: m,
            box_len: self.box_len as f32,
            inv_cell_len: (f64::from(m) / self.box_len) as f32,
            radius2: (self.radius * self.radius) as f32,
            step_len: (self.speed * self.dt) as f32,
            loop_budget: 0,
            pad1: 0,
            pad2: 0,
        }
    }
}

struct Resolved {
    save_steps: Vec<u32>,
    eta: Vec<f64>,
    sweep: Option<ResolvedSweep>,
}

/// The final state of a run.
#[derive(Clone, Debug, Default)]
pub struct VicsekState {
    /// Per particle (all replicas): (x, y, cos theta, sin theta).
    pub particles: Vec<[f32; 4]>,
    /// Per particle: the particles within r at the last step, itself included.
    pub neighbours: Vec<u32>,
}

/// The order parameter of a run.
#[derive(Clone, Debug)]
pub struct VicsekResult {
    /// The save steps.
    pub save_steps: Vec<u32>,
    /// The step dt.
    pub dt: f64,
    /// Particles per replica.
    pub particles: u32,
    /// The density N / L^2.
    pub density: f64,
    /// Per replica: eta.
    pub eta: Vec<f64>,
    /// Per replica and save: `(1/N) sum e^{i theta}` as (real, imaginary), merged in f64.
    pub order: Vec<Vec<[f64; 2]>>,
    /// The sweep, when one was given.
    pub sweep: Option<ResolvedSweep>,
    /// The first step of the averaging window.
    pub average_from: u32,
    /// The final state, when asked for.
    pub state: Option<VicsekState>,
    /// What ran it.
    pub device: DeviceInfo,
    /// Pipelines and buffers.
    pub setup_time: Duration,
    /// The stepping.
    pub run_time: Duration,
    /// Steps taken.
    pub steps: u32,
}

/// The time-averaged `v_a` of the replicas at one value of eta.
#[derive(Clone, Debug)]
pub struct AveragedVa {
    /// eta.
    pub eta: f64,
    /// Over the replicas: each replica's mean of `v_a` over the saves in the window.
    pub va: Moments,
}

impl VicsekResult {
    /// `v_a` of a replica at save slot `k`.
    pub fn va(&self, replica: usize, k: usize) -> f64 {
        let [c, s] = self.order[replica][k];
        c.hypot(s)
    }

    /// The saves in the averaging window.
    pub fn window(&self) -> Vec<usize> {
        (0..self.save_steps.len())
            .filter(|k| self.save_steps[*k] >= self.average_from)
            .collect()
    }

    /// Per value of eta (one without a sweep): the replicas' time averages of `v_a`.
    pub fn averaged(&self) -> Vec<AveragedVa> {
        let window = self.window();
        let per_point = self
            .sweep
            .as_ref()
            .map_or(self.order.len(), |s| s.per_point as usize);
        (0..self.order.len() / per_point)
            .map(|p| {
                let replicas = p * per_point..(p + 1) * per_point;
                let means = replicas.clone().map(|q| {
                    window.iter().map(|k| self.va(q, *k)).sum::<f64>() / window.len() as f64
                });
                AveragedVa {
                    eta: self.eta[replicas.start],
                    va: Moments::of(means),
                }
            })
            .collect()
    }

    /// Particle-steps per second of the stepping.
    pub fn particle_steps_per_second(&self) -> f64 {
        f64::from(self.particles) * self.order.len() as f64 * f64::from(self.steps)
            / self.run_time.as_secs_f64().max(1e-12)
    }
}

/// Runs `spec` on `engine`'s backend.
///
/// # Errors
/// [`Error::InvalidInput`] or [`Error::Limit`] before any work; [`Error::Device`] or
/// [`Error::Shader`] from the device.
pub fn run(engine: &Engine, spec: &VicsekSpec) -> Result<VicsekResult> {
    let setup_start = Instant::now();
    let resolved = spec.check()?;
    let mut params = spec.params();
    params.loop_budget = engine
        .gpu()
        .and_then(|ctx| ctx.loop_iteration_limit)
        .unwrap_or(0);
    let eta: Vec<f32> = resolved.eta.iter().map(|e| *e as f32).collect();
    let mut backend: Box<dyn VicsekBackend + '_> = match engine.gpu() {
        Some(ctx) => Box::new(crate::gpu::vicsek::GpuVicsek::new(
            ctx,
            params,
            &eta,
            spec.saves as u32,
        )?),
        None => Box::new(crate::cpu::vicsek::CpuVicsek::new(
            params,
            eta,
            spec.saves as u32,
        )),
    };
    let setup_time = setup_start.elapsed();
    let run_start = Instant::now();
    backend.init()?;
    let mut step = 0;
    for (slot, &target) in resolved.save_steps.iter().enumerate() {
        if target > step {
            backend.steps(target - step)?;
            step = target;
            let overrun = backend.overrun()?;
            if overrun > 0 {
                return Err(Error::Limit(format!(
                    "a cell of this Vicsek run grew so crowded by step {step} that one kernel                      invocation needed {overrun} loop iterations, past the {} this driver runs                      before it silently leaves a loop (a cell of n particles costs about                      n^2 / 2 to sort): lower the density, or run on another adapter or on the                      CPU twin (--backend cpu)",
                    params.loop_budget
                )));
            }
        }
        backend.save(slot as u32)?;
    }
    let flat = backend.partials()?;
    let state = if spec.keep_state {
        let (particles, neighbours) = backend.state()?;
        Some(VicsekState {
            particles,
            neighbours,
        })
    } else {
        None
    };
    let run_time = run_start.elapsed();
    let blocks = spec.particles.div_ceil(ORDER_BLOCK) as usize;
    let replicas = spec.replicas as usize;
    let n = f64::from(spec.particles);
    let order = (0..replicas)
        .map(|q| {
            (0..spec.saves)
                .map(|k| {
                    let at = (k * replicas + q) * blocks;
                    let sum = flat[at..at + blocks].iter().fold([0.0f64; 2], |a, b| {
                        [a[0] + f64::from(b[0]), a[1] + f64::from(b[1])]
                    });
                    [sum[0] / n, sum[1] / n]
                })
                .collect()
        })
        .collect();
    Ok(VicsekResult {
        save_steps: resolved.save_steps,
        dt: spec.dt,
        particles: spec.particles,
        density: spec.density(),
        eta: resolved.eta,
        order,
        sweep: resolved.sweep,
        average_from: spec.average_from,
        state,
        device: engine.device().clone(),
        setup_time,
        run_time,
        steps: step,
    })
}

/// Runs `spec` once per density, changing the box side to `sqrt(N / density)`.
///
/// # Errors
/// As [`run`]; [`Error::InvalidInput`] naming `ensemble.sweep.density` for a density that is
/// not positive.
pub fn run_densities(
    engine: &Engine,
    spec: &VicsekSpec,
    densities: &[f64],
) -> Result<Vec<VicsekResult>> {
    densities
        .iter()
        .map(|&rho| {
            if !(rho.is_finite() && rho > 0.0) {
                return Err(Error::invalid(
                    "ensemble.sweep.density",
                    rho,
                    "must be positive",
                ));
            }
            let mut s = spec.clone();
            s.box_len = (f64::from(spec.particles) / rho).sqrt();
            run(engine, &s)
        })
        .collect()
}

/// The neighbour counts and heading sums of every particle by all pairs, in f64: the check of
/// the cell list. `particles` holds one replica's `(x, y, cos, sin)`.
pub fn all_pairs_neighbours(
    particles: &[[f32; 4]],
    box_len: f32,
    radius2: f32,
) -> Vec<(u32, [f64; 2])> {
    let min_image = |d: f32| d - box_len * (d / box_len).round();
    particles
        .iter()
        .map(|me| {
            let mut count = 0;
            let mut sum = [0.0f64; 2];
            for other in particles {
                let sx = min_image(other[0] - me[0]);
                let sy = min_image(other[1] - me[1]);
                if sx * sx + sy * sy < radius2 {
                    count += 1;
                    sum[0] += f64::from(other[2]);
                    sum[1] += f64::from(other[3]);
                }
            }
            (count, sum)
        })
        .collect()
}

impl VicsekSpec {
    /// Checks the run as [`run`] does before any device work (`langevin check`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] or [`Error::Limit`] naming the field.
    pub fn validate(&self) -> Result<()> {
        self.check().map(|_| ())
    }
}
