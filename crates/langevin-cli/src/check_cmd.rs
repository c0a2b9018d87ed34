//! `langevin check`: validates a config of any kind without running it, and prints what would
//! run: the generated WGSL of an ensemble's kernel (on stdout), then on stderr the kind, the
//! kernels, the plan (units, steps, save times) and the memory the run needs.

use anyhow::Result;
use langevin::config::Config;
use langevin::kind::Kind;
use langevin::spec::Footprint;
use langevin::Scheme;
use std::path::Path;

/// Validates `cfg` (read from `path`) and prints its kernel and plan.
pub fn run(path: &Path, cfg: &Config) -> Result<()> {
    let kind = Kind::named(&cfg.kind)?;
    let plan = (crate::kinds::commands(kind.name).check)(cfg)?;
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
pub fn ensemble(cfg: &Config) -> Result<String> {
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
        crate::memory::bytes((working + kept).saturating_mul(spec.trajectories)),
    ))
}
