//! Periodic 1-D lattices of L sites with nearest-neighbour coupling, many replicas at once
//! (kernel `shaders/chain.wgsl`, CPU twin [`crate::cpu::chain`]), by Euler-Maruyama:
//! `dh_i = (f(h_{i-1}, h_i, h_{i+1}) + omega_i) dt + sqrt(D) dW_i`, with time-dependent noise
//! of strength D and quenched (columnar) disorder omega_i, normal with standard deviation
//! `disorder`, fixed per replica and site. The couplings ([`ChainModel`]):
//! - Edwards-Wilkinson, `nu (h_{i+1} - 2 h_i + h_{i-1})`;
//! - KPZ, the same plus Lam and Shin's `(lambda / 6) (a^2 + a b + b^2)` (a, b the forward and
//!   backward differences), whose mean is `(lambda / 2) (dh/dx)^2` without the spurious drift
//!   of the naive square;
//! - phase oscillators, `nu sum_j [sin(h_j - h_i) + lambda (1 - cos(h_j - h_i))]` over both
//!   neighbours: odd coupling at lambda = 0, non-odd otherwise.
//!
//! Every replica starts flat; the roughness `w^2 = <(h - <h>)^2>` over the sites is saved at
//! the save times, and [`ChainResult::growth_exponent`] fits `w ~ t^beta` per replica over a
//! window of times.

pub use super::uniforms::ChainSegment;
use super::ReplicaBackend;
use crate::device::DeviceInfo;
use crate::error::{Error, Result};
use crate::gpu::replicas::{GpuReplicas, Storage};
use crate::philox::{box_muller4, philox4x32_10};
use crate::plan::LoopCost;
use crate::stats::Moments;
use crate::Engine;
use std::time::{Duration, Instant};

/// Philox stream word of the quenched disorder (host side).
const STREAM_DISORDER: u32 = 44;

/// The coupling of neighbouring sites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainModel {
    /// Edwards-Wilkinson: linear diffusion of the heights.
    EdwardsWilkinson,
    /// Kardar-Parisi-Zhang: diffusion and the square of the slope.
    Kpz,
    /// Phase oscillators with `sin` and `1 - cos` coupling.
    Phase,
}

impl ChainModel {
    /// The kernel's model code.
    pub fn code(self) -> u32 {
        match self {
            ChainModel::EdwardsWilkinson => 0,
            ChainModel::Kpz => 1,
            ChainModel::Phase => 2,
        }
    }

    /// The config name: `ew`, `kpz` or `phase`.
    pub fn name(self) -> &'static str {
        match self {
            ChainModel::EdwardsWilkinson => "ew",
            ChainModel::Kpz => "kpz",
            ChainModel::Phase => "phase",
        }
    }
}

impl std::str::FromStr for ChainModel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ew" => Ok(ChainModel::EdwardsWilkinson),
            "kpz" => Ok(ChainModel::Kpz),
            "phase" => Ok(ChainModel::Phase),
            other => Err(Error::invalid(
                "model.coupling_law",
                other,
                "expected \"ew\", \"kpz\" or \"phase\"",
            )),
        }
    }
}

/// A chain run.
#[derive(Clone, Debug)]
pub struct ChainSpec {
    /// The coupling.
    pub model: ChainModel,
    /// Sites per replica.
    pub sites: u32,
    /// nu (EW, KPZ) or K (phase).
    pub nu: f64,
    /// lambda (KPZ), or the weight of `1 - cos` (phase).
    pub lambda: f64,
    /// D: `<dW dW> = dt`, the noise adds `sqrt(D) dW`.
    pub noise: f64,
    /// The standard deviation of the quenched rates omega_i.
    pub disorder: f64,
    /// End time (from 0).
    pub t_end: f64,
    /// Requested step; the grid uses `t_end / ceil(t_end / dt)`.
    pub dt: f64,
    /// Replicas.
    pub replicas: u32,
    /// The seed.
    pub seed: u64,
    /// Evenly spaced save times from 0 to `t_end` (at least 2), or `log_saves`.
    pub saves: usize,
    /// Space the save times evenly in log t (from one step) instead.
    pub log_saves: bool,
}

impl ChainSpec {
    /// An EW chain of `sites` with nu = D = 1, dt = 0.05 to t = 100, 16 replicas, 51 save
    /// times.
    pub fn new(model: ChainModel, sites: u32) -> Self {
        ChainSpec {
            model,
            sites,
            nu: 1.0,
            lambda: 0.0,
            noise: 1.0,
            disorder: 0.0,
            t_end: 100.0,
            dt: 0.05,
            replicas: 16,
            seed: 0,
            saves: 51,
            log_saves: false,
        }
    }

    /// Checks the spec and returns (dt, save steps).
    fn check(&self) -> Result<(f64, Vec<u32>)> {
        if self.sites < 3 || self.sites > 1 << 22 {
            return Err(Error::invalid(
                "model.sites",
                self.sites,
                "must be 3 to 2^22 per replica",
            ));
        }
        if self.replicas == 0 || u64::from(self.sites) * u64::from(self.replicas) > 1 << 25 {
            return Err(Error::Limit(format!(
                "{} replicas of {} sites; at most 2^25 sites in one run (and one replica)",
                self.replicas, self.sites
            )));
        }
        super::check_values(
            &[
                ("model.nu", self.nu),
                ("model.lambda", self.lambda),
                ("model.noise", self.noise),
                ("model.disorder", self.disorder),
            ],
            &["model.noise", "model.disorder"],
        )?;
        let n_steps = super::step_count(self.t_end, self.dt, self.saves)?;
        // The explicit diffusion step is stable for nu dt < 1/2 (the largest eigenvalue of
        // the lattice Laplacian is 4 nu).
        if self.model != ChainModel::Phase && self.nu * self.dt >= 0.5 {
            return Err(Error::invalid(
                "solver.dt",
                self.dt,
                format!(
                    "unstable: nu dt = {} must stay below 1/2 (dt < {})",
                    self.nu * self.dt,
                    0.5 / self.nu
                ),
            ));
        }
        let mut steps = if self.log_saves {
            let top = f64::from(n_steps).ln();
            let mut s: Vec<u32> = (0..self.saves)
                .map(|k| (top * k as f64 / (self.saves - 1) as f64).exp().round() as u32)
                .collect();
            s.insert(0, 0);
            s
        } else {
            super::save_steps(n_steps, self.saves)
        };
        steps.dedup();
        Ok((self.t_end / f64::from(n_steps), steps))
    }

    /// The quenched rates of `replica`, in site order.
    pub fn quenched(&self, replica: u32) -> Vec<f32> {
        if self.disorder == 0.0 {
            return vec![0.0; self.sites as usize];
        }
        let key = crate::philox::key_of_seed(self.seed);
        (0..self.sites)
            .map(|i| {
                let z = box_muller4(philox4x32_10([replica, i / 4, 0, STREAM_DISORDER], key));
                (self.disorder * f64::from(z[(i % 4) as usize])) as f32
            })
            .collect()
    }
}

/// The roughness of a chain run.
#[derive(Clone, Debug)]
pub struct ChainResult {
    /// The save times.
    pub times: Vec<f64>,
    /// The step used.
    pub dt: f64,
    /// Per replica and save time: (mean height, w^2).
    pub rough: Vec<Vec<[f32; 2]>>,
    /// What ran it.
    pub device: DeviceInfo,
    /// Pipeline creation and buffers.
    pub setup_time: Duration,
    /// The stepping.
    pub run_time: Duration,
    /// Steps per replica.
    pub steps: u32,
    /// Sites per replica.
    pub sites: u32,
}

/// A fitted growth exponent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GrowthExponent {
    /// beta in `w ~ t^beta`: the mean over replicas of each replica's least-squares slope of
    /// log w against log t.
    pub beta: f64,
    /// Its standard error over the replicas.
    pub std_error: f64,
}

impl ChainResult {
    /// Per save time, w^2 over the replicas.
    pub fn roughness(&self) -> Vec<Moments> {
        (0..self.times.len())
            .map(|k| Moments::of(self.rough.iter().map(|r| f64::from(r[k][1]))))
            .collect()
    }

    /// The growth exponent fitted over the save times in `[t1, t2]`.
    pub fn growth_exponent(&self, t1: f64, t2: f64) -> Option<GrowthExponent> {
        let window: Vec<usize> = (0..self.times.len())
            .filter(|k| self.times[*k] >= t1 && self.times[*k] <= t2 && self.times[*k] > 0.0)
            .collect();
        if window.len() < 2 {
            return None;
        }
        let x: Vec<f64> = window.iter().map(|k| self.times[*k].ln()).collect();
        let mx = x.iter().sum::<f64>() / x.len() as f64;
        let sxx: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
        let slopes = self.rough.iter().map(|r| {
            let y: Vec<f64> = window
                .iter()
                .map(|k| 0.5 * f64::from(r[*k][1]).ln())
                .collect();
            let my = y.iter().sum::<f64>() / y.len() as f64;
            x.iter()
                .zip(&y)
                .map(|(a, b)| (a - mx) * (b - my))
                .sum::<f64>()
                / sxx
        });
        let m = Moments::of(slopes);
        Some(GrowthExponent {
            beta: m.mean,
            std_error: m.std_error(),
        })
    }

    /// Site-steps per second of the stepping.
    pub fn site_steps_per_second(&self) -> f64 {
        f64::from(self.sites) * self.rough.len() as f64 * f64::from(self.steps)
            / self.run_time.as_secs_f64().max(1e-12)
    }
}

/// The loop iterations of one `chain` invocation (`shaders/chain.wgsl`), which owns `G` groups
/// of four sites (each loop counted by [`super::trips`]): the flat start and, at a save time,
/// two sums over its sites, each followed by a tree; per step the step loop and its `G`
/// groups (the loop over a group's lanes and Philox's rounds are unrolled).
pub fn loop_cost(sites: u32) -> LoopCost {
    let groups = super::trips(super::per_invocation(sites.div_ceil(4)));
    let own = super::trips(super::per_invocation(sites));
    LoopCost {
        per_step: 1 + groups,
        once: 1 + groups + 2 * (own + super::TREE),
    }
}

/// Runs `spec` on `engine`'s backend.
///
/// # Errors
/// [`Error::InvalidInput`] or [`Error::Limit`] before any work; [`Error::Device`] or
/// [`Error::Shader`] from the device.
pub fn run(engine: &Engine, spec: &ChainSpec) -> Result<ChainResult> {
    let setup_start = Instant::now();
    let (dt, save_steps) = spec.check()?;
    let saves = save_steps.len();
    let quenched: Vec<f32> = (0..spec.replicas).flat_map(|r| spec.quenched(r)).collect();
    let mut backend: Box<dyn ReplicaBackend<ChainSegment> + '_> = match engine.gpu() {
        Some(ctx) => {
            // The kernel's layout: each replica's sites in groups of four, the last one padded.
            let quenched_groups = super::in_groups_of_four(&quenched, spec.sites);
            let heights = 4 * quenched_groups.len() as u64;
            Box::new(GpuReplicas::new(
                ctx,
                "chain",
                std::mem::size_of::<ChainSegment>() as u64,
                &[
                    Storage::Data(bytemuck::cast_slice(&quenched_groups)),
                    Storage::Scratch(2 * heights),
                ],
                8 * saves as u64 * u64::from(spec.replicas),
                spec.replicas,
                &[],
            )?)
        }
        None => Box::new(crate::cpu::chain::CpuChain::new(
            spec.replicas,
            spec.sites,
            saves,
            quenched,
        )),
    };
    let per_dispatch =
        super::steps_per_dispatch(engine, spec.sites, loop_cost(spec.sites), || {
            format!("model.sites = {}", spec.sites)
        })?;
    let setup_time = setup_start.elapsed();
    let run_start = Instant::now();
    let key = crate::philox::key_of_seed(spec.seed);
    let steps = super::drive(backend.as_mut(), &save_steps, per_dispatch, |d| {
        ChainSegment {
            key,
            sites: spec.sites,
            replicas: spec.replicas,
            first_step: d.first_step,
            steps: d.steps,
            slot: d.slot,
            saves: saves as u32,
            dt: dt as f32,
            flags: d.flags,
            model: spec.model.code(),
            nu: spec.nu as f32,
            lambda: spec.lambda as f32,
            noise: spec.noise as f32,
            pad: [0; 2],
        }
    })?;
    let flat = backend.output()?;
    let run_time = run_start.elapsed();
    Ok(ChainResult {
        times: save_steps.iter().map(|s| f64::from(*s) * dt).collect(),
        dt,
        rough: flat
            .chunks(2 * saves)
            .map(|r| r.chunks(2).map(|z| [z[0], z[1]]).collect())
            .collect(),
        device: engine.device().clone(),
        setup_time,
        run_time,
        steps,
        sites: spec.sites,
    })
}

/// The parameters a chain sweep may change, one run per value.
pub const SWEEPABLE: [&str; 5] = ["nu", "lambda", "D", "disorder", "sites"];

impl ChainSpec {
    /// This spec with `param` (one of [`SWEEPABLE`]) set to `value`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `ensemble.sweep.<param>` for another name, or a site
    /// count that is not a whole number.
    pub fn with(&self, param: &str, value: f64) -> Result<ChainSpec> {
        let mut s = self.clone();
        match param {
            "nu" => s.nu = value,
            "lambda" => s.lambda = value,
            "D" => s.noise = value,
            "disorder" => s.disorder = value,
            "sites" if value.fract() == 0.0 && value >= 0.0 && value <= f64::from(u32::MAX) => {
                s.sites = value as u32;
            }
            "sites" => {
                return Err(Error::invalid(
                    "ensemble.sweep.sites",
                    value,
                    "site counts are whole numbers",
                ))
            }
            other => {
                return Err(Error::invalid(
                    format!("ensemble.sweep.{other}"),
                    "given",
                    format!("a chain sweeps one of {}", SWEEPABLE.join(", ")),
                ))
            }
        }
        Ok(s)
    }
}

/// Runs `spec` once per value of `sweep` (a parameter of [`SWEEPABLE`]): the runs differ
/// in that parameter only, and each has all the replicas. Changing the sites changes the
/// lattice, so every value is its own run.
///
/// # Errors
/// As [`run`], and [`ChainSpec::with`] for the parameter.
pub fn run_sweep(
    engine: &Engine,
    spec: &ChainSpec,
    sweep: &crate::Sweep,
) -> Result<Vec<ChainResult>> {
    sweep
        .values
        .iter()
        .map(|v| run(engine, &spec.with(&sweep.param, *v)?))
        .collect()
}

impl ChainSpec {
    /// Checks the run as [`run`] does before any device work (`langevin check`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] or [`Error::Limit`] naming the field.
    pub fn validate(&self) -> Result<()> {
        self.check().map(|_| ())
    }
}
