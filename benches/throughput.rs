//! Throughput of more workloads than `langevin bench` has (underdamped BAOAB, adaptive SRA1,
//! CBO, Vicsek, several FFT and field shapes) on the GPU backend and the CPU twin, in one run:
//! trajectory-steps per second (median of 3 after a warm-up; setup excluded) and the GPU / CPU
//! ratio.
//!
//! `cargo bench --bench throughput` (`LANGEVIN_BENCH_SIZES=16,20` chooses log2 sizes;
//! `LANGEVIN_BENCH_WORKLOADS=ou,lorenz,lorenz_dopri5,lorenz_dopri5_f64,baoab,pulse_sra1,schloegl_ssa,kuramoto,cbo,vicsek,fft,kg`
//! chooses workloads). `lorenz_dopri5` is Dormand-Prince in f32 at 1e-6, `lorenz_dopri5_f64`
//! in f64 at DiffEqGPU's 1e-8 (in f32 at 1e-6 on an adapter without f64). Adaptive workloads count accepted steps, SSA its events (their mean per
//! trajectory is printed). `kuramoto` (4096 oscillators x 256 replicas, 200 steps) counts
//! oscillator-steps, `cbo` (Rastrigin, d = 20, 1000 particles x 100 runs, 50 steps)
//! particle-steps, `vicsek` (65,536 particles at density 2, 50 steps) particle-steps, `fft`
//! complex points per second (2^16 x 1 and x 256, 2^20, 1024^2 in f32 and f64; forward and
//! inverse), `kg` (sine-Gordon, 2^16 points x 1 and x 256, 1024^2 x 1 and x 16, 2^16 in f64)
//! point-steps.

use langevin::bench::{lorenz_sweep, DOPRI5_TOL};
use langevin::fft::{self, FftShape};
use langevin::field::{self as fields, profiles, FieldSpec, Potential};
use langevin::interacting::cbo::{self, CboSpec, Objective};
use langevin::interacting::kuramoto::{self, KuramotoSpec};
use langevin::interacting::vicsek::{self, VicsekSpec};
use langevin::real::Precision;
use langevin::{BackendChoice, Engine, EnsembleSpec, ExprModel, OrnsteinUhlenbeck, SaveAt, Scheme};
use std::sync::Arc;

/// The median rate of 3 runs after a warm-up, and the steps per trajectory.
fn median_rate(engine: &Engine, spec: &EnsembleSpec) -> (f64, u32) {
    let spec = &langevin::bench::runnable(engine, spec);
    let steps = engine.run(spec).expect("warm-up run").steps;
    let mut rates: Vec<f64> = (0..3)
        .map(|_| engine.run(spec).expect("run").trajectory_steps_per_second())
        .collect();
    rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (rates[1], steps)
}

/// Kuramoto with Lorentzian quantile frequencies and phase noise, 4096 oscillators x 256
/// replicas, 200 steps: the median oscillator-steps per second of 3 runs after a warm-up.
fn kuramoto_rate(engine: &Engine) -> f64 {
    let mut spec = KuramotoSpec::new(4096);
    spec.replicas = 256;
    spec.noise = 0.1;
    spec.dt = 0.01;
    spec.t_end = 2.0;
    spec.saves = 2;
    spec.average_from = 0.0;
    median_after_warm_up(|| {
        kuramoto::run(engine, &spec)
            .expect("run")
            .oscillator_steps_per_second()
    })
}

/// A workload's rate on an engine.
type RateOf = fn(&Engine) -> f64;

/// The median of 3 calls of `rate` after one call to warm up.
fn median_after_warm_up(rate: impl Fn() -> f64) -> f64 {
    rate();
    let mut rates: Vec<f64> = (0..3).map(|_| rate()).collect();
    rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
    rates[1]
}

/// CBO on Rastrigin in 20 dimensions, 1000 particles x 100 runs, 50 steps: the median
/// particle-steps per second of 3 runs after a warm-up.
fn cbo_rate(engine: &Engine) -> f64 {
    let mut spec = CboSpec::new(Objective::Rastrigin, 20);
    spec.particles = 1000;
    spec.steps = 50;
    spec.saves = 2;
    median_after_warm_up(|| {
        cbo::run(engine, &spec)
            .expect("run")
            .particle_steps_per_second()
    })
}

/// Vicsek, 65,536 particles at density 2 (L = 181), r = 1, v0 = 0.5, eta = 1, 50 steps:
/// the median particle-steps per second of 3 runs after a warm-up.
fn vicsek_rate(engine: &Engine) -> f64 {
    let mut spec = VicsekSpec::new(65_536);
    spec.box_len = (65_536.0f64 / 2.0).sqrt();
    spec.steps = 50;
    spec.saves = 2;
    spec.average_from = 0;
    median_after_warm_up(|| {
        vicsek::run(engine, &spec)
            .expect("run")
            .particle_steps_per_second()
    })
}

/// Complex FFT throughput of `shape` in `precision`: points transformed per second (forward
/// and inverse each count), the median of 3 timings of 4 round trips after a warm-up.
fn fft_rate(engine: &Engine, shape: FftShape, precision: Precision) -> f64 {
    median_after_warm_up(|| {
        let t = fft::time_round_trips(engine, shape, 4, precision).expect("FFT");
        8.0 * shape.points() as f64 / t.as_secs_f64()
    })
}

/// Klein-Gordon (sine-Gordon, a breather along x), `points` per field (`[n, 1]` in 1-D) x
/// `fields`, `steps` steps in `precision`: point-steps per second (each step one forward and
/// one inverse FFT and two pointwise kernels).
fn kg_rate(
    engine: &Engine,
    points: [u32; 2],
    fields: u32,
    steps: u32,
    precision: Precision,
) -> f64 {
    let mut spec = FieldSpec::new(
        points[0],
        2000.0,
        Potential::new(profiles::SINE_GORDON, &[]).unwrap(),
    );
    spec.points = points;
    spec.fields = fields;
    spec.precision = precision;
    (spec.init_phi, spec.init_pi) = profiles::breather(0.5);
    spec.dt = Some(0.01);
    spec.t_end = 0.01 * f64::from(steps);
    spec.saves = 2;
    median_after_warm_up(|| {
        fields::run(engine, &spec)
            .expect("run")
            .point_steps_per_second()
    })
}

/// The FFT shapes measured: (name, shape, precision).
const FFT_SHAPES: [(&str, u32, u32, u32, Precision); 5] = [
    ("2^16 x 1", 1 << 16, 1, 1, Precision::F32),
    ("2^16 x 256", 1 << 16, 1, 256, Precision::F32),
    ("2^20 x 1", 1 << 20, 1, 1, Precision::F32),
    ("1024^2 x 1", 1024, 1024, 1, Precision::F32),
    ("1024^2 f64", 1024, 1024, 1, Precision::F64),
];

/// The field runs measured: (name, points, fields, steps, precision). A batch holds at most
/// 2^24 points, so 1024^2 fields go 16 at a time.
const KG_RUNS: [(&str, [u32; 2], u32, u32, Precision); 5] = [
    ("2^16 x 1", [1 << 16, 1], 1, 64, Precision::F32),
    ("2^16 x 256", [1 << 16, 1], 256, 2, Precision::F32),
    ("1024^2 x 1", [1024, 1024], 1, 8, Precision::F32),
    ("1024^2 x 16", [1024, 1024], 16, 2, Precision::F32),
    ("2^16 x 1 f64", [1 << 16, 1], 1, 64, Precision::F64),
];

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The workload `name` at `2^log2` trajectories.
fn workload(name: &str, log2: u32) -> EnsembleSpec {
    let n = 1u64 << log2;
    match name {
        // OU Euler-Maruyama, 1000 steps, moments at 11 save times.
        "ou" => EnsembleSpec::new(OrnsteinUhlenbeck::new(1.0, 0.0, 0.5))
            .initial_fixed(&[1.0])
            .time_span(0.0, 1.0)
            .dt(1e-3)
            .trajectories(n)
            .seed(1)
            .save_at(SaveAt::Count(11)),
        // RK4 at dt = 0.001.
        "lorenz" => lorenz_sweep(n, Scheme::Rk4),
        // Dormand-Prince 5(4) at rtol = atol = 1e-6, a step size per trajectory.
        "lorenz_dopri5" => lorenz_sweep(n, Scheme::Dopri5).tolerances(1e-6, 1e-6),
        // The same in f64 at DiffEqGPU's tolerance.
        "lorenz_dopri5_f64" => lorenz_sweep(n, Scheme::Dopri5)
            .precision(Precision::F64)
            .tolerances(DOPRI5_TOL, DOPRI5_TOL),
        // Adaptive SRA1 on the Brownian tree: a relaxation rate that rises 300-fold around
        // t = 5 (examples/configs/stiff_pulse_adaptive.toml).
        "pulse_sra1" => {
            let model = ExprModel::new(
                "stiff_pulse",
                &strings(&["x"]),
                &[
                    ("K".into(), 300.0),
                    ("w".into(), 0.05),
                    ("sigma".into(), 0.5),
                ],
                &strings(&["-(1 + K * exp(-((t - 5) / w)^2)) * x"]),
                &strings(&["sigma"]),
            )
            .expect("stiff pulse");
            let mut spec = EnsembleSpec::with_model(Arc::new(model))
                .scheme(Scheme::Sra1Adaptive)
                .initial_fixed(&[1.0])
                .time_span(0.0, 10.0)
                .dt(0.1)
                .tolerances(1e-2, 1e-2)
                .trajectories(n)
                .seed(1)
                .save_at(SaveAt::Count(11));
            spec.adaptive.brownian_tol = Some(3e-4);
            spec
        }
        // Underdamped double well under BAOAB, 1000 steps.
        "baoab" => {
            let model = ExprModel::underdamped(
                "double_well",
                &strings(&["x"]),
                &[],
                "x^4/4 - x^2/2",
                1.0,
                0.3,
                1.0,
            )
            .expect("double well");
            EnsembleSpec::with_model(Arc::new(model))
                .scheme(Scheme::Baoab)
                .initial_normal(&[-1.0, 0.0], &[0.1, 0.5])
                .time_span(0.0, 10.0)
                .dt(1e-2)
                .trajectories(n)
                .seed(1)
                .save_at(SaveAt::Count(11))
        }
        // Schloegl's bistable network by Gillespie's direct method from the barrier, t in
        // [0, 1] (examples/configs/schloegl.toml runs to 5): trajectory-events per second.
        "schloegl_ssa" => {
            let network = langevin::reactions::schloegl(250);
            EnsembleSpec::with_model(Arc::new(
                ExprModel::reaction_network("schloegl", network).expect("Schloegl"),
            ))
            .scheme(Scheme::Ssa)
            .initial_fixed(&[250.0])
            .time_span(0.0, 1.0)
            .dt(0.01)
            .max_steps(10_000_000)
            .trajectories(n)
            .seed(1)
            .save_at(SaveAt::Count(11))
        }
        other => panic!(
            "unknown workload {other} (ou, lorenz, lorenz_dopri5, lorenz_dopri5_f64, baoab, pulse_sra1, schloegl_ssa)"
        ),
    }
}

fn list(var: &str, default: &str) -> Vec<String> {
    std::env::var(var)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn main() {
    let sizes: Vec<u32> = list("LANGEVIN_BENCH_SIZES", "16,20")
        .iter()
        .map(|s| s.parse().expect("log2 size"))
        .collect();
    let workloads = list(
        "LANGEVIN_BENCH_WORKLOADS",
        "ou,lorenz,lorenz_dopri5,lorenz_dopri5_f64,baoab,pulse_sra1,schloegl_ssa,kuramoto,cbo,vicsek,fft,kg",
    );
    let gpu = Engine::new(BackendChoice::Gpu).ok();
    let cpu = Engine::new(BackendChoice::Cpu).expect("CPU twin");
    match &gpu {
        Some(g) => println!("GPU: {}", g.device()),
        None => println!("GPU: none (only the CPU twin is measured)"),
    }
    println!("CPU: {}", cpu.device());
    println!(
        "{:<18} {:>12} {:>8} {:>16} {:>16} {:>9}",
        "workload", "trajectories", "steps", "GPU traj-steps/s", "CPU traj-steps/s", "GPU/CPU"
    );
    for name in &workloads {
        let interacting: Option<(RateOf, &str, u32)> = match name.as_str() {
            "kuramoto" => Some((kuramoto_rate, "4096x256", 200)),
            "cbo" => Some((cbo_rate, "1000x100", 50)),
            "vicsek" => Some((vicsek_rate, "65536", 50)),
            _ => None,
        };
        let row = |what: &str, size: &str, steps: String, g: Option<f64>, c: f64| {
            println!(
                "{:<18} {:>12} {:>8} {:>16} {:>16.3e} {:>9}",
                what,
                size,
                steps,
                g.map_or("-".into(), |g| format!("{g:.3e}")),
                c,
                g.map_or("-".into(), |g| format!("{:.2}", g / c)),
            );
        };
        if name == "fft" {
            for (size, nx, ny, batch, precision) in FFT_SHAPES {
                let shape = FftShape::two_d(nx, ny, batch);
                let g = gpu.as_ref().map(|e| fft_rate(e, shape, precision));
                row(
                    "fft points/s",
                    size,
                    "-".into(),
                    g,
                    fft_rate(&cpu, shape, precision),
                );
            }
            continue;
        }
        if name == "kg" {
            for (size, points, batch, steps, precision) in KG_RUNS {
                let rate = |e: &Engine| kg_rate(e, points, batch, steps, precision);
                let g = gpu.as_ref().map(rate);
                row("kg", size, steps.to_string(), g, rate(&cpu));
            }
            continue;
        }
        if let Some((rate, size, steps)) = interacting {
            let g = gpu.as_ref().map(rate);
            let c = rate(&cpu);
            println!(
                "{:<18} {:>12} {:>8} {:>16} {:>16.3e} {:>9}",
                name,
                size,
                steps,
                g.map_or("-".into(), |g| format!("{g:.3e}")),
                c,
                g.map_or("-".into(), |g| format!("{:.2}", g / c)),
            );
            continue;
        }
        for &log2 in &sizes {
            let spec = workload(name, log2);
            let g = gpu.as_ref().map(|g| median_rate(g, &spec).0);
            let (c, steps) = median_rate(&cpu, &spec);
            println!(
                "{:<18} {:>12} {:>8} {:>16} {:>16.3e} {:>9}",
                name,
                format!("2^{log2}"),
                steps,
                g.map_or("-".into(), |g| format!("{g:.3e}")),
                c,
                g.map_or("-".into(), |g| format!("{:.2}", g / c)),
            );
        }
    }
}
