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
//!
//! # Every kind of run, from Rust
//!
//! A config file names its `kind` ([`kind::KINDS`] lists them with the keys each reads);
//! [`config::Config`] turns one into the typed spec below. The same specs are built directly
//! from Rust, and each runs on either backend of one [`Engine`]:
//!
//! | kind | spec | run | result |
//! | --- | --- | --- | --- |
//! | `sde`, `ode`, `langevin` | [`EnsembleSpec`] of a [`Model`] ([`ExprModel`] from expressions) | [`Engine::run`] | [`EnsembleResult`] |
//! | `reactions`, `jump` | [`EnsembleSpec`] of [`ExprModel::reaction_network`], scheme [`Scheme::Ssa`] or [`Scheme::TauLeap`] | [`Engine::run`] | [`EnsembleResult`] |
//! | `kuramoto` | [`interacting::kuramoto::KuramotoSpec`] | [`interacting::kuramoto::run`] | [`interacting::kuramoto::KuramotoResult`] |
//! | `chain` | [`interacting::chain::ChainSpec`] | [`interacting::chain::run`] | [`interacting::chain::ChainResult`] |
//! | `cbo` | [`interacting::cbo::CboSpec`] | [`interacting::cbo::run`] | [`interacting::cbo::CboResult`] |
//! | `vicsek` | [`interacting::vicsek::VicsekSpec`] | [`interacting::vicsek::run`] | [`interacting::vicsek::VicsekResult`] |
//! | `field` | [`field::FieldSpec`] | [`field::run()`] | [`field::FieldResult`] |
//!
//! Beside the runs: the chemical master equation ([`cme`]), moment closures ([`closure`]),
//! Lyapunov exponents ([`lyapunov`]) and the chaos zoo ([`zoo`]).
//!
//! A reaction network sampled exactly (Gillespie's direct method): birth at rate `k`, death
//! at rate `g` per molecule, whose stationary law is Poisson with mean `k / g`.
//!
//! ```
//! use langevin::reactions::{ReactionNetwork, ReactionSpec};
//! use langevin::{BackendChoice, Engine, EnsembleSpec, ExprModel, SaveAt, Scheme};
//! use std::sync::Arc;
//!
//! # fn main() -> Result<(), langevin::Error> {
//! let reaction = |eq: &str, rate: &str| ReactionSpec {
//!     eq: eq.into(),
//!     rate: Some(rate.into()),
//!     propensity: None,
//! };
//! let network = ReactionNetwork::new(
//!     &[("X".to_string(), 0)],
//!     &[("k".to_string(), 10.0), ("g".to_string(), 1.0)],
//!     &[reaction("0 -> X", "k"), reaction("X -> 0", "g")],
//! )?;
//! let start: Vec<f64> = network.initial.iter().map(|&n| f64::from(n)).collect();
//! let spec = EnsembleSpec::with_model(Arc::new(ExprModel::reaction_network("birth-death", network)?))
//!     .scheme(Scheme::Ssa)
//!     .initial_fixed(&start)
//!     .time_span(0.0, 12.0)
//!     .dt(0.01)
//!     .trajectories(4096)
//!     .seed(3)
//!     .save_at(SaveAt::Count(2));
//! let result = Engine::new(BackendChoice::Cpu)?.run(&spec)?;
//! let x = result.moments[1][0];
//! // Poisson(10): mean and variance 10 (the start is forgotten to e^-12).
//! assert!((x.mean - 10.0).abs() < 5.0 * x.std_error());
//! assert!((x.variance() / 10.0 - 1.0).abs() < 0.15);
//! # Ok(())
//! # }
//! ```
//!
//! Kuramoto oscillators with Lorentzian frequencies of half-width 1/2 lock above K_c = 1,
//! with the order parameter `r = sqrt(1 - K_c / K)` for infinitely many of them:
//!
//! ```
//! use langevin::interacting::kuramoto::{self, KuramotoSpec};
//! use langevin::{BackendChoice, Engine};
//!
//! # fn main() -> Result<(), langevin::Error> {
//! let mut spec = KuramotoSpec::new(4000);
//! spec.coupling = 2.0;
//! spec.replicas = 2;
//! spec.dt = 0.02;
//! spec.t_end = 60.0;
//! spec.saves = 61;
//! spec.average_from = 30.0;
//! let result = kuramoto::run(&Engine::new(BackendChoice::Cpu)?, &spec)?;
//! let r = result.averaged()[0].r.mean;
//! let exact = spec.law.order_parameter(spec.coupling, spec.noise).unwrap();
//! assert!((r - exact).abs() < 0.02 * exact, "r = {r}, exact {exact}");
//! # Ok(())
//! # }
//! ```
//!
//! A sine-Gordon breather on a periodic grid keeps its energy `16 sqrt(1 - omega^2)`:
//!
//! ```
//! use langevin::field::{self, profiles, FieldSpec, Potential};
//! use langevin::{BackendChoice, Engine};
//!
//! # fn main() -> Result<(), langevin::Error> {
//! let mut spec = FieldSpec::new(256, 40.0, Potential::new(profiles::SINE_GORDON, &[])?);
//! (spec.init_phi, spec.init_pi) = profiles::breather(0.5);
//! spec.dt = Some(0.01);
//! spec.t_end = 10.0;
//! spec.saves = 3;
//! let result = field::run(&Engine::new(BackendChoice::Cpu)?, &spec)?;
//! let exact = profiles::breather_energy(0.5);
//! let last = *result.energy[0].last().unwrap();
//! // Stormer-Verlet's energy error oscillates with relative amplitude about dt^2 / 4.
//! assert!(((last - exact) / exact).abs() < 1e-4);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]
// The CPU twins index arrays in loops on purpose: they read like the WGSL they mirror.
#![allow(clippy::needless_range_loop)]

pub mod adaptive;
pub mod bench;
pub mod binned;
pub mod closure;
pub mod cme;
pub mod config;
pub mod cpu;
pub mod device;
pub mod distance;
pub mod engine;
pub mod ensemble;
pub mod error;
pub mod event;
pub mod exact_law;
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
pub mod observable;
pub mod philox;
pub mod plan;
pub mod reactions;
pub mod real;
pub mod scheme;
pub(crate) mod segment;
pub mod shader;
pub mod shard;
pub mod snapshot;
pub mod spec;
pub(crate) mod state;
pub mod stationary;
pub mod stats;
pub mod sweep;
pub(crate) mod twin;
pub mod unroll;
pub(crate) mod vmath;
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
