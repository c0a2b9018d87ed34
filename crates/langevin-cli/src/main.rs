//! `langevin`: runs stochastic-dynamics ensembles headless on any GPU wgpu reaches, or on the
//! CPU twin when there is none.

mod bench_cmd;
mod cbo_outputs;
mod chain_outputs;
mod checkpoint;
mod comparison;
mod examples;
mod field_outputs;
mod jump_outputs;
mod kuramoto_outputs;
mod lyapunov_cmd;
mod memory;
mod outputs;
mod plots;
mod progress;
mod provenance;
mod report;
mod shards;
mod vicsek_outputs;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use langevin::config::Config;
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
        /// Output folder (default runs/<name>).
        #[arg(long)]
        out: Option<PathBuf>,
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
        /// leave it out of the statistics, say so on stderr) or `fail` (exit with an error,
        /// after writing the results).
        #[arg(long, value_enum, default_value_t = OnDiverge::Warn)]
        on_diverge: OnDiverge,
        /// Seconds between checkpoints of an ensemble run (checkpoint.json in the output
        /// folder, written atomically; also written on SIGINT / SIGTERM).
        #[arg(long, default_value_t = 600.0, value_name = "SECONDS")]
        checkpoint_every: f64,
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
        /// Prints nothing but errors.
        #[arg(long)]
        quiet: bool,
        /// Merges shards that leave some of the run's trajectories out (refused otherwise):
        /// the summary says "partial": true and lists the missing ranges.
        #[arg(long)]
        partial: bool,
    },
    /// Validates a config and prints the generated WGSL of its kernel.
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
    },
    /// Times the fixed workloads (OU, double well, Lorenz, Schloegl, Kuramoto, KG, FFT) on
    /// the GPU backend and the CPU twin, checks each result, prints a table and writes JSON.
    Bench {
        /// tiny (checks only, seconds), small (2^16 trajectories) or standard (the reference
        /// sizes of BENCHMARKS.md).
        #[arg(long, default_value = "small")]
        size: langevin::bench::Size,
        /// Only these workloads (comma-separated: ou, double_well, lorenz, lorenz_dopri5,
        /// schloegl_ssa, kuramoto, kg, fft).
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

/// Warns on stderr about trajectories that became NaN or infinite (from which save time),
/// and fails under `--on-diverge fail`.
fn report_divergence(
    result: &langevin::EnsembleResult,
    on: OnDiverge,
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
        OnDiverge::Warn => {
            eprintln!("warning: {message}");
            Ok(())
        }
        OnDiverge::Fail => Err(anyhow::anyhow!("--on-diverge fail: {message}")),
    }
}

/// Exit status for input the user can fix (a config, a value, an expression).
const EXIT_BAD_INPUT: u8 = 2;

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
            if !(checkpoint_every.is_finite() && checkpoint_every >= 0.0) {
                return Err(langevin::Error::invalid(
                    "--checkpoint-every",
                    checkpoint_every,
                    "seconds, at least 0",
                )
                .into());
            }
            let cfg = Config::from_toml(&origin, &text, &overrides)?;
            let shard = shard
                .map(|s| langevin::shard::Shard::parse(&s))
                .transpose()?;
            if shard.is_some()
                && matches!(
                    cfg.kind.as_str(),
                    "kuramoto" | "chain" | "cbo" | "vicsek" | "field"
                )
            {
                return Err(langevin::Error::invalid(
                    "--shard",
                    &cfg.kind,
                    "only ensembles of independent trajectories (sde, ode, langevin) split into shards",
                )
                .into());
            }
            match cfg.kind.as_str() {
                "kuramoto" => return kuramoto_outputs::run(&cfg, cli.backend, out, quiet),
                "chain" => return chain_outputs::run(&cfg, cli.backend, out, quiet),
                "cbo" => return cbo_outputs::run(&cfg, cli.backend, out, quiet),
                "vicsek" => return vicsek_outputs::run(&cfg, cli.backend, out, quiet),
                "field" => return field_outputs::run(&cfg, cli.backend, out, quiet),
                _ => {}
            }
            let mut spec = cfg.to_spec()?;
            memory::bound(&mut spec, max_memory.as_deref())?;
            let resolved = spec.resolve()?;
            if !quiet {
                for w in spec.stability_warnings(resolved.dt) {
                    eprintln!("warning: {w}");
                }
            }
            let dir = match shard {
                Some(sh) => outputs::run_dir(
                    &format!("{}/shard-{}-of-{}", cfg.name, sh.index, sh.count),
                    out,
                )?,
                None => outputs::run_dir(&cfg.name, out)?,
            };
            let pieces = shard.is_none() && langevin::shard::check_spec(&spec).is_ok();
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
                    &dir,
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
                            let stopped = checkpoint::stopped(&dir, &cfg, &spec, result, signal)?;
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
                outputs::write_all(&dir, &cfg, &spec, &result)?;
            }
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
            quiet,
            partial,
        } => {
            let (dir, cfg, result) = shards::merge(&shards, out, partial)?;
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
            report_divergence(&result, OnDiverge::Warn, &dir)?;
        }
        Command::Check { config } => {
            let cfg = load_config(&config, &[], None, None)?;
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
                )?;
                step
            };
            println!("{}", kernel.wgsl);
            let stepping = if spec.scheme == Scheme::Ssa {
                format!("up to {} events per trajectory", spec.adaptive.max_steps)
            } else {
                format!("{} steps of dt = {}", run.n_steps, run.dt)
            };
            eprintln!(
                "{}: valid; {} ({}, strong order {}, weak order {}), {stepping}, {} save times, kernel validated by naga",
                config.display(),
                spec.scheme,
                spec.scheme.kind().describe(),
                order(spec.scheme.strong_order()),
                order(spec.scheme.weak_order()),
                run.times.len()
            );
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
        } => {
            let cfg = load_config(&config, &set, None, None)?;
            let options = lyapunov_cmd::Options {
                t_burn,
                trajectories,
                spread,
                spectrum,
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
        }
    }
    Ok(())
}

/// An order of convergence for listings: "exact" for an exact sampler.
fn order(value: f64) -> String {
    if value.is_finite() {
        value.to_string()
    } else {
        "exact".to_string()
    }
}
