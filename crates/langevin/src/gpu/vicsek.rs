//! Runs the Vicsek kernels of `shaders/vicsek.wgsl`: one module, one pipeline per entry point,
//! one bind group layout for all of them, and two bind groups that differ only in which state
//! buffer is read and which written. A step is six dispatches in one compute pass (wgpu orders
//! storage writes between dispatches); steps are queued in chunks with no readback until the
//! end, and the step index the noise needs is kept on the device by `vicsek_clear`.

use super::context::GpuContext;
use crate::error::Result;
use crate::interacting::uniforms::{VicsekParams, ORDER_BLOCK};
use crate::interacting::VicsekBackend;
use crate::shader;

/// Twin of `WORKGROUP_SIZE` in `shaders/lib/replica.wgsl`.
const WORKGROUP_SIZE: u64 = 64;
/// Steps per submitted command buffer.
const STEPS_PER_SUBMIT: u32 = 32;

/// What a kernel's invocations range over.
#[derive(Clone, Copy)]
enum Over {
    Cells,
    Particles,
}

/// The kernels, in the order a step runs them (after `vicsek_init`, before `vicsek_order`).
const STEP_KERNELS: [(&str, Over); 6] = [
    ("vicsek_clear", Over::Cells),
    ("vicsek_bin", Over::Particles),
    ("vicsek_alloc", Over::Cells),
    ("vicsek_scatter", Over::Particles),
    ("vicsek_sort", Over::Cells),
    ("vicsek_align", Over::Particles),
];

/// The device side of a Vicsek run.
pub struct GpuVicsek<'a> {
    ctx: &'a GpuContext,
    init: wgpu::ComputePipeline,
    step: Vec<wgpu::ComputePipeline>,
    order: wgpu::ComputePipeline,
    /// Bind groups reading state buffer 0 (writing 1), and the reverse.
    groups: [wgpu::BindGroup; 2],
    /// Which bind group the next step uses.
    parity: usize,
    states: [wgpu::Buffer; 2],
    binned: wgpu::Buffer,
    partials: wgpu::Buffer,
    saved: wgpu::Buffer,
    /// `clock`: step, next, running total, overrun.
    clock: wgpu::Buffer,
    particle_groups: (u32, u32),
    cell_groups: (u32, u32),
    order_groups: (u32, u32),
    particles: u64,
    blocks: u64,
    saves: u64,
}

impl<'a> GpuVicsek<'a> {
    /// Compiles the kernels and makes the buffers for `params`, eta per replica and `saves`
    /// save slots.
    ///
    /// # Errors
    /// [`crate::Error::Shader`], [`crate::Error::Limit`] or [`crate::Error::Device`].
    pub fn new(ctx: &'a GpuContext, params: VicsekParams, eta: &[f32], saves: u32) -> Result<Self> {
        let wgsl = shader::compose("vicsek", &[])?;
        shader::validate("vicsek", &wgsl, false)?;
        let particles = u64::from(params.particles) * u64::from(params.replicas);
        let cells = u64::from(params.cells_per_side).pow(2) * u64::from(params.replicas);
        let blocks = u64::from(params.particles.div_ceil(ORDER_BLOCK)) * u64::from(params.replicas);
        let storage = wgpu::BufferUsages::STORAGE;
        let uniform = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("vicsek_params"),
            size: std::mem::size_of::<VicsekParams>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        ctx.queue
            .write_buffer(&uniform, 0, bytemuck::bytes_of(&params));
        let eta = ctx.storage_with("vicsek_eta", bytemuck::cast_slice(eta), storage);
        // Read back for its `overrun` word.
        let clock = ctx.storage_with(
            "vicsek_clock",
            &[0u8; 16],
            storage | wgpu::BufferUsages::COPY_SRC,
        );
        let states = [0, 1].map(|_| {
            ctx.buffer(
                "vicsek_state",
                16 * particles,
                storage | wgpu::BufferUsages::COPY_SRC,
            )
        });
        let cell_list = ctx.buffer("vicsek_cells", 8 * cells, storage);
        let binned = ctx.storage_with(
            "vicsek_binned",
            &vec![0u8; 16 * particles as usize],
            wgpu::BufferUsages::COPY_SRC,
        );
        let sorted = ctx.buffer("vicsek_sorted", 4 * particles, storage);
        let partials = ctx.buffer(
            "vicsek_partials",
            8 * blocks,
            storage | wgpu::BufferUsages::COPY_SRC,
        );
        let saved = ctx.buffer(
            "vicsek_saved",
            8 * blocks * u64::from(saves),
            wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
        );
        let (layout, pipeline_layout) = ctx.uniform_and_storage_layout("vicsek", 8);
        let pipeline =
            |entry: &str| ctx.compute_pipeline(entry, &wgsl, entry, Some(&pipeline_layout));
        let groups = [0usize, 1].map(|read| {
            let buffers = [
                &uniform,
                &eta,
                &clock,
                &states[read],
                &states[1 - read],
                &cell_list,
                &binned,
                &sorted,
                &partials,
            ];
            ctx.bind_buffers("vicsek", &layout, &buffers)
        });
        let gpu = GpuVicsek {
            ctx,
            init: pipeline("vicsek_init")?,
            step: STEP_KERNELS
                .iter()
                .map(|(k, _)| pipeline(k))
                .collect::<Result<_>>()?,
            order: pipeline("vicsek_order")?,
            groups,
            parity: 0,
            states,
            binned,
            partials,
            saved,
            clock,
            particle_groups: ctx.dispatch_size(particles.div_ceil(WORKGROUP_SIZE) as u32)?,
            cell_groups: ctx.dispatch_size(cells.div_ceil(WORKGROUP_SIZE) as u32)?,
            order_groups: ctx.dispatch_size(blocks as u32)?,
            particles,
            blocks,
            saves: u64::from(saves),
        };
        ctx.check()?;
        Ok(gpu)
    }

    fn submit(&self, record: impl FnOnce(&mut wgpu::CommandEncoder)) -> Result<()> {
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        record(&mut encoder);
        self.ctx.queue.submit([encoder.finish()]);
        self.ctx.check()
    }

    fn read(&self, buffer: &wgpu::Buffer, offset: u64, size: u64) -> Result<Vec<u8>> {
        let staging = self.ctx.buffer(
            "vicsek_staging",
            size,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        self.submit(|e| e.copy_buffer_to_buffer(buffer, offset, &staging, 0, size))?;
        self.ctx.read_back(&staging, size)
    }
}

impl VicsekBackend for GpuVicsek<'_> {
    fn init(&mut self) -> Result<()> {
        let (group, (x, y)) = (&self.groups[self.parity], self.particle_groups);
        self.submit(|e| {
            let mut pass = e.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(&self.init);
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(x, y, 1);
        })
    }

    fn steps(&mut self, steps: u32) -> Result<()> {
        let mut left = steps;
        while left > 0 {
            let chunk = left.min(STEPS_PER_SUBMIT);
            let parity = self.parity;
            self.submit(|e| {
                let mut pass = e.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
                for s in 0..chunk as usize {
                    pass.set_bind_group(0, &self.groups[(parity + s) % 2], &[]);
                    for (pipeline, (_, over)) in self.step.iter().zip(STEP_KERNELS) {
                        let (x, y) = match over {
                            Over::Cells => self.cell_groups,
                            Over::Particles => self.particle_groups,
                        };
                        pass.set_pipeline(pipeline);
                        pass.dispatch_workgroups(x, y, 1);
                    }
                }
            })?;
            self.parity = (parity + chunk as usize) % 2;
            left -= chunk;
        }
        Ok(())
    }

    fn save(&mut self, slot: u32) -> Result<()> {
        let (group, (x, y)) = (&self.groups[self.parity], self.order_groups);
        let size = 8 * self.blocks;
        self.submit(|e| {
            {
                let mut pass = e.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
                pass.set_pipeline(&self.order);
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
            e.copy_buffer_to_buffer(&self.partials, 0, &self.saved, u64::from(slot) * size, size);
        })
    }

    fn partials(&mut self) -> Result<Vec<[f32; 2]>> {
        let bytes = self.read(&self.saved, 0, 8 * self.blocks * self.saves)?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    fn overrun(&mut self) -> Result<u32> {
        let clock: Vec<u32> = bytemuck::pod_collect_to_vec(&self.read(&self.clock, 0, 16)?);
        Ok(clock[3])
    }

    fn state(&mut self) -> Result<(Vec<[f32; 4]>, Vec<u32>)> {
        let state = self.read(&self.states[self.parity], 0, 16 * self.particles)?;
        let binned: Vec<[u32; 4]> =
            bytemuck::pod_collect_to_vec(&self.read(&self.binned, 0, 16 * self.particles)?);
        Ok((
            bytemuck::pod_collect_to_vec(&state),
            binned.iter().map(|b| b[2]).collect(),
        ))
    }
}
