//! Runs `shaders/philox_kat.wgsl` and `shaders/normal_fill.wgsl`: the generator and the
//! variates exactly as the engine draws them, for tests and for users who want the numbers.

use super::context::GpuContext;
use crate::cpu::philox_stream::NormalFill;
use crate::error::Result;
use crate::shader;

#[allow(clippy::too_many_arguments)]
fn run_simple(
    ctx: &GpuContext,
    name: &str,
    bindings: &[&wgpu::Buffer],
    groups: u32,
    output: &wgpu::Buffer,
    out_bytes: u64,
    native_mul_hi: bool,
) -> Result<Vec<u8>> {
    let kernel = shader::kernel(name, &[])?;
    let pipeline =
        ctx.compute_pipeline_as(name, &kernel.wgsl, &kernel.entry_point, None, native_mul_hi)?;
    let layout = pipeline.get_bind_group_layout(0);
    let bind_group = ctx.bind_buffers(name, &layout, bindings);
    let staging = ctx.buffer(
        "staging",
        out_bytes,
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
    );
    let (gx, gy) = ctx.dispatch_size(groups)?;
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(name) });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(name),
            timestamp_writes: None,
        });
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(gx, gy, 1);
    }
    encoder.copy_buffer_to_buffer(output, 0, &staging, 0, out_bytes);
    ctx.queue.submit([encoder.finish()]);
    ctx.read_back(&staging, out_bytes)
}

/// Philox blocks for `(counter, key)` pairs, computed on the device as the engine's kernels
/// compute them.
///
/// # Errors
/// [`crate::Error::Device`] or [`crate::Error::Shader`].
pub fn philox_kat(ctx: &GpuContext, input: &[([u32; 4], [u32; 2])]) -> Result<Vec<[u32; 4]>> {
    philox_kat_as(ctx, input, ctx.native_mul_hi())
}

/// [`philox_kat`] with `mul_hi` chosen by the caller: one 64-bit multiply (`native_mul_hi`,
/// which needs SHADER_INT64) or 16-bit halves.
///
/// # Errors
/// [`crate::Error::Device`] or [`crate::Error::Shader`].
pub fn philox_kat_as(
    ctx: &GpuContext,
    input: &[([u32; 4], [u32; 2])],
    native_mul_hi: bool,
) -> Result<Vec<[u32; 4]>> {
    let words: Vec<u32> = input
        .iter()
        .flat_map(|(c, k)| [c[0], c[1], c[2], c[3], k[0], k[1], 0, 0])
        .collect();
    let input_buffer = ctx.storage_with(
        "kat_input",
        bytemuck::cast_slice(&words),
        wgpu::BufferUsages::empty(),
    );
    let out_bytes = 16 * input.len() as u64;
    let output = ctx.buffer(
        "kat_output",
        out_bytes,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    );
    let groups = (input.len() as u32).div_ceil(64);
    let bytes = run_simple(
        ctx,
        "philox_kat",
        &[&input_buffer, &output],
        groups,
        &output,
        out_bytes,
        native_mul_hi,
    )?;
    Ok(bytemuck::pod_collect_to_vec(&bytes))
}

/// The normals of [`crate::cpu::philox_stream::normal_fill`], computed on the device.
///
/// # Errors
/// [`crate::Error::Device`] or [`crate::Error::Shader`].
pub fn normal_fill(ctx: &GpuContext, fill: &NormalFill) -> Result<Vec<f32>> {
    let uniform = ctx.buffer(
        "normal_fill",
        std::mem::size_of::<NormalFill>() as u64,
        wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
    );
    ctx.queue
        .write_buffer(&uniform, 0, bytemuck::bytes_of(fill));
    let out_bytes = 16 * u64::from(fill.blocks);
    let output = ctx.buffer(
        "normals",
        out_bytes,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    );
    let bytes = run_simple(
        ctx,
        "normal_fill",
        &[&uniform, &output],
        fill.blocks.div_ceil(64),
        &output,
        out_bytes,
        ctx.native_mul_hi(),
    )?;
    Ok(bytemuck::pod_collect_to_vec(&bytes))
}
