//! The benchmark workloads: a fixed set of runs at named sizes, timed the same way on every
//! backend, each checked against what its result must be before its time is reported.
//!
//! `langevin bench` prints them as a table and JSON; `benches/throughput.rs` drives the same
//! cases through criterion. Timing: one warm-up run (it creates the pipelines, whose time is
//! reported apart as `setup_seconds`, and its result is the one checked), then `repeats` timed
//! runs whose median `run_time` is the reported time. Setup, shader composition and readback
//! of the observables are outside `run_time` except for the final reductions.
//!
//! Checks compare with the outside world where the workload has an exact answer (OU's
//! Euler-Maruyama moments, the Lorenz flow from an f64 integration on the host, energy
//! conservation of the field, exact transforms of a tone) and otherwise with consistency laws
//! (every trajectory accounted for, an order parameter in [0, 1]); [`agree`] compares a
//! workload's summary statistic across backends within 5 standard errors.

use crate::fft::{self, Direction, FftShape};
use crate::field::{self as fields, profiles, FieldSpec, Potential};
use crate::interacting::kuramoto::{self, KuramotoSpec};
use crate::real::Precision;
use crate::spec::Direction as Crossing;
use crate::{
    Engine, EnsembleResult, EnsembleSpec, Error, ExprModel, OrnsteinUhlenbeck, Result, SaveAt,
    Scheme, Sweep,
};
use std::sync::Arc;
use std::time::Duration;

/// Named sizes of the workload set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Seconds in all on a laptop CPU: the correctness checks of every workload (CI runs it).
    Tiny,
    /// Every workload at 2^16 trajectories (or its own modest size): minutes on a software
    /// adapter with the CPU twin beside it.
    Small,
    /// The reference sizes: OU at 2^16, 2^20 and 2^24 trajectories, the rest at 2^20 or the
    /// size named in `BENCHMARKS.md`; Lorenz also at 2^23 (DiffEqGPU's largest ensemble).
    Standard,
}

impl std::str::FromStr for Size {
    type Err = Error;
    fn from_str(s: &str) -> Result<Size> {
        match s {
            "tiny" => Ok(Size::Tiny),
            "small" => Ok(Size::Small),
            "standard" => Ok(Size::Standard),
            _ => Err(Error::invalid("size", s, "tiny, small or standard")),
        }
    }
}

/// The workloads, in the order they run.
pub const WORKLOADS: [&str; 10] = [
    "ou",
    "ou4",
    "ou4_observed",
    "double_well",
    "lorenz",
    "lorenz_dopri5",
    "schloegl_ssa",
    "kuramoto",
    "kg",
    "fft",
];

/// What a case runs.
#[derive(Clone)]
pub enum Run {
    /// An ensemble run of the engine.
    Ensemble(Box<EnsembleSpec>),
    /// Kuramoto replicas.
    Kuramoto(Box<KuramotoSpec>),
    /// A field run.
    Field(Box<FieldSpec>),
    /// `pairs` forward and inverse transforms of a shape, in f32.
    Fft {
        /// The shape.
        shape: FftShape,
        /// Round trips per timed repetition.
        pairs: u32,
    },
}

/// One workload at one size.
#[derive(Clone)]
pub struct Case {
    /// The workload's name (one of [`WORKLOADS`]).
    pub workload: &'static str,
    /// The size as printed: `2^20`, `4096x256`.
    pub size: String,
    /// Trajectories (oscillators for Kuramoto, points for fields and transforms).
    pub trajectories: u64,
    /// What is counted: `trajectory-steps`, `trajectory-events`, `oscillator-steps`,
    /// `point-steps`, `points`.
    pub unit: &'static str,
    /// The run.
    pub run: Run,
}

/// A case measured on one backend.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Measurement {
    /// The workload.
    pub workload: String,
    /// Its size label.
    pub size: String,
    /// `gpu` or `cpu`.
    pub backend: String,
    /// The adapter's name (or the CPU twin's description).
    pub adapter: String,
    /// Trajectories (oscillators, points).
    pub trajectories: u64,
    /// Steps per trajectory (the mean of accepted steps or events for adaptive and SSA runs;
    /// round trips for transforms).
    pub steps: f64,
    /// Pipeline creation and shader composition, from the warm-up run.
    pub setup_seconds: f64,
    /// The median run time of the timed repetitions.
    pub seconds: f64,
    /// Every timed repetition.
    pub seconds_all: Vec<f64>,
    /// Units per second at the median time.
    pub rate: f64,
    /// What `rate` counts.
    pub unit: String,
    /// What the check verified.
    pub check: String,
    /// A summary statistic and its standard error, for [`agree`] (none for deterministic
    /// workloads, whose checks are exact).
    pub statistic: Option<(f64, f64)>,
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// OU Euler-Maruyama, theta = 1, mu = 0, sigma = 0.5 from x = 1, `steps` steps to t = 1,
/// moments at 11 save times.
fn ou(log2: u32, steps: u32) -> Case {
    let spec = EnsembleSpec::new(OrnsteinUhlenbeck::new(1.0, 0.0, 0.5))
        .scheme(Scheme::EulerMaruyama)
        .initial_fixed(&[1.0])
        .time_span(0.0, 1.0)
        .dt(1.0 / f64::from(steps))
        .trajectories(1 << log2)
        .seed(1)
        .save_at(SaveAt::Count(11));
    ensemble_case("ou", log2, spec)
}

/// Four independent OU components (theta = 1, sigma = 0.5) from 1, `steps` Euler-Maruyama steps
/// to t = 1, moments at 11 save times; `observed` adds five observables (a sum of squares, a
/// product, an indicator, a sine and a Gaussian bump) and the covariance of all nine values,
/// so that the pair `ou4`, `ou4_observed` gives what observing costs.
fn ou4(log2: u32, steps: u32, observed: bool) -> Case {
    let mut spec = EnsembleSpec::new(OrnsteinUhlenbeck::new(1.0, 0.0, 0.5).with_dim(4))
        .scheme(Scheme::EulerMaruyama)
        .initial_fixed(&[1.0; 4])
        .time_span(0.0, 1.0)
        .dt(1.0 / f64::from(steps))
        .trajectories(1 << log2)
        .seed(1)
        .save_at(SaveAt::Count(11));
    if !observed {
        return ensemble_case("ou4", log2, spec);
    }
    for (name, e) in OU4_OBSERVABLES {
        spec = spec.observable(name, e);
    }
    ensemble_case("ou4_observed", log2, spec.covariance(true))
}

/// The observables of `ou4_observed`.
const OU4_OBSERVABLES: [(&str, &str); 5] = [
    ("r2", "x0^2 + x1^2 + x2^2 + x3^2"),
    ("product", "x0 * x1"),
    ("above", "x2 > 1"),
    ("wave", "sin(x3)"),
    ("bump", "exp(-x0^2)"),
];

/// The symmetric double well `dx = (x - x^3) dt + 0.7 dW` from x = -1 to t = `steps` x 0.005,
/// with a 100-bin histogram of the final x on [-2.5, 2.5] and the first passage over x = 1.
fn double_well(log2: u32, steps: u32) -> Case {
    let model = ExprModel::new(
        "double_well",
        &strings(&["x"]),
        &[("sigma".into(), 0.7)],
        &strings(&["x - x^3"]),
        &strings(&["sigma"]),
    )
    .expect("double well");
    let spec = EnsembleSpec::with_model(Arc::new(model))
        .scheme(Scheme::EulerMaruyama)
        .initial_fixed(&[-1.0])
        .time_span(0.0, 0.005 * f64::from(steps))
        .dt(0.005)
        .trajectories(1 << log2)
        .seed(1)
        .save_at(SaveAt::Count(11))
        .histogram(0, 100, (-2.5, 2.5))
        .first_passage(0, 1.0, Crossing::Up);
    ensemble_case("double_well", log2, spec)
}

/// The Lorenz system with sigma = 10, beta = 8/3 and rho over linspace(0, 21), a value per
/// trajectory, from (1, 0, 0) over t in [0, 1] in f32 (DiffEqGPU's ensemble benchmark).
pub fn lorenz_sweep(n: u64, scheme: Scheme) -> EnsembleSpec {
    let model = ExprModel::new(
        "lorenz",
        &strings(&["x", "y", "z"]),
        &[
            ("sigma".into(), 10.0),
            ("rho".into(), 28.0),
            ("beta".into(), 8.0 / 3.0),
        ],
        &strings(&["sigma * (y - x)", "x * (rho - z) - y", "x * y - beta * z"]),
        &[],
    )
    .expect("Lorenz");
    EnsembleSpec::with_model(Arc::new(model))
        .scheme(scheme)
        .initial_fixed(&[1.0, 0.0, 0.0])
        .time_span(0.0, 1.0)
        .dt(1e-3)
        .trajectories(n)
        .sweep(Sweep::linspace("rho", 0.0, 21.0, n as usize))
        .save_at(SaveAt::Count(2))
        .final_states(true)
}

/// Schloegl's network by Gillespie's direct method from X = 250 over t in [0, `t_end`].
fn schloegl(log2: u32, t_end: f64) -> Case {
    let network = crate::reactions::schloegl(250);
    let spec = EnsembleSpec::with_model(Arc::new(
        ExprModel::reaction_network("schloegl", network).expect("Schloegl"),
    ))
    .scheme(Scheme::Ssa)
    .initial_fixed(&[250.0])
    .time_span(0.0, t_end)
    .dt(t_end / 100.0)
    .max_steps(10_000_000)
    .trajectories(1 << log2)
    .seed(1)
    .save_at(SaveAt::Count(11));
    let mut case = ensemble_case("schloegl_ssa", log2, spec);
    case.unit = "trajectory-events";
    case
}

fn ensemble_case(workload: &'static str, log2: u32, spec: EnsembleSpec) -> Case {
    Case {
        workload,
        size: format!("2^{log2}"),
        trajectories: 1 << log2,
        unit: "trajectory-steps",
        run: Run::Ensemble(Box::new(spec)),
    }
}

/// Kuramoto with Lorentzian quantile frequencies (width 1), K = 4 (above K_c = 2), noise
/// D = 0.1, `oscillators` x `replicas`, `steps` steps of 0.01.
fn kuramoto_case(oscillators: u32, replicas: u32, steps: u32) -> Case {
    let mut spec = KuramotoSpec::new(oscillators);
    spec.replicas = replicas;
    spec.coupling = 4.0;
    spec.noise = 0.1;
    spec.dt = 0.01;
    spec.t_end = 0.01 * f64::from(steps);
    spec.saves = 2;
    spec.average_from = 0.0;
    Case {
        workload: "kuramoto",
        size: format!("{oscillators}x{replicas}"),
        trajectories: u64::from(oscillators) * u64::from(replicas),
        unit: "oscillator-steps",
        run: Run::Kuramoto(Box::new(spec)),
    }
}

/// Sine-Gordon in 1-D, a breather (omega = 0.5) on `2^log2` points over a length 2000, `steps`
/// steps of 0.01 (Stormer-Verlet, pseudo-spectral).
fn kg_case(log2: u32, steps: u32) -> Case {
    let mut spec = FieldSpec::new(
        1 << log2,
        2000.0,
        Potential::new(profiles::SINE_GORDON, &[]).expect("sine-Gordon"),
    );
    spec.fields = 1;
    spec.precision = Precision::F32;
    (spec.init_phi, spec.init_pi) = profiles::breather(0.5);
    spec.dt = Some(0.01);
    spec.t_end = 0.01 * f64::from(steps);
    spec.saves = 2;
    Case {
        workload: "kg",
        size: format!("2^{log2}"),
        trajectories: 1 << log2,
        unit: "point-steps",
        run: Run::Field(Box::new(spec)),
    }
}

fn fft_case(log2: u32, batch: u32, pairs: u32) -> Case {
    Case {
        workload: "fft",
        size: format!("2^{log2}x{batch}"),
        trajectories: (1u64 << log2) * u64::from(batch),
        unit: "points",
        run: Run::Fft {
            shape: FftShape::one_d(1 << log2, batch),
            pairs,
        },
    }
}

/// The cases of `size`, keeping the workloads named in `only` (all when empty).
///
/// # Errors
/// [`Error::InvalidInput`] naming an unknown workload.
pub fn cases(size: Size, only: &[String]) -> Result<Vec<Case>> {
    for name in only {
        if !WORKLOADS.contains(&name.as_str()) {
            return Err(Error::invalid(
                "workload",
                name,
                format!("one of {}", WORKLOADS.join(", ")),
            ));
        }
    }
    let lorenz = |log2: u32, scheme: Scheme| {
        let mut spec = lorenz_sweep(1 << log2, scheme);
        let name = if scheme == Scheme::Rk4 {
            "lorenz"
        } else {
            // DiffEqGPU's tolerance, which needs f64 states (f32 kernels refuse tolerances
            // below four ulp, 4.8e-7); see `runnable`.
            spec = spec
                .precision(crate::real::Precision::F64)
                .tolerances(DOPRI5_TOL, DOPRI5_TOL);
            "lorenz_dopri5"
        };
        ensemble_case(name, log2, spec)
    };
    let all = match size {
        Size::Tiny => vec![
            ou(10, 100),
            ou4(10, 100, false),
            ou4(10, 100, true),
            double_well(10, 200),
            lorenz(10, Scheme::Rk4),
            lorenz(8, Scheme::Dopri5),
            schloegl(8, 0.1),
            kuramoto_case(256, 4, 50),
            kg_case(10, 50),
            fft_case(10, 4, 1),
        ],
        Size::Small => vec![
            ou(16, 1000),
            ou4(16, 1000, false),
            ou4(16, 1000, true),
            double_well(16, 2000),
            lorenz(16, Scheme::Rk4),
            lorenz(16, Scheme::Dopri5),
            schloegl(16, 1.0),
            kuramoto_case(4096, 256, 200),
            kg_case(16, 200),
            fft_case(20, 1, 4),
        ],
        Size::Standard => vec![
            ou(16, 1000),
            ou(20, 1000),
            ou(24, 1000),
            ou4(22, 1000, false),
            ou4(22, 1000, true),
            double_well(20, 2000),
            lorenz(20, Scheme::Rk4),
            lorenz(23, Scheme::Rk4),
            lorenz(20, Scheme::Dopri5),
            schloegl(20, 1.0),
            kuramoto_case(4096, 256, 200),
            kg_case(16, 1000),
            fft_case(20, 4, 4),
        ],
    };
    Ok(all
        .into_iter()
        .filter(|c| only.is_empty() || only.iter().any(|o| o == c.workload))
        .collect())
}

impl Case {
    /// The kind the case's workload stands for (an ensemble is an `sde`; the transforms serve
    /// the fields), which decides where the CLI's `auto` runs it
    /// ([`crate::kind::Kind::prefers_twin_on_software`]).
    pub fn kind(&self) -> &'static crate::kind::Kind {
        let name = match self.run {
            Run::Ensemble(_) => "sde",
            Run::Kuramoto(_) => "kuramoto",
            Run::Field(_) | Run::Fft { .. } => "field",
        };
        crate::kind::Kind::named(name).expect("a shipped kind")
    }

    /// The same case with at most `2^max_log2` trajectories (for the slower CPU twin: its rate
    /// per trajectory-step no longer depends on the count well below that). Fields and
    /// transforms, whose size is their workload, are kept as they are.
    pub fn capped(&self, max_log2: u32) -> Case {
        let cap = 1u64 << max_log2;
        let mut case = self.clone();
        if let Run::Ensemble(spec) = &mut case.run {
            if spec.trajectories > cap {
                let scheme = spec.scheme;
                let sweep = !spec.sweeps.is_empty();
                let mut s = (**spec).clone().trajectories(cap);
                if sweep {
                    // The sweep keeps one value per trajectory over the same interval.
                    s = lorenz_sweep(cap, scheme);
                    s.adaptive = spec.adaptive;
                }
                **spec = s;
                case.trajectories = cap;
                case.size = format!("2^{max_log2}");
            }
        }
        case
    }
}

/// Runs `case` once to warm up (and checks that result), then `repeats` times, timed.
///
/// # Errors
/// The run's own errors, or [`Error::InvalidInput`] naming the check that failed.
pub fn measure(engine: &Engine, case: &Case, repeats: usize) -> Result<Measurement> {
    let first = run_once(engine, case)?;
    let mut seconds_all = Vec::with_capacity(repeats);
    for _ in 0..repeats.max(1) {
        seconds_all.push(run_once(engine, case)?.run_time.as_secs_f64());
    }
    let mut sorted = seconds_all.clone();
    sorted.sort_by(f64::total_cmp);
    let seconds = sorted[sorted.len() / 2];
    let device = engine.device();
    Ok(Measurement {
        workload: case.workload.into(),
        size: case.size.clone(),
        backend: match device.kind {
            crate::BackendKind::Gpu => "gpu".into(),
            crate::BackendKind::Cpu => "cpu".into(),
        },
        adapter: device.name.clone(),
        trajectories: case.trajectories,
        steps: first.steps,
        setup_seconds: first.setup_time.as_secs_f64(),
        seconds,
        rate: case.trajectories as f64 * first.steps / seconds.max(1e-12),
        unit: case.unit.into(),
        seconds_all,
        check: first.check,
        statistic: first.statistic,
    })
}

/// One run's timing and check.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Steps per trajectory (mean accepted steps or events where they vary).
    pub steps: f64,
    /// Pipeline creation and shader composition (nearly zero once the engine has the
    /// pipelines).
    pub setup_time: Duration,
    /// The stepping and the reductions.
    pub run_time: Duration,
    /// What the check verified.
    pub check: String,
    /// The summary statistic and its standard error, where the workload is random.
    pub statistic: Option<(f64, f64)>,
}

/// The tolerance of the adaptive Lorenz pair: DiffEqGPU's, in f64.
pub const DOPRI5_TOL: f64 = 1e-8;

/// The tightest tolerance an f32 Dormand-Prince run takes here, for adapters without f64.
pub const DOPRI5_TOL_F32: f64 = 1e-6;

/// `spec` as `engine` can run it: an f64 run on a GPU adapter without `SHADER_F64` runs in
/// f32 at [`DOPRI5_TOL_F32`] (its check then says so).
pub fn runnable(engine: &Engine, spec: &EnsembleSpec) -> EnsembleSpec {
    let device = engine.device();
    let f64_refused = device.kind == crate::BackendKind::Gpu
        && !device.features.iter().any(|f| f == "SHADER_F64");
    if spec.adaptive.precision == crate::real::Precision::F64 && f64_refused {
        spec.clone()
            .precision(crate::real::Precision::F32)
            .tolerances(DOPRI5_TOL_F32, DOPRI5_TOL_F32)
    } else {
        spec.clone()
    }
}

/// Runs `case` once and checks its result.
///
/// # Errors
/// The run's own errors, or [`Error::InvalidInput`] naming the check that failed.
pub fn run_once(engine: &Engine, case: &Case) -> Result<Outcome> {
    match &case.run {
        Run::Ensemble(spec) => {
            let spec = &runnable(engine, spec);
            let r = engine.run(spec)?;
            let (check, statistic) = check_ensemble(case.workload, spec, &r)?;
            Ok(Outcome {
                steps: f64::from(r.steps),
                setup_time: r.setup_time,
                run_time: r.run_time,
                check,
                statistic,
            })
        }
        Run::Kuramoto(spec) => {
            let r = kuramoto::run(engine, spec)?;
            let averaged = r.averaged();
            let m = averaged[0].r;
            let mean = m.mean_or_nan();
            // Above K_c = 2 the replicas synchronise partially: r between the incoherent
            // level (about 1/sqrt(N)) and 1.
            if !(mean > 0.0 && mean <= 1.0) {
                return Err(check_failed(case, format!("order parameter r = {mean}")));
            }
            Ok(Outcome {
                steps: (spec.t_end / spec.dt).round(),
                setup_time: r.setup_time,
                run_time: r.run_time,
                check: format!("order parameter r = {mean:.4} in (0, 1]"),
                statistic: Some((mean, m.std_error())),
            })
        }
        Run::Field(spec) => {
            let r = fields::run(engine, spec)?;
            let drift = r.energy_drift(0);
            // Stormer-Verlet's energy error is bounded by about (m dt)^2 / 4 = 2.5e-5 at
            // dt = 0.01 (m = 1), the bound `tests/fields.rs` uses for its breather runs.
            if !below(drift, 1e-4) {
                return Err(check_failed(case, format!("energy drift {drift:.2e}")));
            }
            Ok(Outcome {
                steps: f64::from(r.steps),
                setup_time: r.setup_time,
                run_time: r.run_time,
                check: format!("energy drift {drift:.1e} < 1e-4"),
                statistic: None,
            })
        }
        Run::Fft { shape, pairs } => {
            let check = check_tone(engine, *shape, case)?;
            let start = std::time::Instant::now();
            let t = fft::time_round_trips(engine, *shape, *pairs, Precision::F32)?;
            let setup = start.elapsed().saturating_sub(t);
            Ok(Outcome {
                steps: 2.0 * f64::from(*pairs),
                setup_time: setup,
                run_time: t,
                check,
                statistic: None,
            })
        }
    }
}

/// `value < bound`, false for NaN: a check that meets NaN fails.
fn below(value: f64, bound: f64) -> bool {
    value < bound
}

fn check_failed(case: &Case, what: String) -> Error {
    Error::invalid(
        "bench check",
        format!("{} {}", case.workload, case.size),
        format!("a result within its bound; got {what}"),
    )
}

/// The forward transform of the tone `exp(2 pi i k0 j / n)` is `n` at `k0` and 0 elsewhere.
fn check_tone(engine: &Engine, shape: FftShape, case: &Case) -> Result<String> {
    let n = u64::from(shape.nx);
    let k0 = n / 3 + 1;
    let mut data: Vec<[f32; 2]> = (0..shape.points())
        .map(|p| {
            let j = p % n;
            let phase = 2.0 * std::f64::consts::PI * ((k0 * j) % n) as f64 / n as f64;
            [phase.cos() as f32, phase.sin() as f32]
        })
        .collect();
    fft::transform(engine, &mut data, shape, Direction::Forward)?;
    let mut worst = 0.0f64;
    for (p, v) in data.iter().enumerate() {
        let expected = if p as u64 % n == k0 { n as f64 } else { 0.0 };
        let e = (f64::from(v[0]) - expected).hypot(f64::from(v[1])) / n as f64;
        worst = crate::stats::max_or_nan(worst, e);
    }
    // f32 rounding grows as log2(n): 1e-6 per pass is generous and still catches a wrong
    // twiddle or permutation (errors of order 1).
    let bound = 1e-6 * (f64::from(shape.nx.ilog2()) + 1.0);
    if !below(worst, bound) {
        return Err(check_failed(case, format!("tone error {worst:.2e}")));
    }
    Ok(format!("tone transform error {worst:.1e} < {bound:.0e}"))
}

/// The exact mean and variance after `n` Euler-Maruyama steps of `dx = -theta x dt + sigma dW`.
fn ou_em_moments(theta: f64, sigma: f64, x0: f64, dt: f64, n: u32) -> (f64, f64) {
    let a = 1.0 - theta * dt;
    let mean = a.powi(n as i32) * x0;
    let var = sigma * sigma * dt * (1.0 - a.powi(2 * n as i32)) / (1.0 - a * a);
    (mean, var)
}

/// The Lorenz flow from (1, 0, 0) to t = 1 in f64 RK4 at dt = 1e-4 (its error, ~1e-12, is far
/// below f32's).
fn lorenz_reference(rho: f64) -> [f64; 3] {
    let f = |s: [f64; 3]| {
        [
            10.0 * (s[1] - s[0]),
            s[0] * (rho - s[2]) - s[1],
            s[0] * s[1] - 8.0 / 3.0 * s[2],
        ]
    };
    let h = 1e-4;
    let mut s = [1.0, 0.0, 0.0];
    for _ in 0..10_000 {
        let add =
            |a: [f64; 3], b: [f64; 3], c: f64| [a[0] + c * b[0], a[1] + c * b[1], a[2] + c * b[2]];
        let k1 = f(s);
        let k2 = f(add(s, k1, h / 2.0));
        let k3 = f(add(s, k2, h / 2.0));
        let k4 = f(add(s, k3, h));
        for i in 0..3 {
            s[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
    }
    s
}

fn check_ensemble(
    workload: &str,
    spec: &EnsembleSpec,
    r: &EnsembleResult,
) -> Result<(String, Option<(f64, f64)>)> {
    let last = r.times.len() - 1;
    let n = r.trajectories;
    let fail = |what: String| {
        Error::invalid(
            "bench check",
            workload,
            format!("a result within its bound; got {what}"),
        )
    };
    let diverged = r.diverged(last);
    if diverged > 0 {
        return Err(fail(format!("{diverged} diverged trajectories")));
    }
    match workload {
        "ou" => {
            let m = r.moments[last][0];
            let (mean, var) = ou_em_moments(1.0, 0.5, 1.0, r.dt, r.steps);
            let se_mean = (var / n as f64).sqrt();
            let se_var = var * (2.0 / (n as f64 - 1.0)).sqrt();
            let (dm, dv) = ((m.mean - mean).abs(), (m.variance() - var).abs());
            if dm > 5.0 * se_mean || dv > 5.0 * se_var {
                return Err(fail(format!(
                    "mean {} (exact {mean}), variance {} (exact {var})",
                    m.mean,
                    m.variance()
                )));
            }
            Ok((
                format!(
                    "mean and variance at t = 1 within {:.1} and {:.1} standard errors of exact",
                    dm / se_mean,
                    dv / se_var
                ),
                Some((m.mean, m.std_error())),
            ))
        }
        "ou4" | "ou4_observed" => {
            let (mean, var) = ou_em_moments(1.0, 0.5, 1.0, r.dt, r.steps);
            let se_mean = (var / n as f64).sqrt();
            let mut worst = 0.0f64;
            for m in &r.moments[last] {
                worst = worst.max((m.mean - mean).abs() / se_mean);
            }
            let mut check =
                format!("the four means at t = 1 within {worst:.1} standard errors of exact");
            if workload == "ou4_observed" {
                // E[r2] = 4 (var + mean^2); the components are independent: cov(x0, x1) = 0.
                let r2 = r.observables.moments[last][0];
                let z_r2 = (r2.mean - 4.0 * (var + mean * mean)).abs() / r2.std_error();
                let cov = r
                    .covariance(last)
                    .ok_or_else(|| fail("no covariance".into()))?;
                let z_cov = cov[1].abs() / (var / n as f64).sqrt();
                worst = worst.max(z_r2).max(z_cov);
                check.push_str(&format!(
                    "; E[r2] within {z_r2:.1}, cov(x0, x1) within {z_cov:.1} of exact"
                ));
            }
            if !below(worst, 5.0) {
                return Err(fail(format!("{check}: beyond 5")));
            }
            let m = r.moments[last][0];
            Ok((check, Some((m.mean, m.std_error()))))
        }
        "double_well" => {
            let h = r
                .histogram
                .as_ref()
                .ok_or_else(|| fail("no histogram".into()))?;
            let counted: u64 = h.counts.iter().sum::<u64>() + h.underflow + h.overflow;
            let fp = r
                .first_passage
                .as_ref()
                .ok_or_else(|| fail("no first passage".into()))?;
            if counted != n || h.non_finite != 0 || fp.hit > n {
                return Err(fail(format!(
                    "histogram holds {counted} of {n} final values, {} passages of {n}",
                    fp.hit
                )));
            }
            // A trajectory that passed x = 1 has a time within the run, and the mass that
            // ended above the barrier x = 0 had to cross it (up to those that went back).
            let t_end = r.times[last];
            if fp
                .times
                .iter()
                .any(|&t| !(0.0..=t_end as f32 * 1.0001).contains(&t))
            {
                return Err(fail("a first-passage time outside the run".into()));
            }
            let m = r.moments[last][0];
            Ok((
                format!(
                    "histogram holds all {n} final values; {} passed x = 1 within the run",
                    fp.hit
                ),
                Some((m.mean, m.std_error())),
            ))
        }
        "lorenz" | "lorenz_dopri5" => {
            let states: Vec<f64> = match (&r.final_states_f64, &r.final_states) {
                (Some(wide), _) => wide.clone(),
                (None, Some(narrow)) => narrow.iter().map(|&v| f64::from(v)).collect(),
                (None, None) => return Err(fail("no final states".into())),
            };
            let rhos = &spec.sweeps[0].values;
            // Some 64 trajectories across the sweep against the f64 flow.
            let stride = (n / 64).max(1);
            let mut worst = 0.0f64;
            for i in (0..n).step_by(stride as usize) {
                let exact = lorenz_reference(rhos[i as usize]);
                let got = &states[3 * i as usize..3 * i as usize + 3];
                for c in 0..3 {
                    let e = (got[c] - exact[c]).abs() / (1.0 + exact[c].abs());
                    worst = crate::stats::max_or_nan(worst, e);
                }
            }
            // f32 RK4 at dt = 1e-3: truncation ~1e-10, rounding over 1000 steps ~1e-5. An
            // adaptive run's global error is a few times its tolerance (times the flow's
            // growth over t = 1): 100x the tolerance.
            let f64_run = r.final_states_f64.is_some();
            let (bound, how) = match (workload, f64_run) {
                ("lorenz", _) => (1e-4, String::new()),
                (_, true) => (
                    100.0 * spec.adaptive.rtol,
                    format!("; f64 at {:.0e}", spec.adaptive.rtol),
                ),
                (_, false) => (
                    100.0 * spec.adaptive.rtol,
                    format!(
                        "; f32 at {:.0e} (the adapter has no SHADER_F64)",
                        spec.adaptive.rtol
                    ),
                ),
            };
            if !below(worst, bound) {
                return Err(fail(format!("error {worst:.2e} against the f64 flow")));
            }
            Ok((
                format!("final states within {worst:.1e} (relative) of the f64 flow{how}"),
                None,
            ))
        }
        "schloegl_ssa" => {
            let m = r.moments[last][0];
            // Counts are whole, non-negative molecule numbers.
            if m.count != n || m.mean.is_nan() || m.mean < 0.0 {
                return Err(fail(format!("{} counted, mean X {}", m.count, m.mean)));
            }
            Ok((
                format!("all {n} trajectories reached t = {}", r.times[last]),
                Some((m.mean, m.std_error())),
            ))
        }
        _ => Ok(("ran".into(), None)),
    }
}

/// Whether two measurements of one workload agree: their statistics within 5 combined
/// standard errors (they share the random streams, so they agree far closer unless one
/// backend is broken).
///
/// # Errors
/// [`Error::InvalidInput`] naming the workload and both values.
pub fn agree(a: &Measurement, b: &Measurement) -> Result<()> {
    if let (Some((x, sx)), Some((y, sy))) = (a.statistic, b.statistic) {
        let bound = 5.0 * sx.hypot(sy);
        if !below((x - y).abs(), bound * (1.0 + f64::EPSILON)) {
            return Err(Error::invalid(
                "bench check",
                format!("{} {}", a.workload, a.size),
                format!(
                    "the {} and {} backends within {bound:.3e}; got {x} and {y}",
                    a.backend, b.backend
                ),
            ));
        }
    }
    Ok(())
}
