//! `langevin lyapunov`: the largest Lyapunov exponent of a config's ODE model over an ensemble
//! on the backend, and on request the whole spectrum on the CPU in f64.

use anyhow::Result;
use langevin::config::Config;
use langevin::lyapunov::{self, LyapunovRun};
use langevin::{Engine, InitialState, Model, MAX_DIM};

/// The command's options.
pub struct Options {
    /// Time before growth is counted (default: a tenth of the run).
    pub t_burn: Option<f64>,
    /// Trajectories of the ensemble estimate.
    pub trajectories: u64,
    /// Standard deviation of the cloud of starting points.
    pub spread: f64,
    /// Also compute the whole spectrum.
    pub spectrum: bool,
}

/// Runs the estimates and prints them; `engine` is made only when the tangent dynamics fit
/// the kernels.
pub fn run(cfg: &Config, options: &Options, engine: impl FnOnce() -> Result<Engine>) -> Result<()> {
    let spec = cfg.to_spec()?;
    if spec.adaptive.precision != langevin::Precision::F32 {
        return Err(langevin::Error::invalid(
            "solver.precision",
            spec.adaptive.precision.name(),
            "the Lyapunov estimates step their tangent dynamics in f32: leave solver.precision out",
        )
        .into());
    }
    let (model, _) = cfg.model()?;
    let x0: Vec<f64> = match &spec.initial {
        InitialState::Laws(laws) => laws.iter().map(|l| l.centre()).collect(),
        InitialState::Fixed(x) => x.clone(),
        InitialState::Normal { mean, .. } => mean.clone(),
    };
    let t_end = spec.t_end - spec.t0;
    let t_burn = options.t_burn.unwrap_or(0.1 * t_end);
    let fits = 2 * model.dim() < MAX_DIM;
    if fits || !options.spectrum {
        let run = LyapunovRun {
            x0: x0.clone(),
            spread: options.spread,
            t_burn,
            t_end,
            dt: spec.dt,
            trajectories: options.trajectories,
            seed: spec.seed,
        };
        let l = lyapunov::largest_exponent(&engine()?, &model, &run)?;
        println!(
            "{}: largest Lyapunov exponent {:.5} ± {:.5} (standard error; spread {:.4} over {} \
             trajectories, {} diverged; counted over t in [{t_burn}, {t_end}], RK4 dt = {})",
            cfg.name, l.exponent, l.std_error, l.spread, l.trajectories, l.diverged, spec.dt
        );
    } else {
        eprintln!(
            "{}: the tangent dynamics of {} components do not fit the kernels; computing the \
             spectrum only",
            cfg.name,
            model.dim()
        );
    }
    if let Some(system) = cfg.model.system.as_deref() {
        let s = langevin::zoo::system(system)?;
        if let Some(reference) = s.dysts_lyapunov {
            println!(
                "  dysts' own estimate for `{}`: {reference:.4}",
                s.dysts_name
            );
        }
    }
    if options.spectrum {
        let exponents = lyapunov::spectrum(&model, &x0, t_burn, t_end, spec.dt)?;
        let shown: Vec<String> = exponents.iter().map(|e| format!("{e:.5}")).collect();
        println!(
            "  spectrum from the initial state (f64, QR, CPU): [{}], sum {:.5}",
            shown.join(", "),
            exponents.iter().sum::<f64>()
        );
    }
    Ok(())
}
