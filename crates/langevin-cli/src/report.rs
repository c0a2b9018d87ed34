//! Plain-text reports of results and devices.

use langevin::{Engine, EnsembleResult, EnsembleSpec};
use std::io::{self, Write};

/// The statistics of a run: moments at each save time, the histogram, divergence, speed.
pub fn print(
    out: &mut impl Write,
    title: &str,
    spec: &EnsembleSpec,
    r: &EnsembleResult,
) -> io::Result<()> {
    writeln!(out, "{title}")?;
    writeln!(
        out,
        "{} trajectories, {} steps of dt = {}, {}, seed {}, on {}",
        r.trajectories, r.steps, r.dt, spec.scheme, spec.seed, r.device
    )?;
    write!(out, "{:>10}", "t")?;
    for name in &r.state_names {
        write!(
            out,
            " {:>14} {:>14}",
            format!("mean({name})"),
            format!("var({name})")
        )?;
    }
    writeln!(out, " {:>9}", "diverged")?;
    for (k, t) in r.times.iter().enumerate() {
        write!(out, "{t:>10.4}")?;
        for m in &r.moments[k] {
            write!(out, " {:>14.6e} {:>14.6e}", m.mean_or_nan(), m.variance())?;
        }
        writeln!(out, " {:>9}", r.diverged(k))?;
    }
    if let Some(h) = &r.histogram {
        let name = &r.state_names[h.component];
        writeln!(
            out,
            "histogram of {name} at t = {}:",
            r.times.last().copied().unwrap_or(0.0)
        )?;
        let top = h.counts.iter().copied().max().unwrap_or(1).max(1);
        let edges = h.edges();
        for (j, &c) in h.counts.iter().enumerate() {
            let bar = "#".repeat((50 * c / top) as usize);
            writeln!(
                out,
                "  [{:>8.3}, {:>8.3}) {:>10} {bar}",
                edges[j],
                edges[j + 1],
                c
            )?;
        }
        writeln!(
            out,
            "  below {}: {}, at or above {}: {}, not finite: {}",
            h.lo, h.underflow, h.hi, h.overflow, h.non_finite
        )?;
    }
    writeln!(
        out,
        "{:.3} s ({} batches, {} dispatches; setup {:.3} s): {:.3e} trajectory-steps/s",
        r.run_time.as_secs_f64(),
        r.batches,
        r.dispatches,
        r.setup_time.as_secs_f64(),
        r.trajectory_steps_per_second()
    )
}

/// The backend and, for a GPU, its features and the limits that size batches.
pub fn info(out: &mut impl Write, engine: &Engine) -> io::Result<()> {
    let d = engine.device();
    writeln!(out, "backend:     {:?}", d.kind)?;
    writeln!(out, "name:        {}", d.name)?;
    writeln!(out, "api:         {}", d.api)?;
    writeln!(out, "type:        {}", d.device_type)?;
    writeln!(out, "driver:      {}", d.driver)?;
    writeln!(
        out,
        "features:    {}",
        if d.features.is_empty() {
            "-".into()
        } else {
            d.features.join(", ")
        }
    )?;
    if let Some(ctx) = engine.gpu() {
        let l = &ctx.limits;
        writeln!(
            out,
            "max storage binding:      {} bytes",
            l.max_storage_buffer_binding_size
        )?;
        writeln!(out, "max buffer:               {} bytes", l.max_buffer_size)?;
        writeln!(
            out,
            "max workgroups/dimension: {}",
            l.max_compute_workgroups_per_dimension
        )?;
        writeln!(
            out,
            "max invocations/group:    {}",
            l.max_compute_invocations_per_workgroup
        )?;
    }
    Ok(())
}
