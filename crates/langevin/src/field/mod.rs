//! Pseudo-spectral fields on periodic grids (1-D or 2-D, a batch of independent fields): the
//! nonlinear Klein-Gordon equation `phi_tt = Laplacian phi - V'(phi)` by Stormer-Verlet,
//! model A Langevin dynamics `d phi = (Laplacian phi - V'(phi)) dt + sqrt(2T) dW` and the KPZ
//! equation `dh = (nu Laplacian h + (lambda/2) |grad h|^2) dt + sqrt(D) dW` (dealiased) by
//! exponential time differencing (kernels `shaders/field.wgsl` with the FFT of
//! `shaders/fft.wgsl`; CPU twin [`crate::cpu::field`]).
//!
//! The potential `V(phi)` is an expression; `V'` comes from symbolic differentiation and is
//! compiled into the kernel. Grid points lie at `x_j = -L/2 + j L / n` per axis. Energies
//! (Klein-Gordon: `sum (pi^2/2 + V) dV + (1/2) sum_k |k|^2 |phi_k|^2 dV / N`; model A the same
//! without `pi`) and the x-momentum `-sum pi d_x phi dV` are computed spectrally in f64 on the
//! host at the save times.
//!
//! **Why dt is fixed.** Stormer-Verlet is symplectic only with a constant step: it then
//! conserves a modified energy within O(dt^2) for exponentially long times, so the energy
//! error oscillates instead of drifting. An adaptive step would break that. The step defaults
//! to `safety * 2 / omega_max` (the linear stability bound, `omega_max^2 = |k_max|^2 +
//! max V''` over the initial field) and a given step above the bound is refused.

pub mod config;
pub mod potential;
pub mod profiles;

pub mod run;
pub mod spec;

pub use potential::Potential;
pub use run::{run, FieldResult};
pub use spec::*;
