//! Runs the field kernels of `shaders/field.wgsl` with the FFT of [`super::fft::GpuFft`] on the
//! same pair of work buffers: one module composed with the potential's `dv`, one pipeline per
//! entry point, one bind group layout; bind group `w` gives the pointwise kernels work buffer
//! `w`, so a kernel can follow the FFT into whichever buffer holds its result. A forward and
//! an inverse transform together end where they started, so every step ends in buffer 0.
//! A periodic Klein-Gordon field is packed two points to a complex value, so its transform
//! is the complex one of `nx / 2 x ny` points (`packed_laplacian` in the shader).

use super::context::GpuContext;
use super::fft::GpuFft;
use crate::error::Result;
use crate::fft::plan::Direction;
use crate::field::spec::{FieldBackend, FieldEquation, FieldParams, FieldSpec, FieldState};
use crate::real::{Precision, Real};
use crate::shader;

/// Twin of `WORKGROUP_SIZE_FIELD`.
const WORKGROUP_SIZE_FIELD: u64 = 64;
/// Steps per submitted command buffer.
const STEPS_PER_SUBMIT: u32 = 16;

const KERNELS: [&str; 11] = [
    "spectral_laplacian",
    "packed_laplacian",
    "kg_drift",
    "kg_kick",
    "kg_load",
    "kg_force",
    "a_load",
    "a_prepare",
    "a_update",
    "kpz_load",
    "kpz_prepare",
];

/// The device side of a field run.
pub struct GpuField<'a> {
    ctx: &'a GpuContext,
    pipelines: Vec<wgpu::ComputePipeline>,
    groups: [wgpu::BindGroup; 2],
    fft: GpuFft,
    phi: wgpu::Buffer,
    momentum: wgpu::Buffer,
    phi_hat: wgpu::Buffer,
    workgroups: (u32, u32),
    points: u64,
    equation: FieldEquation,
    precision: Precision,
    /// Whether the work buffer holds the Klein-Gordon field packed
    /// ([`crate::field::spec::packs_field`]).
    packed: bool,
}

impl<'a> GpuField<'a> {
    /// Compiles the kernels for `spec`'s potential, uploads the initial fields and computes
    /// the first force (Klein-Gordon) or transform (model A).
    ///
    /// # Errors
    /// [`crate::Error::Shader`], [`crate::Error::Limit`] or [`crate::Error::Device`].
    pub fn new<R: Real>(
        ctx: &'a GpuContext,
        spec: &FieldSpec,
        params: FieldParams,
        phi: &[R],
        pi: &[R],
    ) -> Result<Self> {
        let precision = R::PRECISION;
        let shape = crate::fft::plan::FftShape::two_d(params.nx, params.ny, params.fields);
        ctx.require(precision, "solver.precision")?;
        let potential = spec.potential.wgsl(precision);
        let wgsl = shader::compose(
            "field",
            &[("potential", &potential), ("precision", precision.wgsl())],
        )?;
        shader::validate("field", &wgsl, precision == Precision::F64)?;
        let points = phi.len() as u64;
        let real = precision.bytes();
        let storage = wgpu::BufferUsages::STORAGE;
        let uniform = ctx.buffer(
            "field_params",
            std::mem::size_of::<FieldParams>() as u64,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        ctx.queue
            .write_buffer(&uniform, 0, bytemuck::bytes_of(&params));
        let phi_buf = ctx.storage_with(
            "field_phi",
            bytemuck::cast_slice(phi),
            wgpu::BufferUsages::COPY_SRC,
        );
        let momentum = ctx.storage_with(
            "field_momentum",
            bytemuck::cast_slice(pi),
            wgpu::BufferUsages::COPY_SRC,
        );
        let force = ctx.buffer("field_force", real * points, storage);
        // A packed Klein-Gordon field holds two points a complex entry: half the work buffers
        // and transforms of half the length.
        let packed =
            spec.equation == FieldEquation::KleinGordon && crate::field::spec::packs_field(&params);
        let entries = if packed { points / 2 } else { points };
        let work = [0, 1].map(|_| ctx.buffer("field_work", 2 * real * entries, storage));
        let initial_hat: Vec<[R; 2]> = match spec.equation {
            FieldEquation::ModelA { .. } | FieldEquation::Kpz { .. } => {
                let mut z: Vec<[R; 2]> = phi.iter().map(|v| [*v, R::zero()]).collect();
                crate::cpu::fft::fft(&mut z, shape, Direction::Forward);
                z
            }
            FieldEquation::KleinGordon => vec![[R::zero(); 2]; 1],
        };
        let phi_hat = ctx.storage_with(
            "field_phi_hat",
            bytemuck::cast_slice(&initial_hat),
            wgpu::BufferUsages::COPY_SRC,
        );
        let clock = ctx.storage_with("field_clock", &[0u8; 8], wgpu::BufferUsages::empty());
        let twiddles_x = ctx.storage_with(
            "field_twiddles",
            bytemuck::cast_slice(&crate::field::spec::packed_twiddles::<R>(params.nx)),
            wgpu::BufferUsages::empty(),
        );
        let (layout, pipeline_layout) = ctx.uniform_and_storage_layout("field", 7);
        let groups = [0usize, 1].map(|w| {
            let buffers = [
                &uniform,
                &phi_buf,
                &momentum,
                &force,
                &work[w],
                &phi_hat,
                &clock,
                &twiddles_x,
            ];
            ctx.bind_buffers("field", &layout, &buffers)
        });
        let pipelines = KERNELS
            .iter()
            .map(|k| ctx.compute_pipeline(k, &wgsl, k, Some(&pipeline_layout)))
            .collect::<Result<Vec<_>>>()?;
        let transformed = if packed {
            crate::fft::plan::FftShape::two_d(params.nx / 2, params.ny, params.fields)
        } else {
            shape
        };
        let fft = GpuFft::new(ctx, transformed, [&work[0], &work[1]], precision)?;
        let gpu = GpuField {
            ctx,
            pipelines,
            groups,
            fft,
            phi: phi_buf,
            momentum,
            phi_hat,
            workgroups: ctx.dispatch_size(points.div_ceil(WORKGROUP_SIZE_FIELD) as u32)?,
            points,
            equation: spec.equation,
            precision,
            packed,
        };
        if spec.equation == FieldEquation::KleinGordon {
            gpu.submit(|g, pass| {
                g.kernel(pass, "kg_load", 0);
                g.laplacian(pass);
                g.kernel(pass, "kg_force", 0);
            })?;
        }
        Ok(gpu)
    }

    fn kernel(&self, pass: &mut wgpu::ComputePass<'_>, name: &str, work: usize) {
        let k = KERNELS
            .iter()
            .position(|n| *n == name)
            .expect("a field kernel");
        pass.set_pipeline(&self.pipelines[k]);
        pass.set_bind_group(0, &self.groups[work], &[]);
        pass.dispatch_workgroups(self.workgroups.0, self.workgroups.1, 1);
    }

    /// Work buffer 0 through the FFT, times -|k|^2 (in place), and back.
    fn laplacian(&self, pass: &mut wgpu::ComputePass<'_>) {
        let spectrum = self.fft.record(pass, Direction::Forward, 0);
        let multiply = if self.packed {
            "packed_laplacian"
        } else {
            "spectral_laplacian"
        };
        self.kernel(pass, multiply, spectrum);
        self.fft.record(pass, Direction::Inverse, spectrum);
    }

    fn submit(&self, record: impl FnOnce(&Self, &mut wgpu::ComputePass<'_>)) -> Result<()> {
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            record(self, &mut pass);
        }
        self.ctx.queue.submit([encoder.finish()]);
        self.ctx.check()
    }

    /// The first `values` reals of `buffer`, widened to f64.
    fn read_reals(&self, buffer: &wgpu::Buffer, values: u64) -> Result<Vec<f64>> {
        let bytes = self.read_buffer(buffer, values * self.precision.bytes())?;
        Ok(match self.precision {
            Precision::F32 => bytemuck::pod_collect_to_vec::<u8, f32>(&bytes)
                .into_iter()
                .map(f64::from)
                .collect(),
            Precision::F64 => bytemuck::pod_collect_to_vec(&bytes),
        })
    }

    fn read_buffer(&self, buffer: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        let staging = self.ctx.buffer(
            "field_staging",
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
        self.ctx.queue.submit([encoder.finish()]);
        self.ctx.read_back(&staging, bytes)
    }
}

impl FieldBackend for GpuField<'_> {
    fn steps(&mut self, steps: u32) -> Result<()> {
        let mut left = steps;
        while left > 0 {
            let chunk = left.min(STEPS_PER_SUBMIT);
            self.submit(|g, pass| {
                for _ in 0..chunk {
                    match g.equation {
                        FieldEquation::KleinGordon => {
                            g.kernel(pass, "kg_drift", 0);
                            g.laplacian(pass);
                            g.kernel(pass, "kg_kick", 0);
                        }
                        FieldEquation::ModelA { .. } | FieldEquation::Kpz { .. } => {
                            let (load, prepare) = match g.equation {
                                FieldEquation::Kpz { .. } => ("kpz_load", "kpz_prepare"),
                                _ => ("a_load", "a_prepare"),
                            };
                            g.kernel(pass, load, 0);
                            let space = g.fft.record(pass, Direction::Inverse, 0);
                            g.kernel(pass, prepare, space);
                            g.fft.record(pass, Direction::Forward, space);
                            g.kernel(pass, "a_update", 0);
                        }
                    }
                }
            })?;
            left -= chunk;
        }
        Ok(())
    }

    fn read(&mut self) -> Result<FieldState> {
        Ok(match self.equation {
            FieldEquation::KleinGordon => FieldState::KleinGordon {
                phi: self.read_reals(&self.phi, self.points)?,
                momentum: self.read_reals(&self.momentum, self.points)?,
            },
            FieldEquation::ModelA { .. } | FieldEquation::Kpz { .. } => FieldState::Spectral {
                phi_hat: self
                    .read_reals(&self.phi_hat, 2 * self.points)?
                    .chunks(2)
                    .map(|z| [z[0], z[1]])
                    .collect(),
            },
        })
    }
}
