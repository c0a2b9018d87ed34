//! `langevin compare RUN_A RUN_B [--time T]`: the distances between two runs' final states, or
//! their saved paths at a time ([`langevin::distance::compare`]), printed as a table and
//! written as JSON.

use crate::files::{read_npy, read_npy_matrix, write_atomic};
use anyhow::{bail, Context, Result};
use langevin::distance::{compare, Comparison};
use langevin::exact_law::{against, Law};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The names of a run folder's statistics, in the order of `stats.csv`'s `mean_<name>` columns:
/// the state's variables (the columns of `final_state.npy` and `paths.npy`), then the
/// observables.
fn state_names(dir: &Path) -> Result<Vec<String>> {
    let path = dir.join("stats.csv");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {} (is {} a run folder?)",
            path.display(),
            dir.display()
        )
    })?;
    let header = text.lines().next().unwrap_or_default();
    Ok(header
        .split(',')
        .filter_map(|c| c.strip_prefix("mean_"))
        .map(str::to_string)
        .collect())
}

/// A run's final states and their names.
fn final_states(dir: &Path) -> Result<(Vec<f64>, Vec<String>)> {
    let names = state_names(dir)?;
    let path = dir.join("final_state.npy");
    if !path.exists() {
        return Err(langevin::Error::invalid(
            "run folder",
            dir.display(),
            "holds no final_state.npy: run it with --set output.final_state=true",
        )
        .into());
    }
    let (values, cols) = read_npy_matrix(&path)?;
    if cols > names.len() {
        bail!(
            "{}: {cols} columns for the values {names:?}",
            path.display()
        );
    }
    Ok((values, names[..cols].to_vec()))
}

/// A run's saved paths (`paths.npy`) at the path time nearest `time`, within a millionth of
/// the run's span; the state's names.
fn states_at(dir: &Path, time: f64) -> Result<(Vec<f64>, Vec<String>)> {
    let path = dir.join("paths.npy");
    if !path.exists() {
        return Err(langevin::Error::invalid(
            "--time",
            time,
            format!(
                "compares saved paths, and {} holds no paths.npy: run it with output.paths",
                dir.display()
            ),
        )
        .into());
    }
    let (values, shape) = read_npy(&path)?;
    let [k, rows, d] = shape[..] else {
        bail!(
            "{}: shape {shape:?}, not (trajectories, times, state)",
            path.display()
        );
    };
    let times: Vec<f64> = if dir.join("paths_times.npy").exists() {
        read_npy(&dir.join("paths_times.npy"))?.0
    } else {
        let summary: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join("summary.json"))
                .with_context(|| format!("cannot read {}/summary.json", dir.display()))?,
        )?;
        summary["times"]
            .as_array()
            .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
            .unwrap_or_default()
    };
    if times.len() != rows {
        bail!(
            "{}: {rows} path times, {} listed",
            path.display(),
            times.len()
        );
    }
    let span = (times[rows - 1] - times[0]).abs().max(f64::MIN_POSITIVE);
    let Some(row) = times
        .iter()
        .position(|t| (t - time).abs() <= 1e-6 * span.max(time.abs()))
    else {
        return Err(langevin::Error::invalid(
            "--time",
            time,
            format!(
                "a path time of {}: {} to {} ({rows} times)",
                dir.display(),
                times[0],
                times[rows - 1]
            ),
        )
        .into());
    };
    let states = (0..k)
        .flat_map(|j| values[(j * rows + row) * d..(j * rows + row + 1) * d].to_vec())
        .collect();
    let names = state_names(dir)?;
    if d > names.len() {
        bail!("{}: {d} columns for the values {names:?}", path.display());
    }
    Ok((states, names[..d].to_vec()))
}

/// The states compared: the final ones, or with `time` the saved paths' at that time.
fn sample(dir: &Path, time: Option<f64>) -> Result<(Vec<f64>, Vec<String>)> {
    match time {
        Some(t) => states_at(dir, t),
        None => final_states(dir),
    }
}

/// An exact law from `--law`: a family or CDF expression ([`Law::parse`]), or a histogram file
/// (CSV with columns `lo,hi,` and a weight: `histogram.csv` of a run, counts or probabilities).
fn law_of(text: &str) -> Result<Law> {
    let path = Path::new(text);
    if !path.exists() {
        return Ok(Law::parse(text)?);
    }
    let csv =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (mut edges, mut weights) = (Vec::new(), Vec::new());
    for (k, line) in csv.lines().enumerate().skip(1) {
        let cells: Vec<f64> = line
            .split(',')
            .map(|c| c.trim().parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| {
                langevin::Error::invalid(
                    "--law",
                    format!("{} line {}", path.display(), k + 1),
                    "rows of lo,hi,weight numbers",
                )
            })?;
        let [lo, hi, w, ..] = cells[..] else {
            bail!("{} line {}: lo,hi,weight", path.display(), k + 1);
        };
        if let Some(last) = edges.last() {
            if *last != lo {
                bail!("{} line {}: bins must be adjacent", path.display(), k + 1);
            }
        } else {
            edges.push(lo);
        }
        edges.push(hi);
        weights.push(w);
    }
    Ok(Law::histogram(edges, &weights)?)
}

/// Compares every state variable of run `a` (final states, or saved paths at `time`) with the
/// exact law `law` and writes the JSON to `out`.
pub fn against_law(
    a: &Path,
    law_text: &str,
    var: Option<&str>,
    time: Option<f64>,
    out: Option<PathBuf>,
    quiet: bool,
) -> Result<()> {
    let law = law_of(law_text)?;
    let (x, names) = sample(a, time)?;
    let d = names.len();
    let chosen: Vec<usize> = match var {
        Some(v) => vec![names.iter().position(|n| n == v).ok_or_else(|| {
            langevin::Error::invalid("--var", v, format!("one of the state {names:?}"))
        })?],
        None => (0..d).collect(),
    };
    let finite = |v: f64| {
        if v.is_finite() {
            json!(v)
        } else {
            serde_json::Value::Null
        }
    };
    let mut components = serde_json::Map::new();
    for &i in &chosen {
        let column: Vec<f64> = x.iter().skip(i).step_by(d).copied().collect();
        let c = against(&column, &law);
        if !quiet {
            println!(
                "{}: {} values ({} non-finite left out) against {law_text}: KS {:.4} (p = {:.3}), \
                 W1 {:.4}, W2 {:.4}",
                names[i], c.samples, c.dropped, c.ks, c.ks_pvalue, c.w1, c.w2
            );
        }
        components.insert(
            names[i].clone(),
            json!({
                "samples": c.samples,
                "dropped_non_finite": c.dropped,
                "ks": finite(c.ks),
                "ks_pvalue": finite(c.ks_pvalue),
                "w1": finite(c.w1),
                "w2": finite(c.w2),
                "mean_diff": c.mean_diff.map(finite),
                "mean_diff_se": c.mean_diff_se.map(finite),
            }),
        );
    }
    let out = out.unwrap_or_else(|| PathBuf::from("compare.json"));
    let report = json!({
        "run": a.display().to_string(),
        "law": law_text,
        "time": time,
        "components": components,
    });
    write_atomic(&out, serde_json::to_string_pretty(&report)?.as_bytes())?;
    if !quiet {
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// Compares the final states of runs `a` and `b`, or with `time` their saved paths at that
/// time, and writes the JSON to `out` (default `compare.json`).
pub fn run(a: &Path, b: &Path, time: Option<f64>, out: Option<PathBuf>, quiet: bool) -> Result<()> {
    let sample = |dir: &Path| sample(dir, time);
    let (x, names) = sample(a)?;
    let (y, other) = sample(b)?;
    if names != other {
        return Err(langevin::Error::invalid(
            "RUN_B",
            b.display(),
            format!("a state {other:?} where RUN_A has {names:?}"),
        )
        .into());
    }
    let c = compare(&x, &y, names.len());
    let out = out.unwrap_or_else(|| PathBuf::from("compare.json"));
    write_atomic(
        &out,
        serde_json::to_string_pretty(&report(a, b, time, &names, &c))?.as_bytes(),
    )?;
    if !quiet {
        print_table(&names, time, &c);
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// The JSON of a comparison: per component `w1`, `w2`, `ks`, `ks_pvalue`, `mean_diff` and its
/// standard error; for the whole state `sliced_w2`, `energy_distance` and the covariance
/// difference with its standard errors.
fn report(
    a: &Path,
    b: &Path,
    time: Option<f64>,
    names: &[String],
    c: &Comparison,
) -> serde_json::Value {
    let finite = |v: f64| {
        if v.is_finite() {
            json!(v)
        } else {
            serde_json::Value::Null
        }
    };
    let components: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .zip(&c.components)
        .map(|(name, k)| {
            (
                name.clone(),
                json!({
                    "w1": finite(k.w1),
                    "w2": finite(k.w2),
                    "ks": finite(k.ks),
                    "ks_pvalue": finite(k.ks_pvalue),
                    "mean_diff": finite(k.mean_diff),
                    "mean_diff_se": finite(k.mean_diff_se),
                }),
            )
        })
        .collect();
    let d = names.len();
    let matrix = |m: &[f64]| -> Vec<Vec<serde_json::Value>> {
        m.chunks(d)
            .map(|r| r.iter().map(|v| finite(*v)).collect())
            .collect()
    };
    json!({
        "runs": [a.display().to_string(), b.display().to_string()],
        "time": time,
        "state": names,
        "samples": c.samples,
        "dropped_non_finite": c.dropped,
        "components": components,
        "sliced_w2": finite(c.sliced_w2),
        "sliced_w2_directions": langevin::distance::SLICES,
        "energy_distance": finite(c.energy_distance),
        "energy_distance_samples": c.energy_distance_samples,
        "covariance_diff": matrix(&c.covariance_diff),
        "covariance_diff_se": matrix(&c.covariance_diff_se),
    })
}

fn print_table(names: &[String], time: Option<f64>, c: &Comparison) {
    let what = match time {
        Some(t) => format!("states of the saved paths at t = {t}"),
        None => "final states".to_string(),
    };
    println!(
        "{} and {} {what} ({} and {} left out as non-finite)",
        c.samples[0], c.samples[1], c.dropped[0], c.dropped[1]
    );
    println!(
        "{:<12} {:>11} {:>11} {:>9} {:>10} {:>24}",
        "component", "W1", "W2", "KS", "p", "mean A - mean B"
    );
    for (name, k) in names.iter().zip(&c.components) {
        println!(
            "{:<12} {:>11.4e} {:>11.4e} {:>9.4} {:>10.3e} {:>13.4e} +- {:.2e}",
            name, k.w1, k.w2, k.ks, k.ks_pvalue, k.mean_diff, k.mean_diff_se
        );
    }
    println!(
        "sliced W2 {:.4e} ({} directions), energy distance {:.4e} (first {} and {} states)",
        c.sliced_w2,
        langevin::distance::SLICES,
        c.energy_distance,
        c.energy_distance_samples[0],
        c.energy_distance_samples[1]
    );
}
