//! # langevin
//!
//! Massively parallel stochastic dynamics on any GPU that wgpu reaches (Vulkan, Metal, DX12,
//! and software adapters such as lavapipe), with a CPU twin of every kernel that is both the
//! test oracle and the fallback backend.
//!
//! Each trajectory is one GPU invocation with its state in registers; only observables leave
//! the device: per-workgroup `(count, mean, M2)` partials merged on the host in f64, a
//! histogram, and the final states when asked. Randomness is Philox4x32-10 keyed by the seed and
//! counted by `(trajectory, block, stream)`, so a seed gives the same trajectories whatever the
//! batching or dispatch chunking (to the bit on one backend; across backends up to the rounding
//! of the transcendental functions in the normals).
//!
//! ```
//! use langevin::{BackendChoice, Engine, EnsembleSpec, OrnsteinUhlenbeck, SaveAt, Scheme};
//!
//! # fn main() -> Result<(), langevin::Error> {
//! let engine = Engine::new(BackendChoice::Cpu)?;
//! let spec = EnsembleSpec::new(OrnsteinUhlenbeck::new(1.0, 0.0, 0.5))
//!     .scheme(Scheme::EulerMaruyama)
//!     .initial_fixed(&[1.0])
//!     .time_span(0.0, 1.0)
//!     .dt(0.01)
//!     .trajectories(4096)
//!     .seed(7)
//!     .save_at(SaveAt::Count(3));
//! let result = engine.run(&spec)?;
//! let last = result.moments[2][0];
//! assert!((last.mean - (-1.0f64).exp()).abs() < 5.0 * last.std_error() + 0.01);
//! # Ok(())
//! # }
//! ```
//!
//! The pieces, in the spirit of diffrax: model terms ([`Model`] and the built-in models),
//! a [`Scheme`], the noise (Philox streams, [`philox`]), save-at ([`SaveAt`]), all gathered in an
//! [`EnsembleSpec`] and run by an [`Engine`]. See `ARCHITECTURE.md` for the data flow.

#![warn(missing_docs)]
// The CPU twins index arrays in loops on purpose: they read like the WGSL they mirror.
#![allow(clippy::needless_range_loop)]

pub mod adaptive;
pub mod bench;
pub mod closure;
pub mod cme;
pub mod config;
pub mod cpu;
pub mod device;
pub mod engine;
pub mod ensemble;
pub mod error;
pub mod event;
pub mod expr;
pub mod expr_model;
pub mod fft;
pub mod field;
pub mod gpu;
pub mod interacting;
pub mod jump_observe;
pub mod kind;
pub mod lyapunov;
pub mod model;
pub mod philox;
pub mod plan;
pub mod reactions;
pub mod real;
pub mod scheme;
pub mod shader;
pub mod shard;
pub mod spec;
pub mod stationary;
pub mod stats;
pub mod sweep;
pub mod unroll;
pub mod vmath;
pub mod zoo;

pub use device::{BackendChoice, BackendKind, DeviceInfo};
pub use engine::{Engine, Progress};
pub use ensemble::{EnsembleResult, SweepResult};
pub use error::{Error, Result};
pub use event::{EventAction, EventSpec};
pub use expr_model::ExprModel;
pub use model::{
    CoxIngersollRoss, DoubleWell, GeometricBrownianMotion, Model, OrnsteinUhlenbeck, State, MAX_DIM,
};
pub use real::Precision;
pub use scheme::{Scheme, SchemeKind};
pub use spec::{
    Chunking, Direction, EnsembleSpec, FirstPassageSpec, HistogramSpec, InitialLaw, InitialState,
    SaveAt,
};
pub use stats::{FirstPassage, Histogram, Moments};
pub use sweep::Sweep;
