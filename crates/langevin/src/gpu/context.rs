//! Headless wgpu device creation with the adapter's own limits and the optional features the
//! engine can use, plus the few helpers every GPU kernel runner needs.

use crate::device::{BackendKind, DeviceInfo};
use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};

/// The optional features requested when the adapter has them.
const OPTIONAL_FEATURES: [(wgpu::Features, &str); 4] = [
    (wgpu::Features::SHADER_F64, "SHADER_F64"),
    // Philox's 32x32 -> 64 multiply in one instruction (`shader::native_mul_hi`).
    (wgpu::Features::SHADER_INT64, "SHADER_INT64"),
    (wgpu::Features::SUBGROUP, "SUBGROUP"),
    (wgpu::Features::TIMESTAMP_QUERY, "TIMESTAMP_QUERY"),
];

/// How to get an adapter on a machine with none.
pub const NO_ADAPTER_HINT: &str = "on Linux without a GPU, `apt-get install mesa-vulkan-drivers` \
     provides the lavapipe software Vulkan adapter; or run on the CPU twin with --backend cpu \
     (LANGEVIN_BACKEND=cpu)";

/// A wgpu device and queue with what was learnt about the adapter.
pub struct GpuContext {
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// The limits granted (the adapter's own).
    pub limits: wgpu::Limits,
    /// The features granted.
    pub features: wgpu::Features,
    /// What the adapter is, for every result.
    pub info: DeviceInfo,
    /// Loop iterations the driver runs before it silently leaves a loop, when it has such a
    /// limit: llvmpipe (lavapipe) stops an outermost loop, nested iterations included, after
    /// 65,535 iterations, so a dispatch of many steps would end early without any error.
    pub loop_iteration_limit: Option<u32>,
    errors: Arc<Mutex<Vec<String>>>,
    pool: super::pool::BufferPool,
}

/// llvmpipe's loop limiter (Mesa gallivm `LP_MAX_TGSI_LOOP_ITERATIONS`).
const LLVMPIPE_LOOP_LIMIT: u32 = 65_535;

impl GpuContext {
    /// Creates a device on the best adapter of the primary backends (Vulkan, Metal, DX12;
    /// `WGPU_BACKEND` overrides).
    ///
    /// # Errors
    /// [`Error::NoAdapter`] when no adapter or device can be had, saying how to get one.
    pub fn new() -> Result<Self> {
        pollster::block_on(Self::new_async())
    }

    /// A device on every adapter of the primary backends that gives one (`WGPU_BACKEND`
    /// overrides), in wgpu's order.
    ///
    /// # Errors
    /// [`Error::NoAdapter`] when there is none.
    pub fn all() -> Result<Vec<Self>> {
        pollster::block_on(async {
            let (instance, backends) = Self::instance();
            let mut contexts = Vec::new();
            let mut refusals = Vec::new();
            for adapter in instance.enumerate_adapters(backends).await {
                match Self::on_adapter(adapter).await {
                    Ok(ctx) => contexts.push(ctx),
                    Err(e) => refusals.push(e.to_string()),
                }
            }
            if contexts.is_empty() {
                return Err(Error::NoAdapter(if refusals.is_empty() {
                    format!("no adapter; {NO_ADAPTER_HINT}")
                } else {
                    refusals.join("; ")
                }));
            }
            Ok(contexts)
        })
    }

    fn instance() -> (wgpu::Instance, wgpu::Backends) {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        if std::env::var_os("WGPU_BACKEND").is_none() {
            desc.backends = wgpu::Backends::PRIMARY;
        }
        let backends = desc.backends;
        (wgpu::Instance::new(desc), backends)
    }

    async fn new_async() -> Result<Self> {
        let (instance, _) = Self::instance();
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::NoAdapter(format!("{e}; {NO_ADAPTER_HINT}")))?;
        Self::on_adapter(adapter).await
    }

    async fn on_adapter(adapter: wgpu::Adapter) -> Result<Self> {
        let adapter_info = adapter.get_info();
        let mut required_features = wgpu::Features::empty();
        let mut feature_names = Vec::new();
        for (feature, name) in OPTIONAL_FEATURES {
            if adapter.features().contains(feature) {
                required_features |= feature;
                feature_names.push(name.to_string());
            }
        }
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("langevin"),
                required_features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| {
                Error::NoAdapter(format!(
                    "adapter \"{}\" refused a device: {e}; {NO_ADAPTER_HINT}",
                    adapter_info.name
                ))
            })?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            sink.lock().expect("error sink").push(e.to_string());
        }));
        let lost = errors.clone();
        device.set_device_lost_callback(move |reason, message| {
            lost.lock()
                .expect("error sink")
                .push(format!("device lost ({reason:?}): {message}"));
        });
        let info = DeviceInfo {
            kind: BackendKind::Gpu,
            name: adapter_info.name.clone(),
            api: format!("{:?}", adapter_info.backend),
            device_type: format!("{:?}", adapter_info.device_type),
            driver: format!("{} {}", adapter_info.driver, adapter_info.driver_info)
                .trim()
                .to_string(),
            features: feature_names,
        };
        let loop_iteration_limit = adapter_info
            .name
            .contains("llvmpipe")
            .then_some(LLVMPIPE_LOOP_LIMIT);
        Ok(GpuContext {
            loop_iteration_limit,
            features: device.features(),
            limits,
            device,
            queue,
            info,
            errors,
            pool: super::pool::BufferPool::default(),
        })
    }

    /// Fails with the first error the device reported since the last check.
    ///
    /// # Errors
    /// [`Error::Device`] naming the adapter.
    pub fn check(&self) -> Result<()> {
        let mut errors = self.errors.lock().expect("error sink");
        if errors.is_empty() {
            return Ok(());
        }
        let message = errors.join("; ");
        errors.clear();
        Err(self.device_error(message))
    }

    /// An [`Error::Device`] on this adapter.
    pub fn device_error(&self, message: impl Into<String>) -> Error {
        Error::Device {
            adapter: self.info.name.clone(),
            message: message.into(),
        }
    }

    /// Refuses `precision` where the adapter cannot run it (f64 needs `SHADER_F64`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `field` and the adapter.
    pub fn require(&self, precision: crate::real::Precision, field: &str) -> Result<()> {
        if precision == crate::real::Precision::F64
            && !self.features.contains(wgpu::Features::SHADER_F64)
        {
            return Err(Error::invalid(
                field,
                "f64",
                format!(
                    "the adapter {} has no SHADER_F64: use \"f32\", or the CPU backend",
                    self.info.name
                ),
            ));
        }
        Ok(())
    }

    /// Waits for all submitted work.
    ///
    /// # Errors
    /// [`Error::Device`] when polling fails or the device reported an error.
    pub fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| self.device_error(format!("poll failed: {e}")))?;
        self.check()
    }

    /// Creates a compute pipeline from validated WGSL, with Philox's `mul_hi` as one 64-bit
    /// multiply where the device has SHADER_INT64 (the same words either way).
    pub fn compute_pipeline(
        &self,
        label: &str,
        wgsl: &str,
        entry_point: &str,
        layout: Option<&wgpu::PipelineLayout>,
    ) -> Result<wgpu::ComputePipeline> {
        self.compute_pipeline_as(label, wgsl, entry_point, layout, self.native_mul_hi())
    }

    /// Whether pipelines take Philox's `mul_hi` as one 64-bit multiply (SHADER_INT64).
    pub fn native_mul_hi(&self) -> bool {
        self.features.contains(wgpu::Features::SHADER_INT64)
    }

    /// [`Self::compute_pipeline`] with the choice of `mul_hi` made by the caller:
    /// `native_mul_hi` needs SHADER_INT64; `false` keeps the 16-bit halves (for tests that
    /// hold both forms to the same known answers).
    pub fn compute_pipeline_as(
        &self,
        label: &str,
        wgsl: &str,
        entry_point: &str,
        layout: Option<&wgpu::PipelineLayout>,
        native_mul_hi: bool,
    ) -> Result<wgpu::ComputePipeline> {
        let wgsl = if native_mul_hi {
            crate::shader::native_mul_hi(wgsl)
        } else {
            wgsl.to_string()
        };
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(wgsl.into()),
            });
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout,
                module: &module,
                entry_point: Some(entry_point),
                compilation_options: Default::default(),
                cache: None,
            });
        self.check()?;
        Ok(pipeline)
    }

    /// The bind group layout of kernels whose binding 0 is a uniform and bindings 1 to
    /// `storage` read-write storage buffers, with its pipeline layout: for a module whose
    /// entry points share one set of bindings.
    pub fn uniform_and_storage_layout(
        &self,
        label: &str,
        storage: u32,
    ) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
        let entry = |binding: u32, ty| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let entries: Vec<wgpu::BindGroupLayoutEntry> =
            std::iter::once(entry(0, wgpu::BufferBindingType::Uniform))
                .chain(
                    (1..=storage)
                        .map(|b| entry(b, wgpu::BufferBindingType::Storage { read_only: false })),
                )
                .collect();
        let layout = self
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(label),
                entries: &entries,
            });
        let pipeline_layout = self
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(label),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
        (layout, pipeline_layout)
    }

    /// A bind group of `buffers` bound whole, binding `i` to `buffers[i]`.
    pub fn bind_buffers(
        &self,
        label: &str,
        layout: &wgpu::BindGroupLayout,
        buffers: &[&wgpu::Buffer],
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout,
            entries: &entries,
        })
    }

    /// A buffer of `size` bytes (rounded up to 4) with `usage`.
    pub fn buffer(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size.max(4).next_multiple_of(4),
            usage,
            mapped_at_creation: false,
        })
    }

    /// [`GpuContext::buffer`], taken from the buffers earlier runs left
    /// ([`super::pool`]) when one of the same size and usage is idle. Its contents are
    /// whatever that run left: for buffers a kernel writes before it reads.
    pub fn pooled_buffer(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        let size = size.max(4).next_multiple_of(4);
        self.pool
            .take(size, usage)
            .unwrap_or_else(|| self.buffer(label, size, usage))
    }

    /// Hands a finished run's buffers to the pool for later runs.
    pub fn keep_buffers(&self, buffers: impl IntoIterator<Item = wgpu::Buffer>) {
        self.pool.keep(buffers);
    }

    /// Bytes of device memory held by idle buffers between runs.
    pub fn idle_buffer_bytes(&self) -> u64 {
        self.pool.bytes()
    }

    /// Frees the buffers kept between runs.
    pub fn release_buffers(&self) {
        self.pool.clear();
    }

    /// A storage buffer initialised with `data`.
    pub fn storage_with(
        &self,
        label: &str,
        data: &[u8],
        extra: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        let buffer = self.buffer(
            label,
            data.len() as u64,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | extra,
        );
        if !data.is_empty() {
            self.queue.write_buffer(&buffer, 0, data);
        }
        buffer
    }

    /// Maps `size` bytes of a MAP_READ buffer, copies them out and unmaps.
    ///
    /// # Errors
    /// [`Error::Device`] when the map fails.
    pub fn read_back(&self, buffer: &wgpu::Buffer, size: u64) -> Result<Vec<u8>> {
        self.read_back_with(buffer, size, <[u8]>::to_vec)
    }

    /// Maps the first `size` bytes of `buffer` (MAP_READ) after waiting for all submitted
    /// work, and hands them to `read`: a caller that converts them (to f32 states, say)
    /// copies them once, straight out of the mapping, instead of twice.
    ///
    /// # Errors
    /// [`Error::Device`] when mapping fails.
    pub fn read_back_with<R>(
        &self,
        buffer: &wgpu::Buffer,
        size: u64,
        read: impl FnOnce(&[u8]) -> R,
    ) -> Result<R> {
        self.map_and_read(buffer, size, None, read)
    }

    /// [`GpuContext::read_back_with`] after waiting only for `submission` (the one that
    /// filled `buffer`): work queued after it keeps the device busy while the host reads.
    ///
    /// # Errors
    /// [`Error::Device`] when mapping fails.
    pub fn read_back_after<R>(
        &self,
        buffer: &wgpu::Buffer,
        size: u64,
        submission: wgpu::SubmissionIndex,
        read: impl FnOnce(&[u8]) -> R,
    ) -> Result<R> {
        self.map_and_read(buffer, size, Some(submission), read)
    }

    fn map_and_read<R>(
        &self,
        buffer: &wgpu::Buffer,
        size: u64,
        submission: Option<wgpu::SubmissionIndex>,
        read: impl FnOnce(&[u8]) -> R,
    ) -> Result<R> {
        if size == 0 {
            return Ok(read(&[]));
        }
        let slice = buffer.slice(..size);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: submission,
                timeout: None,
            })
            .map_err(|e| self.device_error(format!("poll failed: {e}")))?;
        rx.recv()
            .map_err(|_| self.device_error("map callback never ran"))?
            .map_err(|e| self.device_error(format!("buffer map failed: {e}")))?;
        // Mapped from here: unmapped before any error is returned.
        let result = slice
            .get_mapped_range()
            .map(|view| read(&view))
            .map_err(|e| self.device_error(format!("mapped range: {e}")));
        buffer.unmap();
        let result = result?;
        self.check()?;
        Ok(result)
    }

    /// Workgroup counts `(x, y)` covering `groups` workgroups within the per-dimension limit.
    pub fn dispatch_size(&self, groups: u32) -> Result<(u32, u32)> {
        let max = self.limits.max_compute_workgroups_per_dimension;
        let x = groups.clamp(1, max);
        let y = groups.div_ceil(x);
        if y > max {
            return Err(Error::Limit(format!(
                "{groups} workgroups exceed {max} x {max} on \"{}\"",
                self.info.name
            )));
        }
        Ok((x, y))
    }
}

/// Bytes of one piece of [`pod_vec`]'s parallel copy.
const COPY_PIECE: usize = 1 << 20;

/// `bytes` (a whole number of `T`) as a new vector of `T`, copied in pieces of 1 MiB on every
/// core. The final states of 2^23 three-component trajectories are 100 MB: one thread copying
/// them out of a mapping, taking the page faults of the vector's fresh memory as it goes, ran
/// at 1 GB/s on a two-core machine (50 MB in 49 ms; 24 ms with the two cores).
pub(crate) fn pod_vec<T: bytemuck::Pod + Send + Sync>(bytes: &[u8]) -> Vec<T> {
    use rayon::prelude::*;
    debug_assert_eq!(bytes.len() % size_of::<T>(), 0, "a partial value");
    let mut out = vec![T::zeroed(); bytes.len() / size_of::<T>()];
    let target: &mut [u8] = bytemuck::cast_slice_mut(&mut out);
    target
        .par_chunks_mut(COPY_PIECE)
        .zip(bytes.par_chunks(COPY_PIECE))
        .for_each(|(to, from)| to.copy_from_slice(from));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_vec_copies_every_piece_in_place() {
        // Three whole pieces and part of a fourth.
        let words: Vec<u32> = (0..(3 * COPY_PIECE / 4 + 5) as u32)
            .map(|k| k.wrapping_mul(2_654_435_761))
            .collect();
        let copied: Vec<u32> = pod_vec(bytemuck::cast_slice(&words));
        assert_eq!(copied, words);
        assert!(pod_vec::<f32>(&[]).is_empty());
    }
}
