//! `langevin run` for `kind = "chain"`: runs the replicas and writes `summary.json`,
//! `roughness.csv` (w^2 over the replicas at every save time, with the Edwards-Wilkinson
//! laws where they apply) and `roughness.png` (log-log), with the growth exponent fitted over
//! `[output] fit`.

use crate::outputs::{run_dir, write_atomic};
use crate::plots::{
    draw_legend, draw_png, plot_error, register_font, METHODS, PANEL_HEIGHT, WIDTH,
};
use anyhow::Result;
use langevin::config::Config;
use langevin::interacting::chain::{self, ChainModel, ChainResult, ChainSpec};
use langevin::BackendChoice;
use plotters::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Runs the config and writes its files into `out` (default `runs/<name>`).
pub fn run(
    cfg: &Config,
    backend: Option<BackendChoice>,
    out: Option<PathBuf>,
    quiet: bool,
) -> Result<()> {
    let spec = cfg.to_chain()?;
    let dir = run_dir(&cfg.name, out)?;
    let engine = crate::engine(backend, quiet)?;
    let r = chain::run(&engine, &spec)?;
    std::fs::create_dir_all(&dir)?;
    write_files(&dir, cfg, &spec, &r)?;
    if cfg.output.plots {
        register_font()?;
        roughness_plot(&dir, &spec, &r)?;
    }
    if !quiet {
        println!(
            "{}: {} replicas x {} sites x {} steps on {} in {:.3} s ({:.3e} site-steps/s); wrote {}",
            cfg.name,
            r.rough.len(),
            r.sites,
            r.steps,
            r.device.name,
            r.run_time.as_secs_f64(),
            r.site_steps_per_second(),
            dir.display()
        );
    }
    Ok(())
}

/// Edwards-Wilkinson's growth law D sqrt(t / (2 pi nu)) and saturation D (L^2 - 1) / (24 nu L)
/// for an EW chain without disorder.
fn ew_laws(spec: &ChainSpec) -> Option<(impl Fn(f64) -> f64 + '_, f64)> {
    (spec.model == ChainModel::EdwardsWilkinson && spec.disorder == 0.0).then(|| {
        let l = f64::from(spec.sites);
        (
            move |t: f64| spec.noise * (t / (2.0 * std::f64::consts::PI * spec.nu)).sqrt(),
            spec.noise * (l * l - 1.0) / (24.0 * spec.nu * l),
        )
    })
}

fn write_files(dir: &Path, cfg: &Config, spec: &ChainSpec, r: &ChainResult) -> Result<()> {
    let w2 = r.roughness();
    let fit = cfg
        .output
        .fit
        .and_then(|[t1, t2]| r.growth_exponent(t1, t2));
    let laws = ew_laws(spec);
    let summary = json!({
        "name": cfg.name,
        "kind": "chain",
        "equation": spec.model.name(),
        "backend": format!("{:?}", r.device.kind).to_lowercase(),
        "adapter": r.device.name,
        "trajectories": r.rough.len(),
        "sites": r.sites,
        "nu": spec.nu,
        "lambda": spec.lambda,
        "noise": spec.noise,
        "disorder": spec.disorder,
        "seed": spec.seed,
        "dt": r.dt,
        "steps": r.steps,
        "elapsed_s": r.run_time.as_secs_f64(),
        "setup_s": r.setup_time.as_secs_f64(),
        "site_steps_per_s": r.site_steps_per_second(),
        "times": r.times,
        "w2": w2.iter().map(|m| m.mean).collect::<Vec<_>>(),
        "w2_std_error": w2.iter().map(|m| m.std_error()).collect::<Vec<_>>(),
        "growth_exponent": fit.map(|f| json!({
            "window": cfg.output.fit,
            "beta": f.beta,
            "std_error": f.std_error,
        })),
        "ew_saturation": laws.as_ref().map(|l| l.1),
    });
    write_atomic(
        &dir.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    let mut csv = String::from("t,w2,w2_std_error,ew_growth_law\n");
    for (t, m) in r.times.iter().zip(&w2) {
        let law = laws.as_ref().map_or(String::new(), |l| l.0(*t).to_string());
        csv.push_str(&format!("{t},{},{},{law}\n", m.mean, m.std_error()));
    }
    write_atomic(&dir.join("roughness.csv"), csv.as_bytes())?;
    Ok(())
}

fn roughness_plot(dir: &Path, spec: &ChainSpec, r: &ChainResult) -> Result<PathBuf> {
    let w2 = r.roughness();
    let points: Vec<(f64, f64)> = r
        .times
        .iter()
        .zip(&w2)
        .filter(|(t, m)| **t > 0.0 && m.mean > 0.0)
        .map(|(t, m)| (*t, m.mean))
        .collect();
    draw_png(dir, "roughness.png", (WIDTH, 2 * PANEL_HEIGHT), |root| {
        let (t0, t1) = (
            points.first().map_or(1e-3, |p| p.0),
            points.last().map_or(1.0, |p| p.0).max(1e-3),
        );
        let top = points.iter().map(|p| p.1).fold(1e-12, f64::max);
        let low = points.iter().map(|p| p.1).fold(top, f64::min);
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "roughness w^2 of {} ({} sites)",
                    spec.model.name(),
                    spec.sites
                ),
                (crate::plots::FAMILY, 16),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(
                (t0..t1 * 1.1).log_scale(),
                (0.8 * low..1.25 * top).log_scale(),
            )
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("t")
            .y_desc("w^2")
            .label_style((crate::plots::FAMILY, 13))
            .draw()
            .map_err(plot_error)?;
        let run = METHODS[0];
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, run.filled())))
            .map_err(plot_error)?
            .label("mean over the replicas")
            .legend(move |(x, y)| Circle::new((x + 9, y), 3, run.filled()));
        if let Some((growth, saturation)) = ew_laws(spec) {
            let colour = METHODS[1];
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|p| (p.0, growth(p.0).min(saturation))),
                    colour.stroke_width(2),
                ))
                .map_err(plot_error)?
                .label("min(D sqrt(t / 2 pi nu), D (L^2 - 1) / 24 nu L)")
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })
}
