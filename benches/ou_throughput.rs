//! OU Euler-Maruyama throughput on the GPU backend and the CPU twin, in one run: trajectory-
//! steps per second (median of 3 after a warm-up) and the GPU / CPU ratio.
//!
//! `cargo bench --bench ou_throughput` (set `LANGEVIN_BENCH_SIZES=16,20` to choose log2 sizes).

use langevin::{BackendChoice, Engine, EnsembleSpec, OrnsteinUhlenbeck, SaveAt};
use std::time::Duration;

fn median_run(engine: &Engine, spec: &EnsembleSpec) -> (f64, Duration) {
    engine.run(spec).expect("warm-up run");
    let mut rates: Vec<(f64, Duration)> = (0..3)
        .map(|_| {
            let r = engine.run(spec).expect("run");
            (r.trajectory_steps_per_second(), r.run_time)
        })
        .collect();
    rates.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    rates[1]
}

fn main() {
    let sizes: Vec<u32> = std::env::var("LANGEVIN_BENCH_SIZES")
        .unwrap_or_else(|_| "16,20".into())
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().expect("log2 size"))
        .collect();
    let steps = 1000u32;
    let gpu = Engine::new(BackendChoice::Gpu).ok();
    let cpu = Engine::new(BackendChoice::Cpu).expect("CPU twin");
    if let Some(g) = &gpu {
        println!("GPU: {}", g.device());
    } else {
        println!("GPU: none (only the CPU twin is measured)");
    }
    println!("CPU: {}", cpu.device());
    println!(
        "{:<28} {:>12} {:>8} {:>16} {:>16} {:>9}",
        "workload", "trajectories", "steps", "GPU traj-steps/s", "CPU traj-steps/s", "GPU/CPU"
    );
    for log2 in sizes {
        let spec = EnsembleSpec::new(OrnsteinUhlenbeck::new(1.0, 0.0, 0.5))
            .initial_fixed(&[1.0])
            .time_span(0.0, f64::from(steps) * 1e-3)
            .dt(1e-3)
            .trajectories(1 << log2)
            .seed(1)
            .save_at(SaveAt::Count(11));
        let g = gpu.as_ref().map(|g| median_run(g, &spec).0);
        let c = median_run(&cpu, &spec).0;
        println!(
            "{:<28} {:>12} {:>8} {:>16} {:>16.3e} {:>9}",
            "ou_euler_maruyama",
            format!("2^{log2}"),
            steps,
            g.map_or("-".into(), |g| format!("{g:.3e}")),
            c,
            g.map_or("-".into(), |g| format!("{:.2}", g / c)),
        );
    }
}
