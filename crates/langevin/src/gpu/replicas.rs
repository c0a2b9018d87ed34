//! Runs a replica kernel of `crate::interacting` (`kuramoto`, `chain`): binding 0 is the
//! dispatch's uniform, then the kernel's storage buffers in order, the last one the saved
//! observables, read back once at the end. Each dispatch writes the uniform and is submitted
//! in queue order; the state stays on the device for the whole run.

use super::context::GpuContext;
use crate::error::{Error, Result};
use crate::interacting::ReplicaBackend;
use crate::shader;

/// A storage buffer of a replica kernel.
pub enum Storage<'d> {
    /// Filled with these bytes.
    Data(&'d [u8]),
    /// Of this many bytes, written only by the kernel.
    Scratch(u64),
}

/// The device side of a replica kernel's run.
pub struct GpuReplicas<'a> {
    ctx: &'a GpuContext,
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    uniform: wgpu::Buffer,
    output: wgpu::Buffer,
    output_bytes: u64,
    groups: (u32, u32),
}

impl<'a> GpuReplicas<'a> {
    /// Compiles kernel `name` and makes its buffers: the uniform of `uniform_bytes`,
    /// `storage` in binding order, then the output of `output_bytes`; one workgroup per
    /// replica; `virtual_modules` supply the kernel's generated imports.
    ///
    /// # Errors
    /// [`crate::Error::Limit`] for a buffer larger than the adapter binds, before any work;
    /// [`crate::Error::Shader`] or [`crate::Error::Device`].
    pub fn new(
        ctx: &'a GpuContext,
        name: &str,
        uniform_bytes: u64,
        storage: &[Storage<'_>],
        output_bytes: u64,
        replicas: u32,
        virtual_modules: &[(&str, &str)],
    ) -> Result<Self> {
        let binding = ctx.limits.max_storage_buffer_binding_size;
        let sizes = storage
            .iter()
            .map(|s| match s {
                Storage::Data(bytes) => bytes.len() as u64,
                Storage::Scratch(size) => *size,
            })
            .chain([output_bytes]);
        for (k, bytes) in sizes.enumerate() {
            if bytes > binding {
                return Err(Error::Limit(format!(
                    "{name}: storage binding {} would hold {bytes} bytes; this adapter binds at \
                     most {binding}: run fewer replicas, or a smaller system, per run",
                    k + 1
                )));
            }
        }
        let kernel = shader::kernel(name, virtual_modules)?;
        let pipeline = ctx.compute_pipeline(name, &kernel.wgsl, &kernel.entry_point, None)?;
        let uniform = ctx.buffer(
            name,
            uniform_bytes,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        let mut buffers: Vec<wgpu::Buffer> = storage
            .iter()
            .map(|s| match s {
                Storage::Data(bytes) => ctx.storage_with(name, bytes, wgpu::BufferUsages::empty()),
                Storage::Scratch(size) => ctx.buffer(name, *size, wgpu::BufferUsages::STORAGE),
            })
            .collect();
        buffers.push(ctx.buffer(
            name,
            output_bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        ));
        let whole: Vec<&wgpu::Buffer> = std::iter::once(&uniform).chain(&buffers).collect();
        let bind_group = ctx.bind_buffers(name, &pipeline.get_bind_group_layout(0), &whole);
        let groups = ctx.dispatch_size(replicas)?;
        ctx.check()?;
        Ok(GpuReplicas {
            ctx,
            pipeline,
            bind_group,
            uniform,
            output: buffers.pop().expect("the output buffer"),
            output_bytes,
            groups,
        })
    }
}

impl<S: bytemuck::Pod> ReplicaBackend<S> for GpuReplicas<'_> {
    fn dispatch(&mut self, seg: &S) -> Result<()> {
        let ctx = self.ctx;
        ctx.queue
            .write_buffer(&self.uniform, 0, bytemuck::bytes_of(seg));
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &self.bind_group, &[]);
            pass.dispatch_workgroups(self.groups.0, self.groups.1, 1);
        }
        ctx.queue.submit([encoder.finish()]);
        ctx.check()
    }

    fn output(&mut self) -> Result<Vec<f32>> {
        let ctx = self.ctx;
        let staging = ctx.buffer(
            "replicas_staging",
            self.output_bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.copy_buffer_to_buffer(&self.output, 0, &staging, 0, self.output_bytes);
        ctx.queue.submit([encoder.finish()]);
        let bytes = ctx.read_back(&staging, self.output_bytes)?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }
}
