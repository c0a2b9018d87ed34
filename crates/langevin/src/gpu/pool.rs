//! Buffers kept between runs. A run hands its per-trajectory buffers back when it ends, and
//! the next run that asks for a buffer of the same size and usage takes one instead of
//! allocating: a loop of runs of one shape (a scan over a parameter from Rust, the pieces of a
//! checkpointed run, the repeats of a benchmark) allocates its working and staging memory
//! once, and wgpu does not fill it with zeros again before its first use. At most
//! [`POOL_BYTES`] stay idle, beyond any run's batch budget, the oldest let go first (a run's
//! staging buffers, pinned host memory on a discrete GPU, are kept last);
//! [`BufferPool::clear`] lets all go.
//!
//! A kept buffer holds whatever the last run left in it, so only buffers whose every read
//! element a kernel writes first in each run (states, partials, passage, initial states,
//! time sums, staging) go through the pool.

use std::sync::Mutex;

/// Bytes of idle buffers kept: the default memory budget of one batch.
pub const POOL_BYTES: u64 = crate::plan::DEFAULT_GPU_BATCH_BYTES;

/// Idle device buffers, oldest first.
#[derive(Debug, Default)]
pub struct BufferPool {
    idle: Mutex<Vec<wgpu::Buffer>>,
}

impl BufferPool {
    /// An idle buffer of exactly `size` bytes and `usage`, if one is kept.
    pub fn take(&self, size: u64, usage: wgpu::BufferUsages) -> Option<wgpu::Buffer> {
        let mut idle = self.idle.lock().expect("buffer pool");
        let at = idle
            .iter()
            .position(|b| b.size() == size && b.usage() == usage)?;
        Some(idle.remove(at))
    }

    /// Keeps `buffers` for later runs, letting the oldest go while more than [`POOL_BYTES`]
    /// are idle.
    pub fn keep(&self, buffers: impl IntoIterator<Item = wgpu::Buffer>) {
        let mut idle = self.idle.lock().expect("buffer pool");
        idle.extend(buffers);
        let mut bytes: u64 = idle.iter().map(wgpu::Buffer::size).sum();
        while bytes > POOL_BYTES {
            bytes -= idle.remove(0).size();
        }
    }

    /// Bytes of the idle buffers.
    pub fn bytes(&self) -> u64 {
        let idle = self.idle.lock().expect("buffer pool");
        idle.iter().map(wgpu::Buffer::size).sum()
    }

    /// Lets every idle buffer go.
    pub fn clear(&self) {
        self.idle.lock().expect("buffer pool").clear();
    }
}
