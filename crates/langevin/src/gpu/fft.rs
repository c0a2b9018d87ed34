//! Runs the Stockham passes of `shaders/fft.wgsl` on two buffers of `vec2<f32>` that the caller
//! owns (a field solver transforms its own buffers inside its step pipeline): every pass of
//! both directions has its uniform at a fixed offset of one buffer (a dynamic offset per
//! dispatch), and two bind groups read one buffer and write the other. The buffers hold
//! `vec2<f32>` or `vec2<f64>` as the precision says.

use super::context::GpuContext;
use crate::error::Result;
use crate::fft::plan::{Direction, FftKernel, FftPass, FftPlan, FftShape};
use crate::real::{Precision, Real};
use crate::shader;

/// Twin of `WORKGROUP_SIZE_FFT`.
const WORKGROUP_SIZE_FFT: u64 = 64;

/// One dispatch: its kernel, uniform offset and workgroups.
struct Dispatch {
    kernel: FftKernel,
    offset: u32,
    groups: (u32, u32),
}

/// The FFT passes of one shape over a pair of buffers.
pub struct GpuFft {
    pipelines: Vec<(FftKernel, wgpu::ComputePipeline)>,
    /// Bind groups reading buffer 0 (writing 1), and the reverse.
    groups: [wgpu::BindGroup; 2],
    forward: Vec<Dispatch>,
    inverse: Vec<Dispatch>,
}

impl GpuFft {
    /// The complex transform of `shape` over `buffers` (each at least `shape.points()`
    /// complex values of `precision`).
    ///
    /// # Errors
    /// [`crate::Error::Shader`], [`crate::Error::Limit`] or [`crate::Error::Device`];
    /// [`crate::Error::InvalidInput`] for f64 on an adapter without it.
    pub fn new(
        ctx: &GpuContext,
        shape: FftShape,
        buffers: [&wgpu::Buffer; 2],
        precision: Precision,
    ) -> Result<Self> {
        shape.check()?;
        Self::with_plan(ctx, &FftPlan::complex(shape), buffers, precision)
    }

    /// The real transform of `shape` ([`FftPlan::real`]) over `buffers` (each at least
    /// `(nx / 2 + 1) ny fields` complex values of `precision`).
    ///
    /// # Errors
    /// As [`GpuFft::new`].
    pub fn new_real(
        ctx: &GpuContext,
        shape: FftShape,
        buffers: [&wgpu::Buffer; 2],
        precision: Precision,
    ) -> Result<Self> {
        shape.check_real()?;
        Self::with_plan(ctx, &FftPlan::real(shape), buffers, precision)
    }

    fn with_plan(
        ctx: &GpuContext,
        plan: &FftPlan,
        buffers: [&wgpu::Buffer; 2],
        precision: Precision,
    ) -> Result<Self> {
        ctx.require(precision, "precision")?;
        let wgsl = shader::compose("fft", &[("precision", precision.wgsl())])?;
        shader::validate("fft", &wgsl, precision == Precision::F64)?;
        let table: Vec<u8> = match precision {
            Precision::F32 => bytemuck::cast_slice(&plan.table::<f32>()).to_vec(),
            Precision::F64 => bytemuck::cast_slice(&plan.table::<f64>()).to_vec(),
        };
        let align = u64::from(ctx.limits.min_uniform_buffer_offset_alignment).max(64);
        let all: Vec<(Direction, &(FftKernel, FftPass))> = [Direction::Forward, Direction::Inverse]
            .into_iter()
            .flat_map(|d| plan.dispatches(d).iter().map(move |p| (d, p)))
            .collect();
        // At least one pass's worth: a length-1 transform has no passes but a bind group.
        let mut uniform_bytes = vec![0u8; (align * all.len().max(1) as u64) as usize];
        let (mut forward, mut inverse) = (Vec::new(), Vec::new());
        for (k, (direction, (kernel, pass))) in all.iter().enumerate() {
            let at = k * align as usize;
            uniform_bytes[at..at + std::mem::size_of::<FftPass>()]
                .copy_from_slice(bytemuck::bytes_of(pass));
            let invocations = kernel.invocations(pass);
            let dispatch = Dispatch {
                kernel: *kernel,
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
        let table = ctx.storage_with("fft_twiddles", &table, wgpu::BufferUsages::empty());
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
        let mut kernels: Vec<FftKernel> = all.iter().map(|(_, (k, _))| *k).collect();
        kernels.sort_by_key(|k| k.entry_point());
        kernels.dedup();
        let pipelines = kernels
            .into_iter()
            .map(|k| {
                let entry = k.entry_point();
                Ok((
                    k,
                    ctx.compute_pipeline(entry, &wgsl, entry, Some(&pipeline_layout))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let fft = GpuFft {
            pipelines,
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
            let pipeline = self
                .pipelines
                .iter()
                .find(|(k, _)| *k == d.kernel)
                .map(|(_, p)| p)
                .expect("a pipeline per kernel of the plan");
            pass.set_pipeline(pipeline);
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
pub fn transform<R: Real>(
    ctx: &GpuContext,
    data: &mut [[R; 2]],
    shape: FftShape,
    direction: Direction,
) -> Result<()> {
    let bytes = 2 * R::PRECISION.bytes() * shape.points();
    let out = run_once(
        ctx,
        |buffers| GpuFft::new(ctx, shape, buffers, R::PRECISION),
        bytemuck::cast_slice(data),
        bytes,
        direction,
        bytes,
    )?;
    data.copy_from_slice(bytemuck::cast_slice(&out));
    Ok(())
}

/// Runs one direction of `fft` on `input` (uploaded into buffer 0, the rest zero) and reads
/// back the first `out_values` complex values of the result.
fn run_once(
    ctx: &GpuContext,
    make: impl FnOnce([&wgpu::Buffer; 2]) -> Result<GpuFft>,
    input: &[u8],
    buffer_bytes: u64,
    direction: Direction,
    out_bytes: u64,
) -> Result<Vec<u8>> {
    let usage =
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
    let a = ctx.buffer("fft_a", buffer_bytes, usage);
    let b = ctx.buffer("fft_b", buffer_bytes, usage);
    ctx.queue.write_buffer(&a, 0, input);
    let fft = make([&a, &b])?;
    let staging = ctx.buffer(
        "fft_staging",
        out_bytes,
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
    );
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
    let result = {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        fft.record(&mut pass, direction, 0)
    };
    encoder.copy_buffer_to_buffer(if result == 0 { &a } else { &b }, 0, &staging, 0, out_bytes);
    ctx.queue.submit([encoder.finish()]);
    ctx.check()?;
    ctx.read_back(&staging, out_bytes)
}

/// The real transform of `data` (`shape.points()` reals): `(nx / 2 + 1) ny fields`
/// coefficients.
///
/// # Errors
/// As [`GpuFft::new_real`], and [`crate::Error::Device`] for a failed readback.
pub fn real_forward<R: Real>(ctx: &GpuContext, data: &[R], shape: FftShape) -> Result<Vec<[R; 2]>> {
    let plan = FftPlan::real(shape);
    let complex = 2 * R::PRECISION.bytes();
    let out = run_once(
        ctx,
        |buffers| GpuFft::new_real(ctx, shape, buffers, R::PRECISION),
        bytemuck::cast_slice(data),
        complex * plan.buffer_len,
        Direction::Forward,
        complex * plan.buffer_len,
    )?;
    Ok(bytemuck::pod_collect_to_vec(&out))
}

/// The real inverse of `spectrum` (`(nx / 2 + 1) ny fields` coefficients): `shape.points()`
/// reals.
///
/// # Errors
/// As [`real_forward`].
pub fn real_inverse<R: Real>(
    ctx: &GpuContext,
    spectrum: &[[R; 2]],
    shape: FftShape,
) -> Result<Vec<R>> {
    let plan = FftPlan::real(shape);
    let complex = 2 * R::PRECISION.bytes();
    let out = run_once(
        ctx,
        |buffers| GpuFft::new_real(ctx, shape, buffers, R::PRECISION),
        bytemuck::cast_slice(spectrum),
        complex * plan.buffer_len,
        Direction::Inverse,
        R::PRECISION.bytes() * shape.points(),
    )?;
    Ok(bytemuck::pod_collect_to_vec(&out))
}

/// The time of `pairs` forward-and-inverse transforms recorded into one submit.
///
/// # Errors
/// As [`GpuFft::new`].
pub fn time_round_trips<R: Real>(
    ctx: &GpuContext,
    data: &[[R; 2]],
    shape: FftShape,
    pairs: u32,
) -> Result<std::time::Duration> {
    let a = ctx.storage_with(
        "fft_a",
        bytemuck::cast_slice(data),
        wgpu::BufferUsages::empty(),
    );
    let bytes = 2 * R::PRECISION.bytes() * shape.points();
    let b = ctx.buffer("fft_b", bytes, wgpu::BufferUsages::STORAGE);
    let fft = GpuFft::new(ctx, shape, [&a, &b], R::PRECISION)?;
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
