//! The files of a run of a jump scheme (`ssa`, `tau_leap`): the summary's `jumps` entry,
//! `extinction.csv` (per save time: the trajectories observed, absorbed, and at 0 per
//! component), `distributions.csv` (one row per time, component and count), `events.npy`
//! (each trajectory's events), and the plots `distributions.png` and `extinction.png`.

use crate::files::{npy_f32_shaped, npy_f64_shaped, npy_u32, npy_u64_shaped, write_atomic};
use crate::plots::{
    bar_chart, draw_legend, draw_png, plot_error, time_axes, METHODS, PANEL_HEIGHT, WIDTH,
};
use anyhow::Result;
use langevin::jump_observe::JumpObservables;
use langevin::{EnsembleResult, EnsembleSpec};
use plotters::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Fills `summary["jumps"]` and writes the CSV and NPY files; returns the paths written.
pub fn write(
    dir: &Path,
    spec: &EnsembleSpec,
    r: &EnsembleResult,
    j: &JumpObservables,
    summary: &mut serde_json::Value,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    if let Some(e) = &j.event_paths {
        // The event-resolved paths as three arrays: each path's first row (and the rows in all),
        // each row's time, each row's counts.
        let dim = r.state_names.len();
        let rows = e.times.len();
        let files = [
            (
                "path_events_offsets.npy",
                npy_u64_shaped(&e.offsets, &[e.offsets.len()]),
            ),
            ("path_events_times.npy", npy_f64_shaped(&e.times, &[rows])),
            (
                "path_events_states.npy",
                npy_f32_shaped(&e.states, &[rows, dim]),
            ),
        ];
        for (name, bytes) in files {
            let path = dir.join(name);
            write_atomic(&path, &bytes)?;
            written.push(path);
        }
    }
    let a = r.adaptive.unwrap_or_default();
    let last = j.times.len() - 1;
    let what = if spec.scheme == langevin::Scheme::Ssa {
        "events"
    } else {
        "steps"
    };
    summary["jumps"] = json!({
        "counted": what,
        "events": a.accepted,
        "mean_events": j.events.mean,
        "std_events": j.events.variance().sqrt(),
        "max_events": j.most_events,
        "max_events_allowed": spec.adaptive.max_steps,
        "budget_exhausted": a.exhausted,
        "negative_propensity": a.rejected,
        "absorbed": j.absorbed,
        "absorbed_fraction_at_end": j.absorption(last),
        "extinct_fraction_at_end": r.state_names.iter().enumerate()
            .map(|(i, n)| (n.clone(), json!(j.extinct(last, i))))
            .collect::<serde_json::Map<_, _>>(),
    });

    let mut csv = String::from("t,observed,absorbed");
    for name in &r.state_names {
        csv.push_str(&format!(",zero_{name}"));
    }
    csv.push('\n');
    for (k, t) in j.times.iter().enumerate() {
        csv.push_str(&format!("{t},{},{}", j.observed[k], j.absorbed[k]));
        for z in &j.zeros[k] {
            csv.push_str(&format!(",{z}"));
        }
        csv.push('\n');
    }
    let path = dir.join("extinction.csv");
    write_atomic(&path, csv.as_bytes())?;
    written.push(path);

    if !j.distributions.is_empty() {
        let mut csv = String::from("t,var,count,trajectories,probability\n");
        for d in &j.distributions {
            for (i, h) in d.components.iter().enumerate() {
                let total = h.total().max(1) as f64;
                for (v, c) in h.values() {
                    csv.push_str(&format!(
                        "{},{},{v},{c},{}\n",
                        d.time,
                        r.state_names[i],
                        c as f64 / total
                    ));
                }
            }
        }
        let path = dir.join("distributions.csv");
        write_atomic(&path, csv.as_bytes())?;
        written.push(path);
    }
    if let Some(events) = &j.per_trajectory {
        let path = dir.join("events.npy");
        write_atomic(&path, &npy_u32(events))?;
        written.push(path);
    }
    Ok(written)
}

/// `distributions.png` (one panel per component, one curve per time) when distributions
/// were asked for, and `extinction.png` when some trajectory was absorbed.
pub fn plots(dir: &Path, names: &[String], j: &JumpObservables) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    if !j.distributions.is_empty() {
        written.push(distributions(dir, names, j)?);
    }
    if j.absorbed.iter().any(|a| *a > 0) {
        written.push(extinction(dir, names, j)?);
    }
    Ok(written)
}

fn distributions(dir: &Path, names: &[String], j: &JumpObservables) -> Result<PathBuf> {
    let size = (WIDTH, PANEL_HEIGHT * names.len() as u32);
    draw_png(dir, "distributions.png", size, |root| {
        let panels = root.split_evenly((names.len(), 1));
        for (i, name) in names.iter().enumerate() {
            let hists: Vec<_> = j.distributions.iter().map(|d| &d.components[i]).collect();
            let lo = hists.iter().filter(|h| h.total() > 0).map(|h| h.lo).min();
            let hi = hists
                .iter()
                .filter(|h| h.total() > 0)
                .map(|h| h.lo + h.counts.len() as i64 - 1)
                .max();
            let (Some(lo), Some(hi)) = (lo, hi) else {
                continue;
            };
            let probability =
                |h: &langevin::stats::IntHistogram, c: u64| c as f64 / h.total().max(1) as f64;
            let top = hists
                .iter()
                .flat_map(|h| h.counts.iter().map(|c| probability(h, *c)))
                .fold(0.0, f64::max);
            let mut chart = bar_chart(
                &panels[i],
                format!("distribution of {name}"),
                (lo as f64 - 0.5, hi as f64 + 0.5),
                top,
                name,
                "probability",
            )?;
            for (n, (d, h)) in j.distributions.iter().zip(&hists).enumerate() {
                let colour = METHODS[n % METHODS.len()];
                // A step curve over the unit bins, so that neighbouring times stay readable.
                let mut points = Vec::new();
                for (v, c) in h.values() {
                    let p = probability(h, c);
                    points.push((v as f64 - 0.5, p));
                    points.push((v as f64 + 0.5, p));
                }
                chart
                    .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                    .map_err(plot_error)?
                    .label(format!("t = {}", d.time))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                    });
            }
            draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    })
}

fn extinction(dir: &Path, names: &[String], j: &JumpObservables) -> Result<PathBuf> {
    draw_png(dir, "extinction.png", (WIDTH, 2 * PANEL_HEIGHT), |root| {
        let t0 = j.times[0];
        let t1 = j.times.last().copied().unwrap_or(t0 + 1.0).max(t0 + 1e-12);
        let mut chart = time_axes(
            root,
            "fraction of trajectories at 0, and absorbed".to_string(),
            (t0, t1),
            (0.0, 1.05),
        )?;
        let mut curves: Vec<(String, Vec<(f64, f64)>)> = names
            .iter()
            .enumerate()
            // Components that start above 0 everywhere and reach it somewhere.
            .filter(|(i, _)| j.zeros[0][*i] == 0 && j.zeros.iter().any(|z| z[*i] > 0))
            .map(|(i, name)| {
                let points = (0..j.times.len())
                    .map(|k| (j.times[k], j.extinct(k, i)))
                    .collect();
                (format!("{name} = 0"), points)
            })
            .collect();
        curves.push((
            "absorbed (no reaction can fire)".to_string(),
            (0..j.times.len())
                .map(|k| (j.times[k], j.absorption(k)))
                .collect(),
        ));
        for (n, (label, points)) in curves.into_iter().enumerate() {
            let colour = METHODS[n % METHODS.len()];
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(plot_error)?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })
}
