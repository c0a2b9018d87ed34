//! Runs `shaders/ode_adaptive.wgsl` and `shaders/sde_adaptive.wgsl` (same bindings): the
//! kernel compiled once per model and scheme, and the device buffers of one batch, which
//! persist between the dispatches toward each save time.

use super::context::GpuContext;
use super::sde_ensemble::{buffer_entry, pipeline, run_inputs, READ, READ_WRITE, UNIFORM};
use crate::adaptive::{AdaptiveBatch, AdaptiveSegment, Readback};
use crate::error::Result;
use crate::model::{self, Model};
use crate::plan::Plan;
use crate::real::Precision;
use crate::scheme::Scheme;
use crate::shader;
use std::mem::size_of;

/// The WGSL of the adaptive kernel of `scheme` (`ode_adaptive` for Dormand-Prince,
/// `sde_adaptive` with the scheme's step otherwise) for `model`, validated by naga.
/// `precision` is that of `ode_adaptive`'s `Scalar` (the other kernels are f32).
///
/// # Errors
/// [`crate::Error::Shader`] when the model's WGSL does not validate, or has no f64 form.
pub fn compose(
    model: &dyn Model,
    scheme: Scheme,
    precision: Precision,
) -> Result<shader::ComposedKernel> {
    let layout = model::wgsl_state_layout(model, 1, scheme.draws_noise(), false, false, precision);
    if precision == Precision::F64 {
        let drift = model.f64_drift().ok_or_else(|| crate::Error::Shader {
            kernel: "ode_adaptive".into(),
            message: format!("model `{}` has no f64 drift", model.name()),
        })?;
        let model_module = model::wgsl_module_f64(model, drift);
        return shader::kernel_in(
            "ode_adaptive",
            &[("state_layout", &layout), ("model", &model_module)],
            true,
        );
    }
    let model_module = model::wgsl_module(model);
    if scheme.kind() == crate::scheme::SchemeKind::Jump {
        let kernel = scheme.shader_module();
        let network = model.reactions().ok_or_else(|| crate::Error::Shader {
            kernel: kernel.into(),
            message: format!("model `{}` is not a reaction network", model.name()),
        })?;
        let reactions = network.wgsl_module()?;
        return shader::kernel(
            kernel,
            &[
                ("state_layout", &layout),
                ("model", &model_module),
                ("reactions", &reactions),
            ],
        );
    }
    if !scheme.on_brownian_tree() {
        return shader::kernel(
            "ode_adaptive",
            &[("state_layout", &layout), ("model", &model_module)],
        );
    }
    let step = shader::source(scheme.shader_module()).ok_or_else(|| crate::Error::Shader {
        kernel: scheme.shader_module().into(),
        message: "missing scheme source".into(),
    })?;
    shader::kernel(
        "sde_adaptive",
        &[
            ("state_layout", &layout),
            ("model", &model_module),
            ("scheme", step),
        ],
    )
}

/// The compiled adaptive kernel of one model and scheme.
pub struct AdaptiveKernel {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    group_size: u32,
    precision: Precision,
}

impl AdaptiveKernel {
    /// Composes, validates and compiles the kernel.
    ///
    /// # Errors
    /// [`crate::Error::Shader`] or [`crate::Error::Device`].
    pub fn new(
        ctx: &GpuContext,
        model: &dyn Model,
        scheme: Scheme,
        precision: Precision,
    ) -> Result<Self> {
        ctx.require(precision, "solver.precision")?;
        let src = compose(model, scheme, precision)?;
        let mut entries = vec![buffer_entry(0, UNIFORM, false)];
        entries.extend([1, 2, 6].map(|b| buffer_entry(b, READ, false)));
        entries.extend([3, 4, 5, 7].map(|b| buffer_entry(b, READ_WRITE, false)));
        entries.sort_by_key(|e| e.binding);
        let label = format!("{}/{}/{scheme}", src.entry_point, model.name());
        let (pipeline, layout) = pipeline(ctx, &src, &label, &entries)?;
        Ok(AdaptiveKernel {
            pipeline,
            layout,
            group_size: src.workgroup_size[0],
            precision,
        })
    }
}

/// One batch's buffers and bind group.
pub struct GpuBatch<'a> {
    ctx: &'a GpuContext,
    kernel: &'a AdaptiveKernel,
    count: u32,
    dim: u64,
    /// Bytes of a `Scalar`.
    width: u64,
    uniform: wgpu::Buffer,
    state: wgpu::Buffer,
    clock: wgpu::Buffer,
    counts: wgpu::Buffer,
    unfinished: wgpu::Buffer,
    staging: wgpu::Buffer,
    group: wgpu::BindGroup,
}

impl<'a> GpuBatch<'a> {
    /// Allocates the buffers of a batch of `count` trajectories of `plan`.
    ///
    /// # Errors
    /// [`crate::Error::Device`] when allocation fails.
    pub fn new(
        ctx: &'a GpuContext,
        kernel: &'a AdaptiveKernel,
        plan: &Plan,
        count: u32,
    ) -> Result<Self> {
        let dim = plan.run.dim as u64;
        let n = u64::from(count);
        let width = kernel.precision.bytes();
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
        let uniform = ctx.buffer(
            "adaptive segment",
            size_of::<AdaptiveSegment>() as u64,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        let [params, init, sweep] = match kernel.precision {
            Precision::F32 => run_inputs::<f32>(ctx, plan),
            Precision::F64 => run_inputs::<f64>(ctx, plan),
        };
        let state = ctx.buffer("state", n * dim * width, storage);
        let clock = ctx.buffer("clock", n * 4 * width, storage);
        let counts = ctx.buffer("counts", n * 16, storage);
        let unfinished = ctx.buffer("unfinished", 4, storage | wgpu::BufferUsages::COPY_DST);
        let staging = ctx.buffer(
            "staging",
            n * dim * width + n * 4 * width,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let buffers = [
            &uniform,
            &params,
            &init,
            &state,
            &clock,
            &counts,
            &sweep,
            &unfinished,
        ];
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(b, buffer)| wgpu::BindGroupEntry {
                binding: b as u32,
                resource: buffer.as_entire_binding(),
            })
            .collect();
        let group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("ode_adaptive"),
            layout: &kernel.layout,
            entries: &entries,
        });
        ctx.check()?;
        Ok(GpuBatch {
            ctx,
            kernel,
            count,
            dim,
            width,
            uniform,
            state,
            clock,
            counts,
            unfinished,
            staging,
            group,
        })
    }

    /// Copies `(buffer, bytes)` pairs one after another into the staging buffer and reads them
    /// back in one round trip.
    fn copy_out(&self, sources: &[(&wgpu::Buffer, u64)]) -> Result<Vec<u8>> {
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("readback"),
            });
        let mut offset = 0;
        for &(source, bytes) in sources {
            encoder.copy_buffer_to_buffer(source, 0, &self.staging, offset, bytes);
            offset += bytes;
        }
        self.ctx.queue.submit([encoder.finish()]);
        self.ctx.read_back(&self.staging, offset)
    }
}

impl AdaptiveBatch for GpuBatch<'_> {
    fn dispatch(&mut self, seg: &AdaptiveSegment) -> Result<u32> {
        let ctx = self.ctx;
        ctx.queue
            .write_buffer(&self.uniform, 0, bytemuck::bytes_of(seg));
        let (gx, gy) = ctx.dispatch_size(self.count.div_ceil(self.kernel.group_size))?;
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("ode_adaptive"),
            });
        encoder.clear_buffer(&self.unfinished, 0, None);
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("ode_adaptive"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.kernel.pipeline);
            pass.set_bind_group(0, &self.group, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        encoder.copy_buffer_to_buffer(&self.unfinished, 0, &self.staging, 0, 4);
        ctx.queue.submit([encoder.finish()]);
        let bytes = ctx.read_back(&self.staging, 4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn read(&mut self) -> Result<Readback> {
        let n = u64::from(self.count);
        let state_bytes = n * self.dim * self.width;
        let clock_bytes = n * 4 * self.width;
        let bytes = self.copy_out(&[(&self.state, state_bytes), (&self.clock, clock_bytes)])?;
        let (state, clock) = bytes.split_at(state_bytes as usize);
        Ok(match self.kernel.precision {
            Precision::F32 => Readback::narrow(
                bytemuck::pod_collect_to_vec(state),
                &bytemuck::pod_collect_to_vec::<u8, f32>(clock),
            ),
            Precision::F64 => Readback::wide(
                bytemuck::pod_collect_to_vec(state),
                &bytemuck::pod_collect_to_vec::<u8, f64>(clock),
            ),
        })
    }

    fn counts(&mut self) -> Result<Vec<u32>> {
        let bytes = self.copy_out(&[(&self.counts, u64::from(self.count) * 16)])?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }
}
