//! The workloads of `langevin bench` through criterion: each case of
//! [`langevin::bench::cases`] on the GPU backend (when there is an adapter) and on the CPU
//! twin, one engine per backend so pipelines are created once, throughput in the case's unit
//! (trajectory-steps, events, oscillator-, point-steps, points).
//!
//! `cargo bench --bench library` (`LANGEVIN_BENCH_SIZE=tiny|small|standard`, default small;
//! criterion's own filters select cases, e.g. `cargo bench --bench library -- lorenz`).
//! `langevin bench` prints the same cases as a table with the GPU / CPU ratio.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use langevin::bench::{self, Size};
use langevin::{BackendChoice, Engine};
use std::time::Duration;

fn workloads(c: &mut Criterion) {
    let size: Size = std::env::var("LANGEVIN_BENCH_SIZE")
        .unwrap_or_else(|_| "small".into())
        .parse()
        .expect("LANGEVIN_BENCH_SIZE: tiny, small or standard");
    let engines: Vec<(&str, Engine)> = [("gpu", BackendChoice::Gpu), ("cpu", BackendChoice::Cpu)]
        .into_iter()
        .filter_map(|(name, choice)| Engine::new(choice).ok().map(|e| (name, e)))
        .collect();
    for case in bench::cases(size, &[]).expect("the named size") {
        let mut group = c.benchmark_group(case.workload);
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(5));
        for (backend, engine) in &engines {
            // The warm-up run creates the pipelines, checks the result and counts the steps.
            let first = bench::run_once(engine, &case).expect("the case runs and passes");
            group.throughput(Throughput::Elements(
                (case.trajectories as f64 * first.steps) as u64,
            ));
            group.bench_function(BenchmarkId::new(*backend, &case.size), |b| {
                b.iter(|| bench::run_once(engine, &case).expect("run"))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, workloads);
criterion_main!(benches);
