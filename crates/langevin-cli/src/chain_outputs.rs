//! `langevin run` for `kind = "chain"`: runs the replicas (once per value of a sweep) and
//! writes `summary.json`, `roughness.csv` (w^2 over the replicas at every save time, with the
//! Edwards-Wilkinson laws where they apply) and `roughness.png` (log-log), with the growth
//! exponent fitted over `[output] fit`; for a sweep, `summary.json` `points` holds each
//! value's final w^2, EW saturation and exponent, and the CSV and plot one series per value.

use crate::files::write_atomic;
use crate::outputs::{run_dir, Rules};
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

/// Runs the config and writes its files into `out` (default `runs/<name>`) under `rules`.
pub fn run(
    cfg: &Config,
    backend: Option<BackendChoice>,
    out: Option<PathBuf>,
    rules: Rules,
    quiet: bool,
) -> Result<()> {
    let spec = cfg.to_chain()?;
    let sweep = cfg.chain_sweep()?;
    let folder = run_dir(&cfg.name, out, rules)?;
    let dir = folder.staging().to_path_buf();
    let engine = crate::engine_for(backend, "chain", quiet)?;
    let runs: Vec<Point> = match &sweep {
        None => vec![Point {
            label: None,
            spec: spec.clone(),
            result: chain::run(&engine, &spec)?,
        }],
        Some(sw) => chain::run_sweep(&engine, &spec, sw)?
            .into_iter()
            .zip(sw.values.iter())
            .map(|(result, v)| {
                Ok(Point {
                    label: Some(format!("{} = {v}", sw.param)),
                    spec: spec.with(&sw.param, *v)?,
                    result,
                })
            })
            .collect::<Result<_>>()?,
    };
    std::fs::create_dir_all(&dir)?;
    write_files(&dir, cfg, &runs)?;
    if cfg.output.plots {
        register_font()?;
        roughness_plot(&dir, &runs)?;
    }
    let dir = folder.commit()?;
    if !quiet {
        let r = &runs[0].result;
        let seconds: f64 = runs.iter().map(|p| p.result.run_time.as_secs_f64()).sum();
        println!(
            "{}: {} run(s) of {} replicas x {} sites x {} steps on {} in {seconds:.3} s ({:.3e} site-steps/s); wrote {}",
            cfg.name,
            runs.len(),
            r.rough.len(),
            r.sites,
            r.steps,
            r.device.name,
            r.site_steps_per_second(),
            dir.display()
        );
    }
    Ok(())
}

/// One run of a sweep (or the only run).
struct Point {
    /// `param = value`, for a sweep.
    label: Option<String>,
    spec: ChainSpec,
    result: ChainResult,
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

fn write_files(dir: &Path, cfg: &Config, runs: &[Point]) -> Result<()> {
    let Point {
        spec, result: r, ..
    } = &runs[0];
    let fit_of = |r: &ChainResult| {
        cfg.output
            .fit
            .and_then(|[t1, t2]| r.growth_exponent(t1, t2))
            .map(|f| {
                json!({
                    "window": cfg.output.fit,
                    "beta": f.beta,
                    "std_error": f.std_error,
                })
            })
    };
    let w2 = r.roughness();
    let laws = ew_laws(spec);
    let points: Vec<_> = runs
        .iter()
        .map(|p| {
            let w2 = p.result.roughness();
            let last = w2.last().expect("a save");
            json!({
                "label": p.label,
                "sites": p.spec.sites,
                "nu": p.spec.nu,
                "lambda": p.spec.lambda,
                "noise": p.spec.noise,
                "disorder": p.spec.disorder,
                "w2_final": last.mean,
                "w2_final_std_error": last.std_error(),
                "ew_saturation": ew_laws(&p.spec).map(|l| l.1),
                "growth_exponent": fit_of(&p.result),
            })
        })
        .collect();
    let mut summary = json!({
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
        "elapsed_s": runs.iter().map(|p| p.result.run_time.as_secs_f64()).sum::<f64>(),
        "setup_s": runs.iter().map(|p| p.result.setup_time.as_secs_f64()).sum::<f64>(),
        "site_steps_per_s": r.site_steps_per_second(),
        "times": r.times,
        "w2": w2.iter().map(|m| m.mean).collect::<Vec<_>>(),
        "w2_std_error": w2.iter().map(|m| m.std_error()).collect::<Vec<_>>(),
        "growth_exponent": fit_of(r),
        "ew_saturation": laws.as_ref().map(|l| l.1),
        "points": points,
    });
    crate::provenance::annotate(&mut summary, cfg);
    write_atomic(
        &dir.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    let mut csv = String::from("t");
    for p in runs {
        let tag = p.label.as_ref().map_or(String::new(), |l| format!("[{l}]"));
        csv.push_str(&format!(",w2{tag},w2_std_error{tag},ew_growth_law{tag}"));
    }
    csv.push('\n');
    let series: Vec<_> = runs.iter().map(|p| p.result.roughness()).collect();
    for (k, t) in r.times.iter().enumerate() {
        csv.push_str(&t.to_string());
        for (p, w2) in runs.iter().zip(&series) {
            let law = ew_laws(&p.spec).map_or(String::new(), |l| l.0(*t).to_string());
            csv.push_str(&format!(",{},{},{law}", w2[k].mean, w2[k].std_error()));
        }
        csv.push('\n');
    }
    write_atomic(&dir.join("roughness.csv"), csv.as_bytes())?;
    Ok(())
}

fn roughness_plot(dir: &Path, runs: &[Point]) -> Result<PathBuf> {
    let series: Vec<Vec<(f64, f64)>> = runs
        .iter()
        .map(|p| {
            p.result
                .times
                .iter()
                .zip(p.result.roughness())
                .filter(|(t, m)| **t > 0.0 && m.mean > 0.0)
                .map(|(t, m)| (*t, m.mean))
                .collect()
        })
        .collect();
    let all = || series.iter().flatten();
    let spec = &runs[0].spec;
    draw_png(dir, "roughness.png", (WIDTH, 2 * PANEL_HEIGHT), |root| {
        let t0 = all().map(|p| p.0).fold(f64::INFINITY, f64::min).min(1.0);
        let t1 = all().map(|p| p.0).fold(1e-3, f64::max);
        let top = all().map(|p| p.1).fold(1e-12, f64::max);
        let low = all().map(|p| p.1).fold(top, f64::min);
        let caption = match runs.len() {
            1 => format!(
                "roughness w^2 of {} ({} sites)",
                spec.model.name(),
                spec.sites
            ),
            _ => format!("roughness w^2 of {}", spec.model.name()),
        };
        let mut chart = ChartBuilder::on(root)
            .caption(caption, (crate::plots::FAMILY, 16))
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
        for (n, (p, points)) in runs.iter().zip(&series).enumerate() {
            let run = METHODS[n % METHODS.len()];
            let label = p
                .label
                .clone()
                .unwrap_or_else(|| "mean over the replicas".into());
            chart
                .draw_series(points.iter().map(|&q| Circle::new(q, 3, run.filled())))
                .map_err(plot_error)?
                .label(label)
                .legend(move |(x, y)| Circle::new((x + 9, y), 3, run.filled()));
            if let Some((growth, saturation)) = ew_laws(&p.spec) {
                let line = chart
                    .draw_series(LineSeries::new(
                        points.iter().map(|q| (q.0, growth(q.0).min(saturation))),
                        run.stroke_width(2),
                    ))
                    .map_err(plot_error)?;
                if n == 0 {
                    line.label("min(D sqrt(t / 2 pi nu), D (L^2 - 1) / 24 nu L)")
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 18, y)], run.stroke_width(2))
                        });
                }
            }
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })
}

/// What `langevin check` says of a chain config: its kernel, the plan and the device memory
/// its runner allocates.
pub fn check(cfg: &Config) -> Result<String> {
    // Units are stored in groups of four, a replica's last group padded.
    let padded = |units: u32| u64::from(units.div_ceil(4) * 4);
    let s = cfg.to_chain()?;
    s.validate()?;
    let sweep = cfg.chain_sweep()?;
    let r = u64::from(s.replicas);
    // Quenched rates, the double buffer of heights, saved roughness.
    let device = 12 * padded(s.sites) * r + 8 * s.saves as u64 * r;
    Ok(format!(
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
        crate::memory::bytes(device)
    ))
}
