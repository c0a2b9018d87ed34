//! `langevin run` for `kind = "vicsek"`: runs the replicas (once per density of a density
//! sweep) and writes `summary.json`, `order.csv` (the mean `v_a` over the replicas of each
//! (density, eta) point at every save), `eta.csv` (the time-averaged `v_a` per point, with its
//! standard error over the replicas), `final.npy` (the last run's final `(x, y, cos, sin)` per
//! particle), and the plots `order.png`, `eta.png` for a sweep, and `snapshot.png` (the
//! first replica's particles at the end, coloured by heading).

use crate::files::{csv_cell, npy_f32, write_atomic};
use crate::outputs::{run_dir, Rules};
use crate::plots::{
    draw_legend, draw_png, padded_range, plot_error, register_font, time_axes, FAMILY, METHODS,
    PANEL_HEIGHT, WIDTH,
};
use anyhow::Result;
use langevin::config::Config;
use langevin::interacting::vicsek::{self, AveragedVa, VicsekResult, VicsekState};
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
    let (mut spec, densities) = cfg.to_vicsek()?;
    spec.keep_state = true;
    let folder = run_dir(&cfg.name, out, rules)?;
    let dir = folder.staging().to_path_buf();
    let engine = crate::engine(backend, quiet)?;
    let runs = if densities.is_empty() {
        vec![vicsek::run(&engine, &spec)?]
    } else {
        vicsek::run_densities(&engine, &spec, &densities)?
    };
    let points: Vec<Vec<AveragedVa>> = runs.iter().map(VicsekResult::averaged).collect();
    let single = points.iter().flatten().filter(|p| p.va.count < 2).count();
    let total = points.iter().map(Vec::len).sum();
    crate::outputs::warn_single_replicas(single, total, "va_std_error", quiet);
    std::fs::create_dir_all(&dir)?;
    write_files(&dir, cfg, &spec, &runs, &points)?;
    let last = runs.last().expect("at least one run");
    let box_len = (f64::from(spec.particles) / last.density).sqrt();
    if cfg.output.plots {
        register_font()?;
        order_plot(&dir, &runs, &points)?;
        if runs.len() > 1 || points[0].len() > 1 {
            eta_plot(&dir, &runs, &points)?;
        }
        if let Some(state) = &last.state {
            snapshot_plot(&dir, state, spec.particles as usize, box_len)?;
        }
    }
    let dir = folder.commit()?;
    if !quiet {
        let seconds: f64 = runs.iter().map(|r| r.run_time.as_secs_f64()).sum();
        let rate = runs
            .iter()
            .map(VicsekResult::particle_steps_per_second)
            .sum::<f64>()
            / runs.len() as f64;
        println!(
            "{}: {} run(s) of {} replicas x {} particles x {} steps on {} in {seconds:.3} s \
             ({rate:.3e} particle-steps/s); wrote {}",
            cfg.name,
            runs.len(),
            last.order.len(),
            spec.particles,
            last.steps,
            last.device.name,
            dir.display()
        );
    }
    Ok(())
}

/// The mean `v_a` over the replicas of each eta point, per save.
fn mean_va(r: &VicsekResult, points: usize) -> Vec<Vec<f64>> {
    let per = r.order.len() / points;
    (0..points)
        .map(|p| {
            (0..r.save_steps.len())
                .map(|k| (p * per..(p + 1) * per).map(|q| r.va(q, k)).sum::<f64>() / per as f64)
                .collect()
        })
        .collect()
}

fn label(density: f64, eta: f64) -> String {
    format!("rho = {density:.4}, eta = {eta:.4}")
}

fn write_files(
    dir: &Path,
    cfg: &Config,
    spec: &vicsek::VicsekSpec,
    runs: &[VicsekResult],
    points: &[Vec<AveragedVa>],
) -> Result<()> {
    let first = &runs[0];
    let times: Vec<f64> = first
        .save_steps
        .iter()
        .map(|s| f64::from(*s) * first.dt)
        .collect();
    let mut summary = json!({
        "name": cfg.name,
        "kind": "vicsek",
        "backend": format!("{:?}", first.device.kind).to_lowercase(),
        "adapter": first.device.name,
        "trajectories": first.order.len(),
        "particles": spec.particles,
        "radius": spec.radius,
        "speed": spec.speed,
        "seed": spec.seed,
        "dt": spec.dt,
        "steps": first.steps,
        "average_from_step": spec.average_from,
        "elapsed_s": runs.iter().map(|r| r.run_time.as_secs_f64()).sum::<f64>(),
        "setup_s": runs.iter().map(|r| r.setup_time.as_secs_f64()).sum::<f64>(),
        "particle_steps_per_s": runs.iter().map(VicsekResult::particle_steps_per_second).collect::<Vec<_>>(),
        "times": times,
        "va_at_full_noise": (std::f64::consts::PI / (4.0 * f64::from(spec.particles))).sqrt(),
        "points": runs.iter().zip(points).flat_map(|(r, ps)| {
            ps.iter().zip(mean_va(r, ps.len())).map(move |(p, series)| json!({
                "density": r.density,
                "eta": p.eta,
                "replicas": p.va.count,
                "va": p.va.mean,
                "va_std_error": p.va.std_error(),
                "va_by_time": series,
            }))
        }).collect::<Vec<_>>(),
    });
    crate::provenance::annotate(&mut summary, cfg);
    write_atomic(
        &dir.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;

    let series: Vec<(String, Vec<f64>)> = runs
        .iter()
        .zip(points)
        .flat_map(|(r, ps)| {
            ps.iter()
                .zip(mean_va(r, ps.len()))
                .map(|(p, s)| (label(r.density, p.eta), s))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut csv = String::from("step,t");
    for (name, _) in &series {
        csv.push_str(&format!(",va[{name}]"));
    }
    csv.push('\n');
    for (k, t) in times.iter().enumerate() {
        csv.push_str(&format!("{},{t}", first.save_steps[k]));
        for (_, s) in &series {
            csv.push_str(&format!(",{}", s[k]));
        }
        csv.push('\n');
    }
    write_atomic(&dir.join("order.csv"), csv.as_bytes())?;

    let mut csv = String::from("density,eta,replicas,va,va_std_error\n");
    for (r, ps) in runs.iter().zip(points) {
        for p in ps {
            csv.push_str(&format!(
                "{},{},{},{},{}\n",
                r.density,
                p.eta,
                p.va.count,
                p.va.mean,
                csv_cell(p.va.std_error())
            ));
        }
    }
    write_atomic(&dir.join("eta.csv"), csv.as_bytes())?;

    if let Some(state) = &runs.last().and_then(|r| r.state.as_ref()) {
        let flat: Vec<f32> = state.particles.iter().flatten().copied().collect();
        write_atomic(
            &dir.join("final.npy"),
            &npy_f32(&flat, state.particles.len(), 4),
        )?;
    }
    Ok(())
}

fn order_plot(dir: &Path, runs: &[VicsekResult], points: &[Vec<AveragedVa>]) -> Result<PathBuf> {
    draw_png(dir, "order.png", (WIDTH, 2 * PANEL_HEIGHT), |root| {
        let first = &runs[0];
        let times: Vec<f64> = first
            .save_steps
            .iter()
            .map(|s| f64::from(*s) * first.dt)
            .collect();
        let (t0, t1) = padded_range(times.iter().copied());
        let mut chart = time_axes(
            root,
            "polar order v_a, mean over the replicas".to_string(),
            (t0, t1),
            (0.0, 1.05),
        )?;
        let mut n = 0;
        for (r, ps) in runs.iter().zip(points) {
            for (p, series) in ps.iter().zip(mean_va(r, ps.len())) {
                let colour = METHODS[n % METHODS.len()];
                n += 1;
                chart
                    .draw_series(LineSeries::new(
                        times.iter().copied().zip(series),
                        colour.stroke_width(2),
                    ))
                    .map_err(plot_error)?
                    .label(label(r.density, p.eta))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                    });
            }
        }
        if n <= 12 {
            draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    })
}

fn eta_plot(dir: &Path, runs: &[VicsekResult], points: &[Vec<AveragedVa>]) -> Result<PathBuf> {
    draw_png(dir, "eta.png", (WIDTH, 2 * PANEL_HEIGHT), |root| {
        let (e0, e1) = padded_range(points.iter().flatten().map(|p| p.eta));
        let mut chart = ChartBuilder::on(root)
            .caption("time-averaged v_a against the noise", (FAMILY, 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(e0..e1, 0.0..1.05)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_label_formatter(&crate::plots::tick)
            .y_label_formatter(&crate::plots::tick)
            .x_desc("eta")
            .y_desc("v_a")
            .label_style((FAMILY, 13))
            .draw()
            .map_err(plot_error)?;
        for (n, (r, ps)) in runs.iter().zip(points).enumerate() {
            let colour = METHODS[n % METHODS.len()];
            chart
                .draw_series(ps.iter().map(|p| {
                    let se = 2.0 * p.va.std_error();
                    PathElement::new(
                        vec![(p.eta, p.va.mean - se), (p.eta, p.va.mean + se)],
                        colour.stroke_width(1),
                    )
                }))
                .map_err(plot_error)?;
            chart
                .draw_series(LineSeries::new(
                    ps.iter().map(|p| (p.eta, p.va.mean)),
                    colour.stroke_width(2),
                ))
                .map_err(plot_error)?
                .label(format!("density {:.4} (± 2 standard errors)", r.density))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

/// The first replica's particles as short strokes along their headings, coloured by heading.
fn snapshot_plot(
    dir: &Path,
    state: &VicsekState,
    particles: usize,
    box_len: f64,
) -> Result<PathBuf> {
    draw_png(
        dir,
        "snapshot.png",
        (2 * PANEL_HEIGHT, 2 * PANEL_HEIGHT),
        |root| {
            let mut chart = ChartBuilder::on(root)
                .caption("final state of replica 0 (colour: heading)", (FAMILY, 16))
                .margin(12)
                .x_label_area_size(30)
                .y_label_area_size(40)
                .build_cartesian_2d(0.0..box_len, 0.0..box_len)
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .x_label_formatter(&crate::plots::tick)
                .y_label_formatter(&crate::plots::tick)
                .disable_mesh()
                .label_style((FAMILY, 12))
                .draw()
                .map_err(plot_error)?;
            let stroke = 0.006 * box_len;
            chart
                .draw_series(state.particles[..particles].iter().map(|p| {
                    let [x, y, c, s] = p.map(f64::from);
                    let hue = (s.atan2(c) / std::f64::consts::TAU).rem_euclid(1.0);
                    let colour = HSLColor(hue, 0.8, 0.45);
                    PathElement::new(
                        vec![
                            (x - stroke * c, y - stroke * s),
                            (x + stroke * c, y + stroke * s),
                        ],
                        colour.stroke_width(1),
                    )
                }))
                .map_err(plot_error)?;
            Ok(())
        },
    )
}

/// What `langevin check` says of a Vicsek config: its kernel, the plan and the device memory
/// its runner allocates.
pub fn check(cfg: &Config) -> Result<String> {
    let (s, densities) = cfg.to_vicsek()?;
    s.validate()?;
    let p = u64::from(s.particles) * u64::from(s.replicas);
    let cells = u64::from(s.cells_per_side()).pow(2) * u64::from(s.replicas);
    // Two states, the binned copy and sorted indices per particle; a cell list.
    let device = 52 * p + 8 * cells;
    Ok(format!(
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
        crate::memory::bytes(device)
    ))
}
