//! The Kuramoto model with phase noise: N oscillators per replica,
//! `d theta_i = (omega_i + K r sin(psi - theta_i)) dt + sqrt(2 D) dW_i` with the order
//! parameter `r e^{i psi} = <e^{i theta_j}>` of the replica, by Euler-Maruyama (kernel
//! `shaders/kuramoto.wgsl`, CPU twin [`crate::cpu::kuramoto`]).
//!
//! Natural frequencies follow a Lorentzian, Gaussian or uniform law, either drawn at random
//! (each replica its own draw: a disorder realisation) or placed at the law's quantiles
//! `Q((j + 1/2) / N)` (the same in every replica: only the initial phases and the noise
//! differ). The coupling `K` and the noise `D` can be swept across replicas with the ensemble
//! sweep syntax; the order parameter is saved at the save times and averaged over a window.
//!
//! For a Lorentzian of half-width gamma without noise, Kuramoto's self-consistency gives the
//! exact `r = sqrt(1 - 2 gamma / K)` above `K_c = 2 gamma` as N grows; with phase noise the
//! onset moves to `K_c = 2 (gamma + D)` (Sakaguchi 1988; Strogatz and Mirollo 1991). Below
//! the onset the incoherent state has `r = O(N^-1/2)`.

pub use super::uniforms::KuramotoSegment;
use super::ReplicaBackend;
use crate::device::DeviceInfo;
use crate::error::{Error, Result};
use crate::gpu::replicas::{GpuReplicas, Storage};
use crate::philox::philox4x32_10;
use crate::plan::LoopCost;
use crate::stats::Moments;
use crate::sweep::{ResolvedSweep, Sweep};
use crate::Engine;
use std::time::{Duration, Instant};

/// Philox stream word of the random natural frequencies (host side).
const STREAM_FREQUENCY: u32 = 42;

/// The law of the natural frequencies, centred on `KuramotoSpec::mean_frequency`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FrequencyLaw {
    /// Cauchy with half-width `gamma`.
    Lorentzian {
        /// Half-width at half maximum.
        gamma: f64,
    },
    /// Normal with standard deviation `sd`.
    Gaussian {
        /// Standard deviation.
        sd: f64,
    },
    /// Uniform on `[-half_width, half_width]`.
    Uniform {
        /// Half the width of the support.
        half_width: f64,
    },
}

impl FrequencyLaw {
    /// The quantile function at `u` in (0, 1).
    pub fn quantile(self, u: f64) -> f64 {
        match self {
            FrequencyLaw::Lorentzian { gamma } => gamma * (std::f64::consts::PI * (u - 0.5)).tan(),
            FrequencyLaw::Gaussian { sd } => sd * normal_quantile(u),
            FrequencyLaw::Uniform { half_width } => half_width * (2.0 * u - 1.0),
        }
    }

    /// The density at 0.
    pub fn density_at_zero(self) -> f64 {
        match self {
            FrequencyLaw::Lorentzian { gamma } => 1.0 / (std::f64::consts::PI * gamma),
            FrequencyLaw::Gaussian { sd } => 1.0 / (sd * (2.0 * std::f64::consts::PI).sqrt()),
            FrequencyLaw::Uniform { half_width } => 1.0 / (2.0 * half_width),
        }
    }

    /// The onset of synchronisation as N grows: `2 / (pi g(0))` without noise (Kuramoto);
    /// `2 (gamma + D)` for a Lorentzian with noise `D`; `None` for other laws with noise.
    pub fn critical_coupling(self, noise: f64) -> Option<f64> {
        match self {
            FrequencyLaw::Lorentzian { gamma } => Some(2.0 * (gamma + noise)),
            _ if noise == 0.0 => Some(2.0 / (std::f64::consts::PI * self.density_at_zero())),
            _ => None,
        }
    }

    /// The stationary order parameter as N grows, where it is known in closed form: for a
    /// Lorentzian without noise, `sqrt(1 - K_c / K)` above `K_c` and 0 below (with noise
    /// only the onset is closed-form).
    pub fn order_parameter(self, coupling: f64, noise: f64) -> Option<f64> {
        match self {
            FrequencyLaw::Lorentzian { .. } if noise == 0.0 => {
                let kc = self.critical_coupling(noise)?;
                Some((1.0 - kc / coupling).max(0.0).sqrt())
            }
            _ => None,
        }
    }

    fn check(self) -> Result<()> {
        let (field, value) = match self {
            FrequencyLaw::Lorentzian { gamma } => ("gamma", gamma),
            FrequencyLaw::Gaussian { sd } => ("sd", sd),
            FrequencyLaw::Uniform { half_width } => ("half_width", half_width),
        };
        if !(value.is_finite() && value > 0.0) {
            return Err(Error::invalid(
                format!("model.frequencies.{field}"),
                value,
                "must be a positive number",
            ));
        }
        Ok(())
    }
}

/// The standard normal quantile (Acklam's rational approximation, relative error below
/// 1.2e-9, far below the f32 the frequencies are stored in).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// How the natural frequencies are placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sampling {
    /// At the quantiles `Q((j + 1/2) / N)`, the same in every replica.
    Quantiles,
    /// Drawn independently for every oscillator of every replica.
    Random,
}

/// A Kuramoto run.
#[derive(Clone, Debug)]
pub struct KuramotoSpec {
    /// Oscillators per replica.
    pub oscillators: u32,
    /// Coupling K (sweepable as `K`).
    pub coupling: f64,
    /// Phase noise strength D (sweepable as `D`).
    pub noise: f64,
    /// The law of the natural frequencies about `mean_frequency`.
    pub law: FrequencyLaw,
    /// Quantiles or random draws.
    pub sampling: Sampling,
    /// The centre of the frequency law.
    pub mean_frequency: f64,
    /// End time (from 0).
    pub t_end: f64,
    /// Requested step; the grid uses `t_end / ceil(t_end / dt)`.
    pub dt: f64,
    /// Independent replicas.
    pub replicas: u32,
    /// The seed of every random stream.
    pub seed: u64,
    /// Evenly spaced save times from 0 to `t_end`, at least 2.
    pub saves: usize,
    /// Sweeps of `K` and `D` across the replicas (a grid; replicas divide into its points).
    pub sweeps: Vec<Sweep>,
    /// The start of the window over which the order parameter is averaged.
    pub average_from: f64,
}

impl KuramotoSpec {
    /// `oscillators` oscillators with Lorentzian frequencies of half-width 0.5 at their
    /// quantiles, K = 2, no noise, dt = 0.01 to t = 100, 16 replicas, 101 save times, the
    /// average over the second half.
    pub fn new(oscillators: u32) -> Self {
        KuramotoSpec {
            oscillators,
            coupling: 2.0,
            noise: 0.0,
            law: FrequencyLaw::Lorentzian { gamma: 0.5 },
            sampling: Sampling::Quantiles,
            mean_frequency: 0.0,
            t_end: 100.0,
            dt: 0.01,
            replicas: 16,
            seed: 0,
            saves: 101,
            sweeps: Vec::new(),
            average_from: 50.0,
        }
    }

    fn check(&self) -> Result<ResolvedKuramoto> {
        if self.oscillators == 0 || self.oscillators > 1 << 22 {
            return Err(Error::invalid(
                "model.oscillators",
                self.oscillators,
                "must be 1 to 2^22 per replica",
            ));
        }
        if self.replicas == 0 || self.replicas > 65_535 * 64 {
            return Err(Error::invalid(
                "ensemble.replicas",
                self.replicas,
                format!("must be 1 to {}", 65_535 * 64),
            ));
        }
        let total = u64::from(self.oscillators) * u64::from(self.replicas);
        if total > 1 << 26 {
            return Err(Error::Limit(format!(
                "{} replicas of {} oscillators is {total} phases; at most 2^26 in one run",
                self.replicas, self.oscillators
            )));
        }
        self.law.check()?;
        super::check_values(
            &[
                ("model.coupling", self.coupling),
                ("model.noise", self.noise),
                ("model.mean_frequency", self.mean_frequency),
            ],
            &["model.noise"],
        )?;
        let n_steps = super::step_count(self.t_end, self.dt, self.saves)?;
        if !(self.average_from.is_finite() && self.average_from < self.t_end) {
            return Err(Error::invalid(
                "output.average_from",
                self.average_from,
                "must lie before t_end",
            ));
        }
        let base = [
            ("K".to_string(), self.coupling),
            ("D".to_string(), self.noise),
        ];
        let sweep =
            ResolvedSweep::resolve_in_blocks(&self.sweeps, &base, u64::from(self.replicas), 0, 1)?;
        let coupling: Vec<[f64; 2]> = (0..u64::from(self.replicas))
            .map(|r| {
                let mut p = [self.coupling, self.noise];
                if let Some(s) = &sweep {
                    for (i, v) in s.indices.iter().zip(s.values_at(s.point_of(r))) {
                        p[*i] = v;
                    }
                }
                p
            })
            .collect();
        if let Some(bad) = coupling.iter().find(|p| p[1] < 0.0) {
            return Err(Error::invalid(
                "ensemble.sweep.D",
                bad[1],
                "the noise strength must be nonnegative",
            ));
        }
        let save_steps = super::save_steps(n_steps, self.saves);
        Ok(ResolvedKuramoto {
            dt: self.t_end / f64::from(n_steps),
            save_steps,
            coupling,
            sweep,
        })
    }

    /// The natural frequencies of `replica`, in oscillator order.
    pub fn frequencies(&self, replica: u32) -> Vec<f32> {
        let n = self.oscillators;
        let key = crate::philox::key_of_seed(self.seed);
        (0..n)
            .map(|j| {
                let u = match self.sampling {
                    Sampling::Quantiles => (f64::from(j) + 0.5) / f64::from(n),
                    Sampling::Random => {
                        let w = philox4x32_10([replica, j / 4, 0, STREAM_FREQUENCY], key);
                        (f64::from(w[(j % 4) as usize]) + 0.5) / 4_294_967_296.0
                    }
                };
                (self.mean_frequency + self.law.quantile(u)) as f32
            })
            .collect()
    }
}

struct ResolvedKuramoto {
    dt: f64,
    save_steps: Vec<u32>,
    coupling: Vec<[f64; 2]>,
    sweep: Option<ResolvedSweep>,
}

/// The order parameter of a run.
#[derive(Clone, Debug)]
pub struct KuramotoResult {
    /// The save times.
    pub times: Vec<f64>,
    /// The step used.
    pub dt: f64,
    /// Oscillators per replica.
    pub oscillators: u32,
    /// Per replica: (K, D).
    pub coupling: Vec<[f64; 2]>,
    /// Per replica and save time: `r e^{i psi}` as (real, imaginary).
    pub order: Vec<Vec<[f32; 2]>>,
    /// The sweep, when one was given.
    pub sweep: Option<ResolvedSweep>,
    /// The window's start for [`KuramotoResult::averaged`].
    pub average_from: f64,
    /// What ran it.
    pub device: DeviceInfo,
    /// Pipeline creation and buffers.
    pub setup_time: Duration,
    /// The stepping.
    pub run_time: Duration,
    /// Steps per replica.
    pub steps: u32,
}

/// The time-averaged order parameter of the replicas at one sweep point.
#[derive(Clone, Debug)]
pub struct AveragedOrder {
    /// The point's (K, D).
    pub coupling: f64,
    /// Noise.
    pub noise: f64,
    /// Over the replicas: each replica's mean of r over the save times in the window.
    pub r: Moments,
}

impl KuramotoResult {
    /// `r` of a replica at save slot `k`.
    pub fn r(&self, replica: usize, k: usize) -> f64 {
        let [c, s] = self.order[replica][k];
        f64::from(c).hypot(f64::from(s))
    }

    /// Per sweep point (one point without a sweep): the replicas' time averages of r over the
    /// save times at or after `average_from`.
    pub fn averaged(&self) -> Vec<AveragedOrder> {
        let window: Vec<usize> = (0..self.times.len())
            .filter(|k| self.times[*k] >= self.average_from - 1e-9)
            .collect();
        let per_point = self
            .sweep
            .as_ref()
            .map_or(self.order.len(), |s| s.per_point as usize);
        (0..self.order.len() / per_point)
            .map(|p| {
                let replicas = p * per_point..(p + 1) * per_point;
                let means = replicas.clone().map(|q| {
                    window.iter().map(|k| self.r(q, *k)).sum::<f64>() / window.len() as f64
                });
                let [k, d] = self.coupling[replicas.start];
                AveragedOrder {
                    coupling: k,
                    noise: d,
                    r: Moments::of(means),
                }
            })
            .collect()
    }

    /// Oscillator-steps per second of the stepping.
    pub fn oscillator_steps_per_second(&self) -> f64 {
        f64::from(self.oscillators) * self.order.len() as f64 * f64::from(self.steps)
            / self.run_time.as_secs_f64().max(1e-12)
    }
}

/// The loop iterations of one `kuramoto` invocation (`shaders/kuramoto.wgsl`), which owns
/// `G` groups of four oscillators (each loop counted by [`super::trips`]): the initial draw,
/// the initial sums and their tree once; per step the step loop, its `G` groups and a tree
/// (the loops over a group's four lanes and Philox's rounds are unrolled).
pub fn loop_cost(oscillators: u32) -> LoopCost {
    let groups = super::trips(super::per_invocation(oscillators.div_ceil(4)));
    LoopCost {
        per_step: 1 + groups + super::TREE,
        once: 1 + 2 * groups + super::TREE,
    }
}

/// Runs `spec` on `engine`'s backend.
///
/// # Errors
/// [`Error::InvalidInput`] or [`Error::Limit`] before any work; [`Error::Device`] or
/// [`Error::Shader`] from the device.
pub fn run(engine: &Engine, spec: &KuramotoSpec) -> Result<KuramotoResult> {
    let setup_start = Instant::now();
    let resolved = spec.check()?;
    let omega: Vec<f32> = (0..spec.replicas)
        .flat_map(|r| {
            if spec.sampling == Sampling::Quantiles && r > 0 {
                spec.frequencies(0)
            } else {
                spec.frequencies(r)
            }
        })
        .collect();
    let coupling: Vec<[f32; 2]> = resolved
        .coupling
        .iter()
        .map(|[k, d]| [*k as f32, *d as f32])
        .collect();
    let mut backend: Box<dyn ReplicaBackend<KuramotoSegment> + '_> = match engine.gpu() {
        Some(ctx) => {
            // The kernel's layout: each replica's oscillators in groups of four, the last one
            // padded.
            let omega_groups = super::in_groups_of_four(&omega, spec.oscillators);
            let phases = 4 * omega_groups.len() as u64;
            Box::new(GpuReplicas::new(
                ctx,
                "kuramoto",
                std::mem::size_of::<KuramotoSegment>() as u64,
                &[
                    Storage::Data(bytemuck::cast_slice(&coupling)),
                    Storage::Data(bytemuck::cast_slice(&omega_groups)),
                    Storage::Scratch(phases),
                    Storage::Scratch(2 * phases),
                ],
                8 * spec.saves as u64 * u64::from(spec.replicas),
                spec.replicas,
                &[],
            )?)
        }
        None => Box::new(crate::cpu::kuramoto::CpuKuramoto::new(
            spec.replicas,
            spec.oscillators,
            spec.saves,
            coupling,
            omega,
        )),
    };
    let per_dispatch = super::steps_per_dispatch(
        engine,
        spec.oscillators,
        loop_cost(spec.oscillators),
        || format!("model.oscillators = {}", spec.oscillators),
    )?;
    let setup_time = setup_start.elapsed();
    let run_start = Instant::now();
    let key = crate::philox::key_of_seed(spec.seed);
    let steps = super::drive(backend.as_mut(), &resolved.save_steps, per_dispatch, |d| {
        KuramotoSegment {
            key,
            oscillators: spec.oscillators,
            replicas: spec.replicas,
            first_step: d.first_step,
            steps: d.steps,
            slot: d.slot,
            saves: spec.saves as u32,
            dt: resolved.dt as f32,
            flags: d.flags,
            pad: [0; 2],
        }
    })?;
    let flat = backend.output()?;
    let run_time = run_start.elapsed();
    let order = flat
        .chunks(2 * spec.saves)
        .map(|r| r.chunks(2).map(|z| [z[0], z[1]]).collect())
        .collect();
    Ok(KuramotoResult {
        times: resolved
            .save_steps
            .iter()
            .map(|s| f64::from(*s) * resolved.dt)
            .collect(),
        dt: resolved.dt,
        oscillators: spec.oscillators,
        coupling: resolved.coupling,
        order,
        sweep: resolved.sweep,
        average_from: spec.average_from,
        device: engine.device().clone(),
        setup_time,
        run_time,
        steps,
    })
}

impl KuramotoSpec {
    /// Checks the run as [`run`] does before any device work (`langevin check`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] or [`Error::Limit`] naming the field.
    pub fn validate(&self) -> Result<()> {
        self.check().map(|_| ())
    }
}
