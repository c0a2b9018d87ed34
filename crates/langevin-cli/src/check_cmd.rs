//! `langevin check`: validates a config of any kind without running it, and prints what would
//! run: the generated WGSL of an ensemble's kernel (on stdout), then on stderr the kind, the
//! kernels, the plan (units, steps, save times) and the memory the run needs.

use anyhow::Result;
use langevin::config::Config;
use langevin::field::FieldEquation;
use langevin::kind::{Family, Kind};
use langevin::spec::Footprint;
use langevin::Scheme;
use std::path::Path;

/// Validates `cfg` (read from `path`) and prints its kernel and plan.
pub fn run(path: &Path, cfg: &Config) -> Result<()> {
    let kind = Kind::named(&cfg.kind)?;
    let plan = match kind.family {
        Family::Ensemble => ensemble(cfg)?,
        Family::Replicas | Family::Flock => replicas(cfg)?,
        Family::Field => field(cfg)?,
    };
    eprintln!(
        "{}: valid kind = \"{}\" ({}); {plan}",
        path.display(),
        kind.name,
        kind.about
    );
    Ok(())
}

/// An ensemble: its composed kernel on stdout (validated by naga), the scheme, the step grid
/// and the memory per trajectory.
fn ensemble(cfg: &Config) -> Result<String> {
    let spec = cfg.to_spec()?;
    let run = spec.resolve()?;
    let kernel = if spec.scheme.is_adaptive() {
        langevin::gpu::ode_adaptive::compose(
            spec.model.as_ref(),
            spec.scheme,
            spec.adaptive.precision,
        )?
    } else {
        let [step, _] = langevin::gpu::sde_ensemble::compose(
            spec.model.as_ref(),
            spec.scheme,
            spec.first_passage.is_some(),
            run.event.as_ref(),
        )?;
        step
    };
    println!("{}", kernel.wgsl);
    let stepping = if spec.scheme == Scheme::Ssa {
        format!("up to {} events per trajectory", spec.adaptive.max_steps)
    } else {
        format!("{} steps of dt = {}", run.n_steps, run.dt)
    };
    let footprint = Footprint::of(&spec, run.dim, run.times.len());
    let working = footprint.state_bytes() + footprint.optional_bytes();
    let kept = footprint.readback_bytes();
    Ok(format!(
        "{} ({}, strong order {}, weak order {}), {stepping}, {} save times, {} trajectories; \
         kernel validated by naga; memory per trajectory {working} bytes on the device and \
         {kept} bytes read back ({} for the whole run, in batches)",
        spec.scheme,
        spec.scheme.kind().describe(),
        crate::order(spec.scheme.strong_order()),
        crate::order(spec.scheme.weak_order()),
        run.times.len(),
        spec.trajectories,
        bytes((working + kept).saturating_mul(spec.trajectories)),
    ))
}

/// The interacting kinds: one replica per workgroup (Kuramoto, chains, CBO) or a Vicsek
/// pipeline; the device memory counts the buffers their runners allocate.
fn replicas(cfg: &Config) -> Result<String> {
    // Units are stored in groups of four, a replica's last group padded.
    let padded = |units: u32| u64::from(units.div_ceil(4) * 4);
    Ok(match cfg.kind.as_str() {
        "kuramoto" => {
            let s = cfg.to_kuramoto()?;
            s.validate()?;
            let r = u64::from(s.replicas);
            // Coupling pairs, frequencies, phases, cosines and sines, saved order parameters.
            let device = 8 * r + 16 * padded(s.oscillators) * r + 8 * s.saves as u64 * r;
            format!(
                "kernel shaders/kuramoto.wgsl; {} replicas x {} oscillators, t_end = {} by dt = {}, \
                 {} save times, {} sweep points; device memory {}",
                s.replicas,
                s.oscillators,
                s.t_end,
                s.dt,
                s.saves,
                s.sweeps.iter().map(|w| w.values.len()).product::<usize>(),
                bytes(device)
            )
        }
        "chain" => {
            let s = cfg.to_chain()?;
            s.validate()?;
            let sweep = cfg.chain_sweep()?;
            let r = u64::from(s.replicas);
            // Quenched rates, the double buffer of heights, saved roughness.
            let device = 12 * padded(s.sites) * r + 8 * s.saves as u64 * r;
            format!(
                "kernel shaders/chain.wgsl ({}); {} replicas x {} sites, t_end = {} by dt = {}, \
                 {} save times{}; device memory {}",
                s.model.name(),
                s.replicas,
                s.sites,
                s.t_end,
                s.dt,
                s.saves,
                sweep.map_or(String::new(), |w| format!(
                    ", one run per value of {} ({} values)",
                    w.param,
                    w.values.len()
                )),
                bytes(device)
            )
        }
        "cbo" => {
            let s = cfg.to_cbo()?;
            s.validate()?;
            let (n, d, m) = (
                u64::from(s.particles),
                u64::from(s.dim),
                u64::from(s.replicas),
            );
            // Positions, weights, the consensus per run, saved consensus and objective.
            let device = 4 * n * d * m
                + 4 * n * m
                + 4 * (u64::from(langevin::interacting::cbo::MAX_DIM_CBO) + 1) * m
                + 4 * (d + 2) * s.saves as u64 * m;
            format!(
                "kernel shaders/cbo.wgsl (objective {}); {} runs x {} particles in {} dimensions, \
                 {} steps of dt = {}, {} save times; device memory {}",
                s.objective.name(),
                s.replicas,
                s.particles,
                s.dim,
                s.steps,
                s.dt,
                s.saves,
                bytes(device)
            )
        }
        "vicsek" => {
            let (s, densities) = cfg.to_vicsek()?;
            s.validate()?;
            let p = u64::from(s.particles) * u64::from(s.replicas);
            let cells = u64::from(s.cells_per_side()).pow(2) * u64::from(s.replicas);
            // Two states, the binned copy and sorted indices per particle; a cell list.
            let device = 52 * p + 8 * cells;
            format!(
                "kernels of shaders/vicsek.wgsl (six dispatches a step); {} replicas x {} \
                 particles, {} steps of dt = {}, {} save times{}; device memory about {}",
                s.replicas,
                s.particles,
                s.steps,
                s.dt,
                s.saves,
                if densities.is_empty() {
                    String::new()
                } else {
                    format!(", one run per density ({} values)", densities.len())
                },
                bytes(device)
            )
        }
        other => unreachable!("kind {other} is not a replica kind"),
    })
}

/// A field: the grid, the equation, the precision and its work buffers.
fn field(cfg: &Config) -> Result<String> {
    let s = cfg.to_field()?;
    s.validate()?;
    let points = u64::from(s.points[0]) * u64::from(s.points[1]) * u64::from(s.fields);
    // The field, its momentum and force, two complex work buffers and a complex transform.
    let device = 9 * s.precision.bytes() * points;
    Ok(format!(
        "kernels of shaders/field.wgsl with the FFT of shaders/fft.wgsl; {} on {} x {} points, \
         {} fields, t_end = {}, {} save times, {}; device memory about {}",
        match s.equation {
            FieldEquation::KleinGordon => "Klein-Gordon".to_string(),
            FieldEquation::ModelA { temperature } => format!("model A at kT = {temperature}"),
            FieldEquation::Kpz { nu, lambda, noise } => {
                format!("KPZ (nu = {nu}, lambda = {lambda}, D = {noise})")
            }
        },
        s.points[0],
        s.points[1],
        s.fields,
        s.t_end,
        s.saves,
        s.precision.name(),
        bytes(device)
    ))
}

/// Bytes in KiB, MiB, GiB or TiB.
fn bytes(n: u64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}
