//! `langevin bench`: the fixed workloads of [`langevin::bench`] on the GPU backend and the CPU
//! twin in one run, as a table on stdout and a JSON file, each result checked before its time
//! is reported.

use anyhow::Result;
use langevin::bench::{self, Case, Measurement, Size};
use langevin::{BackendChoice, Engine};
use std::io::Write;
use std::path::Path;

/// A measurement and, on the GPU backend's rows, its rate over the CPU twin's.
#[derive(serde::Serialize)]
struct Row {
    #[serde(flatten)]
    measurement: Measurement,
    /// GPU backend rate / CPU twin rate of the same workload, measured in this run.
    gpu_over_cpu: Option<f64>,
    /// On the GPU backend's rows: the backend the CLI's `auto` takes for this workload's kind
    /// (`gpu` or `cpu`), and its rate over the faster backend's.
    auto_takes: Option<&'static str>,
    auto_over_best: Option<f64>,
}

/// What `langevin bench` was asked.
pub struct Options<'a> {
    /// Named size.
    pub size: Size,
    /// Workloads to keep (all when empty).
    pub only: &'a [String],
    /// Timed repetitions after the warm-up.
    pub repeats: usize,
    /// The CPU twin runs at most 2^cpu_max trajectories of an ensemble workload.
    pub cpu_max: u32,
    /// Leave out ensemble cases above 2^max_log2 trajectories.
    pub max_log2: Option<u32>,
    /// Skip the CPU twin.
    pub no_cpu: bool,
    /// Where the JSON goes.
    pub json: &'a Path,
}

fn header() {
    println!(
        "{:<14} {:>10} {:>7} {:>10} {:>9} {:>9} {:>11} {:<18} {:>8}",
        "workload", "size", "backend", "steps", "setup s", "median s", "rate", "unit", "GPU/CPU"
    );
}

fn print_row(m: &Measurement, ratio: Option<f64>) {
    println!(
        "{:<14} {:>10} {:>7} {:>10.1} {:>9.3} {:>9.4} {:>11.3e} {:<18} {:>8}",
        m.workload,
        m.size,
        m.backend,
        m.steps,
        m.setup_seconds,
        m.seconds,
        m.rate,
        m.unit,
        ratio.map_or("-".into(), |r| format!("{r:.2}")),
    );
    let _ = std::io::stdout().flush();
}

/// Runs the benchmark; fails (after writing everything measured) when a check failed.
pub fn run(choice: Option<BackendChoice>, opts: &Options) -> Result<()> {
    let choice = match choice {
        Some(c) => c,
        None => BackendChoice::from_env()?,
    };
    let gpu = match choice {
        BackendChoice::Cpu => None,
        BackendChoice::Gpu => Some(Engine::new(BackendChoice::Gpu)?),
        BackendChoice::Auto => Engine::new(BackendChoice::Gpu).ok(),
    };
    let cpu = if opts.no_cpu {
        None
    } else {
        Some(Engine::new(BackendChoice::Cpu)?)
    };
    if gpu.is_none() && cpu.is_none() {
        anyhow::bail!("--no-cpu with no GPU backend leaves nothing to measure");
    }
    match &gpu {
        Some(g) => println!("GPU backend: {}", g.device()),
        None => println!("GPU backend: none (the CPU twin only)"),
    }
    if let Some(c) = &cpu {
        println!(
            "CPU twin: {} (ensembles capped at 2^{} trajectories)",
            c.device(),
            opts.cpu_max
        );
    }
    let repeats = opts.repeats.max(1);
    println!("median of {repeats} timed runs after a warm-up; setup (pipelines, shaders) apart");
    header();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let cases = bench::cases(opts.size, opts.only)?;
    let kept = cases.into_iter().filter(|c| {
        opts.max_log2.is_none_or(|m| {
            !matches!(c.run, bench::Run::Ensemble(_)) || c.trajectories <= 1u64 << m
        })
    });
    for case in kept {
        let on_gpu = gpu
            .as_ref()
            .map(|g| measure(g, &case, repeats, &mut failures));
        let on_cpu = cpu.as_ref().map(|c| {
            let capped: Case = case.capped(opts.cpu_max);
            measure(c, &capped, repeats, &mut failures)
        });
        let ratio = match (&on_gpu, &on_cpu) {
            (Some(Some(g)), Some(Some(c))) => {
                if let Err(e) = bench::agree(g, c) {
                    failures.push(e.to_string());
                }
                Some(g.rate / c.rate)
            }
            _ => None,
        };
        // Where `auto` runs this workload's kind, and how it fares against the faster backend.
        let twin = gpu.as_ref().is_some_and(|g| {
            g.device().is_software_adapter() && case.kind().prefers_twin_on_software()
        });
        let auto_takes = ratio.map(|_| if twin { "cpu" } else { "gpu" });
        // `r` is the GPU's rate in units of the twin's.
        let auto_over_best = ratio.map(|r| if twin { 1.0 / r.max(1.0) } else { r.min(1.0) });
        if let Some(Some(g)) = on_gpu {
            print_row(&g, ratio);
            rows.push(Row {
                measurement: g,
                gpu_over_cpu: ratio,
                auto_takes,
                auto_over_best,
            });
        }
        if let Some(Some(c)) = on_cpu {
            print_row(&c, None);
            rows.push(Row {
                measurement: c,
                gpu_over_cpu: None,
                auto_takes: None,
                auto_over_best: None,
            });
        }
        if let (Some(takes), Some(share)) = (auto_takes, auto_over_best) {
            println!("  auto takes {takes}: {share:.2} of the faster backend's rate");
        }
    }
    let report = serde_json::json!({
        "langevin": env!("CARGO_PKG_VERSION"),
        "size": format!("{:?}", opts.size).to_lowercase(),
        "repeats": repeats,
        "gpu": gpu.as_ref().map(|g| g.device().clone()),
        "cpu": cpu.as_ref().map(|c| c.device().clone()),
        "cpu_threads": rayon_threads(),
        "results": rows,
        "failed_checks": failures,
    });
    crate::files::write_atomic(opts.json, serde_json::to_string_pretty(&report)?.as_bytes())?;
    println!("JSON: {}", opts.json.display());
    if !failures.is_empty() {
        anyhow::bail!(
            "{} check(s) failed:\n  {}",
            failures.len(),
            failures.join("\n  ")
        );
    }
    println!("every check passed");
    Ok(())
}

/// The CPU twin's threads (rayon's pool: `RAYON_NUM_THREADS` or the cores).
fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn measure(
    engine: &Engine,
    case: &Case,
    repeats: usize,
    failures: &mut Vec<String>,
) -> Option<Measurement> {
    match bench::measure(engine, case, repeats) {
        Ok(m) => Some(m),
        Err(e) => {
            let message = format!(
                "{} {} on {}: {e}",
                case.workload,
                case.size,
                engine.device().name
            );
            eprintln!("error: {message}");
            failures.push(message);
            None
        }
    }
}
