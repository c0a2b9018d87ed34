//! Lyapunov exponents of deterministic expression models.
//!
//! **Largest exponent, on either backend.** The tangent dynamics with continuous normalisation
//! is itself an ODE, so it runs on the ordinary ensemble kernels:
//! `x' = f(x)`, `u' = J(x) u - r u`, `s' = r` after `t_burn` (0 before), with
//! `r = u·J(x)u / u·u`. The normalisation keeps `|u|` constant (`d|u|^2/dt = 0` exactly), so a
//! long run in f32 neither overflows nor underflows, and `s(T) / (T - t_burn)` is each
//! trajectory's finite-time exponent. The Jacobian-vector product comes from symbolic
//! differentiation of the drift. Trajectories start from a small cloud around a point with
//! random tangent directions; their mean is the estimate and their spread its standard error.
//!
//! **Full spectrum, on the CPU in f64** for small dimensions: RK4 on `x` and on `d` tangent
//! vectors, re-orthonormalised by modified Gram-Schmidt after every step (the QR method of
//! Benettin et al. 1980 and Shimada and Nagashima 1979), summing the logarithms of the
//! diagonal of R.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::expr::{self, simplify, CmpOp, Node, Sym};
use crate::expr_model::ExprModel;
use crate::model::Model;
use crate::scheme::Scheme;
use crate::spec::{EnsembleSpec, InitialLaw, InitialState, SaveAt};
use crate::state::MAX_DIM;
use std::sync::Arc;

/// The parameter that holds the burn-in time in a tangent model.
const T_BURN: &str = "lyapunov_t_burn";

fn jacobian(model: &ExprModel) -> Vec<Vec<Node>> {
    let d = model.dim();
    model
        .drift_nodes()
        .iter()
        .map(|f| {
            (0..d)
                .map(|j| simplify::simplify(&expr::diff(f, Sym::State(j))))
                .collect()
        })
        .collect()
}

fn sum(terms: impl IntoIterator<Item = Node>) -> Node {
    terms.into_iter().fold(Node::Num(0.0), simplify::add)
}

/// The tangent dynamics of a deterministic model with `d` components, as an ODE model with
/// state `[x, u_x, log_growth]` (`2 d + 1` components, so `d <= 3`).
///
/// # Errors
/// [`Error::InvalidInput`] when the model has noise, [`Error::Limit`] when `2 d + 1` exceeds
/// the state limit.
pub fn tangent_model(model: &ExprModel, t_burn: f64) -> Result<ExprModel> {
    let d = model.dim();
    if model.has_noise() {
        return Err(Error::invalid(
            "model.diffusion",
            "given",
            "Lyapunov exponents are computed for deterministic models (kind = \"ode\")",
        ));
    }
    if 2 * d + 1 > MAX_DIM {
        return Err(Error::Limit(format!(
            "the tangent dynamics of a {d}-dimensional model has {} components; the kernels hold \
             {MAX_DIM} (models up to 3 dimensions; `lyapunov::spectrum`, or `langevin lyapunov --spectrum`, computes the exponents of larger ones on the CPU)",
            2 * d + 1
        )));
    }
    let names = model.state_names();
    let mut state = names.clone();
    state.extend(names.iter().map(|n| format!("u_{n}")));
    state.push("log_growth".into());
    let mut params = model.params();
    let burn_index = params.len();
    params.push((T_BURN.into(), t_burn));

    let u = |j: usize| Node::Sym(Sym::State(d + j));
    let jac = jacobian(model);
    let ju: Vec<Node> = jac
        .iter()
        .map(|row| {
            sum(row
                .iter()
                .enumerate()
                .map(|(j, a)| simplify::mul(a.clone(), u(j))))
        })
        .collect();
    let u_ju = sum(ju
        .iter()
        .enumerate()
        .map(|(i, v)| simplify::mul(u(i), v.clone())));
    let u_u = sum((0..d).map(|i| simplify::mul(u(i), u(i))));
    let rate = simplify::div(u_ju, u_u);

    let mut drift: Vec<Node> = model.drift_nodes().into_iter().cloned().collect();
    for (i, v) in ju.into_iter().enumerate() {
        drift.push(simplify::sub(v, simplify::mul(rate.clone(), u(i))));
    }
    drift.push(Node::If {
        cmp: CmpOp::Lt,
        lhs: Box::new(Node::Sym(Sym::Time)),
        rhs: Box::new(Node::Sym(Sym::Param(burn_index))),
        then: Box::new(Node::Num(0.0)),
        otherwise: Box::new(rate),
    });
    ExprModel::from_nodes(
        &format!("{}_tangent", model.name()),
        &state,
        &params,
        drift,
        Vec::new(),
    )
}

/// An ensemble estimate of the largest Lyapunov exponent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LyapunovEstimate {
    /// Mean of the finite-time exponents.
    pub exponent: f64,
    /// Its standard error over the trajectories.
    pub std_error: f64,
    /// Standard deviation of the finite-time exponents.
    pub spread: f64,
    /// Trajectories that stayed finite (the others are left out and counted below).
    pub trajectories: u64,
    /// Trajectories that became NaN or infinite.
    pub diverged: u64,
}

/// How to estimate the largest exponent.
#[derive(Clone, Debug, PartialEq)]
pub struct LyapunovRun {
    /// The centre of the cloud of starting points.
    pub x0: Vec<f64>,
    /// Standard deviation of the cloud around `x0`.
    pub spread: f64,
    /// Time before the growth is counted (the tangent vector aligns during it).
    pub t_burn: f64,
    /// End time.
    pub t_end: f64,
    /// RK4 step.
    pub dt: f64,
    /// Trajectories.
    pub trajectories: u64,
    /// Seed of the starting points and directions.
    pub seed: u64,
}

/// The largest Lyapunov exponent of `model` by the tangent dynamics, on `engine`'s backend.
///
/// # Errors
/// As [`tangent_model`], or for a run the engine refuses.
pub fn largest_exponent(
    engine: &Engine,
    model: &ExprModel,
    run: &LyapunovRun,
) -> Result<LyapunovEstimate> {
    let (r, d) = run_tangent(engine, model, run, SaveAt::Count(1))?;
    let growth = r.moments[0][2 * d];
    let span = run.t_end - run.t_burn;
    Ok(LyapunovEstimate {
        exponent: growth.mean / span,
        std_error: growth.std_error() / span,
        spread: growth.variance().sqrt() / span,
        trajectories: growth.count,
        diverged: r.trajectories - growth.count,
    })
}

/// The largest exponent with its convergence: the estimate over `[t_burn, t]` at eight times
/// `t` up to `t_end`, and over each half of the window apart.
#[derive(Clone, Debug, PartialEq)]
pub struct LyapunovConvergence {
    /// The estimate over the whole window `[t_burn, t_end]` of the last run.
    pub estimate: LyapunovEstimate,
    /// `(t, estimate over [t_burn, t])` at eight times of the window.
    pub running: Vec<(f64, f64)>,
    /// The estimates over the first and the second half of the window.
    pub halves: [f64; 2],
    /// The window of the last run.
    pub t_burn: f64,
    /// The end of the last run.
    pub t_end: f64,
    /// Whether the halves agree (see [`converged_exponent`]).
    pub converged: bool,
}

/// How far apart the halves of the window may be, relative to the estimate, for it to count
/// as converged (beyond 5 standard errors of each half).
pub const HALVES_TOLERANCE: f64 = 0.02;

/// The largest exponent, run for longer until the estimates over the two halves of the
/// window agree: the finite-time exponent approaches the exponent as `c / T` (the transient
/// of the tangent vector's alignment and of the approach to the attractor), a bias that the
/// ensemble's standard error does not show. Each further run doubles `t_end` (and a burn-in
/// of `burn_fraction` of it, when given), up to `max_t_end`; the last one is returned, with
/// `converged` false if the halves still differ by more than [`HALVES_TOLERANCE`] of the
/// estimate plus 5 standard errors of each.
///
/// # Errors
/// As [`largest_exponent`].
pub fn converged_exponent(
    engine: &Engine,
    model: &ExprModel,
    run: &LyapunovRun,
    burn_fraction: Option<f64>,
    max_t_end: f64,
) -> Result<LyapunovConvergence> {
    let mut run = run.clone();
    loop {
        let times: Vec<f64> = (0..=8)
            .map(|k| run.t_burn + (run.t_end - run.t_burn) * f64::from(k) / 8.0)
            .collect();
        let (r, d) = run_tangent(engine, model, &run, SaveAt::Times(times))?;
        let growth: Vec<_> = r.moments.iter().map(|m| m[2 * d]).collect();
        let t_burn = r.times[0];
        let rate = |a: usize, b: usize| {
            let span = r.times[b] - r.times[a];
            let mean = (growth[b].mean - growth[a].mean) / span;
            // The halves share trajectories; each half's error is bounded by the larger of
            // the two ends' standard errors over its span.
            let se = growth[b].std_error().max(growth[a].std_error()) / span;
            (mean, se)
        };
        let (first, se1) = rate(0, 4);
        let (second, se2) = rate(4, 8);
        let last = growth[8];
        let span = r.times[8] - t_burn;
        let estimate = LyapunovEstimate {
            exponent: last.mean / span,
            std_error: last.std_error() / span,
            spread: last.variance().sqrt() / span,
            trajectories: last.count,
            diverged: r.trajectories - last.count,
        };
        let converged = (first - second).abs()
            <= HALVES_TOLERANCE * estimate.exponent.abs() + 5.0 * (se1 + se2);
        let running = (1..=8)
            .map(|k| (r.times[k], growth[k].mean / (r.times[k] - t_burn)))
            .collect();
        if converged || 2.0 * run.t_end > max_t_end {
            return Ok(LyapunovConvergence {
                estimate,
                running,
                halves: [first, second],
                t_burn,
                t_end: r.times[8],
                converged,
            });
        }
        run.t_end *= 2.0;
        if let Some(f) = burn_fraction {
            run.t_burn = f * run.t_end;
        }
    }
}

/// Runs the tangent dynamics of `model` from a cloud about `run.x0`, saving at `saves`; the
/// result's component `2 d` is each trajectory's log growth since `t_burn`.
fn run_tangent(
    engine: &Engine,
    model: &ExprModel,
    run: &LyapunovRun,
    saves: SaveAt,
) -> Result<(crate::EnsembleResult, usize)> {
    let d = model.dim();
    if run.x0.len() != d {
        return Err(Error::invalid(
            "x0",
            format!("{} values", run.x0.len()),
            format!("expected one per state variable ({d})"),
        ));
    }
    if !(run.t_end > run.t_burn && run.t_burn >= 0.0) {
        return Err(Error::invalid(
            "t_burn",
            run.t_burn,
            format!("must lie in [0, t_end = {})", run.t_end),
        ));
    }
    let tangent = tangent_model(model, run.t_burn)?;
    let mut laws: Vec<InitialLaw> = run
        .x0
        .iter()
        .map(|&m| InitialLaw::Normal {
            mean: m,
            sd: run.spread,
        })
        .collect();
    laws.extend((0..d).map(|_| InitialLaw::Normal { mean: 0.0, sd: 1.0 }));
    laws.push(InitialLaw::Fixed(0.0));
    let mut spec = EnsembleSpec::with_model(Arc::new(tangent))
        .scheme(Scheme::Rk4)
        .time_span(0.0, run.t_end)
        .dt(run.dt)
        .trajectories(run.trajectories)
        .seed(run.seed)
        .save_at(saves);
    spec.initial = InitialState::Laws(laws);
    Ok((engine.run(&spec)?, d))
}

/// The full Lyapunov spectrum (largest first) of a deterministic model from `x0`, in f64 on
/// the CPU: RK4 steps of `dt` for the state and `d` tangent vectors, QR by modified
/// Gram-Schmidt after every step, growth counted after `t_burn`.
///
/// # Errors
/// [`Error::InvalidInput`] for a model with noise, a wrong `x0` or times out of order.
pub fn spectrum(
    model: &ExprModel,
    x0: &[f64],
    t_burn: f64,
    t_end: f64,
    dt: f64,
) -> Result<Vec<f64>> {
    let d = model.dim();
    if model.has_noise() {
        return Err(Error::invalid(
            "model.diffusion",
            "given",
            "Lyapunov exponents are computed for deterministic models",
        ));
    }
    if x0.len() != d {
        return Err(Error::invalid(
            "x0",
            format!("{} values", x0.len()),
            format!("expected one per state variable ({d})"),
        ));
    }
    if !(dt > 0.0 && t_end > t_burn && t_burn >= 0.0) {
        return Err(Error::invalid(
            "t_burn",
            t_burn,
            "needs 0 <= t_burn < t_end and dt > 0",
        ));
    }
    let p: Vec<f64> = model.params().iter().map(|(_, v)| *v).collect();
    let f = model.drift_nodes();
    let jac = jacobian(model);
    // The extended field: state then d tangent vectors, column k at d (k + 1).
    let field = |t: f64, y: &[f64]| -> Vec<f64> {
        let x = &y[..d];
        let mut out = vec![0.0; d * (d + 1)];
        for i in 0..d {
            out[i] = expr::eval_f64(f[i], t, x, &p);
        }
        let j: Vec<Vec<f64>> = jac
            .iter()
            .map(|row| row.iter().map(|a| expr::eval_f64(a, t, x, &p)).collect())
            .collect();
        for k in 0..d {
            let v = &y[d * (k + 1)..d * (k + 2)];
            for i in 0..d {
                out[d * (k + 1) + i] = (0..d).map(|m| j[i][m] * v[m]).sum();
            }
        }
        out
    };
    let mut y = vec![0.0; d * (d + 1)];
    y[..d].copy_from_slice(x0);
    for k in 0..d {
        y[d * (k + 1) + k] = 1.0;
    }
    let steps = ((t_end / dt).round() as u64).max(1);
    let h = t_end / steps as f64;
    let mut sums = vec![0.0; d];
    for n in 0..steps {
        let t = n as f64 * h;
        let k1 = field(t, &y);
        let at =
            |k: &[f64], a: f64| -> Vec<f64> { y.iter().zip(k).map(|(y, k)| y + a * k).collect() };
        let k2 = field(t + h / 2.0, &at(&k1, h / 2.0));
        let k3 = field(t + h / 2.0, &at(&k2, h / 2.0));
        let k4 = field(t + h, &at(&k3, h));
        for i in 0..y.len() {
            y[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
        // Modified Gram-Schmidt on the tangent vectors: R's diagonal is each norm.
        for k in 0..d {
            for m in 0..k {
                let dot: f64 = (0..d)
                    .map(|i| y[d * (k + 1) + i] * y[d * (m + 1) + i])
                    .sum();
                for i in 0..d {
                    y[d * (k + 1) + i] -= dot * y[d * (m + 1) + i];
                }
            }
            let norm = (0..d)
                .map(|i| y[d * (k + 1) + i].powi(2))
                .sum::<f64>()
                .sqrt();
            if !(norm.is_finite() && norm > 0.0) {
                return Err(Error::invalid(
                    "x0",
                    format!("{x0:?}"),
                    format!("the tangent vectors degenerated at t = {}", t + h),
                ));
            }
            for i in 0..d {
                y[d * (k + 1) + i] /= norm;
            }
            if t + h > t_burn {
                sums[k] += norm.ln();
            }
        }
    }
    let counted = t_end - (t_burn / h).floor() * h;
    Ok(sums.iter().map(|s| s / counted).collect())
}
