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
    /// Run longer, doubling t_end up to this many times the config's, until the halves of
    /// the window agree (0: one run of the config's length).
    pub max_doublings: u32,
    /// Where to write `lyapunov.json`.
    pub out: Option<std::path::PathBuf>,
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
    let mut report = serde_json::Map::new();
    report.insert("name".into(), cfg.name.clone().into());
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
        let max_t_end = t_end * f64::from(1u32 << options.max_doublings.min(16));
        let burn_fraction = options.t_burn.is_none().then_some(0.1);
        let c = lyapunov::converged_exponent(&engine()?, &model, &run, burn_fraction, max_t_end)?;
        let l = c.estimate;
        println!(
            "{}: largest Lyapunov exponent {:.5} ± {:.5} (standard error; spread {:.4} over {} \
             trajectories, {} diverged; counted over t in [{}, {}], RK4 dt = {})",
            cfg.name,
            l.exponent,
            l.std_error,
            l.spread,
            l.trajectories,
            l.diverged,
            c.t_burn,
            c.t_end,
            spec.dt
        );
        let running: Vec<String> = c
            .running
            .iter()
            .map(|(t, e)| format!("{e:.4} at t = {t}"))
            .collect();
        println!("  the estimate over [t_burn, t]: {}", running.join(", "));
        println!(
            "  over the first half of the window {:.5}, over the second {:.5}: {}",
            c.halves[0],
            c.halves[1],
            if c.converged {
                "converged"
            } else {
                "NOT converged"
            }
        );
        if !c.converged {
            eprintln!(
                "warning: the estimate has not converged: its halves differ by {:.2}% after \
                 t_end = {} (finite-time bias); raise solver.t_end or --max-doublings",
                100.0 * (c.halves[0] - c.halves[1]).abs() / l.exponent.abs(),
                c.t_end
            );
        }
        report.insert("largest".into(), serde_json::json!({
            "exponent": l.exponent,
            "std_error": l.std_error,
            "spread": l.spread,
            "trajectories": l.trajectories,
            "diverged": l.diverged,
            "t_burn": c.t_burn,
            "t_end": c.t_end,
            "dt": spec.dt,
            "running": c.running.iter().map(|(t, e)| serde_json::json!({"t": t, "exponent": e})).collect::<Vec<_>>(),
            "halves": c.halves,
            "converged": c.converged,
        }));
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
            report.insert("dysts".into(), reference.into());
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
        report.insert("spectrum".into(), exponents.into());
    }
    if let Some(dir) = &options.out {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("lyapunov.json");
        let tmp = dir.join(format!("lyapunov.json.tmp-{}", std::process::id()));
        std::fs::write(&tmp, serde_json::to_string_pretty(&report)?)?;
        std::fs::rename(&tmp, &path)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
