//! `langevin run` for `kind = "cbo"`: runs the independent CBO runs and writes
//! `summary.json` (the success rate at every save, the best point and value),
//! `consensus.csv` (each run's final consensus and objective, and the step at which it met a
//! tolerance and stopped) and `success.png`.

use crate::files::write_atomic;
use crate::outputs::{run_dir, Rules};
use crate::plots::{draw_png, plot_error, register_font, time_axes, METHODS, PANEL_HEIGHT, WIDTH};
use anyhow::Result;
use langevin::config::Config;
use langevin::interacting::cbo::{self, CboResult};
use langevin::BackendChoice;
use plotters::prelude::*;
use serde_json::json;
use std::path::PathBuf;

/// Success means the consensus within this distance of the minimiser in every coordinate.
const SUCCESS_TOLERANCE: f64 = 0.25;

/// Runs the config and writes its files into `out` (default `runs/<name>`) under `rules`.
pub fn run(
    cfg: &Config,
    backend: Option<BackendChoice>,
    out: Option<PathBuf>,
    rules: Rules,
    quiet: bool,
) -> Result<()> {
    let spec = cfg.to_cbo()?;
    let folder = run_dir(&cfg.name, out, rules)?;
    let dir = folder.staging().to_path_buf();
    let engine = crate::engine_for(backend, "cbo", quiet)?;
    let r = cbo::run(&engine, &spec)?;
    std::fs::create_dir_all(&dir)?;
    let (best_run, best_point, best_value) = r.best();
    let rates: Vec<f64> = (0..r.steps.len())
        .map(|k| r.success_rate_at(k, SUCCESS_TOLERANCE))
        .collect();
    let mut summary = json!({
        "name": cfg.name,
        "kind": "cbo",
        "objective": spec.objective.name(),
        "backend": format!("{:?}", r.device.kind).to_lowercase(),
        "adapter": r.device.name,
        "trajectories": r.consensus.len(),
        "particles": spec.particles,
        "dim": spec.dim,
        "lambda": spec.lambda,
        "sigma": spec.sigma,
        "alpha": [spec.alpha, spec.alpha_growth, spec.alpha_max],
        "anisotropic": spec.anisotropic,
        "dt": spec.dt,
        "steps": r.steps,
        "success_tolerance": SUCCESS_TOLERANCE,
        "success_rate": rates.last(),
        "success_rate_by_step": rates,
        "best_run": best_run,
        "best_value": best_value,
        "best_point": best_point,
        "energy_tol": spec.energy_tol,
        "diff_tol": spec.diff_tol,
        "stopped_fraction": r.stopped_fraction(),
        "stopped_at": r.stopped.iter().map(|run| *run.last().expect("a save")).collect::<Vec<_>>(),
        "elapsed_s": r.run_time.as_secs_f64(),
        "particle_steps_per_s": r.particle_steps_per_second(),
    });
    crate::provenance::annotate(&mut summary, cfg);
    write_atomic(
        &dir.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    let d = spec.dim as usize;
    let mut csv = String::from("run,objective,success,stopped_at_step");
    for k in 0..d {
        csv.push_str(&format!(",c{k}"));
    }
    csv.push('\n');
    for (q, run) in r.consensus.iter().enumerate() {
        let last = run.last().expect("a save");
        let hit = last[..d]
            .iter()
            .all(|c| (f64::from(*c) - spec.shift).abs() < SUCCESS_TOLERANCE);
        let stopped = r.stopped[q].last().copied().flatten();
        csv.push_str(&format!(
            "{q},{},{},{}",
            last[d],
            u8::from(hit),
            stopped.map_or(String::new(), |s| s.to_string())
        ));
        for c in &last[..d] {
            csv.push_str(&format!(",{c}"));
        }
        csv.push('\n');
    }
    write_atomic(&dir.join("consensus.csv"), csv.as_bytes())?;
    if cfg.output.plots {
        register_font()?;
        success_plot(&dir, &r, &rates)?;
    }
    let dir = folder.commit()?;
    if !quiet {
        println!(
            "{}: {} runs x {} particles in {} dimensions x {} steps on {} in {:.3} s; success {:.2}, best {best_value:e}; wrote {}",
            cfg.name,
            r.consensus.len(),
            spec.particles,
            spec.dim,
            r.steps.last().unwrap_or(&0),
            r.device.name,
            r.run_time.as_secs_f64(),
            rates.last().unwrap_or(&0.0),
            dir.display()
        );
    }
    Ok(())
}

fn success_plot(dir: &std::path::Path, r: &CboResult, rates: &[f64]) -> Result<PathBuf> {
    draw_png(dir, "success.png", (WIDTH, 2 * PANEL_HEIGHT), |root| {
        let last = f64::from(*r.steps.last().unwrap_or(&1)).max(1.0);
        let mut chart = time_axes(
            root,
            format!("runs whose consensus is within {SUCCESS_TOLERANCE} of the minimiser"),
            (0.0, last),
            (0.0, 1.05),
        )?;
        chart
            .draw_series(LineSeries::new(
                r.steps
                    .iter()
                    .map(|s| f64::from(*s))
                    .zip(rates.iter().copied()),
                METHODS[0].stroke_width(2),
            ))
            .map_err(plot_error)?;
        Ok(())
    })
}

/// What `langevin check` says of a CBO config: its kernel, the plan and the device memory
/// its runner allocates.
pub fn check(cfg: &Config) -> Result<String> {
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
    Ok(format!(
        "kernel shaders/cbo.wgsl (objective {}); {} runs x {} particles in {} dimensions, \
         {} steps of dt = {}, {} save times; device memory {}",
        s.objective.name(),
        s.replicas,
        s.particles,
        s.dim,
        s.steps,
        s.dt,
        s.saves,
        crate::memory::bytes(device)
    ))
}
