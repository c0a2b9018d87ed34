//! `langevin`: runs stochastic-dynamics ensembles headless on any GPU wgpu reaches, or on the
//! CPU twin when there is none.

mod examples;
mod report;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use langevin::{BackendChoice, Engine, Scheme};

#[derive(Parser)]
#[command(
    name = "langevin",
    version,
    about = "Massively parallel stochastic dynamics on any GPU"
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
        /// Scheme (euler_maruyama, milstein).
        #[arg(long)]
        scheme: Option<Scheme>,
        /// Time step (default: the example's own).
        #[arg(long)]
        dt: Option<f64>,
        /// End time (default: the example's own).
        #[arg(long)]
        t_end: Option<f64>,
    },
    /// Describes the backend: adapter, driver, features, limits.
    Info,
    /// Lists the schemes with their orders of convergence.
    Schemes,
}

fn engine(choice: Option<BackendChoice>) -> Result<Engine> {
    let choice = match choice {
        Some(c) => c,
        None => BackendChoice::from_env()?,
    };
    let engine = Engine::new(choice).context("cannot start the backend")?;
    eprintln!("langevin: running on {}", engine.selection());
    Ok(engine)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Example {
            name,
            trajectories,
            seed,
            scheme,
            dt,
            t_end,
        } => {
            let engine = engine(cli.backend)?;
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
        Command::Info => {
            let engine = engine(cli.backend)?;
            report::info(&mut std::io::stdout().lock(), &engine)?;
        }
        Command::Schemes => {
            println!(
                "{:<16} {:>12} {:>10}",
                "scheme", "strong order", "weak order"
            );
            for s in Scheme::ALL {
                println!(
                    "{:<16} {:>12} {:>10}",
                    s.name(),
                    s.strong_order(),
                    s.weak_order()
                );
            }
        }
    }
    Ok(())
}
