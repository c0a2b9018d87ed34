//! Runs the Stockham passes of `shaders/fft.wgsl` on two buffers of `vec2<f32>` that the caller
//! owns (a field solver transforms its own buffers inside its step pipeline): every pass of
//! both directions has its uniform at a fixed offset of one buffer (a dynamic offset per
//! dispatch), and two bind groups read one buffer and write the other.

use super::context::GpuContext;
use crate::error::Result;
use crate::fft::{passes, twiddles, Direction, FftPass, FftShape};
use crate::shader;

/// Twin of `WORKGROUP_SIZE_FFT`.
const WORKGROUP_SIZE_FFT: u64 = 64;

/// One dispatch: its radix, uniform offset and workgroups.
struct Dispatch {
    radix: u32,
    offset: u32,
    groups: (u32, u32),
}

/// The FFT passes of one shape over a pair of buffers.
pub struct GpuFft {
    radix2: wgpu::ComputePipeline,
    radix4: wgpu::ComputePipeline,
    /// Bind groups reading buffer 0 (writing 1), and the reverse.
    groups: [wgpu::BindGroup; 2],
    forward: Vec<Dispatch>,
    inverse: Vec<Dispatch>,
}

impl GpuFft {
    /// The passes of `shape` over `buffers` (each at least `shape.points()` complex values).
    ///
    /// # Errors
    /// [`crate::Error::Shader`], [`crate::Error::Limit`] or [`crate::Error::Device`].
    pub fn new(ctx: &GpuContext, shape: FftShape, buffers: [&wgpu::Buffer; 2]) -> Result<Self> {
        shape.check()?;
        let wgsl = shader::compose("fft", &[])?;
        shader::validate("fft", &wgsl, false)?;
        let mut table = twiddles(shape.nx);
        let offsets = [0, shape.nx];
        if shape.ny > 1 {
            table.extend(twiddles(shape.ny));
        }
        let align = u64::from(ctx.limits.min_uniform_buffer_offset_alignment).max(64);
        let all: Vec<(Direction, (u32, FftPass))> = [Direction::Forward, Direction::Inverse]
            .into_iter()
            .flat_map(|d| passes(shape, d, offsets).into_iter().map(move |p| (d, p)))
            .collect();
        // At least one pass's worth: a length-1 transform has no passes but a bind group.
        let mut uniform_bytes = vec![0u8; (align * all.len().max(1) as u64) as usize];
        let (mut forward, mut inverse) = (Vec::new(), Vec::new());
        for (k, (direction, (radix, pass))) in all.iter().enumerate() {
            let at = k * align as usize;
            uniform_bytes[at..at + std::mem::size_of::<FftPass>()]
                .copy_from_slice(bytemuck::bytes_of(pass));
            let invocations = u64::from(pass.lines) * u64::from(pass.n / radix);
            let dispatch = Dispatch {
                radix: *radix,
                offset: at as u32,
                groups: ctx.dispatch_size(invocations.div_ceil(WORKGROUP_SIZE_FFT) as u32)?,
            };
            match direction {
                Direction::Forward => forward.push(dispatch),
                Direction::Inverse => inverse.push(dispatch),
            }
        }
        let uniform = ctx.buffer(
            "fft_passes",
            uniform_bytes.len() as u64,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        ctx.queue.write_buffer(&uniform, 0, &uniform_bytes);
        let table = ctx.storage_with(
            "fft_twiddles",
            bytemuck::cast_slice(&table),
            wgpu::BufferUsages::empty(),
        );
        let entry = |binding, ty, dynamic| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty,
                has_dynamic_offset: dynamic,
                min_binding_size: None,
            },
            count: None,
        };
        let read = wgpu::BufferBindingType::Storage { read_only: true };
        let layout = ctx
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("fft"),
                entries: &[
                    entry(0, wgpu::BufferBindingType::Uniform, true),
                    entry(1, read, false),
                    entry(
                        2,
                        wgpu::BufferBindingType::Storage { read_only: false },
                        false,
                    ),
                    entry(3, read, false),
                ],
            });
        let pipeline_layout = ctx
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("fft"),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
        let groups = [0usize, 1].map(|from| {
            ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("fft"),
                layout: &layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: &uniform,
                            offset: 0,
                            size: wgpu::BufferSize::new(std::mem::size_of::<FftPass>() as u64),
                        }),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: buffers[from].as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: buffers[1 - from].as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: table.as_entire_binding(),
                    },
                ],
            })
        });
        let fft = GpuFft {
            radix2: ctx.compute_pipeline(
                "fft_radix2",
                &wgsl,
                "fft_radix2",
                Some(&pipeline_layout),
            )?,
            radix4: ctx.compute_pipeline(
                "fft_radix4",
                &wgsl,
                "fft_radix4",
                Some(&pipeline_layout),
            )?,
            groups,
            forward,
            inverse,
        };
        ctx.check()?;
        Ok(fft)
    }

    /// The passes of one direction.
    pub fn pass_count(&self, direction: Direction) -> usize {
        match direction {
            Direction::Forward => self.forward.len(),
            Direction::Inverse => self.inverse.len(),
        }
    }

    /// Records the transform of the data in buffer `from` (0 or 1) into `pass`; returns the
    /// buffer holding the result (`from` after an even number of passes). A forward and an
    /// inverse transform together always return to `from`.
    pub fn record(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        direction: Direction,
        from: usize,
    ) -> usize {
        let dispatches = match direction {
            Direction::Forward => &self.forward,
            Direction::Inverse => &self.inverse,
        };
        let mut at = from;
        for d in dispatches {
            pass.set_pipeline(if d.radix == 4 {
                &self.radix4
            } else {
                &self.radix2
            });
            pass.set_bind_group(0, &self.groups[at], &[d.offset]);
            pass.dispatch_workgroups(d.groups.0, d.groups.1, 1);
            at = 1 - at;
        }
        at
    }
}

/// Uploads `data`, transforms it and reads it back.
///
/// # Errors
/// As [`GpuFft::new`], and [`crate::Error::Device`] for a failed readback.
pub fn transform(
    ctx: &GpuContext,
    data: &mut [[f32; 2]],
    shape: FftShape,
    direction: Direction,
) -> Result<()> {
    let bytes = 8 * shape.points();
    let a = ctx.storage_with(
        "fft_a",
        bytemuck::cast_slice(data),
        wgpu::BufferUsages::COPY_SRC,
    );
    let b = ctx.buffer(
        "fft_b",
        bytes,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    );
    let fft = GpuFft::new(ctx, shape, [&a, &b])?;
    let staging = ctx.buffer(
        "fft_staging",
        bytes,
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
    );
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
    let result = {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        fft.record(&mut pass, direction, 0)
    };
    encoder.copy_buffer_to_buffer(if result == 0 { &a } else { &b }, 0, &staging, 0, bytes);
    ctx.queue.submit([encoder.finish()]);
    ctx.check()?;
    let out = ctx.read_back(&staging, bytes)?;
    data.copy_from_slice(bytemuck::cast_slice(&out));
    Ok(())
}

/// The time of `pairs` forward-and-inverse transforms recorded into one submit.
///
/// # Errors
/// As [`GpuFft::new`].
pub fn time_round_trips(
    ctx: &GpuContext,
    data: &[[f32; 2]],
    shape: FftShape,
    pairs: u32,
) -> Result<std::time::Duration> {
    let a = ctx.storage_with(
        "fft_a",
        bytemuck::cast_slice(data),
        wgpu::BufferUsages::empty(),
    );
    let b = ctx.buffer("fft_b", 8 * shape.points(), wgpu::BufferUsages::STORAGE);
    let fft = GpuFft::new(ctx, shape, [&a, &b])?;
    ctx.wait()?;
    let start = std::time::Instant::now();
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        for _ in 0..pairs {
            let mid = fft.record(&mut pass, Direction::Forward, 0);
            fft.record(&mut pass, Direction::Inverse, mid);
        }
    }
    ctx.queue.submit([encoder.finish()]);
    ctx.wait()?;
    Ok(start.elapsed())
}
