//! `langevin run` for `kind = "field"`: runs the batch and writes `summary.json` (energies,
//! their relative drift, the step and its stability bound; for phi^4 kink pairs the outcome;
//! for model A and KPZ the spectrum against its stationary law where known), `energy.csv`,
//! `snapshots.npy` (field 0 at every save: `(saves, nx)` in 1-D, `(saves, ny, nx)` in 2-D), and the plots `spacetime.png`
//! (1-D: field 0 over x and t) or `final.png` (2-D: field 0 at the end), `energy.png`, and for
//! model A and KPZ `spectrum.csv` and `spectrum.png`.

use crate::files::{npy_f32_shaped, write_atomic};
use crate::outputs::{run_dir, Rules};
use crate::plots::{
    colour_bar, diverging, draw_png, padded_range, plot_error, register_font, time_axes, BAR_WIDTH,
    FAMILY, METHODS, PANEL_HEIGHT, WIDTH,
};
use anyhow::Result;
use langevin::config::Config;
use langevin::field::{self, profiles, FieldEquation, FieldResult, FieldSpec};
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
    let spec = cfg.to_field()?;
    let folder = run_dir(&cfg.name, out, rules)?;
    let dir = folder.staging().to_path_buf();
    let engine = crate::engine_for(backend, "field", quiet)?;
    let r = field::run(&engine, &spec)?;
    std::fs::create_dir_all(&dir)?;
    write_files(&dir, cfg, &spec, &r)?;
    if cfg.output.plots {
        register_font()?;
        energy_plot(&dir, &r)?;
        if spec.points[1] == 1 {
            spacetime_plot(&dir, &spec, &r)?;
        } else {
            final_plot(&dir, &spec, &r)?;
        }
        if let Some(s) = &r.spectrum {
            spectrum_plot(&dir, &spec, s)?;
        }
    }
    let dir = folder.commit()?;
    if !quiet {
        let drift = match spec.equation {
            FieldEquation::KleinGordon => format!("; energy drift {:.2e}", r.energy_drift(0)),
            FieldEquation::ModelA { .. } | FieldEquation::Kpz { .. } => String::new(),
        };
        println!(
            "{}: {} field(s) x {} points x {} steps of {:.4e} on {} in {:.3} s ({:.3e} point-steps/s){drift}; wrote {}",
            cfg.name,
            r.fields,
            r.points,
            r.steps,
            r.dt,
            r.device.name,
            r.run_time.as_secs_f64(),
            r.point_steps_per_second(),
            dir.display()
        );
    }
    Ok(())
}

/// Radially binned spectrum: (|k|, mean S, the stationary law where known, else NaN), over
/// bins of width 2 pi / L.
fn binned_spectrum(spec: &FieldSpec, s: &[f64]) -> Vec<(f64, f64, f64)> {
    let unit = 2.0 * std::f64::consts::PI / spec.length[0];
    let bins = (spec.k_max_squared().sqrt() / unit).ceil() as usize + 1;
    let mut sum = vec![(0.0, 0.0, 0usize); bins];
    for (j, v) in s.iter().enumerate() {
        let k = spec.k_squared(j).sqrt();
        let b = ((k / unit).round() as usize).min(bins - 1);
        sum[b].0 += k;
        sum[b].1 += v;
        sum[b].2 += 1;
    }
    sum.iter()
        .filter(|b| b.2 > 0)
        .map(|&(k, v, c)| {
            let k = k / c as f64;
            (
                k,
                v / c as f64,
                spec.stationary_spectrum(k * k).unwrap_or(f64::NAN),
            )
        })
        .collect()
}

fn write_files(dir: &Path, cfg: &Config, spec: &FieldSpec, r: &FieldResult) -> Result<()> {
    let last = r.snapshots.last().expect("a save");
    let n = r.points as usize;
    let (x0, dx) = (spec.coordinates(0)[0], spec.spacing()[0]);
    let crossings = (spec.points[1] == 1).then(|| profiles::zero_crossings(&last[..n], x0, dx));
    let outcome = (profile_name(cfg).as_deref() == Some("kink_antikink") && spec.points[1] == 1)
        .then(
            || match profiles::kink_outcome(&last[..n], x0, dx, spec.length[0]) {
                profiles::KinkOutcome::Separated { separation } => {
                    format!("separated (reflection), {separation:.2} apart")
                }
                profiles::KinkOutcome::Bound => "bound state or annihilation".to_string(),
            },
        );
    let mut summary = json!({
        "name": cfg.name,
        "kind": "field",
        "equation": format!("{:?}", spec.equation),
        "potential": spec.potential.text,
        "backend": format!("{:?}", r.device.kind).to_lowercase(),
        "adapter": r.device.name,
        "trajectories": r.fields,
        "points": spec.points,
        "length": spec.length,
        "dt": r.dt,
        "precision": spec.precision.name(),
        "stability_bound": r.stability_bound,
        "steps": r.steps,
        "elapsed_s": r.run_time.as_secs_f64(),
        "setup_s": r.setup_time.as_secs_f64(),
        "point_steps_per_s": r.point_steps_per_second(),
        "times": r.times,
        "energy": r.energy[0],
        "energy_drift": (0..r.energy.len()).map(|f| r.energy_drift(f)).collect::<Vec<_>>(),
        "momentum": r.momentum[0],
        "roughness": r.roughness[0],
        "zero_crossings_at_end": crossings,
        "outcome": outcome,
        "spectrum": r.spectrum.as_ref().map(|s| binned_spectrum(spec, s)
            .iter()
            .map(|(k, v, law)| json!({"k": k, "S": v, "stationary_law": law.is_finite().then_some(*law)}))
            .collect::<Vec<_>>()),
    });
    crate::provenance::annotate(&mut summary, cfg);
    write_atomic(
        &dir.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    let mut csv = String::from("t");
    for f in 0..r.energy.len() {
        csv.push_str(&format!(",energy{f}"));
    }
    csv.push_str(",momentum0\n");
    for (k, t) in r.times.iter().enumerate() {
        csv.push_str(&t.to_string());
        for e in &r.energy {
            csv.push_str(&format!(",{}", e[k]));
        }
        csv.push_str(&format!(",{}\n", r.momentum[0][k]));
    }
    write_atomic(&dir.join("energy.csv"), csv.as_bytes())?;
    let flat: Vec<f32> = r
        .snapshots
        .iter()
        .flat_map(|s| s[..n].iter().copied())
        .collect();
    // A 2-D field as numpy indexes it, `[save, y, x]` (x fastest, as stored).
    let [nx, ny] = spec.points.map(|p| p as usize);
    let shape = if ny > 1 {
        vec![r.snapshots.len(), ny, nx]
    } else {
        vec![r.snapshots.len(), n]
    };
    write_atomic(&dir.join("snapshots.npy"), &npy_f32_shaped(&flat, &shape))?;
    if let Some(s) = &r.spectrum {
        let mut csv = String::from("k,S,stationary_law\n");
        for (k, v, law) in binned_spectrum(spec, s) {
            let law = if law.is_finite() {
                law.to_string()
            } else {
                String::new()
            };
            csv.push_str(&format!("{k},{v},{law}\n"));
        }
        write_atomic(&dir.join("spectrum.csv"), csv.as_bytes())?;
    }
    Ok(())
}

fn profile_name(cfg: &Config) -> Option<String> {
    cfg.model.profile.as_ref().map(|p| p.name.clone())
}

fn energy_plot(dir: &Path, r: &FieldResult) -> Result<PathBuf> {
    draw_png(dir, "energy.png", (WIDTH, 2 * PANEL_HEIGHT), |root| {
        let e0 = r.energy[0][0];
        let rel: Vec<f64> = r.energy[0]
            .iter()
            .map(|e| (e - e0) / e0.abs().max(1e-300))
            .collect();
        let (t0, t1) = padded_range(r.times.iter().copied());
        let (lo, hi) = padded_range(rel.iter().copied());
        let mut chart = time_axes(
            root,
            "relative energy change of field 0".to_string(),
            (t0, t1),
            (lo, hi),
        )?;
        chart
            .draw_series(LineSeries::new(
                r.times.iter().copied().zip(rel),
                METHODS[0].stroke_width(2),
            ))
            .map_err(plot_error)?;
        Ok(())
    })
}

fn spacetime_plot(dir: &Path, spec: &FieldSpec, r: &FieldResult) -> Result<PathBuf> {
    let n = r.points as usize;
    let (lo, hi) = padded_range(
        r.snapshots
            .iter()
            .flat_map(|s| s[..n].iter().map(|v| f64::from(*v))),
    );
    draw_png(dir, "spacetime.png", (WIDTH, 2 * PANEL_HEIGHT), |whole| {
        let (root, bar) = whole.split_horizontally(WIDTH - BAR_WIDTH);
        colour_bar(&bar, lo, hi, diverging)?;
        let root = &root;
        let half = spec.length[0] / 2.0;
        let (t0, t1) = (r.times[0], *r.times.last().unwrap_or(&1.0));
        let mut chart = ChartBuilder::on(root)
            .caption("field 0 over space and time", (FAMILY, 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(-half..half, t0..t1)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_label_formatter(&crate::plots::tick)
            .y_label_formatter(&crate::plots::tick)
            .disable_mesh()
            .x_desc("x")
            .y_desc("t")
            .label_style((FAMILY, 13))
            .draw()
            .map_err(plot_error)?;
        let dx = spec.spacing()[0];
        let rows = r.times.len();
        // At most 1024 columns: neighbouring points share a cell.
        let stride = n.div_ceil(1024).max(1);
        for k in 0..rows {
            let ta = r.times[k];
            let tb = if k + 1 < rows { r.times[k + 1] } else { t1 };
            chart
                .draw_series((0..n).step_by(stride).map(|j| {
                    let x = spec.coordinates(j)[0];
                    Rectangle::new(
                        [(x, ta), (x + dx * stride as f64, tb)],
                        diverging(f64::from(r.snapshots[k][j]), lo, hi).filled(),
                    )
                }))
                .map_err(plot_error)?;
        }
        Ok(())
    })
}

fn final_plot(dir: &Path, spec: &FieldSpec, r: &FieldResult) -> Result<PathBuf> {
    let n = r.points as usize;
    let last = &r.snapshots.last().expect("a save")[..n];
    let (lo, hi) = padded_range(last.iter().map(|v| f64::from(*v)));
    draw_png(
        dir,
        "final.png",
        (2 * PANEL_HEIGHT + BAR_WIDTH, 2 * PANEL_HEIGHT),
        |whole| {
            let (root, bar) = whole.split_horizontally(2 * PANEL_HEIGHT);
            colour_bar(&bar, lo, hi, diverging)?;
            let root = &root;
            let (hx, hy) = (spec.length[0] / 2.0, spec.length[1] / 2.0);
            let mut chart = ChartBuilder::on(root)
                .caption("field 0 at the end", (FAMILY, 16))
                .margin(12)
                .x_label_area_size(30)
                .y_label_area_size(40)
                .build_cartesian_2d(-hx..hx, -hy..hy)
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .x_label_formatter(&crate::plots::tick)
                .y_label_formatter(&crate::plots::tick)
                .disable_mesh()
                .label_style((FAMILY, 12))
                .draw()
                .map_err(plot_error)?;
            let [dx, dy] = spec.spacing();
            let nx = spec.points[0] as usize;
            let stride = nx.div_ceil(512).max(1);
            chart
                .draw_series(
                    (0..n)
                        .filter(|j| (j % nx) % stride == 0 && (j / nx) % stride == 0)
                        .map(|j| {
                            let [x, y] = spec.coordinates(j);
                            Rectangle::new(
                                [(x, y), (x + dx * stride as f64, y + dy * stride as f64)],
                                diverging(f64::from(last[j]), lo, hi).filled(),
                            )
                        }),
                )
                .map_err(plot_error)?;
            Ok(())
        },
    )
}

fn spectrum_plot(dir: &Path, spec: &FieldSpec, s: &[f64]) -> Result<PathBuf> {
    // Without k = 0: the mean drifts (KPZ) or carries no law.
    let bins: Vec<_> = binned_spectrum(spec, s)
        .into_iter()
        .filter(|b| b.0 > 0.0)
        .collect();
    draw_png(dir, "spectrum.png", (WIDTH, 2 * PANEL_HEIGHT), |root| {
        let k0 = 0.8
            * bins
                .iter()
                .map(|b| b.0)
                .fold(f64::INFINITY, f64::min)
                .min(1.0);
        let k1 = 1.25 * bins.iter().map(|b| b.0).fold(k0, f64::max);
        let top = bins.iter().map(|b| b.1.max(b.2)).fold(1e-12, f64::max);
        let low = bins
            .iter()
            .map(|b| b.1.min(b.2))
            .fold(top, f64::min)
            .max(top * 1e-6);
        let mut chart = ChartBuilder::on(root)
            .caption("structure factor <|phi(k)|^2> / V", (FAMILY, 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d((k0..k1).log_scale(), (0.8 * low..1.25 * top).log_scale())
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("|k|")
            .y_desc("S(k)")
            .label_style((FAMILY, 13))
            .draw()
            .map_err(plot_error)?;
        let run = METHODS[0];
        chart
            .draw_series(
                bins.iter()
                    .filter(|b| b.1 > 0.0)
                    .map(|b| Circle::new((b.0, b.1), 3, run.filled())),
            )
            .map_err(plot_error)?
            .label("run")
            .legend(move |(x, y)| Circle::new((x + 9, y), 3, run.filled()));
        let law = METHODS[1];
        chart
            .draw_series(LineSeries::new(
                bins.iter()
                    .filter(|b| b.2.is_finite() && b.2 > 0.0)
                    .map(|b| (b.0, b.2)),
                law.stroke_width(2),
            ))
            .map_err(plot_error)?
            .label("stationary law (model A: T / (k^2 + V''(0)); KPZ 1-D: D / (2 nu k^2))")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], law.stroke_width(2)));
        crate::plots::draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

/// What `langevin check` says of a field config: the grid, the equation, the precision and
/// its work buffers.
pub fn check(cfg: &Config) -> Result<String> {
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
        crate::memory::bytes(device)
    ))
}
