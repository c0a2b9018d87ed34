//! Throughput of fixed workloads on the GPU backend and the CPU twin, in one run: trajectory-
//! steps per second (median of 3 after a warm-up; setup excluded) and the GPU / CPU ratio.
//!
//! `cargo bench --bench throughput` (`LANGEVIN_BENCH_SIZES=16,20` chooses log2 sizes;
//! `LANGEVIN_BENCH_WORKLOADS=ou,lorenz,baoab` chooses workloads).

use langevin::{
    BackendChoice, Engine, EnsembleSpec, ExprModel, OrnsteinUhlenbeck, SaveAt, Scheme, Sweep,
};
use std::sync::Arc;

fn median_rate(engine: &Engine, spec: &EnsembleSpec) -> f64 {
    engine.run(spec).expect("warm-up run");
    let mut rates: Vec<f64> = (0..3)
        .map(|_| engine.run(spec).expect("run").trajectory_steps_per_second())
        .collect();
    rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
    rates[1]
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The workload `name` at `2^log2` trajectories, with its step count.
fn workload(name: &str, log2: u32) -> (EnsembleSpec, u32) {
    let n = 1u64 << log2;
    match name {
        // OU Euler-Maruyama, 1000 steps, moments at 11 save times.
        "ou" => (
            EnsembleSpec::new(OrnsteinUhlenbeck::new(1.0, 0.0, 0.5))
                .initial_fixed(&[1.0])
                .time_span(0.0, 1.0)
                .dt(1e-3)
                .trajectories(n)
                .seed(1)
                .save_at(SaveAt::Count(11)),
            1000,
        ),
        // DiffEqGPU's Lorenz workload: f32, t in [0, 1], RK4 at dt = 0.001, rho over
        // linspace(0, 21) with a value per trajectory.
        "lorenz" => {
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
            let spec = EnsembleSpec::with_model(Arc::new(model))
                .scheme(Scheme::Rk4)
                .initial_fixed(&[1.0, 0.0, 0.0])
                .time_span(0.0, 1.0)
                .dt(1e-3)
                .trajectories(n)
                .sweep(Sweep::linspace("rho", 0.0, 21.0, n as usize))
                .save_at(SaveAt::Count(2));
            (spec, 1000)
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
            let spec = EnsembleSpec::with_model(Arc::new(model))
                .scheme(Scheme::Baoab)
                .initial_normal(&[-1.0, 0.0], &[0.1, 0.5])
                .time_span(0.0, 10.0)
                .dt(1e-2)
                .trajectories(n)
                .seed(1)
                .save_at(SaveAt::Count(11));
            (spec, 1000)
        }
        other => panic!("unknown workload {other} (ou, lorenz, baoab)"),
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
    let workloads = list("LANGEVIN_BENCH_WORKLOADS", "ou,lorenz,baoab");
    let gpu = Engine::new(BackendChoice::Gpu).ok();
    let cpu = Engine::new(BackendChoice::Cpu).expect("CPU twin");
    match &gpu {
        Some(g) => println!("GPU: {}", g.device()),
        None => println!("GPU: none (only the CPU twin is measured)"),
    }
    println!("CPU: {}", cpu.device());
    println!(
        "{:<10} {:>12} {:>8} {:>16} {:>16} {:>9}",
        "workload", "trajectories", "steps", "GPU traj-steps/s", "CPU traj-steps/s", "GPU/CPU"
    );
    for name in &workloads {
        for &log2 in &sizes {
            let (spec, steps) = workload(name, log2);
            let g = gpu.as_ref().map(|g| median_rate(g, &spec));
            let c = median_rate(&cpu, &spec);
            println!(
                "{:<10} {:>12} {:>8} {:>16} {:>16.3e} {:>9}",
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
