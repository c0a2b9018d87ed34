//! A field run on an engine's backend ([`crate::gpu::field`] or its twin
//! [`crate::cpu::field`]): stepping to each save time, and the spectral observables (energy,
//! momentum, structure factor) computed in f64 on the host.

use super::spec::{FieldBackend, FieldEquation, FieldParams, FieldSpec, FieldState};
use crate::device::DeviceInfo;
use crate::error::{Error, Result};
use crate::fft::plan::MAX_FFT_POINTS;
use crate::real::{split, Precision, Real};
use crate::Engine;
use rustfft::num_complex::Complex64;
use std::time::{Duration, Instant};

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
