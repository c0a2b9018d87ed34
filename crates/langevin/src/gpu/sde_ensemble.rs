//! Runs `shaders/sde_ensemble.wgsl` and `shaders/ensemble_observe.wgsl` over the batches of a
//! [`Plan`]: bind groups made once per run, dynamic offsets select the dispatch's segment
//! uniform and save slot, and one readback per
//! batch brings home the moment partials, the histogram and (if asked) the final states. The
//! next batch is queued before a batch is read, and the run's large buffers go back to the
//! context's pool ([`super::pool`]) for the next run of the same shape.

use super::context::{pod_vec, GpuContext};
use crate::ensemble::BatchOutput;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::model::{self, Model};
use crate::plan::{Batch, Pace, Plan, Segment};
use crate::scheme::Scheme;
use crate::shader;
use crate::stats::PartialMoments;
use rayon::prelude::*;
use std::mem::size_of;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes per moment partial.
const PARTIAL_BYTES: u64 = size_of::<PartialMoments>() as u64;

/// The compiled kernels of one (model, scheme): `sde_ensemble` and `ensemble_observe`.
pub struct SdeKernel {
    step: wgpu::ComputePipeline,
    step_layout: wgpu::BindGroupLayout,
    /// Invocations per workgroup of `sde_ensemble` (one invocation per trajectory).
    step_group_size: u32,
    observe: wgpu::ComputePipeline,
    observe_layout: wgpu::BindGroupLayout,
    /// Invocations per workgroup of `ensemble_observe` (one invocation per block).
    observe_group_size: u32,
    /// How fast the last run stepped, for cutting the next run's dispatches to a time budget.
    pace: std::sync::Mutex<Option<Pace>>,
}

pub(crate) fn buffer_entry(
    binding: u32,
    ty: wgpu::BufferBindingType,
    dynamic: bool,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: dynamic,
            min_binding_size: None,
        },
        count: None,
    }
}

pub(crate) const UNIFORM: wgpu::BufferBindingType = wgpu::BufferBindingType::Uniform;
pub(crate) const READ: wgpu::BufferBindingType =
    wgpu::BufferBindingType::Storage { read_only: true };
pub(crate) const READ_WRITE: wgpu::BufferBindingType =
    wgpu::BufferBindingType::Storage { read_only: false };

/// The WGSL of `sde_ensemble` and `ensemble_observe` for `model` and `scheme`, validated by naga,
/// with the run's `observables` observed as `columns` says (and averaged over time in
/// `sde_ensemble`, [`crate::observable::wgsl_values`]).
///
/// # Errors
/// [`Error::Shader`] when the model's WGSL does not validate.
pub fn compose(
    model: &dyn Model,
    scheme: Scheme,
    track_passage: bool,
    event: Option<&Event>,
    observables: &crate::observable::Observables,
    columns: crate::observable::Columns,
) -> Result<[shader::ComposedKernel; 2]> {
    if scheme.is_adaptive() {
        return Err(Error::Shader {
            kernel: "sde_ensemble".into(),
            message: format!("{scheme} steps adaptively: it runs in ode_adaptive"),
        });
    }
    let layout = model::wgsl_state_layout(
        model,
        scheme.normals_per_noise(),
        scheme.draws_noise(),
        track_passage || event.is_some(),
        event.is_some_and(Event::stops),
        crate::real::Precision::F32,
    );
    let event_module = crate::event::wgsl_module(event);
    let model_module = model::wgsl_module(model);
    let scheme_source = shader::source(scheme.shader_module()).ok_or_else(|| Error::Shader {
        kernel: scheme.shader_module().into(),
        message: "missing scheme source".into(),
    })?;
    let values = crate::observable::wgsl_values(observables);
    let step = shader::kernel(
        "sde_ensemble",
        &[
            ("state_layout", &layout),
            ("model", &model_module),
            ("scheme", scheme_source),
            ("event", &event_module),
            ("observables", &values),
        ],
    )?;
    let columns_module = crate::observable::wgsl_module(observables, columns);
    let observe = shader::kernel(
        "ensemble_observe",
        &[("state_layout", &layout), ("observables", &columns_module)],
    )?;
    Ok([step, observe])
}

pub(crate) fn pipeline(
    ctx: &GpuContext,
    kernel: &shader::ComposedKernel,
    label: &str,
    entries: &[wgpu::BindGroupLayoutEntry],
) -> Result<(wgpu::ComputePipeline, wgpu::BindGroupLayout)> {
    let layout = ctx
        .device
        .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(&kernel.name),
            entries,
        });
    let pipeline_layout = ctx
        .device
        .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(&kernel.name),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
    let pipeline = ctx.compute_pipeline(
        label,
        &kernel.wgsl,
        &kernel.entry_point,
        Some(&pipeline_layout),
    )?;
    Ok((pipeline, layout))
}

impl SdeKernel {
    /// Composes, validates and compiles both kernels (with first-passage tracking or without).
    ///
    /// # Errors
    /// [`Error::Shader`] or [`Error::Device`].
    pub fn new(
        ctx: &GpuContext,
        model: &dyn Model,
        scheme: Scheme,
        track_passage: bool,
        event: Option<&Event>,
        observables: &crate::observable::Observables,
        columns: crate::observable::Columns,
    ) -> Result<Self> {
        let [step_src, observe_src] =
            compose(model, scheme, track_passage, event, observables, columns)?;
        let label = format!("sde_ensemble/{}/{}", model.name(), scheme.name());
        let (step, step_layout) = pipeline(
            ctx,
            &step_src,
            &label,
            &[
                buffer_entry(0, UNIFORM, true),
                buffer_entry(1, READ, false),
                buffer_entry(2, READ, false),
                buffer_entry(3, READ_WRITE, false),
                buffer_entry(4, READ_WRITE, false),
                buffer_entry(5, READ, false),
                buffer_entry(6, READ_WRITE, false),
                buffer_entry(7, READ_WRITE, false),
            ],
        )?;
        let (observe, observe_layout) = pipeline(
            ctx,
            &observe_src,
            "ensemble_observe",
            &[
                buffer_entry(0, UNIFORM, true),
                buffer_entry(1, READ, false),
                buffer_entry(2, READ_WRITE, true),
                buffer_entry(3, READ_WRITE, false),
                buffer_entry(4, READ, false),
                buffer_entry(5, READ, false),
                buffer_entry(6, READ, false),
                buffer_entry(7, READ, false),
            ],
        )?;
        Ok(SdeKernel {
            step,
            step_layout,
            step_group_size: step_src.workgroup_size[0],
            observe,
            observe_layout,
            observe_group_size: observe_src.workgroup_size[0],
            pace: std::sync::Mutex::new(None),
        })
    }

    /// The pace of the last run measured with these kernels.
    pub fn pace(&self) -> Option<Pace> {
        *self.pace.lock().expect("pace")
    }

    /// Records a run's pace; one that measured no time is left out.
    pub fn record_pace(&self, pace: Pace) {
        if pace.step_seconds > 0.0 && pace.step_seconds.is_finite() {
            *self.pace.lock().expect("pace") = Some(pace);
        }
    }
}

/// Trajectories per batch that fit the device: bindings, workgroup counts and a memory budget,
/// with `stagings` copies of the readback (two when batches are pipelined: one is read while
/// the next batch fills the other).
pub fn batch_capacity(
    ctx: &GpuContext,
    f: &crate::spec::Footprint,
    budget: u64,
    stagings: u64,
) -> u64 {
    let observed = f.observed as u64;
    let binding = ctx.limits.max_storage_buffer_binding_size;
    // The widest per-trajectory binding: the state, the time sums (4 values per component),
    // or an adaptive run's clock.
    let per_binding = f
        .state_bytes()
        .max(u64::from(f.time_sums) * 16 * f.averaged as u64)
        .max(f.clock_bytes())
        .max(1);
    let by_state_binding = binding / per_binding;
    let by_partial_binding =
        binding / (PARTIAL_BYTES * observed.max(1)) * u64::from(crate::plan::BLOCK_SIZE);
    // The state, first-passage times and optional buffers, the partials, and the staging
    // copies of what is read back.
    let partials =
        (f.saves as u64 * observed * PARTIAL_BYTES).div_ceil(u64::from(crate::plan::BLOCK_SIZE));
    let bytes_per_trajectory = f.state_bytes()
        + 4
        + f.optional_bytes()
        + partials
        + stagings * (f.readback_bytes() + partials);
    let by_budget = budget.min(ctx.limits.max_buffer_size) / bytes_per_trajectory;
    let max_groups = u64::from(ctx.limits.max_compute_workgroups_per_dimension).pow(2);
    by_state_binding
        .min(by_partial_binding)
        .min(by_budget)
        .min(max_groups * u64::from(crate::plan::BLOCK_SIZE))
}

/// Device buffers for one run, sized for the largest batch and reused by every batch.
pub struct SdeRun<'a> {
    ctx: &'a GpuContext,
    kernel: &'a SdeKernel,
    plan: &'a Plan,
    final_states: bool,
    tracks_passage: bool,
    passage: wgpu::Buffer,
    segments: wgpu::Buffer,
    segment_stride: u64,
    state: wgpu::Buffer,
    partials: wgpu::Buffer,
    partial_stride: u64,
    histogram: wgpu::Buffer,
    histogram_words: u64,
    time_sums: Option<wgpu::Buffer>,
    /// The snapshots of a batch ([`crate::snapshot`]): per slot, room for `snapshot_room`
    /// trajectories' states.
    snapshots: Option<wgpu::Buffer>,
    snapshot_room: u64,
    /// One staging buffer per batch in flight: two when the plan has several batches (and the
    /// budget holds them), so that one is read while the next batch runs and copies into the
    /// other; with one, each batch is read before the next is queued.
    staging: Vec<wgpu::Buffer>,
    step_group: wgpu::BindGroup,
    observe_group: wgpu::BindGroup,
    /// What goes back to the context's pool when the run ends: every buffer above that the
    /// kernels write before they read.
    pooled: Vec<wgpu::Buffer>,
    /// No batch is part way through (none queued and unread, no staging buffer mapped).
    settled: bool,
}

impl Drop for SdeRun<'_> {
    fn drop(&mut self) {
        // A run that stopped part way (an error, a panic while reading) may leave a staging
        // buffer mapped or being mapped: those are let go, not kept for a run that could not
        // use them.
        let mut pooled = std::mem::take(&mut self.pooled);
        if !self.settled {
            pooled.retain(|b| !b.usage().contains(wgpu::BufferUsages::MAP_READ));
        }
        self.ctx.keep_buffers(pooled);
    }
}

impl<'a> SdeRun<'a> {
    /// Allocates the run's buffers and its bind group.
    ///
    /// # Errors
    /// [`Error::Device`] when allocation fails.
    pub fn new(
        ctx: &'a GpuContext,
        kernel: &'a SdeKernel,
        plan: &'a Plan,
        final_states: bool,
        stagings: usize,
    ) -> Result<Self> {
        let dim = plan.run.dim as u64;
        let max_blocks = u64::from(plan.max_batch.div_ceil(crate::plan::BLOCK_SIZE));
        let uniform_align = u64::from(ctx.limits.min_uniform_buffer_offset_alignment);
        let storage_align = u64::from(ctx.limits.min_storage_buffer_offset_alignment);
        let segment_stride = (size_of::<Segment>() as u64).next_multiple_of(uniform_align);
        let segments = ctx.buffer(
            "segments",
            segment_stride * plan.segments.len() as u64,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        let [params, init, sweep] = run_inputs::<f32>(ctx, plan);
        let state_bytes = u64::from(plan.max_batch) * dim * 4;
        let state = ctx.pooled_buffer(
            "state",
            state_bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        );
        let partial_bytes = max_blocks * plan.observed() as u64 * PARTIAL_BYTES;
        let partial_stride = partial_bytes.next_multiple_of(storage_align);
        let partials = ctx.pooled_buffer(
            "partials",
            partial_stride * plan.saves() as u64,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        );
        let histogram_words = plan.base.hist_bins as u64 + 3;
        let histogram = ctx.buffer(
            "histogram",
            histogram_words * 4,
            wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
        );
        let tracks_passage = plan.base.flags & crate::plan::FLAG_FIRST_PASSAGE != 0;
        let passage_bytes = if tracks_passage {
            u64::from(plan.max_batch) * 4
        } else {
            4
        };
        let passage = ctx.pooled_buffer(
            "passage",
            passage_bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        );
        // The optional buffers bind a placeholder word when the run does not use them.
        let optional = |label: &str, flag: u32, bytes: u64| {
            let used = plan.base.flags & flag != 0;
            let buffer = ctx.pooled_buffer(
                label,
                if used { bytes } else { 4 },
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            );
            (buffer, used)
        };
        let (origin, _) = optional("origin", crate::plan::FLAG_ORIGIN, state_bytes);
        let averaged = (plan.run.dim + plan.run.observables.len()) as u64;
        let sums_bytes = u64::from(plan.max_batch) * averaged * 16;
        let (time_sums, averages) =
            optional("time sums", crate::plan::FLAG_TIME_AVERAGE, sums_bytes);
        let snapshot_slots = plan.run.snapshots.as_ref().map_or(0, |s| s.steps.len()) as u64;
        let snapshot_room = plan
            .run
            .snapshots
            .as_ref()
            .map_or(0, |s| s.trajectories.min(u64::from(plan.max_batch)));
        let snapshot_bytes = snapshot_slots * snapshot_room * dim * 4;
        let snapshots = (snapshot_bytes > 0).then(|| {
            ctx.pooled_buffer(
                "snapshots",
                snapshot_bytes,
                wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            )
        });
        let staging_bytes = snapshot_bytes
            + passage_bytes
            + partial_bytes * plan.saves() as u64
            + histogram_words * 4
            + if final_states { state_bytes } else { 0 }
            + if averages { sums_bytes } else { 0 };
        let in_flight = plan.batches.len().min(stagings).max(1);
        let staging = (0..in_flight)
            .map(|_| {
                ctx.pooled_buffer(
                    "staging",
                    staging_bytes,
                    wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                )
            })
            .collect::<Vec<_>>();
        let segment_binding = || {
            wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &segments,
                offset: 0,
                size: wgpu::BufferSize::new(size_of::<Segment>() as u64),
            })
        };
        let step_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("sde_ensemble"),
            layout: &kernel.step_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: segment_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: params.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: init.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: state.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: passage.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 5,
                    resource: sweep.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 6,
                    resource: origin.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 7,
                    resource: time_sums.as_entire_binding(),
                },
            ],
        });
        let observe_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("ensemble_observe"),
            layout: &kernel.observe_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: segment_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: state.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &partials,
                        offset: 0,
                        size: wgpu::BufferSize::new(partial_bytes.max(4)),
                    }),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: histogram.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: passage.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 5,
                    resource: origin.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 6,
                    resource: params.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 7,
                    resource: sweep.as_entire_binding(),
                },
            ],
        });
        ctx.check()?;
        let mut pooled = vec![
            state.clone(),
            partials.clone(),
            passage.clone(),
            origin,
            time_sums.clone(),
        ];
        pooled.extend(staging.iter().cloned());
        pooled.extend(snapshots.iter().cloned());
        Ok(SdeRun {
            snapshots,
            snapshot_room,
            pooled,
            settled: true,
            ctx,
            kernel,
            plan,
            final_states,
            tracks_passage,
            passage,
            segments,
            segment_stride,
            state,
            partials,
            partial_stride,
            histogram,
            histogram_words,
            time_sums: averages.then_some(time_sums),
            staging,
            step_group,
            observe_group,
        })
    }

    /// Bytes of every snapshot slot of a batch.
    fn snapshot_bytes(&self) -> u64 {
        let slots = self
            .plan
            .run
            .snapshots
            .as_ref()
            .map_or(0, |s| s.steps.len()) as u64;
        slots * self.snapshot_room * self.plan.run.dim as u64 * 4
    }

    /// Runs every batch of the plan and hands each one's results to `take`, in batch order.
    /// Each segment is its own submission, all of a batch queued at once; `progress` hears
    /// the steps of each as it completes. The next batch is queued before a batch's readback
    /// is waited for, so the host's copy and fold of one batch overlap the device's run of
    /// the next (the queue orders the next batch's writes after this one's copies).
    ///
    /// `stop`, checked as each segment completes and before each batch is queued, ends the
    /// run early with [`Error::Stopped`].
    ///
    /// # Errors
    /// [`Error::Device`], [`Error::Limit`] or [`Error::Stopped`].
    pub fn run_batches(
        &mut self,
        progress: &mut dyn FnMut(Batch, u32),
        take: &mut dyn FnMut(Batch, BatchOutput),
        stop: Option<&AtomicBool>,
    ) -> Result<()> {
        self.settled = false;
        let mut in_flight: Option<Queued> = None;
        for (k, &batch) in self.plan.batches.iter().enumerate() {
            if self.staging.len() < 2 {
                if let Some(previous) = in_flight.take() {
                    self.read_batch(previous, progress, take, stop)?;
                }
            }
            crate::error::check_stop(stop)?;
            let queued = self.queue_batch(batch, k % self.staging.len(), progress, stop)?;
            if let Some(previous) = in_flight.replace(queued) {
                self.read_batch(previous, progress, take, stop)?;
            }
        }
        if let Some(last) = in_flight {
            self.read_batch(last, progress, take, stop)?;
        }
        self.settled = true;
        Ok(())
    }

    /// Queues every dispatch of `batch` and the copies of its results into staging buffer
    /// `staging`, checking `stop` before each: a driver whose submissions block while its
    /// queue is full (lavapipe) spends the batch's run in here, so `progress` hears each
    /// segment that has completed by the time the next is submitted.
    fn queue_batch(
        &self,
        batch: Batch,
        staging: usize,
        progress: &mut dyn FnMut(Batch, u32),
        stop: Option<&AtomicBool>,
    ) -> Result<Queued> {
        let ctx = self.ctx;
        let plan = self.plan;
        let dim = plan.run.dim as u64;
        let blocks = Plan::blocks(batch);
        let (gx, gy) = ctx.dispatch_size(batch.count.div_ceil(self.kernel.step_group_size))?;
        let (ox, oy) = ctx.dispatch_size(blocks.div_ceil(self.kernel.observe_group_size))?;
        let share = plan
            .run
            .snapshots
            .as_ref()
            .map_or(0, |s| s.share(batch.first, batch.count));

        let mut uniforms = vec![0u8; (self.segment_stride * plan.segments.len() as u64) as usize];
        for (k, segment) in plan.segments.iter().enumerate() {
            let u = plan.segment_uniform(batch, segment);
            let at = k * self.segment_stride as usize;
            uniforms[at..at + size_of::<Segment>()].copy_from_slice(bytemuck::bytes_of(&u));
        }
        ctx.queue.write_buffer(&self.segments, 0, &uniforms);

        let new_encoder = || {
            ctx.device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("batch"),
                })
        };
        let mut encoder = new_encoder();
        encoder.clear_buffer(&self.histogram, 0, None);
        let mut segments = Vec::with_capacity(plan.segments.len());
        let completed = Arc::new(AtomicUsize::new(0));
        let mut reported = 0;
        for (k, segment) in plan.segments.iter().enumerate() {
            crate::error::check_stop(stop)?;
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("sde_ensemble"),
                    timestamp_writes: None,
                });
                let segment_offset = offset32(k as u64 * self.segment_stride)?;
                if segment.steps() {
                    pass.set_pipeline(&self.kernel.step);
                    pass.set_bind_group(0, &self.step_group, &[segment_offset]);
                    pass.dispatch_workgroups(gx, gy, 1);
                }
                if segment.observes() {
                    let slot = segment.save_slot.unwrap_or(0) as u64;
                    pass.set_pipeline(&self.kernel.observe);
                    pass.set_bind_group(
                        0,
                        &self.observe_group,
                        &[segment_offset, offset32(slot * self.partial_stride)?],
                    );
                    pass.dispatch_workgroups(ox, oy, 1);
                }
            }
            if let (Some(slot), Some(snapshots)) = (segment.snapshot_slot, &self.snapshots) {
                let bytes = u64::from(share) * dim * 4;
                let at = slot as u64 * self.snapshot_room * dim * 4;
                encoder.copy_buffer_to_buffer(&self.state, 0, snapshots, at, bytes);
            }
            let done = std::mem::replace(&mut encoder, new_encoder());
            segments.push((ctx.queue.submit([done.finish()]), segment.step_count));
            let completed_now = Arc::clone(&completed);
            ctx.queue.on_submitted_work_done(move || {
                completed_now.fetch_add(1, Ordering::Relaxed);
            });
            report_completed(batch, &segments, &completed, 0, &mut reported, progress);
        }
        let target = &self.staging[staging];
        let partial = u64::from(blocks) * plan.observed() as u64 * PARTIAL_BYTES;
        let mut at = 0u64;
        for slot in 0..plan.saves() as u64 {
            encoder.copy_buffer_to_buffer(
                &self.partials,
                slot * self.partial_stride,
                target,
                at,
                partial,
            );
            at += partial;
        }
        let histogram_at = at;
        encoder.copy_buffer_to_buffer(&self.histogram, 0, target, at, self.histogram_words * 4);
        at += self.histogram_words * 4;
        let state_at = at;
        if self.final_states {
            let bytes = u64::from(batch.count) * dim * 4;
            encoder.copy_buffer_to_buffer(&self.state, 0, target, at, bytes);
            at += bytes;
        }
        let passage_at = at;
        if self.tracks_passage {
            let bytes = u64::from(batch.count) * 4;
            encoder.copy_buffer_to_buffer(&self.passage, 0, target, at, bytes);
            at += bytes;
        }
        let sums_at = at;
        if let Some(sums) = &self.time_sums {
            let averaged = (plan.run.dim + plan.run.observables.len()) as u64;
            let bytes = u64::from(batch.count) * averaged * 16;
            encoder.copy_buffer_to_buffer(sums, 0, target, at, bytes);
            at += bytes;
        }
        let snapshots_at = at;
        if let Some(snapshots) = &self.snapshots {
            let bytes = self.snapshot_bytes();
            encoder.copy_buffer_to_buffer(snapshots, 0, target, at, bytes);
            at += bytes;
        }
        let copies = ctx.queue.submit([encoder.finish()]);
        Ok(Queued {
            batch,
            staging,
            segments,
            completed,
            reported,
            copies,
            layout: StagingLayout {
                partial,
                histogram_at,
                state_at,
                passage_at,
                sums_at,
                snapshots_at,
                share,
                end: at,
            },
        })
    }

    /// Waits for a queued batch segment by segment (for `progress`), then for its copies
    /// only, converts its results straight out of the mapping (one copy of the final states,
    /// 100 MB for 2^23 three-component trajectories, not two) and hands them to `take`.
    fn read_batch(
        &self,
        queued: Queued,
        progress: &mut dyn FnMut(Batch, u32),
        take: &mut dyn FnMut(Batch, BatchOutput),
        stop: Option<&AtomicBool>,
    ) -> Result<()> {
        let ctx = self.ctx;
        let plan = self.plan;
        let mut reported = queued.reported;
        for (k, (submission, _)) in queued.segments.iter().enumerate() {
            ctx.device
                .poll(wgpu::PollType::Wait {
                    submission_index: Some(submission.clone()),
                    timeout: None,
                })
                .map_err(|e| ctx.device_error(format!("poll failed: {e}")))?;
            report_completed(
                queued.batch,
                &queued.segments,
                &queued.completed,
                k + 1,
                &mut reported,
                progress,
            );
            // A dispatch lasts at most about a second (the pace), so a stop is heard within
            // one; the segments still queued run out on the device unread.
            crate::error::check_stop(stop)?;
        }
        let l = queued.layout;
        let dim = plan.run.dim as u64;
        let staging = &self.staging[queued.staging];
        let output = ctx.read_back_after(staging, l.end, queued.copies, |bytes| {
            // 35 MB of block partials for 2^24 trajectories and 11 saves: every slot, and
            // every piece of one, is copied on its own core.
            let partials = (0..plan.saves())
                .into_par_iter()
                .map(|slot| {
                    let from = slot * l.partial as usize;
                    pod_vec(&bytes[from..from + l.partial as usize])
                })
                .collect();
            let histogram = if plan.base.hist_bins > 0 {
                bytemuck::pod_collect_to_vec(&bytes[l.histogram_at as usize..l.state_at as usize])
            } else {
                Vec::new()
            };
            let final_states = self
                .final_states
                .then(|| pod_vec(&bytes[l.state_at as usize..l.passage_at as usize]));
            let first_passage = self
                .tracks_passage
                .then(|| pod_vec(&bytes[l.passage_at as usize..l.sums_at as usize]));
            let time_sums = self
                .time_sums
                .as_ref()
                .map(|_| pod_vec(&bytes[l.sums_at as usize..l.snapshots_at as usize]));
            // Each slot has room for `snapshot_room` trajectories; this batch filled `share`.
            let room = (self.snapshot_room * dim * 4) as usize;
            let snapshots = (0..plan.run.snapshots.as_ref().map_or(0, |s| s.steps.len()))
                .map(|slot| {
                    let from = l.snapshots_at as usize + slot * room;
                    pod_vec(&bytes[from..from + l.share as usize * dim as usize * 4])
                })
                .collect();
            BatchOutput {
                partials,
                histogram,
                final_states,
                final_states_f64: None,
                first_passage,
                time_sums,
                snapshots,
                snapshots_f64: None,
            }
        })?;
        take(queued.batch, output);
        Ok(())
    }
}

/// Hands `progress` each segment of `batch` completed since the last report, in order: those
/// the queue has said are done (`completed`), and at least the first `waited`.
fn report_completed(
    batch: Batch,
    segments: &[(wgpu::SubmissionIndex, u32)],
    completed: &AtomicUsize,
    waited: usize,
    reported: &mut usize,
    progress: &mut dyn FnMut(Batch, u32),
) {
    let done = completed
        .load(Ordering::Relaxed)
        .max(waited)
        .min(segments.len());
    while *reported < done {
        progress(batch, segments[*reported].1);
        *reported += 1;
    }
}

/// A batch whose dispatches and readback copies are queued.
struct Queued {
    batch: Batch,
    /// The staging buffer its results are copied into.
    staging: usize,
    /// Each segment's submission and steps.
    segments: Vec<(wgpu::SubmissionIndex, u32)>,
    /// Segments the queue has reported done.
    completed: Arc<AtomicUsize>,
    /// Segments already handed to `progress`.
    reported: usize,
    /// The submission of the copies into staging.
    copies: wgpu::SubmissionIndex,
    layout: StagingLayout,
}

/// Where a batch's outputs lie in its staging buffer (bytes).
#[derive(Clone, Copy)]
struct StagingLayout {
    /// Bytes of one save slot's partials (they come first, slot after slot).
    partial: u64,
    histogram_at: u64,
    state_at: u64,
    passage_at: u64,
    sums_at: u64,
    /// Where the snapshot slots start (each `snapshot_room` trajectories wide).
    snapshots_at: u64,
    /// Trajectories of this batch in each snapshot slot.
    share: u32,
    end: u64,
}

/// A dynamic offset, which wgpu takes as 32 bits.
fn offset32(bytes: u64) -> Result<u32> {
    u32::try_from(bytes).map_err(|_| {
        Error::Limit(format!(
            "a dynamic buffer offset of {bytes} bytes exceeds 4 GiB: use fewer save times, fewer \
             dispatches (chunking.steps_per_dispatch) or a smaller chunking.max_batch_bytes"
        ))
    })
}

/// The read-only inputs every trajectory kernel binds, for kernels over `Scalar = R`:
/// `params_in`, `init` and `sweep`.
pub(crate) fn run_inputs<R: crate::real::Real>(ctx: &GpuContext, plan: &Plan) -> [wgpu::Buffer; 3] {
    let read_only =
        |label: &str, bytes: &[u8]| ctx.storage_with(label, bytes, wgpu::BufferUsages::empty());
    [
        read_only("params", bytemuck::cast_slice(&plan.run.params_for::<R>())),
        read_only("init", bytemuck::cast_slice(&plan.run.init_for::<R>())),
        read_only(
            "sweep",
            bytemuck::cast_slice(&plan.run.sweep_table_for::<R>()),
        ),
    ]
}
