//! `langevin run` for `kind = "kuramoto"`: runs the replicas and writes `summary.json`,
//! `order.csv` (the mean order parameter over the replicas of each sweep point at every save
//! time), `coupling.csv` (the time-averaged r per point, with Kuramoto's law where it is
//! known), and the plots `order.png` and, for a sweep, `coupling.png`.

use crate::files::{csv_cell, write_atomic};
use crate::outputs::{run_dir, Rules};
use crate::plots::{
    draw_legend, draw_png, padded_range, plot_error, register_font, time_axes, METHODS,
    PANEL_HEIGHT, WIDTH,
};
use anyhow::Result;
use langevin::config::Config;
use langevin::interacting::kuramoto::{self, AveragedOrder, KuramotoResult, KuramotoSpec};
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
    let spec = cfg.to_kuramoto()?;
    let folder = run_dir(&cfg.name, out, rules)?;
    let dir = folder.staging().to_path_buf();
    let engine = crate::engine_for(backend, "kuramoto", quiet)?;
    let r = kuramoto::run(&engine, &spec)?;
    let points = r.averaged();
    let single = points.iter().filter(|p| p.r.count < 2).count();
    crate::outputs::warn_single_replicas(single, points.len(), "r_std_error", quiet);
    std::fs::create_dir_all(&dir)?;
    let mut written = write_files(&dir, cfg, &spec, &r, &points)?;
    if cfg.output.plots {
        register_font()?;
        written.push(order_plot(&dir, &r, &points)?);
        if points.len() > 1 {
            written.push(coupling_plot(&dir, &spec, &points)?);
        }
    }
    let dir = folder.commit()?;
    if !quiet {
        println!(
            "{}: {} replicas x {} oscillators x {} steps on {} in {:.3} s ({:.3e} oscillator-steps/s); wrote {}",
            cfg.name,
            r.order.len(),
            r.oscillators,
            r.steps,
            r.device.name,
            r.run_time.as_secs_f64(),
            r.oscillator_steps_per_second(),
            dir.display()
        );
    }
    Ok(())
}

/// The mean of r over the replicas of each point, per save time.
fn mean_order(r: &KuramotoResult, points: usize) -> Vec<Vec<f64>> {
    let per = r.order.len() / points;
    (0..points)
        .map(|p| {
            (0..r.times.len())
                .map(|k| (p * per..(p + 1) * per).map(|q| r.r(q, k)).sum::<f64>() / per as f64)
                .collect()
        })
        .collect()
}

fn write_files(
    dir: &Path,
    cfg: &Config,
    spec: &KuramotoSpec,
    r: &KuramotoResult,
    points: &[AveragedOrder],
) -> Result<Vec<PathBuf>> {
    let theory = |p: &AveragedOrder| spec.law.order_parameter(p.coupling, p.noise);
    let by_time = mean_order(r, points.len());
    let mut summary = json!({
        "name": cfg.name,
        "kind": "kuramoto",
        "backend": format!("{:?}", r.device.kind).to_lowercase(),
        "adapter": r.device.name,
        "trajectories": r.order.len(),
        "oscillators": r.oscillators,
        "law": format!("{:?}", spec.law),
        "sampling": format!("{:?}", spec.sampling).to_lowercase(),
        "seed": spec.seed,
        "dt": r.dt,
        "steps": r.steps,
        "t_end": spec.t_end,
        "average_from": spec.average_from,
        "elapsed_s": r.run_time.as_secs_f64(),
        "setup_s": r.setup_time.as_secs_f64(),
        "oscillator_steps_per_s": r.oscillator_steps_per_second(),
        "critical_coupling": spec.law.critical_coupling(spec.noise),
        "times": r.times,
        "points": points.iter().zip(&by_time).map(|(p, series)| json!({
            "K": p.coupling,
            "D": p.noise,
            "replicas": p.r.count,
            "r": p.r.mean,
            "r_std_error": p.r.std_error(),
            "r_theory": theory(p),
            "r_by_time": series,
        })).collect::<Vec<_>>(),
    });
    crate::provenance::annotate(&mut summary, cfg);
    let mut written = Vec::new();
    let path = dir.join("summary.json");
    write_atomic(&path, serde_json::to_string_pretty(&summary)?.as_bytes())?;
    written.push(path);

    let mut csv = String::from("t");
    for p in points {
        csv.push_str(&format!(",r_K{}_D{}", p.coupling, p.noise));
    }
    csv.push('\n');
    for (k, t) in r.times.iter().enumerate() {
        csv.push_str(&t.to_string());
        for series in &by_time {
            csv.push_str(&format!(",{}", series[k]));
        }
        csv.push('\n');
    }
    let path = dir.join("order.csv");
    write_atomic(&path, csv.as_bytes())?;
    written.push(path);

    let mut csv = String::from("K,D,replicas,r,r_std_error,r_theory\n");
    for p in points {
        csv.push_str(&format!(
            "{},{},{},{},{},{}\n",
            p.coupling,
            p.noise,
            p.r.count,
            p.r.mean,
            csv_cell(p.r.std_error()),
            theory(p).map_or(String::new(), |v| v.to_string())
        ));
    }
    let path = dir.join("coupling.csv");
    write_atomic(&path, csv.as_bytes())?;
    written.push(path);
    Ok(written)
}

fn order_plot(dir: &Path, r: &KuramotoResult, points: &[AveragedOrder]) -> Result<PathBuf> {
    let by_time = mean_order(r, points.len());
    draw_png(dir, "order.png", (WIDTH, 2 * PANEL_HEIGHT), |root| {
        let (t0, t1) = padded_range(r.times.iter().copied());
        let mut chart = time_axes(
            root,
            "order parameter r, mean over the replicas".to_string(),
            (t0, t1),
            (0.0, 1.05),
        )?;
        for (n, (p, series)) in points.iter().zip(&by_time).enumerate() {
            let colour = METHODS[n % METHODS.len()];
            chart
                .draw_series(LineSeries::new(
                    r.times.iter().copied().zip(series.iter().copied()),
                    colour.stroke_width(2),
                ))
                .map_err(plot_error)?
                .label(format!("K = {}, D = {}", p.coupling, p.noise))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })
}

fn coupling_plot(dir: &Path, spec: &KuramotoSpec, points: &[AveragedOrder]) -> Result<PathBuf> {
    draw_png(dir, "coupling.png", (WIDTH, 2 * PANEL_HEIGHT), |root| {
        let (k0, k1) = padded_range(points.iter().map(|p| p.coupling));
        let mut chart = ChartBuilder::on(root)
            .caption(
                "time-averaged order parameter against the coupling",
                (crate::plots::FAMILY, 16),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(k0..k1, 0.0..1.05)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_label_formatter(&crate::plots::tick)
            .y_label_formatter(&crate::plots::tick)
            .x_desc("K")
            .y_desc("r")
            .label_style((crate::plots::FAMILY, 13))
            .draw()
            .map_err(plot_error)?;
        let run = METHODS[0];
        chart
            .draw_series(points.iter().map(|p| {
                let se = 2.0 * p.r.std_error();
                PathElement::new(
                    vec![(p.coupling, p.r.mean - se), (p.coupling, p.r.mean + se)],
                    run.stroke_width(1),
                )
            }))
            .map_err(plot_error)?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p.coupling, p.r.mean), 3, run.filled())),
            )
            .map_err(plot_error)?
            .label("run (± 2 standard errors)")
            .legend(move |(x, y)| Circle::new((x + 9, y), 3, run.filled()));
        let noise = points[0].noise;
        if spec.law.order_parameter(1.0, noise).is_some() && points.iter().all(|p| p.noise == noise)
        {
            let curve: Vec<(f64, f64)> = (0..=400)
                .map(|i| k0 + (k1 - k0) * f64::from(i) / 400.0)
                .filter_map(|k| spec.law.order_parameter(k, noise).map(|r| (k, r)))
                .collect();
            let colour = METHODS[1];
            chart
                .draw_series(LineSeries::new(curve, colour.stroke_width(2)))
                .map_err(plot_error)?
                .label("sqrt(1 - K_c / K) as N grows")
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })
}

/// What `langevin check` says of a Kuramoto config: its kernel, the plan and the device memory
/// its runner allocates.
pub fn check(cfg: &Config) -> Result<String> {
    // Units are stored in groups of four, a replica's last group padded.
    let padded = |units: u32| u64::from(units.div_ceil(4) * 4);
    let s = cfg.to_kuramoto()?;
    s.validate()?;
    let r = u64::from(s.replicas);
    // Coupling pairs, frequencies, phases, cosines and sines, saved order parameters.
    let device = 8 * r + 16 * padded(s.oscillators) * r + 8 * s.saves as u64 * r;
    Ok(format!(
        "kernel shaders/kuramoto.wgsl; {} replicas x {} oscillators, t_end = {} by dt = {}, \
         {} save times, {} sweep points; device memory {}",
        s.replicas,
        s.oscillators,
        s.t_end,
        s.dt,
        s.saves,
        s.sweeps.iter().map(|w| w.values.len()).product::<usize>(),
        crate::memory::bytes(device)
    ))
}
