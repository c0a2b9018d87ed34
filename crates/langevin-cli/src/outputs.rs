//! The files a run writes, each written to a temporary name and renamed, so that no file is
//! ever left half-written.

use anyhow::{Context, Result};
use langevin::config::Config;
use langevin::{EnsembleResult, EnsembleSpec};
use serde_json::json;
use std::fs;
use std::path::{Path, PathBuf};

use crate::files::{
    csv_cell, npy_f32, npy_f32_shaped, npy_f64, npy_f64_shaped, npy_u64_shaped, write_atomic,
};
use crate::observed::{observed_name, observed_series};
pub use crate::run_folder::{Rules, RunFolder};

/// The folder a run writes into: `out`, else `runs/<name>`, locked, checked against `rules`
/// and proved writable before any work.
///
/// # Errors
/// [`langevin::Error::InvalidInput`] naming `name` when it would lead out of `runs/` (an
/// absolute path, `..`) and `out` is not given; see [`RunFolder::open`].
pub fn run_dir(name: &str, out: Option<PathBuf>, rules: Rules) -> Result<RunFolder> {
    let dir = match out {
        Some(dir) => dir,
        None => PathBuf::from("runs").join(checked_name(name)?),
    };
    RunFolder::open(dir, rules)
}

/// `name` as a path under `runs/`: one or more plain folder names, never absolute, `.` or
/// `..`, which would write elsewhere.
fn checked_name(name: &str) -> Result<&Path> {
    let path = Path::new(name);
    let plain = !name.is_empty()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !plain {
        return Err(langevin::Error::invalid(
            "name",
            format!("{name:?}"),
            "the run's folder under runs/: plain folder names, no absolute path, `.` or `..` (or give --out)",
        )
        .into());
    }
    Ok(path)
}

/// Marks the `summary.json` of an interrupted run: `"partial": true` and the trajectories
/// it covers, so that nothing left behind looks complete.
pub fn mark_partial(dir: &Path, trajectories: u64) -> Result<()> {
    let path = dir.join("summary.json");
    let text = fs::read_to_string(&path)?;
    let mut value: serde_json::Value = serde_json::from_str(&text)?;
    if let Some(map) = value.as_object_mut() {
        map.insert("partial".into(), serde_json::Value::Bool(true));
        map.insert("trajectories".into(), trajectories.into());
    }
    write_atomic(&path, serde_json::to_string_pretty(&value)?.as_bytes())
}

/// A number for JSON, or null where it is NaN or infinite (JSON has no such numbers).
fn finite_or_null(v: f64) -> serde_json::Value {
    if v.is_finite() {
        json!(v)
    } else {
        serde_json::Value::Null
    }
}

/// The cells `,mean,var` of a sample's moments: empty where the sample is too small.
fn moment_cells(m: &langevin::Moments) -> String {
    format!(",{},{}", csv_cell(m.mean_or_nan()), csv_cell(m.variance()))
}

/// Warns on stderr (unless `quiet`) that `single` of `points` sweep points ran one replica,
/// so that their standard error (`what`) is NaN: null in summary.json, empty in CSV.
pub fn warn_single_replicas(single: usize, points: usize, what: &str, quiet: bool) {
    if single > 0 && !quiet {
        eprintln!(
            "warning: {single} of {points} sweep points ran a single replica, so their standard \
             error ({what}) is NaN (null in summary.json, empty in CSV): give \
             ensemble.trajectories at least two replicas per point"
        );
    }
}

/// A histogram in `summary.json`: the value's name, the edges, the counts and what fell
/// outside.
fn histogram_json(r: &EnsembleResult, h: &langevin::Histogram) -> serde_json::Value {
    json!({
        "var": observed_name(r, h.component),
        "edges": h.edges(),
        "counts": h.counts,
        "underflow": h.underflow,
        "overflow": h.overflow,
        "non_finite": h.non_finite,
    })
}

/// Writes summary.json, stats.csv, histogram.csv, final_state.npy and the plots (as asked)
/// into `dir`;
/// returns the paths written.
pub fn write_all(
    dir: &Path,
    config: &Config,
    spec: &EnsembleSpec,
    r: &EnsembleResult,
) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the output folder {}", dir.display()))?;
    let mut written = Vec::new();
    let mut stats = serde_json::Map::new();
    for (name, series) in observed_series(r) {
        // A save time where no trajectory is left (all absorbed or diverged) has no mean:
        // null, never the 0 an empty accumulator holds.
        let mean: Vec<f64> = series.iter().map(|m| m.mean_or_nan()).collect();
        let var: Vec<f64> = series.iter().map(|m| m.variance()).collect();
        let count: Vec<u64> = series.iter().map(|m| m.count).collect();
        stats.insert(
            name.to_string(),
            json!({ "mean": mean, "var": var, "count": count }),
        );
    }
    if let Some(q) = &r.quantiles {
        for ((name, _), values) in observed_series(r).iter().zip(&q.values) {
            let rows: Vec<Vec<serde_json::Value>> = values
                .iter()
                .map(|row| row.iter().map(|v| finite_or_null(*v)).collect())
                .collect();
            stats[*name]["quantiles"] = json!(rows);
        }
    }
    let diverged: Vec<u64> = (0..r.times.len()).map(|k| r.diverged(k)).collect();
    let mut summary = json!({
        "name": config.name,
        "kind": config.kind,
        "scheme": spec.scheme.name(),
        "backend": format!("{:?}", r.device.kind).to_lowercase(),
        "adapter": r.device.name,
        "api": r.device.api,
        "driver": r.device.driver,
        "trajectories": r.trajectories,
        "seed": spec.seed,
        "dt": r.dt,
        "steps": r.steps,
        "t_end": spec.t_end,
        "elapsed_s": r.run_time.as_secs_f64(),
        "setup_s": r.setup_time.as_secs_f64(),
        "traj_steps_per_s": r.trajectory_steps_per_second(),
        "diverged": diverged.last().copied().unwrap_or(0),
        "diverged_by_time": diverged,
        "times": r.times,
        "stats": stats,
    });
    if let Some(q) = &r.quantiles {
        summary["quantile_levels"] = json!(q.levels);
    }
    if let Some(fp) = &r.first_passage {
        summary["first_passage"] = json!({
            "var": r.state_names[fp.component],
            "level": fp.level,
            "direction": format!("{:?}", fp.direction).to_lowercase(),
            "hit": fp.hit,
            "mean": finite_or_null(fp.mean()),
            "std": finite_or_null(fp.std()),
            "median": finite_or_null(fp.median()),
        });
    }
    if let Some(h) = &r.histogram {
        summary["histogram"] = histogram_json(r, h);
        let edges = h.edges();
        let mut csv = String::from("lo,hi,count\n");
        for (j, c) in h.counts.iter().enumerate() {
            csv.push_str(&format!("{},{},{}\n", edges[j], edges[j + 1], c));
        }
        let path = dir.join("histogram.csv");
        write_atomic(&path, csv.as_bytes())?;
        written.push(path);
    }
    if !r.histograms.is_empty() {
        let list: Vec<serde_json::Value> =
            r.histograms.iter().map(|h| histogram_json(r, h)).collect();
        summary["histograms"] = json!(list);
    }
    if let Some(h) = &r.histogram2d {
        let s = &h.spec;
        summary["histogram2d"] = json!({
            "vars": [observed_name(r, s.components[0]), observed_name(r, s.components[1])],
            "bins": s.bins,
            "range": [[s.range[0].0, s.range[0].1], [s.range[1].0, s.range[1].1]],
            "outside": h.outside,
            "non_finite": h.non_finite,
        });
        let path = dir.join("histogram2d.npy");
        let shape = [s.bins[0] as usize, s.bins[1] as usize];
        write_atomic(&path, &npy_u64_shaped(&h.counts, &shape))?;
        written.push(path);
    }
    if let Some(e) = &r.event {
        let (mean, std, median) = e.summary();
        summary["event"] = json!({
            "when": e.when,
            "action": e.action.name(),
            "hit": e.hit,
            "mean": finite_or_null(mean),
            "std": finite_or_null(std),
            "median": finite_or_null(median),
            "survival": e.survival,
        });
    }
    if let Some(j) = &r.jumps {
        written.extend(crate::jump_outputs::write(dir, spec, r, j, &mut summary)?);
    } else if let Some(a) = &r.adaptive {
        summary["adaptive"] = json!({
            "rtol": spec.adaptive.rtol,
            "precision": spec.adaptive.precision.name(),
            "atol": spec.adaptive.atol,
            "max_steps": spec.adaptive.max_steps,
            "accepted": a.accepted,
            "rejected": a.rejected,
            "max_accepted": a.max_accepted,
            "exhausted": a.exhausted,
        });
        if spec.scheme.on_brownian_tree() {
            let tree =
                langevin::adaptive::TreeGrid::new(&spec.adaptive, spec.t0, spec.t_end, spec.dt)?;
            summary["adaptive"]["brownian_tree"] = json!({
                "depth": tree.depth,
                "leaf": tree.span / f64::from(1u32 << tree.depth),
                "max_leaves_per_step": tree.max_leaves,
            });
        }
    }
    written.extend(dynamics(dir, r, &mut summary)?);
    written.extend(crate::comparison::write(
        dir,
        config,
        spec,
        r,
        &mut summary,
    )?);
    if let Some(sw) = &r.sweep {
        summary["sweep"] = sweep_summary(r, sw);
        if let Some(groups) = &sw.moments {
            let path = dir.join("sweep_stats.csv");
            write_atomic(&path, sweep_csv(r, sw, groups).as_bytes())?;
            written.push(path);
        }
    }
    crate::provenance::annotate(&mut summary, config);
    let path = dir.join("summary.json");
    write_atomic(&path, serde_json::to_string_pretty(&summary)?.as_bytes())?;
    written.push(path);

    let series = observed_series(r);
    let mut csv = String::from("t");
    for (name, _) in &series {
        csv.push_str(&format!(",mean_{name},var_{name},count_{name}"));
    }
    csv.push('\n');
    for (k, t) in r.times.iter().enumerate() {
        csv.push_str(&t.to_string());
        for (_, s) in &series {
            csv.push_str(&moment_cells(&s[k]));
            csv.push_str(&format!(",{}", s[k].count));
        }
        csv.push('\n');
    }
    let path = dir.join("stats.csv");
    write_atomic(&path, csv.as_bytes())?;
    written.push(path);
    if r.observables.pair_sums.is_some() {
        let m = series.len();
        let matrices: Vec<f64> = (0..r.times.len())
            .flat_map(|k| r.covariance(k).unwrap_or_default())
            .collect();
        let path = dir.join("covariance.npy");
        write_atomic(&path, &npy_f64_shaped(&matrices, &[r.times.len(), m, m]))?;
        written.push(path);
    }

    let dim = r.state_names.len();
    let final_state = match (&r.final_states_f64, &r.final_states) {
        (Some(wide), _) => Some(npy_f64(wide, wide.len() / dim, dim)),
        (None, Some(states)) => Some(npy_f32(states, states.len() / dim, dim)),
        (None, None) => None,
    };
    if let Some(bytes) = final_state {
        let path = dir.join("final_state.npy");
        write_atomic(&path, &bytes)?;
        written.push(path);
    }
    if let Some(p) = &r.paths {
        let shape = [p.trajectories as usize, p.times.len(), dim];
        let bytes = match &p.states_f64 {
            Some(wide) => npy_f64_shaped(wide, &shape),
            None => npy_f32_shaped(&p.states, &shape),
        };
        let path = dir.join("paths.npy");
        write_atomic(&path, &bytes)?;
        written.push(path);
        if spec.paths.is_some_and(|p| p.every.is_some()) {
            let path = dir.join("paths_times.npy");
            write_atomic(&path, &npy_f64_shaped(&p.times, &[p.times.len()]))?;
            written.push(path);
        }
    }
    if config.output.plots {
        written.extend(crate::plots::write_all(dir, spec, r)?);
        if let Some(j) = &r.jumps {
            written.extend(crate::jump_outputs::plots(dir, &r.state_names, j)?);
        }
    }
    Ok(written)
}

/// Displacements (`displacement.csv` and `summary.json`) and time averages (`summary.json`),
/// when the run observed them; returns the files written.
fn dynamics(
    dir: &Path,
    r: &EnsembleResult,
    summary: &mut serde_json::Value,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    if let (Some(d), Some(_)) = (&r.displacement, &r.origin_product) {
        let mut per_var = serde_json::Map::new();
        let mut csv = String::from("t");
        for name in &r.state_names {
            csv.push_str(&format!(",msd_{name},autocorrelation_{name}"));
        }
        csv.push('\n');
        for (i, name) in r.state_names.iter().enumerate() {
            let msd: Vec<f64> = (0..r.times.len())
                .map(|k| r.msd(k, i).unwrap_or(f64::NAN))
                .collect();
            // The MSD's standard error from the displacement's spread: sqrt(2 / n) MSD for
            // normal displacements, the usual case; reported as a guide.
            let msd_se: Vec<f64> = (0..r.times.len())
                .map(|k| msd[k] * (2.0 / d[k][i].count as f64).sqrt())
                .collect();
            let acf: Vec<(f64, f64)> = (0..r.times.len())
                .map(|k| r.autocorrelation(k, i).unwrap_or((f64::NAN, f64::NAN)))
                .collect();
            per_var.insert(
                name.clone(),
                json!({
                    "msd": msd.iter().map(|v| finite_or_null(*v)).collect::<Vec<_>>(),
                    "msd_se": msd_se.iter().map(|v| finite_or_null(*v)).collect::<Vec<_>>(),
                    "autocorrelation": acf.iter().map(|a| finite_or_null(a.0)).collect::<Vec<_>>(),
                    "autocorrelation_se": acf.iter().map(|a| finite_or_null(a.1)).collect::<Vec<_>>(),
                }),
            );
        }
        for (k, t) in r.times.iter().enumerate() {
            csv.push_str(&t.to_string());
            for i in 0..r.state_names.len() {
                let acf = r.autocorrelation(k, i).map_or(f64::NAN, |a| a.0);
                csv.push_str(&format!(",{},{}", r.msd(k, i).unwrap_or(f64::NAN), acf));
            }
            csv.push('\n');
        }
        summary["displacement"] = serde_json::Value::Object(per_var);
        let path = dir.join("displacement.csv");
        write_atomic(&path, csv.as_bytes())?;
        written.push(path);
    }
    if let Some(a) = &r.time_average {
        let mut per_var = serde_json::Map::new();
        // The state's variables, then the observables, as averaged.
        let names = r.state_names.iter().chain(&r.observables.names);
        for (i, name) in names.enumerate().take(a.mean.len()) {
            let (m, sq) = (&a.mean[i], &a.square[i]);
            per_var.insert(
                name.clone(),
                json!({
                    "mean": finite_or_null(m.mean_or_nan()),
                    "se": finite_or_null(m.std_error()),
                    "std_between_trajectories": finite_or_null(m.variance().sqrt()),
                    "mean_square": finite_or_null(sq.mean_or_nan()),
                    "mean_square_se": finite_or_null(sq.std_error()),
                    "count": m.count,
                }),
            );
        }
        summary["time_average"] = json!({
            "from": a.from,
            "to": a.to,
            "samples": a.samples,
            "stats": per_var,
        });
    }
    Ok(written)
}

/// The sweep in `summary.json`: the parameters, trajectories per point, and per point its
/// values and (when grouped) its statistics over the save times.
fn sweep_summary(r: &EnsembleResult, sw: &langevin::SweepResult) -> serde_json::Value {
    let mut points = Vec::new();
    let grouped = sw.moments.is_some();
    // A value per trajectory can mean millions of points: list their values only when the
    // statistics are grouped, else describe the grid.
    if grouped {
        for (g, values) in sw.values.iter().enumerate() {
            let mut point = json!({ "index": sw.points.start + g as u64 });
            for (name, v) in sw.names.iter().zip(values) {
                point[name] = json!(v);
            }
            if let Some(groups) = &sw.moments {
                let mut stats = serde_json::Map::new();
                for (i, name) in r.state_names.iter().enumerate() {
                    let mean: Vec<f64> = groups[g].iter().map(|m| m[i].mean_or_nan()).collect();
                    let var: Vec<f64> = groups[g].iter().map(|m| m[i].variance()).collect();
                    stats.insert(name.clone(), json!({ "mean": mean, "var": var }));
                }
                point["stats"] = serde_json::Value::Object(stats);
            }
            points.push(point);
        }
    }
    json!({
        "params": sw.names,
        "per_point": sw.per_point,
        "points_covered": sw.covered(),
        "grouped": grouped,
        "points": points,
    })
}

/// `sweep_stats.csv`: a row per grid point and save time.
fn sweep_csv(
    r: &EnsembleResult,
    sw: &langevin::SweepResult,
    groups: &[Vec<Vec<langevin::Moments>>],
) -> String {
    let mut csv = sw.names.join(",");
    csv.push_str(",t");
    for name in &r.state_names {
        csv.push_str(&format!(",mean_{name},var_{name}"));
    }
    csv.push('\n');
    for (g, values) in sw.values.iter().enumerate() {
        for (k, t) in r.times.iter().enumerate() {
            let cells: Vec<String> = values.iter().map(f64::to_string).collect();
            csv.push_str(&cells.join(","));
            csv.push_str(&format!(",{t}"));
            for m in &groups[g][k] {
                csv.push_str(&moment_cells(m));
            }
            csv.push('\n');
        }
    }
    csv
}

/// What `langevin check` says of an ensemble config: its composed kernel on stdout (validated
/// by naga), the scheme, the step grid and the memory per trajectory.
pub fn check(cfg: &Config) -> Result<String> {
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
            &run.observables,
            run.columns,
        )?;
        step
    };
    println!("{}", kernel.wgsl);
    let stepping = if spec.scheme == langevin::Scheme::Ssa {
        format!("up to {} events per trajectory", spec.adaptive.max_steps)
    } else {
        format!("{} steps of dt = {}", run.n_steps, run.dt)
    };
    let footprint = langevin::spec::Footprint::of(&spec, &run);
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
