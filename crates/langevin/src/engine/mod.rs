//! The one entry point: an [`Engine`] owns a backend (a wgpu device, or the CPU twin) and runs
//! ensembles on it, caching compiled kernels between runs.

mod adaptive;

use crate::cpu;
use crate::device::{BackendChoice, DeviceInfo};
use crate::ensemble::{Accumulator, EnsembleResult, Finished};
use crate::error::{Error, Result};
use crate::event::EventResult;
use crate::gpu::{self, GpuContext};
use crate::plan::{Batch, Plan};
use crate::real::Precision;
use crate::spec::EnsembleSpec;
use crate::stats::{FirstPassage, Histogram};
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A bound on the loop iterations one step of `sde_ensemble` runs when a driver does not
/// unroll its loops over the state (a scheme's and a model's loops over up to 8 components,
/// for up to 5 evaluations of the terms): it turns a driver's loop limit into a bound on the
/// steps of one dispatch.
const LOOP_ITERATIONS_PER_STEP: u32 = 128;

/// Trajectory-steps per segment of a stoppable run on the CPU twin: a fraction of a second
/// on a few cores, so that a stop is heard soon, and enough that a segment's overhead does
/// not count (segments do not change the result).
const CPU_STOPPABLE_SEGMENT_WORK: u64 = 1 << 23;

pub use crate::plan::DEFAULT_GPU_BATCH_BYTES;

enum Backend {
    Gpu(Box<GpuContext>),
    Cpu(DeviceInfo),
}

/// How far a run has come, in trajectory-steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Trajectory-steps completed.
    pub done: u64,
    /// Trajectory-steps in the run.
    pub total: u64,
}

/// Batches are whole blocks of 64 trajectories (so that batching cannot change a result): a
/// memory budget too small for one block is refused rather than exceeded.
fn check_capacity(capacity: u64, trajectories: u64, budget: u64, device: &str) -> Result<()> {
    let block = u64::from(crate::plan::BLOCK_SIZE);
    if capacity < block.min(trajectories) {
        return Err(Error::Limit(format!(
            "a batch budget of {budget} bytes holds {capacity} trajectories on {device}, \
             fewer than one block of {block}"
        )));
    }
    Ok(())
}

/// Runs ensembles on one backend.
pub struct Engine {
    backend: Backend,
    selection: String,
    kernels: Mutex<HashMap<String, Arc<gpu::sde_ensemble::SdeKernel>>>,
    adaptive_kernels: Mutex<HashMap<String, Arc<gpu::ode_adaptive::AdaptiveKernel>>>,
}

impl Engine {
    /// An engine on the backend chosen.
    ///
    /// # Errors
    /// [`Error::NoAdapter`] when `Gpu` is asked for and no adapter exists.
    pub fn new(choice: BackendChoice) -> Result<Engine> {
        let (backend, selection) = match choice {
            BackendChoice::Cpu => (
                Backend::Cpu(DeviceInfo::cpu()),
                "CPU twin (asked for)".to_string(),
            ),
            BackendChoice::Gpu => {
                let ctx = GpuContext::new()?;
                let line = ctx.info.to_string();
                (Backend::Gpu(Box::new(ctx)), line)
            }
            BackendChoice::Auto => match GpuContext::new() {
                Ok(ctx) => {
                    let line = ctx.info.to_string();
                    (Backend::Gpu(Box::new(ctx)), line)
                }
                Err(_) => (
                    Backend::Cpu(DeviceInfo::cpu()),
                    "CPU twin: no GPU adapter found (on Linux, `apt-get install mesa-vulkan-drivers` \
                     adds a software Vulkan adapter)"
                        .to_string(),
                ),
            },
        };
        Ok(Engine {
            backend,
            selection,
            kernels: Mutex::new(HashMap::new()),
            adaptive_kernels: Mutex::new(HashMap::new()),
        })
    }

    /// An engine on every GPU adapter present (each its own device), for splitting a run
    /// over them.
    ///
    /// # Errors
    /// [`Error::NoAdapter`] when there is none.
    pub fn every_gpu() -> Result<Vec<Engine>> {
        Ok(GpuContext::all()?
            .into_iter()
            .map(|ctx| Engine {
                selection: ctx.info.to_string(),
                backend: Backend::Gpu(Box::new(ctx)),
                kernels: Mutex::new(HashMap::new()),
                adaptive_kernels: Mutex::new(HashMap::new()),
            })
            .collect())
    }

    /// An engine on the backend named by `LANGEVIN_BACKEND` (default `auto`).
    ///
    /// # Errors
    /// As [`Engine::new`], or for an unknown backend name.
    pub fn from_env() -> Result<Engine> {
        Engine::new(BackendChoice::from_env()?)
    }

    /// What runs the work.
    pub fn device(&self) -> &DeviceInfo {
        match &self.backend {
            Backend::Gpu(ctx) => &ctx.info,
            Backend::Cpu(info) => info,
        }
    }

    /// One line saying which backend was chosen and why.
    pub fn selection(&self) -> &str {
        &self.selection
    }

    /// The wgpu context, when the backend is a GPU.
    pub fn gpu(&self) -> Option<&GpuContext> {
        match &self.backend {
            Backend::Gpu(ctx) => Some(ctx),
            Backend::Cpu(_) => None,
        }
    }

    /// Frees the device buffers kept for later runs. A GPU engine keeps a finished run's
    /// per-trajectory and staging buffers (up to [`gpu::pool::POOL_BYTES`]) so that the next
    /// run of the same shape does not allocate them again; this hands that memory back.
    pub fn release_buffers(&self) {
        if let Backend::Gpu(ctx) = &self.backend {
            ctx.release_buffers();
        }
    }

    /// The pace the next GPU run of `spec`'s kernels cuts its dispatches by (measured by the
    /// last run of those kernels; [`crate::plan::Pace`]); `None` before any such run and on
    /// the CPU twin.
    ///
    /// # Errors
    /// As [`Engine::run`] when `spec` does not resolve or its kernels do not compile.
    pub fn pace(&self, spec: &EnsembleSpec) -> Result<Option<crate::plan::Pace>> {
        match &self.backend {
            Backend::Gpu(ctx) => {
                let run = spec.resolve()?;
                Ok(self.sde_kernel(ctx, spec, &run)?.pace())
            }
            Backend::Cpu(_) => Ok(None),
        }
    }

    /// Runs an ensemble and merges its statistics.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] or [`Error::Limit`] before any device work; [`Error::Shader`]
    /// or [`Error::Device`] from the device.
    pub fn run(&self, spec: &EnsembleSpec) -> Result<EnsembleResult> {
        self.run_with_progress(spec, &mut |_| {})
    }

    /// [`Engine::run`], calling `progress` as each dispatch completes.
    ///
    /// # Errors
    /// As [`Engine::run`].
    pub fn run_with_progress(
        &self,
        spec: &EnsembleSpec,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<EnsembleResult> {
        self.run_inner(spec, progress, None)
    }

    /// [`Engine::run_with_progress`] that ends early, with [`Error::Stopped`], once `stop` is
    /// set: checked as each dispatch completes on the GPU and each segment on the CPU twin
    /// (a dispatch lasts about a second at most), and between the dispatches of an adaptive
    /// run. A signal handler can set it, so that an interrupt is heard within a dispatch
    /// rather than at the end of the run.
    ///
    /// # Errors
    /// As [`Engine::run`], or [`Error::Stopped`].
    pub fn run_stoppable(
        &self,
        spec: &EnsembleSpec,
        progress: &mut dyn FnMut(Progress),
        stop: &AtomicBool,
    ) -> Result<EnsembleResult> {
        self.run_inner(spec, progress, Some(stop))
    }

    fn run_inner(
        &self,
        spec: &EnsembleSpec,
        progress: &mut dyn FnMut(Progress),
        stop: Option<&AtomicBool>,
    ) -> Result<EnsembleResult> {
        crate::error::check_stop(stop)?;
        let run = spec.resolve()?;
        let total = spec.trajectories * u64::from(run.n_steps);
        let mut done = 0u64;
        let setup_start = Instant::now();
        let model = spec.model.as_ref();
        let histogram = spec
            .histogram
            .as_ref()
            .map(crate::binned::HistogramSpec::empty);
        // An event's first times are gathered like first passages, then handed over below.
        let first_passage = match (&spec.first_passage, &spec.event) {
            (Some(f), _) => Some(FirstPassage {
                component: f.component,
                level: f.level,
                direction: f.direction,
                hit: 0,
                times: Vec::new(),
            }),
            (None, Some(_)) => Some(FirstPassage {
                component: 0,
                level: f64::NAN,
                direction: crate::spec::Direction::Up,
                hit: 0,
                times: Vec::new(),
            }),
            (None, None) => None,
        };
        if spec.scheme.is_adaptive() {
            return self.run_adaptive(spec, run, histogram, progress, stop);
        }
        let (plan, mut acc, setup_time, run_start);
        match &self.backend {
            Backend::Gpu(ctx) => {
                let kernel = self.sde_kernel(ctx, spec, &run)?;
                let budget = self.batch_budget(spec);
                let footprint = crate::spec::Footprint::of(spec, &run);
                // A run of several batches reads one back while the next runs, through a second
                // staging buffer, when the budget holds two for at least a block.
                let mut capacity = gpu::sde_ensemble::batch_capacity(ctx, &footprint, budget, 1);
                let several = capacity < spec.trajectories
                    || spec
                        .chunking
                        .max_batch_trajectories
                        .is_some_and(|m| m < spec.trajectories);
                let mut stagings = 1;
                if several {
                    let two = gpu::sde_ensemble::batch_capacity(ctx, &footprint, budget, 2);
                    if two >= u64::from(crate::plan::BLOCK_SIZE) {
                        (capacity, stagings) = (two, 2);
                    }
                }
                check_capacity(capacity, spec.trajectories, budget, &ctx.info.name)?;
                let step_cap = ctx.loop_iteration_limit.map(|limit| {
                    // The dispatch that draws the initial states also runs their loops.
                    let init = u32::try_from(spec.initial_loop_cost()).unwrap_or(u32::MAX);
                    limit.saturating_sub(init) / LOOP_ITERATIONS_PER_STEP
                });
                if step_cap == Some(0) {
                    return Err(Error::Limit(format!(
                        "drawing an initial state runs {} loop iterations, past the {} this \
                         driver allows an invocation: fewer binomial trials, or another adapter",
                        spec.initial_loop_cost(),
                        ctx.loop_iteration_limit.unwrap_or(0)
                    )));
                }
                plan = Plan::new(spec, run, capacity, step_cap, kernel.pace());
                let mut runner = gpu::sde_ensemble::SdeRun::new(
                    ctx,
                    &kernel,
                    &plan,
                    spec.reads_final_states(),
                    stagings,
                )?;
                setup_time = setup_start.elapsed();
                run_start = Instant::now();
                acc = Accumulator::new(&plan, histogram, spec.reads_final_states(), first_passage);
                let mut last_step = run_start;
                let mut tick = |batch: Batch, steps: u32| {
                    done += u64::from(batch.count) * u64::from(steps);
                    last_step = Instant::now();
                    progress(Progress { done, total });
                };
                runner.run_batches(
                    &mut tick,
                    &mut |batch, output| {
                        acc.add(batch.first, output);
                    },
                    stop,
                )?;
                // The next run of these kernels plans its dispatches by this pace.
                if done > 0 {
                    let seconds = last_step.duration_since(run_start).as_secs_f64();
                    kernel.record_pace(crate::plan::Pace {
                        batch: plan.max_batch,
                        substeps: spec.brownian_substeps,
                        flags: plan.base.flags,
                        step_seconds: seconds * f64::from(plan.max_batch) / done as f64,
                    });
                }
            }
            Backend::Cpu(_) => {
                let budget = self.batch_budget(spec);
                let footprint = crate::spec::Footprint::of(spec, &run);
                let capacity = cpu::batch_capacity(&footprint, budget);
                check_capacity(capacity, spec.trajectories, budget, "the CPU twin")?;
                // A stoppable run checks its flag between segments: short ones hear it soon.
                let step_cap = stop.map(|_| {
                    let batch = capacity.min(spec.trajectories).max(1);
                    (CPU_STOPPABLE_SEGMENT_WORK / batch).clamp(1, u64::from(u32::MAX)) as u32
                });
                plan = Plan::new(spec, run, capacity, step_cap, None);
                setup_time = setup_start.elapsed();
                run_start = Instant::now();
                acc = Accumulator::new(&plan, histogram, spec.reads_final_states(), first_passage);
                for &batch in &plan.batches {
                    let mut tick = |steps: u32| {
                        done += u64::from(batch.count) * u64::from(steps);
                        progress(Progress { done, total });
                    };
                    let output = cpu::run_sde_batch(
                        &mut tick,
                        stop,
                        model,
                        spec.scheme,
                        &plan,
                        batch,
                        spec.reads_final_states(),
                    )
                    .ok_or(Error::Stopped)?;
                    acc.add(batch.first, output);
                }
            }
        }
        let run_time = run_start.elapsed();
        let Finished {
            moments,
            sweep,
            histogram,
            final_states,
            first_passage,
            displacement,
            origin_product,
            time_average,
            observables,
            paths,
            quantiles,
            histograms,
            histogram2d,
            ..
        } = acc.finish();
        let (first_passage, event) = match &plan.run.event {
            Some(e) => {
                let times = first_passage.map(|f| f.times).unwrap_or_default();
                let result =
                    EventResult::new(e, times, &plan.run.times, plan.run.dt, spec.trajectories);
                (None, Some(result))
            }
            None => (first_passage, None),
        };
        Ok(EnsembleResult {
            event,
            state_names: model.state_names(),
            times: plan.run.times.clone(),
            moments,
            histogram,
            final_states,
            final_states_f64: None,
            first_passage,
            trajectories: spec.trajectories,
            steps: plan.run.n_steps,
            dt: plan.run.dt,
            device: self.device().clone(),
            batches: plan.batches.len(),
            dispatches: plan.batches.len() * plan.segments.len(),
            setup_time,
            run_time,
            sweep,
            adaptive: None,
            displacement,
            origin_product,
            time_average,
            jumps: None,
            observables,
            paths,
            quantiles,
            histograms,
            histogram2d,
        })
    }

    /// [`Engine::run_with_progress`] for an adaptive scheme: batch by batch, dispatched toward
    /// each save time until every trajectory is there ([`crate::adaptive`]).
    fn run_adaptive(
        &self,
        spec: &EnsembleSpec,
        run: crate::spec::ResolvedRun,
        histogram: Option<Histogram>,
        progress: &mut dyn FnMut(Progress),
        stop: Option<&AtomicBool>,
    ) -> Result<EnsembleResult> {
        let setup_start = Instant::now();
        let model = spec.model.as_ref();
        let mut run = run;
        // On a Brownian tree, save times move to the nearest leaf (at most half a leaf away).
        let tree = spec
            .scheme
            .on_brownian_tree()
            .then(|| crate::adaptive::TreeGrid::new(&spec.adaptive, spec.t0, spec.t_end, spec.dt))
            .transpose()?;
        if let Some(g) = &tree {
            for t in &mut run.times {
                *t = g.time_of(g.leaf_of(*t));
            }
        }
        let total = spec.trajectories * u64::from(run.n_steps);
        let mut done = 0u64;
        let mut stats = crate::adaptive::AdaptiveStats::default();
        let footprint = crate::spec::Footprint::of(spec, &run);
        let reactions = spec.model.reactions().map_or(0, |n| n.reactions.len());
        let (capacity, budget, attempts, device_name, kernel) = match &self.backend {
            Backend::Gpu(ctx) => {
                ctx.require(spec.adaptive.precision, "solver.precision")?;
                let budget = self.batch_budget(spec);
                (
                    gpu::sde_ensemble::batch_capacity(ctx, &footprint, budget, 1),
                    budget,
                    adaptive::attempts_per_dispatch(
                        ctx.loop_iteration_limit,
                        spec.scheme,
                        run.dim,
                        reactions,
                        spec.initial_loop_cost(),
                    )?,
                    ctx.info.name.clone(),
                    Some(self.adaptive_kernel(ctx, spec)?),
                )
            }
            Backend::Cpu(_) => {
                let budget = self.batch_budget(spec);
                (
                    cpu::batch_capacity(&footprint, budget),
                    budget,
                    adaptive::attempts_per_dispatch(
                        None,
                        spec.scheme,
                        run.dim,
                        reactions,
                        spec.initial_loop_cost(),
                    )?,
                    "the CPU twin".to_string(),
                    None,
                )
            }
        };
        check_capacity(capacity, spec.trajectories, budget, &device_name)?;
        let plan = Plan::new(spec, run, capacity, None, None);
        let setup_time = setup_start.elapsed();
        let run_start = Instant::now();
        let mut acc = Accumulator::new(&plan, histogram, spec.reads_final_states(), None);
        let mut jumps = (spec.scheme.kind() == crate::SchemeKind::Jump)
            .then(|| {
                let slots = crate::spec::save_slots(
                    &spec.count_distributions,
                    &plan.run.times,
                    plan.run.dt,
                )?;
                Ok::<_, crate::Error>(crate::jump_observe::JumpObservables::new(
                    &plan.run.times,
                    plan.run.dim,
                    &slots,
                    spec.keep_events,
                ))
            })
            .transpose()?;
        for &batch in &plan.batches {
            let mut buffers: Box<dyn crate::adaptive::AdaptiveBatch + '_> =
                match (&self.backend, &kernel) {
                    (Backend::Gpu(ctx), Some(kernel)) => Box::new(
                        gpu::ode_adaptive::GpuBatch::new(ctx, kernel, &plan, batch.count)?,
                    ),
                    _ if spec.adaptive.precision == Precision::F64 => {
                        Box::new(cpu::ode_adaptive::CpuBatch::<f64>::new(
                            model,
                            spec.scheme,
                            &plan.run,
                            batch.count,
                        ))
                    }
                    _ => Box::new(cpu::ode_adaptive::CpuBatch::<f32>::new(
                        model,
                        spec.scheme,
                        &plan.run,
                        batch.count,
                    )),
                };
            let mut tick = |steps: u32| {
                done += u64::from(batch.count) * u64::from(steps);
                progress(Progress { done, total });
            };
            let (out, s) = adaptive::run_batch(
                buffers.as_mut(),
                &plan,
                &spec.adaptive,
                batch,
                tree.as_ref(),
                attempts,
                spec.reads_final_states(),
                jumps.as_mut(),
                &mut tick,
                stop,
            )?;
            stats = stats.merged(s);
            acc.add(batch.first, out);
        }
        if let (Some(j), Some(p), Some(network)) = (
            jumps.as_mut(),
            spec.paths,
            model
                .reactions()
                .filter(|_| spec.scheme == crate::Scheme::Ssa),
        ) {
            j.event_paths = Some(adaptive::event_paths(
                &plan,
                &spec.adaptive,
                network,
                p.trajectories,
            ));
        }
        let run_time = run_start.elapsed();
        let Finished {
            moments,
            sweep,
            histogram,
            final_states,
            final_states_f64,
            observables,
            paths,
            quantiles,
            histograms,
            histogram2d,
            ..
        } = acc.finish();
        Ok(EnsembleResult {
            state_names: model.state_names(),
            times: plan.run.times.clone(),
            moments,
            histogram,
            final_states,
            final_states_f64,
            first_passage: None,
            event: None,
            trajectories: spec.trajectories,
            // The mean accepted steps per trajectory, so that the rate counts steps taken.
            steps: (stats.accepted / spec.trajectories.max(1)) as u32,
            dt: plan.run.dt,
            device: self.device().clone(),
            batches: plan.batches.len(),
            dispatches: 0,
            setup_time,
            run_time,
            sweep,
            adaptive: Some(stats),
            displacement: None,
            origin_product: None,
            time_average: None,
            jumps,
            observables,
            paths,
            quantiles,
            histograms,
            histogram2d,
        })
    }

    /// The memory one batch may use: the chunking's bound, else the backend's default.
    fn batch_budget(&self, spec: &EnsembleSpec) -> u64 {
        spec.chunking.max_batch_bytes.unwrap_or(match self.backend {
            Backend::Gpu(_) => DEFAULT_GPU_BATCH_BYTES,
            Backend::Cpu(_) => cpu::DEFAULT_BATCH_BYTES,
        })
    }

    fn adaptive_kernel(
        &self,
        ctx: &GpuContext,
        spec: &EnsembleSpec,
    ) -> Result<Arc<gpu::ode_adaptive::AdaptiveKernel>> {
        let precision = spec.adaptive.precision;
        let key = format!(
            "{}\n{}\n{}",
            spec.scheme,
            precision.name(),
            crate::model::wgsl_module(spec.model.as_ref())
        );
        let mut cache = self.adaptive_kernels.lock().expect("kernel cache");
        if let Some(k) = cache.get(&key) {
            return Ok(k.clone());
        }
        let kernel = Arc::new(gpu::ode_adaptive::AdaptiveKernel::new(
            ctx,
            spec.model.as_ref(),
            spec.scheme,
            precision,
        )?);
        cache.insert(key, kernel.clone());
        Ok(kernel)
    }

    fn sde_kernel(
        &self,
        ctx: &GpuContext,
        spec: &EnsembleSpec,
        run: &crate::spec::ResolvedRun,
    ) -> Result<Arc<gpu::sde_ensemble::SdeKernel>> {
        let event = run.event.as_ref();
        // The observation module holds the stepping kernel's observables too.
        let observables = crate::observable::wgsl_module(&run.observables, run.columns);
        let key = format!(
            "{}\n{}\n{}\n{}\n{observables}",
            spec.scheme,
            crate::model::wgsl_state_layout(
                spec.model.as_ref(),
                spec.scheme.normals_per_noise(),
                spec.scheme.draws_noise(),
                spec.tracks_passage(),
                event.is_some_and(crate::event::Event::stops),
                Precision::F32
            ),
            crate::model::wgsl_module(spec.model.as_ref()),
            crate::event::wgsl_module(event)
        );
        let mut cache = self.kernels.lock().expect("kernel cache");
        if let Some(k) = cache.get(&key) {
            return Ok(k.clone());
        }
        let kernel = Arc::new(gpu::sde_ensemble::SdeKernel::new(
            ctx,
            spec.model.as_ref(),
            spec.scheme,
            spec.first_passage.is_some(),
            event,
            &run.observables,
            run.columns,
        )?);
        cache.insert(key, kernel.clone());
        Ok(kernel)
    }

    /// Philox4x32-10 blocks for `(counter, key)` pairs on this backend.
    ///
    /// # Errors
    /// [`Error::Device`] or [`Error::Shader`] on the GPU backend.
    pub fn philox_kat(&self, input: &[([u32; 4], [u32; 2])]) -> Result<Vec<[u32; 4]>> {
        match &self.backend {
            Backend::Gpu(ctx) => gpu::philox_stream::philox_kat(ctx, input),
            Backend::Cpu(_) => Ok(cpu::philox_stream::philox_kat(input)),
        }
    }

    /// The first `per_trajectory` (a multiple of 4) normals of stream `stream` of each of
    /// `trajectories` trajectories from `first_trajectory`, exactly as the engine draws them.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a count that is not a positive multiple of 4, or a device error.
    pub fn normals(
        &self,
        seed: u64,
        first_trajectory: u64,
        trajectories: u32,
        per_trajectory: u32,
        stream: u32,
    ) -> Result<Vec<f32>> {
        if per_trajectory == 0 || per_trajectory % 4 != 0 {
            return Err(Error::invalid(
                "per_trajectory",
                per_trajectory,
                "must be a positive multiple of 4",
            ));
        }
        let blocks = u64::from(trajectories) * u64::from(per_trajectory / 4);
        if blocks > u64::from(u32::MAX) {
            return Err(Error::Limit(format!(
                "{blocks} blocks of normals in one call"
            )));
        }
        let fill = cpu::philox_stream::NormalFill {
            key: crate::philox::key_of_seed(seed),
            first_trajectory: crate::philox::words_of_index(first_trajectory),
            stream,
            blocks_per_trajectory: per_trajectory / 4,
            blocks: blocks as u32,
            _pad: 0,
        };
        match &self.backend {
            Backend::Gpu(ctx) => gpu::philox_stream::normal_fill(ctx, &fill),
            Backend::Cpu(_) => Ok(cpu::philox_stream::normal_fill(&fill)),
        }
    }
}
