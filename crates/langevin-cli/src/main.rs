//! `langevin`: runs stochastic-dynamics ensembles headless on any GPU wgpu reaches, or on the
//! CPU twin when there is none.

mod cbo_outputs;
mod chain_outputs;
mod comparison;
mod examples;
mod field_outputs;
mod jump_outputs;
mod kuramoto_outputs;
mod lyapunov_cmd;
mod outputs;
mod plots;
mod progress;
mod report;
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
        /// The config file.
        config: PathBuf,
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

/// Exit status for input the user can fix (a config, a value, an expression).
const EXIT_BAD_INPUT: u8 = 2;

fn main() -> std::process::ExitCode {
    match run_cli() {
        Ok(()) => std::process::ExitCode::SUCCESS,
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
    Ok(Config::from_toml(
        &path.display().to_string(),
        &text,
        &overrides,
    )?)
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
        } => {
            let cfg = load_config(&config, &set, trajectories, seed)?;
            match cfg.kind.as_str() {
                "kuramoto" => return kuramoto_outputs::run(&cfg, cli.backend, out, quiet),
                "chain" => return chain_outputs::run(&cfg, cli.backend, out, quiet),
                "cbo" => return cbo_outputs::run(&cfg, cli.backend, out, quiet),
                "vicsek" => return vicsek_outputs::run(&cfg, cli.backend, out, quiet),
                "field" => return field_outputs::run(&cfg, cli.backend, out, quiet),
                _ => {}
            }
            let spec = cfg.to_spec()?;
            spec.resolve()?;
            let dir = outputs::run_dir(&cfg.name, out)?;
            let engine = engine(cli.backend, quiet)?;
            let mut bar = progress::Bar::new(quiet);
            let result = engine.run_with_progress(&spec, &mut |p| bar.update(p))?;
            bar.finish();
            outputs::write_all(&dir, &cfg, &spec, &result)?;
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
        }
        Command::Check { config } => {
            let cfg = load_config(&config, &[], None, None)?;
            let spec = cfg.to_spec()?;
            let run = spec.resolve()?;
            let kernel = if spec.scheme.is_adaptive() {
                langevin::gpu::ode_adaptive::compose(spec.model.as_ref(), spec.scheme)?
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
