//! For reaction networks: the run's means and variances beside the exact master equation and
//! the moment closures asked for in `[output]` (`comparison.csv`, `comparison.png`, and
//! `summary.json` `comparison`), so that a user sees where an approximation holds: for each
//! closure, when it turns unphysical, when its means leave the run's five-standard-error band
//! (`departs_at`), and which species it makes oscillate where the run does not.

use crate::files::{csv_cell, write_atomic};
use crate::plots::{
    draw_legend, draw_png, padded_range, plot_error, register_font, time_axes, METHODS,
    PANEL_HEIGHT, WIDTH,
};
use anyhow::{anyhow, Result};
use langevin::closure::{Closure, MomentEquations};
use langevin::cme::MasterEquation;
use langevin::config::Config;
use langevin::{EnsembleResult, EnsembleSpec};
use plotters::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Means and variances of one method per save time and species.
pub struct Series {
    /// `ssa`, `cme`, or a closure's name.
    pub name: String,
    /// Per time and species.
    pub mean: Vec<Vec<f64>>,
    /// Per time and species.
    pub variance: Vec<Vec<f64>>,
}

/// Computes the comparison when the config asks for one; returns the files written.
pub fn write(
    dir: &Path,
    config: &Config,
    spec: &EnsembleSpec,
    r: &EnsembleResult,
    summary: &mut serde_json::Value,
) -> Result<Vec<PathBuf>> {
    let out = &config.output;
    let Some(network) = spec.model.reactions() else {
        return Ok(Vec::new());
    };
    if out.closures.is_empty() && out.cme.is_none() {
        return Ok(Vec::new());
    }
    let times: Vec<f64> = r.times.iter().map(|t| t - spec.t0).collect();
    let dim = network.species.len();
    let mut series = vec![Series {
        name: spec.scheme.name().to_string(),
        mean: r
            .moments
            .iter()
            .map(|m| m.iter().map(|v| v.mean_or_nan()).collect())
            .collect(),
        variance: r
            .moments
            .iter()
            .map(|m| m.iter().map(|v| v.variance()).collect())
            .collect(),
    }];
    let mut info = serde_json::Map::new();
    if let Some(bounds) = &out.cme {
        let b: Vec<u32> = network
            .species
            .iter()
            .map(|s| {
                bounds.get(s).copied().ok_or_else(|| {
                    anyhow!("output.cme: give a bound for every species (missing {s})")
                })
            })
            .collect::<Result<_>>()?;
        let me = MasterEquation::new(network, &b)?;
        let solved = me.solve(&network.initial, &times);
        let (mut mean, mut variance) = (Vec::new(), Vec::new());
        for d in &solved {
            let (m, v): (Vec<f64>, Vec<f64>) = (0..dim).map(|i| me.mean_variance(&d.p, i)).unzip();
            mean.push(m);
            variance.push(v);
        }
        info.insert(
            "cme".into(),
            json!({
                "bounds": bounds,
                "states": me.states(),
                "projection_error": solved.iter().map(|d| d.error).collect::<Vec<_>>(),
            }),
        );
        series.push(Series {
            name: "cme".into(),
            mean,
            variance,
        });
    }
    let mut closures = serde_json::Map::new();
    for name in &out.closures {
        let closure = Closure::parse(name)?;
        let s = MomentEquations::new(network, closure)?.solve(&network.initial, &times, 2000);
        let verdict = s.verdict(&series[0].mean, &series[0].variance, r.trajectories);
        closures.insert(
            closure.name(),
            json!({
                "unphysical_from": s.unphysical_from.map(|t| t + spec.t0),
                "departs_at": verdict.departs_at.map(|(t, i)| json!({
                    "t": t + spec.t0,
                    "species": network.species[i],
                })),
                "oscillates_alone": verdict.oscillates_alone.iter()
                    .map(|i| network.species[*i].clone()).collect::<Vec<_>>(),
            }),
        );
        series.push(Series {
            name: closure.name(),
            mean: s.mean,
            variance: s.variance,
        });
    }
    info.insert("closures".into(), serde_json::Value::Object(closures));
    summary["comparison"] = serde_json::Value::Object(info);

    let mut csv = String::from("t");
    for s in &series {
        for name in &network.species {
            csv.push_str(&format!(",{0}_mean_{name},{0}_var_{name}", s.name));
        }
    }
    csv.push('\n');
    for (k, t) in r.times.iter().enumerate() {
        csv.push_str(&t.to_string());
        for s in &series {
            for i in 0..dim {
                csv.push_str(&format!(
                    ",{},{}",
                    csv_cell(s.mean[k][i]),
                    csv_cell(s.variance[k][i])
                ));
            }
        }
        csv.push('\n');
    }
    let path = dir.join("comparison.csv");
    write_atomic(&path, csv.as_bytes())?;
    let mut written = vec![path];
    if config.output.plots {
        written.push(plot(dir, &r.times, &network.species, &series)?);
    }
    Ok(written)
}

/// One row per species: the mean and the variance over the save times of the run (points) and
/// of each other method (lines).
fn plot(dir: &Path, times: &[f64], species: &[String], series: &[Series]) -> Result<PathBuf> {
    register_font()?;
    let size = (WIDTH, PANEL_HEIGHT * species.len() as u32);
    draw_png(dir, "comparison.png", size, |root| {
        let panels = root.split_evenly((species.len(), 2));
        for (i, name) in species.iter().enumerate() {
            for (column, variance) in [(0, false), (1, true)] {
                let value = |s: &Series, k: usize| {
                    if variance {
                        s.variance[k][i]
                    } else {
                        s.mean[k][i]
                    }
                };
                let finite = |v: f64| v.is_finite();
                let (t0, t1) = padded_range(times.iter().copied());
                // The run and the exact law set the scale; a diverging closure leaves the plot.
                let scale: Vec<f64> = series
                    .iter()
                    .take(2)
                    .flat_map(|s| (0..times.len()).map(move |k| value(s, k)))
                    .filter(|v| finite(*v))
                    .collect();
                let (y0, y1) = padded_range(scale.iter().copied());
                let what = if variance { "variance" } else { "mean" };
                let mut chart = time_axes(
                    &panels[2 * i + column],
                    format!("{name}: {what}"),
                    (t0, t1),
                    (y0, y1),
                )?;
                for (n, s) in series.iter().enumerate() {
                    let colour = METHODS[n % METHODS.len()];
                    let points: Vec<(f64, f64)> = (0..times.len())
                        .map(|k| (times[k], value(s, k)))
                        .filter(|(_, v)| finite(*v) && *v >= y0 && *v <= y1)
                        .collect();
                    if n == 0 {
                        chart
                            .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                            .map_err(plot_error)?
                            .label(s.name.as_str())
                            .legend(move |(x, y)| Circle::new((x + 9, y), 3, colour.filled()));
                    } else {
                        chart
                            .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                            .map_err(plot_error)?
                            .label(s.name.as_str())
                            .legend(move |(x, y)| {
                                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                            });
                    }
                }
                draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
            }
        }
        Ok(())
    })
}
