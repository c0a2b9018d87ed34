//! Embeds the engine: an Ornstein-Uhlenbeck ensemble, its moments against the exact
//! Euler-Maruyama recursion, on the backend of `LANGEVIN_BACKEND` (default auto).
//!
//! `cargo run --release --example ou_moments -- [trajectories] [steps] [saves] [histogram 0|1]
//! [steps per dispatch]`

use langevin::{Chunking, Engine, EnsembleSpec, OrnsteinUhlenbeck, SaveAt};

fn main() -> Result<(), langevin::Error> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number"))
        .collect();
    let trajectories = args.first().copied().unwrap_or(1 << 20);
    let steps = args.get(1).copied().unwrap_or(1000);
    let saves = args.get(2).copied().unwrap_or(11) as usize;
    let histogram = args.get(3).copied().unwrap_or(0) == 1;
    let steps_per_dispatch = args.get(4).map(|&s| s as u32);
    let (theta, mu, sigma, x0, dt) = (1.0, 0.5, 0.8, 2.0, 1e-3);

    let engine = Engine::from_env()?;
    eprintln!("running on {}", engine.selection());
    let mut spec = EnsembleSpec::new(OrnsteinUhlenbeck::new(theta, mu, sigma))
        .initial_fixed(&[x0])
        .time_span(0.0, steps as f64 * dt)
        .dt(dt)
        .trajectories(trajectories)
        .seed(7)
        .save_at(SaveAt::Count(saves))
        .chunking(Chunking {
            steps_per_dispatch,
            ..Chunking::default()
        });
    if histogram {
        spec = spec.histogram(0, 50, (-2.0, 3.0));
    }
    let result = engine.run(&spec)?;

    println!(
        "{:>8} {:>12} {:>12} {:>12} {:>12}",
        "t", "mean", "exact", "variance", "exact"
    );
    let a: f64 = 1.0 - theta * dt;
    for (k, &t) in result.times.iter().enumerate() {
        let n = (t / dt).round() as i32;
        let mean = a.powi(n) * x0 + mu * (1.0 - a.powi(n));
        let var = sigma * sigma * dt * (1.0 - a.powi(2 * n)) / (1.0 - a * a);
        let m = result.moments[k][0];
        println!(
            "{t:>8.3} {:>12.6} {mean:>12.6} {:>12.6} {var:>12.6}",
            m.mean,
            m.variance()
        );
    }
    println!(
        "{} trajectories x {} steps: {:.3} s, {:.3e} trajectory-steps/s ({} batches, {} dispatches)",
        result.trajectories,
        result.steps,
        result.run_time.as_secs_f64(),
        result.trajectory_steps_per_second(),
        result.batches,
        result.dispatches
    );
    Ok(())
}
