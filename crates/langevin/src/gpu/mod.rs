//! The wgpu backend: device creation and one runner per kernel of `shaders/`.

pub mod context;
pub mod expr_eval;
pub mod fft;
pub mod field;
pub mod ode_adaptive;
pub mod philox_stream;
pub mod pool;
pub mod replicas;
pub mod sde_ensemble;
pub mod vicsek;

pub use context::GpuContext;
