//! `langevin`: runs stochastic-dynamics ensembles headless on any GPU wgpu reaches, or on the
//! CPU twin when there is none.

mod bench_cmd;
mod cbo_outputs;
mod chain_outputs;
mod check_cmd;
mod checkpoint;
mod compare_cmd;
mod comparison;
mod examples;
mod field_outputs;
mod files;
mod jump_outputs;
mod kinds;
mod kuramoto_outputs;
mod lyapunov_cmd;
mod memory;
mod observed;
mod outputs;
mod plots;
mod progress;
mod provenance;
mod report;
mod run_folder;
mod shards;
mod vicsek_outputs;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use langevin::config::Config;
use langevin::kind::{Kind, RunOption};
use langevin::{BackendChoice, Engine, Scheme};
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "langevin",
    version,
    about = "Massively parallel stochastic dynamics on any GPU",
    after_help = "Examples:
  langevin run examples/configs/double_well.toml            run a config, write runs/double-well/
  langevin run ou.toml --set model.params.sigma=0.2 --out r  override a parameter, choose the folder
  langevin --backend cpu run ou.toml --trajectories 10000    on the CPU twin, fewer trajectories
  langevin check ou.toml                                     validate and print the generated kernel
  langevin example double-well                               a built-in example, statistics to stdout
  langevin info                                              the adapter, driver, features and limits"
)]
struct Cli {
    /// Where to run: a GPU adapter when there is one (auto), a GPU or nothing (gpu), or the CPU
    /// twin (cpu). Defaults to LANGEVIN_BACKEND, else auto.
    #[arg(long, global = true)]
    backend: Option<BackendChoice>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a built-in example ensemble and prints its statistics.
    Example {
        /// Which example.
        #[arg(value_enum, default_value_t = examples::Example::DoubleWell)]
        name: examples::Example,
        /// Number of trajectories (default: the example's own).
        #[arg(long)]
        trajectories: Option<u64>,
        /// Seed of the random streams.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Scheme (euler_maruyama, milstein, heun; see `langevin schemes`).
        #[arg(long)]
        scheme: Option<Scheme>,
        /// Time step (default: the example's own).
        #[arg(long)]
        dt: Option<f64>,
        /// End time (default: the example's own).
        #[arg(long)]
        t_end: Option<f64>,
    },
    /// Runs a TOML config and writes summary.json, stats.csv, histogram.csv, final_state.npy.
    Run {
        /// The config file (with --resume: optional, and then it must be the one resumed).
        #[arg(required_unless_present = "resume")]
        config: Option<PathBuf>,
        /// Output folder (default runs/<name>). The run is written beside it and moved in
        /// when complete; a folder holding another run is refused.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replaces the run the output folder holds (its files are removed first).
        #[arg(long)]
        overwrite: bool,
        /// Overrides ensemble.trajectories.
        #[arg(long)]
        trajectories: Option<u64>,
        /// Overrides ensemble.seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Sets any key, e.g. --set model.params.D=0.2 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Prints nothing but errors.
        #[arg(long)]
        quiet: bool,
        /// Runs part I of N of the trajectories, [I T / N, (I + 1) T / N), with their indices
        /// in the whole run, and writes partial.json for `langevin merge` (ensemble kinds).
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// What a trajectory that becomes NaN or infinite does to the run: `warn` (count it,
        /// leave it out of the statistics, say so on stderr) or `fail` (exit with status 3,
        /// after writing the results). Unset: warn, but a run where every trajectory diverged
        /// exits with status 3.
        #[arg(long, value_enum)]
        on_diverge: Option<OnDiverge>,
        /// Seconds between checkpoints of an ensemble run (checkpoint.json in the output
        /// folder, written atomically; also written on SIGINT / SIGTERM). Default 600.
        #[arg(long, value_name = "SECONDS")]
        checkpoint_every: Option<f64>,
        /// Trajectories per piece of a checkpointed run (default: about 2^33
        /// trajectory-steps; whole blocks of 64).
        #[arg(long, value_name = "TRAJECTORIES")]
        checkpoint_piece: Option<u64>,
        /// Continues the interrupted run in DIR from its checkpoint.
        #[arg(long, value_name = "DIR")]
        resume: Option<PathBuf>,
        /// Bounds the host memory of an ensemble run (512M, 8G; default: the machine's
        /// memory): batches use half of it, and a run whose kept outputs (final states,
        /// first-passage times) need more than the other half is refused before it starts.
        #[arg(long, value_name = "SIZE")]
        max_memory: Option<String>,
        /// Bounds the bytes of final states an ensemble run writes (as many again in its
        /// checkpoints; default: the output disk's free space); a run over it is refused
        /// before it starts.
        #[arg(long, value_name = "SIZE")]
        max_output: Option<String>,
        /// Splits an ensemble run over several devices: `all` (every GPU adapter present) or
        /// a list of `gpu` (the default adapter), `gpuN` (the N-th of all adapters, from 0)
        /// and `cpu` (the CPU twin). Each takes a piece of trajectories in turn; the result
        /// is the same as on one device.
        #[arg(long, value_name = "LIST")]
        devices: Option<String>,
    },
    /// Merges the folders of `langevin run --shard` into the results of one run.
    Merge {
        /// Shard folders (or their partial.json files), any order.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Output folder (default runs/<name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replaces the run the output folder holds.
        #[arg(long)]
        overwrite: bool,
        /// Prints nothing but errors.
        #[arg(long)]
        quiet: bool,
        /// Merges shards that leave some of the run's trajectories out (refused otherwise):
        /// the summary says "partial": true and lists the missing ranges.
        #[arg(long)]
        partial: bool,
    },
    /// Distances between two runs' final states: per component the Wasserstein-1 and -2
    /// distances and the Kolmogorov-Smirnov test; the sliced Wasserstein-2 and energy
    /// distances; mean and covariance differences with standard errors. Writes compare.json.
    Compare {
        /// The first run's folder (run with output.final_state = true, or output.paths with
        /// --time).
        run_a: PathBuf,
        /// The second run's folder, of the same state; or none with --law.
        run_b: Option<PathBuf>,
        /// Compares the runs' saved paths (output.paths) at this time instead of their final
        /// states.
        #[arg(long)]
        time: Option<f64>,
        /// Compares RUN_A with an exact law instead of a second run: normal(m, s),
        /// uniform(a, b), exponential(rate), cdf(EXPRESSION in x), or a histogram CSV
        /// (lo,hi,weight rows, as a run's histogram.csv).
        #[arg(long)]
        law: Option<String>,
        /// With --law: only this state variable (default: each against the law).
        #[arg(long)]
        var: Option<String>,
        /// The JSON file (default compare.json in the current folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Prints nothing but errors.
        #[arg(long)]
        quiet: bool,
    },
    /// Validates a config of any kind and prints what it would run: the generated WGSL of an
    /// ensemble's kernel, the kernels, the plan and the memory it needs.
    Check {
        /// The config file.
        config: PathBuf,
    },
    /// Estimates the largest Lyapunov exponent of a config's ODE model over an ensemble
    /// (tangent dynamics on the backend), and optionally its full spectrum (f64, CPU).
    Lyapunov {
        /// The config file (kind = "ode", e.g. model = "lorenz").
        config: PathBuf,
        /// Time before growth is counted (default: a tenth of t_end).
        #[arg(long)]
        t_burn: Option<f64>,
        /// Trajectories (default 1024).
        #[arg(long, default_value_t = 1024)]
        trajectories: u64,
        /// Standard deviation of the cloud of starting points around the initial state.
        #[arg(long, default_value_t = 0.1)]
        spread: f64,
        /// Also compute the whole spectrum from the initial state on the CPU in f64.
        #[arg(long)]
        spectrum: bool,
        /// Sets any key, e.g. --set model.params.rho=20 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Until the estimates over the two halves of the window agree, run again with t_end
        /// doubled, at most this many times (0: one run of the config's t_end).
        #[arg(long, default_value_t = 6)]
        max_doublings: u32,
        /// Writes lyapunov.json (the estimates, their convergence, the spectrum) into DIR.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Times the fixed workloads (OU, OU with observables, double well, Lorenz, Schloegl,
    /// Kuramoto, KG, FFT) on the GPU backend and the CPU twin, checks each result, prints a
    /// table and writes JSON.
    Bench {
        /// tiny (checks only, seconds), small (2^16 trajectories) or standard (the reference
        /// sizes of BENCHMARKS.md).
        #[arg(long, default_value = "small")]
        size: langevin::bench::Size,
        /// Only these workloads (comma-separated: ou, ou4, ou4_observed, double_well, lorenz,
        /// lorenz_dopri5, schloegl_ssa, kuramoto, kg, fft).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Timed runs after the warm-up (the median is reported).
        #[arg(long, default_value_t = 3)]
        repeats: usize,
        /// The CPU twin runs at most 2^N trajectories of an ensemble workload.
        #[arg(long, default_value_t = 16, value_name = "N")]
        cpu_max: u32,
        /// Leave out the ensemble cases of more than 2^N trajectories.
        #[arg(long, value_name = "N")]
        max_log2: Option<u32>,
        /// Measure the GPU backend only.
        #[arg(long)]
        no_cpu: bool,
        /// Where to write the JSON report.
        #[arg(long, default_value = "bench.json")]
        json: PathBuf,
    },
    /// Lists the systems of the chaos zoo (model = "<name>" in a config).
    Zoo,
    /// Describes the backend: adapter, driver, features, limits.
    Info,
    /// Lists the schemes with their orders of convergence.
    Schemes,
}

/// The engine of `--backend` (else `LANGEVIN_BACKEND`, else auto), announced on stderr
/// unless `quiet`.
fn engine(choice: Option<BackendChoice>, quiet: bool) -> Result<Engine> {
    let choice = match choice {
        Some(c) => c,
        None => BackendChoice::from_env()?,
    };
    let engine = Engine::new(choice).context("cannot start the backend")?;
    if !quiet {
        eprintln!("langevin: running on {}", engine.selection());
    }
    Ok(engine)
}

/// The engine of a run of kind `kind`: as [`engine`], except that `auto` takes the CPU twin
/// over a software GPU adapter for the kinds the twin runs faster there
/// ([`langevin::kind::Kind::prefers_twin_on_software`]).
fn engine_for(choice: Option<BackendChoice>, kind: &str, quiet: bool) -> Result<Engine> {
    let choice = match choice {
        Some(c) => c,
        None => BackendChoice::from_env()?,
    };
    let engine = Engine::new(choice).context("cannot start the backend")?;
    if choice == BackendChoice::Auto
        && engine.device().is_software_adapter()
        && langevin::kind::Kind::named(kind)?.prefers_twin_on_software()
    {
        if !quiet {
            eprintln!(
                "langevin: running on the CPU twin (auto: faster than the software adapter {} \
                 for this kind; --backend gpu to use the adapter)",
                engine.device().name
            );
        }
        return Ok(Engine::new(BackendChoice::Cpu)?);
    }
    if !quiet {
        eprintln!("langevin: running on {}", engine.selection());
    }
    Ok(engine)
}

/// The engines of `--devices`: `all`, or a list of `gpu`, `gpuN`, `cpu`.
fn devices_of(list: &str) -> Result<Vec<Engine>> {
    if list.trim() == "all" {
        return Ok(Engine::every_gpu()?);
    }
    let mut every: Option<Vec<Engine>> = None;
    let mut engines = Vec::new();
    for item in list.split(',').map(str::trim) {
        let engine = match item {
            "cpu" => Engine::new(BackendChoice::Cpu)?,
            "gpu" => Engine::new(BackendChoice::Gpu)?,
            _ => {
                let index: usize = item
                    .strip_prefix("gpu")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| {
                        langevin::Error::invalid(
                            "--devices",
                            item,
                            "all, or a list of gpu, gpuN, cpu",
                        )
                    })?;
                if every.is_none() {
                    every = Some(Engine::every_gpu()?);
                }
                let all = every.as_mut().expect("enumerated above");
                if index >= all.len() {
                    return Err(langevin::Error::invalid(
                        "--devices",
                        item,
                        format!(
                            "there are {} GPU adapters (gpu0 to gpu{})",
                            all.len(),
                            all.len().saturating_sub(1)
                        ),
                    )
                    .into());
                }
                // Each listed adapter gets its own device, so the same one may be listed twice.
                let fresh = Engine::every_gpu()?;
                fresh.into_iter().nth(index).expect("the same adapters")
            }
        };
        engines.push(engine);
    }
    Ok(engines)
}

/// What a diverging trajectory does to a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum OnDiverge {
    /// Count it, leave it out of the statistics, warn on stderr.
    Warn,
    /// Exit with an error once the results are written.
    Fail,
}

/// The error of a run whose results are written but whose trajectories diverged (exit status
/// [`EXIT_DIVERGED`]).
#[derive(Debug)]
struct Diverged(String);

impl std::fmt::Display for Diverged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Diverged {}

/// Warns on stderr about trajectories that became NaN or infinite (from which save time);
/// fails under `--on-diverge fail`, and without `--on-diverge` when every trajectory diverged
/// (a run with no statistics is not a success; a model with a negative value under `sqrt`
/// or a `log` of 0 gives one).
fn report_divergence(
    result: &langevin::EnsembleResult,
    on: Option<OnDiverge>,
    dir: &std::path::Path,
) -> Result<()> {
    let last = result.times.len() - 1;
    let count = result.diverged(last);
    if count == 0 {
        return Ok(());
    }
    let from = (0..=last)
        .find(|&k| result.diverged(k) > 0)
        .map_or(f64::NAN, |k| result.times[k]);
    let message = format!(
        "{count} of {} trajectories diverged (NaN or infinite), the first by save time {from}; \
         they are left out of the statistics (summary.json: diverged, diverged_by_time in {})",
        result.trajectories,
        dir.display()
    );
    match on {
        Some(OnDiverge::Warn) => {
            eprintln!("warning: {message}");
            Ok(())
        }
        Some(OnDiverge::Fail) => Err(Diverged(format!("--on-diverge fail: {message}")).into()),
        None if count >= result.trajectories => Err(Diverged(format!(
            "every trajectory diverged, so the run has no statistics (is a value under sqrt \
             negative, or a log taken of 0?); --on-diverge warn accepts such a run: {message}"
        ))
        .into()),
        None => {
            eprintln!("warning: {message}");
            Ok(())
        }
    }
}

/// Warns on stderr about parameters that no expression of the config names.
fn warn_unused_params(cfg: &Config, quiet: bool) {
    if quiet {
        return;
    }
    for p in cfg.unused_params() {
        eprintln!("warning: model.params.{p} is not used by any expression of the model");
    }
}

/// Exit status for input the user can fix (a config, a value, an expression, an output
/// folder that holds another run).
const EXIT_BAD_INPUT: u8 = 2;

/// Exit status of a run that wrote its results but whose trajectories diverged: all of them,
/// or any under `--on-diverge fail`.
const EXIT_DIVERGED: u8 = 3;

fn main() -> std::process::ExitCode {
    provenance::start();
    match run_cli() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<checkpoint::Interrupted>().is_some() => {
            eprintln!("{e:#}");
            let status = e
                .downcast_ref::<checkpoint::Interrupted>()
                .map_or(1, checkpoint::Interrupted::status);
            std::process::ExitCode::from(status)
        }
        // A reader that stops early (`langevin zoo | head`) is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            std::process::ExitCode::SUCCESS
        }
        Err(e) if e.downcast_ref::<Diverged>().is_some() => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(EXIT_DIVERGED)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            let bad_input = matches!(
                e.downcast_ref::<langevin::Error>(),
                Some(
                    langevin::Error::InvalidInput { .. }
                        | langevin::Error::Expression { .. }
                        | langevin::Error::Config { .. }
                        | langevin::Error::Limit(_)
                )
            );
            std::process::ExitCode::from(if bad_input { EXIT_BAD_INPUT } else { 1 })
        }
    }
}

fn load_config(
    path: &PathBuf,
    set: &[String],
    trajectories: Option<u64>,
    seed: Option<u64>,
) -> Result<Config> {
    let (text, overrides) = read_config(path, set, trajectories, seed)?;
    Ok(Config::from_toml(
        &path.display().to_string(),
        &text,
        &overrides,
    )?)
}

/// A config file's text and the overrides of `--set`, `--trajectories` and `--seed`.
fn read_config(
    path: &PathBuf,
    set: &[String],
    trajectories: Option<u64>,
    seed: Option<u64>,
) -> Result<(String, Vec<(String, String)>)> {
    let text = std::fs::read_to_string(path).map_err(|e| langevin::Error::Config {
        origin: path.display().to_string(),
        message: format!("cannot read the config: {e}"),
    })?;
    let mut overrides = Vec::new();
    for kv in set {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| langevin::Error::invalid("--set", kv, "expected KEY=VALUE"))?;
        overrides.push((k.trim().to_string(), v.trim().to_string()));
    }
    if let Some(n) = trajectories {
        overrides.push(("ensemble.trajectories".into(), n.to_string()));
    }
    if let Some(s) = seed {
        overrides.push(("ensemble.seed".into(), s.to_string()));
    }
    Ok((text, overrides))
}

fn run_cli() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            config,
            out,
            overwrite,
            trajectories,
            seed,
            set,
            quiet,
            shard,
            on_diverge,
            checkpoint_every,
            checkpoint_piece,
            resume,
            max_memory,
            max_output,
            devices,
        } => {
            let resumed = resume
                .as_ref()
                .map(|d| checkpoint::Checkpoint::read(d))
                .transpose()?;
            let (text, overrides, origin) = match (&resumed, &config) {
                (Some(c), given) => {
                    if let Some(path) = given {
                        let (t, o) = read_config(path, &set, trajectories, seed)?;
                        if shards::fingerprint(&t, &o) != c.fingerprint() {
                            return Err(langevin::Error::invalid(
                                "--resume",
                                path.display(),
                                "another config (or other overrides) than the checkpoint's: it was not used",
                            )
                            .into());
                        }
                    }
                    (
                        c.config_text.clone(),
                        c.overrides.clone(),
                        c.config_origin.clone(),
                    )
                }
                (None, Some(path)) => {
                    let (t, o) = read_config(path, &set, trajectories, seed)?;
                    (t, o, path.display().to_string())
                }
                (None, None) => unreachable!("clap requires a config without --resume"),
            };
            let out = resume.clone().or(out);
            let cfg = Config::from_toml(&origin, &text, &overrides)?;
            // The options that only some kinds support are refused, naming the kinds that do.
            let kind = Kind::named(&cfg.kind)?;
            for (given, option) in [
                (shard.is_some(), RunOption::Shard),
                (devices.is_some(), RunOption::Devices),
                (max_memory.is_some(), RunOption::MaxMemory),
                (
                    resumed.is_some() || checkpoint_every.is_some() || checkpoint_piece.is_some(),
                    RunOption::Checkpoint,
                ),
            ] {
                if given {
                    kind.require(option)?;
                }
            }
            warn_unused_params(&cfg, quiet);
            let checkpoint_every = checkpoint_every.unwrap_or(600.0);
            let mut rules = outputs::Rules {
                overwrite,
                resuming: resume.is_some(),
                create_now: false,
            };
            if !(checkpoint_every.is_finite() && checkpoint_every >= 0.0) {
                return Err(langevin::Error::invalid(
                    "--checkpoint-every",
                    checkpoint_every,
                    "seconds, at least 0",
                )
                .into());
            }
            let shard = shard
                .map(|s| langevin::shard::Shard::parse(&s))
                .transpose()?;
            if let Some(run) = kinds::commands(kind.name).run {
                return run(&cfg, cli.backend, out, rules, quiet);
            }
            let mut spec = cfg.to_spec()?;
            memory::bound(&mut spec, max_memory.as_deref())?;
            let resolved = spec.resolve()?;
            if !quiet {
                for w in spec.stability_warnings(resolved.dt) {
                    eprintln!("warning: {w}");
                }
            }
            let pieces = shard.is_none() && langevin::shard::check_spec(&spec).is_ok();
            // A checkpointed run keeps its checkpoint in the run's folder while it runs.
            rules.create_now = pieces;
            let folder = match shard {
                Some(sh) => outputs::run_dir(
                    &format!("{}/shard-{}-of-{}", cfg.name, sh.index, sh.count),
                    out,
                    rules,
                )?,
                None => outputs::run_dir(&cfg.name, out, rules)?,
            };
            let dir = folder.dir().to_path_buf();
            let stage = folder.staging().to_path_buf();
            let unwritten = |e: anyhow::Error| {
                e.context(format!(
                    "cannot write the results: nothing of this run was written to {}",
                    dir.display()
                ))
            };
            memory::check_output(&spec, &dir, max_output.as_deref(), pieces)?;
            let engines = match &devices {
                Some(list) => {
                    if !pieces {
                        return Err(langevin::Error::invalid(
                            "--devices",
                            list,
                            "splits ensemble runs without sweeps, events or jumps, and not a --shard",
                        )
                        .into());
                    }
                    let engines = devices_of(list)?;
                    if !quiet {
                        for e in &engines {
                            eprintln!("langevin: running on {}", e.selection());
                        }
                    }
                    engines
                }
                None => vec![engine(cli.backend, quiet)?],
            };
            let engine = &engines[0];
            let mut bar = progress::Bar::new(quiet);
            if resumed.is_some() && !pieces {
                return Err(langevin::Error::invalid(
                    "--resume",
                    &cfg.kind,
                    "this run is not checkpointed",
                )
                .into());
            }
            let result = match shard {
                Some(sh) => shards::run(
                    engine,
                    &spec,
                    sh,
                    &text,
                    &origin,
                    &overrides,
                    &stage,
                    &mut |p| bar.update(p),
                )?,
                None if pieces => {
                    let steps = spec.resolve()?.n_steps;
                    let piece = resumed
                        .as_ref()
                        .map(|c| c.piece)
                        .unwrap_or_else(|| checkpoint::piece_size(steps, checkpoint_piece));
                    let source = checkpoint::Source {
                        text: &text,
                        origin: &origin,
                        overrides: &overrides,
                    };
                    match checkpoint::run(
                        &engines,
                        &spec,
                        &source,
                        &dir,
                        piece,
                        std::time::Duration::from_secs_f64(checkpoint_every),
                        resumed,
                        &mut |p| bar.update(p),
                    )? {
                        checkpoint::Outcome::Done(r) => r,
                        checkpoint::Outcome::Stopped { result, signal } => {
                            bar.finish();
                            let finished = result.is_some();
                            let stopped =
                                checkpoint::stopped(&stage, &dir, &cfg, &spec, result, signal)
                                    .map_err(unwritten)?;
                            if finished {
                                folder.commit()?;
                            }
                            // Dropping a device waits for its queue, which may still hold the
                            // rest of the stopped piece: the process ends without that wait.
                            std::mem::forget(engines);
                            return Err(stopped.into());
                        }
                    }
                }
                None => engine.run_with_progress(&spec, &mut |p| bar.update(p))?,
            };
            bar.finish();
            if shard.is_none() {
                outputs::write_all(&stage, &cfg, &spec, &result).map_err(unwritten)?;
            }
            folder.commit()?;
            // Kept until the results are in place, so that a run whose writing fails can
            // still be resumed.
            checkpoint::remove(&dir);
            if let Some(a) = result.adaptive.filter(|a| a.exhausted > 0) {
                eprintln!(
                    "warning: {} trajectories used up solver.max_steps = {} {} before t_end; they are left out of the statistics",
                    a.exhausted,
                    spec.adaptive.max_steps,
                    if spec.scheme == Scheme::Ssa { "events" } else { "attempts" }
                );
            }
            if let Some(a) = result
                .adaptive
                .filter(|a| spec.scheme.kind() == langevin::SchemeKind::Jump && a.rejected > 0)
            {
                eprintln!(
                    "warning: in {} trajectories a propensity expression was negative; it was taken as zero",
                    a.rejected
                );
            }
            if !quiet {
                println!(
                    "{}: {} trajectories x {} steps on {} in {:.3} s ({:.3e} trajectory-steps/s), {} diverged; wrote {}",
                    cfg.name,
                    result.trajectories,
                    result.steps,
                    result.device.name,
                    result.run_time.as_secs_f64(),
                    result.trajectory_steps_per_second(),
                    result.diverged(result.times.len() - 1),
                    dir.display()
                );
            }
            report_divergence(&result, on_diverge, &dir)?;
        }
        Command::Merge {
            shards,
            out,
            overwrite,
            quiet,
            partial,
        } => {
            let rules = outputs::Rules {
                overwrite,
                ..outputs::Rules::default()
            };
            let (dir, cfg, result) = shards::merge(&shards, out, rules, partial)?;
            if !quiet {
                println!(
                    "{}: merged {} shards, {} trajectories x {} steps ({} diverged); wrote {}",
                    cfg.name,
                    shards.len(),
                    result.trajectories,
                    result.steps,
                    result.diverged(result.times.len() - 1),
                    dir.display()
                );
            }
            report_divergence(&result, Some(OnDiverge::Warn), &dir)?;
        }
        Command::Compare {
            run_a,
            run_b,
            time,
            law,
            var,
            out,
            quiet,
        } => match (run_b, law) {
            (Some(b), None) => compare_cmd::run(&run_a, &b, time, out, quiet)?,
            (None, Some(law)) => {
                compare_cmd::against_law(&run_a, &law, var.as_deref(), time, out, quiet)?
            }
            _ => {
                return Err(langevin::Error::invalid(
                    "compare",
                    "its arguments",
                    "a second run folder or --law, one of the two",
                )
                .into())
            }
        },
        Command::Check { config } => {
            let cfg = load_config(&config, &[], None, None)?;
            warn_unused_params(&cfg, false);
            check_cmd::run(&config, &cfg)?;
        }
        Command::Example {
            name,
            trajectories,
            seed,
            scheme,
            dt,
            t_end,
        } => {
            let engine = engine(cli.backend, false)?;
            let mut spec = name.spec().seed(seed);
            if let Some(n) = trajectories {
                spec = spec.trajectories(n);
            }
            if let Some(s) = scheme {
                spec = spec.scheme(s);
            }
            if let Some(dt) = dt {
                spec = spec.dt(dt);
            }
            if let Some(t_end) = t_end {
                let t0 = spec.t0;
                spec = spec.time_span(t0, t_end);
            }
            let result = engine.run(&spec)?;
            report::print(&mut std::io::stdout().lock(), name.title(), &spec, &result)?;
        }
        Command::Lyapunov {
            config,
            t_burn,
            trajectories,
            spread,
            spectrum,
            set,
            max_doublings,
            out,
        } => {
            let cfg = load_config(&config, &set, None, None)?;
            let options = lyapunov_cmd::Options {
                t_burn,
                trajectories,
                spread,
                spectrum,
                max_doublings,
                out,
            };
            lyapunov_cmd::run(&cfg, &options, || engine(cli.backend, false))?;
        }
        Command::Bench {
            size,
            only,
            repeats,
            cpu_max,
            max_log2,
            no_cpu,
            json,
        } => bench_cmd::run(
            cli.backend,
            &bench_cmd::Options {
                size,
                only: &only,
                repeats,
                cpu_max,
                max_log2,
                no_cpu,
                json: &json,
            },
        )?,
        Command::Zoo => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<22} {:>3}  {:<44} reference",
                "system", "dim", "parameters"
            )?;
            for s in langevin::zoo::SYSTEMS {
                let params: Vec<String> =
                    s.params.iter().map(|(n, v)| format!("{n}={v}")).collect();
                writeln!(
                    out,
                    "{:<22} {:>3}  {:<44} {}",
                    s.name,
                    s.state.len(),
                    params.join(" "),
                    s.citation
                )?;
            }
        }
        Command::Info => {
            let engine = engine(cli.backend, false)?;
            report::info(&mut std::io::stdout().lock(), &engine)?;
        }
        Command::Schemes => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<16} {:<22} {:>12} {:>10}",
                "scheme", "integrates", "strong order", "weak order"
            )?;
            for s in Scheme::ALL {
                writeln!(
                    out,
                    "{:<16} {:<22} {:>12} {:>10}",
                    s.name(),
                    s.kind().describe(),
                    order(s.strong_order()),
                    order(s.weak_order())
                )?;
            }
            writeln!(
                out,
                "(for an ODE scheme, both columns give its classical order; ssa samples the jump \
                 process exactly)"
            )?;
            writeln!(
                out,
                "(tau_leap near a stationary state of mean count N inflates the variance, by up to \
                 1 / (1 - eps^2 N / 4): 1.24 at N = 1000 and 2.5 at N = 4000 with the default \
                 eps = solver.rtol = 0.03; eps <= 2 sqrt(delta / N) keeps it within delta)"
            )?;
        }
    }
    Ok(())
}

/// An order of convergence for listings: "exact" for an exact sampler.
pub(crate) fn order(value: f64) -> String {
    if value.is_finite() {
        value.to_string()
    } else {
        "exact".to_string()
    }
}
