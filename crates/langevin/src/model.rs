//! Model terms: the drift and diagonal diffusion of an SDE, written once for the device (WGSL)
//! and once for the CPU twin (Rust), reading their parameters from the same `params` array.
//!
//! To add a built-in model, implement [`Model`]: the WGSL functions and the Rust functions must
//! compute the same expressions in the same order, so that the two backends agree to f32
//! rounding. `tests/engine.rs` checks that they do.

use crate::error::{Error, Result};
use crate::real::Precision;
pub use crate::stationary::ScalarFlow;
use crate::twin::{CpuTwin, LaneTerms};
use std::fmt::Debug;

pub use crate::state::{State, MAX_DIM};

/// The terms of an Ito SDE `dX_i = f_i(t, X) dt + g_i(t, X) dW_i` with diagonal noise.
pub trait Model: CpuTwin + Debug + Send + Sync {
    /// A short name for reports (`ornstein_uhlenbeck`).
    fn name(&self) -> String;
    /// Number of state components, 1 to [`MAX_DIM`].
    fn dim(&self) -> usize;
    /// Names of the state components (`x`, or `x0`, `x1`, ...).
    fn state_names(&self) -> Vec<String> {
        if self.dim() == 1 {
            vec!["x".to_string()]
        } else {
            (0..self.dim()).map(|i| format!("x{i}")).collect()
        }
    }
    /// Parameters as `(name, value)`, in the order of the `params` array the kernels read.
    fn params(&self) -> Vec<(String, f64)>;
    /// WGSL defining `drift`, `diffusion` and `diffusion_dg`, each
    /// `fn(t: f32, x: State) -> State`, reading parameters from the private array `params[k]`
    /// (`DIM` and `State` come from the state layout).
    fn wgsl_functions(&self) -> String;
    /// The drift `f(t, x)`; mirrors the WGSL `drift`.
    fn drift(&self, t: f32, x: &State, p: &[f32]) -> State;
    /// The diagonal diffusion `g(t, x)`; mirrors the WGSL `diffusion`.
    fn diffusion(&self, t: f32, x: &State, p: &[f32]) -> State;
    /// `g_i * dg_i/dx_i`, the Milstein correction; mirrors the WGSL `diffusion_dg`.
    fn diffusion_dg(&self, t: f32, x: &State, p: &[f32]) -> State;
    /// Checks the parameters beyond being finite (which the engine checks for every model).
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    /// Per component, `df_i/dx_i` where it is a constant (the drift is linear in its own
    /// variable), else `None`: what the schemes' linear stability bounds are checked against.
    fn linear_rates(&self) -> Vec<Option<f64>> {
        Vec::new()
    }
    /// Independent normals per step (`m`): the state dimension for diagonal noise.
    fn noise_dim(&self) -> usize {
        self.dim()
    }
    /// Whether the noise is a general `d x m` matrix `G(t, x)` rather than diagonal: the
    /// WGSL functions then define `noise_apply(t, x, dw: Noise) -> State` (`G dw`) themselves,
    /// and only the schemes for general noise accept the model.
    fn general_noise(&self) -> bool {
        false
    }
    /// The terms for eight trajectories at once, where the model has them (interpreted
    /// expressions with diagonal noise): the CPU twin then steps eight trajectories in
    /// lockstep ([`crate::cpu::sde_lanes`]).
    fn lane_terms(&self) -> Option<&dyn LaneTerms> {
        None
    }
    /// `G(t, x) dw`, the noise increment of one step; mirrors the WGSL `noise_apply`. For
    /// diagonal noise, `g_i dw_i`.
    fn noise_apply(&self, t: f32, x: &State, dw: &State, p: &[f32]) -> State {
        let g = self.diffusion(t, x, p);
        let mut r = [0.0; MAX_DIM];
        for i in 0..self.dim() {
            r[i] = g[i] * dw[i];
        }
        r
    }
    /// Whether the noise is additive: the diffusion does not depend on the state (SRA1
    /// needs it).
    fn additive_noise(&self) -> bool {
        false
    }
    /// Whether the model has noise at all; schemes for ODEs refuse models that do.
    fn has_noise(&self) -> bool {
        true
    }
    /// For underdamped Langevin models, the split form that BAOAB and OBABO step (the WGSL
    /// functions then include `force`). `None` for every other model.
    fn underdamped(&self) -> Option<Underdamped> {
        None
    }
    /// For a reaction network, the network that the jump kernels run. `None` for every other
    /// model.
    fn reactions(&self) -> Option<&crate::reactions::ReactionNetwork> {
        None
    }
    /// The force `-dU/dq` in the first [`Underdamped::positions`] slots, from the positions in
    /// the same slots of `x`; mirrors the WGSL `force`. Read only for underdamped models.
    fn force(&self, t: f32, x: &State, p: &[f32]) -> State {
        let _ = (t, x, p);
        [0.0; MAX_DIM]
    }
    /// The drift in f64, for ODE ensembles integrated in f64 (`solver.precision = "f64"`).
    /// `None` where the model has no f64 form (the built-in SDE models).
    fn f64_drift(&self) -> Option<&dyn DriftF64> {
        None
    }
    /// Component `i` as a one-dimensional gradient flow with constant noise, when it is one:
    /// its drift depends on `x_i` alone (not on `t` or other components) and its diffusion is
    /// a nonzero constant. Its stationary density is then known ([`ScalarFlow`]). `None` when
    /// the component is not such a flow, or the model does not say.
    fn scalar_flow(&self, component: usize) -> Option<ScalarFlow<'_>> {
        let _ = component;
        None
    }
}

/// A drift written in f64, for the f64 kernel of `ode_adaptive` (`Scalar = f64`) and its
/// twin ([`crate::cpu::ode_adaptive`]).
pub trait DriftF64: Sync {
    /// WGSL defining `drift`, `fn(t: Scalar, x: State) -> State` with `Scalar = f64`, reading
    /// the f64 parameters `params[k]`. Its functions are the `r_*` of `real_f64` (the devices
    /// have no f64 exp, log or trigonometry).
    fn wgsl_f64(&self) -> String;
    /// Twin of that `drift`, in the same order of operations; agrees with it to f64 rounding
    /// (the `r_*` functions are within a few ulp of Rust's).
    fn drift_f64(&self, t: f64, x: &[f64; MAX_DIM], p: &[f64]) -> [f64; MAX_DIM];
}

/// The WGSL module `model` of the f64 `ode_adaptive` kernel: the parameter count and the f64
/// drift.
pub fn wgsl_module_f64(model: &dyn Model, drift: &dyn DriftF64) -> String {
    format!(
        "// Model `{}` in f64, generated by the engine.\nconst NPARAMS: u32 = {}u;\n\n{}",
        crate::shader::comment_text(&model.name()),
        model.params().len().max(1),
        drift.wgsl_f64()
    )
}

/// The layout of an underdamped Langevin model `dq = p/m dt`,
/// `dp = (F(q) - gamma p) dt + sqrt(2 gamma m kT) dW`: the state holds `positions` coordinates,
/// then as many momenta; friction, temperature and mass are parameters (so that a sweep or an
/// override reaches them like any other) at the given indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Underdamped {
    /// Number of position coordinates (half the state).
    pub positions: usize,
    /// Index of the friction `gamma` in the parameters.
    pub gamma_param: usize,
    /// Index of the temperature `kT` in the parameters.
    pub kt_param: usize,
    /// Index of the mass in the parameters.
    pub mass_param: usize,
}

/// Steps per group whose normals fill whole Philox blocks: `4 / gcd(noise, 4)` for `noise`
/// normals per step.
pub fn group_steps(noise: usize) -> usize {
    let gcd = match noise % 4 {
        0 => 4,
        2 => 2,
        _ => 1,
    };
    4 / gcd
}

/// The WGSL module `state_layout`: the state's size and type, the noise's (`NOISE` normals per
/// step, `Noise`), the step grouping that `sde_ensemble.wgsl` uses to draw whole Philox blocks,
/// and whether it tracks first passages (a constant, so that a kernel without them carries no
/// per-step check).
///
/// `normals_per_noise` is the scheme's ([`crate::Scheme::normals_per_noise`]): with 2, each step also
/// draws the normals of the space-time Levy areas (`LEVY_AREA`). `draws_noise`: whether the
/// scheme reads its increments at all ([`crate::Scheme::draws_noise`]; `DRAWS_NOISE`). `event_stops`:
/// an event freezes trajectories, and observations leave them out (`EVENT_STOPS`).
///
/// `precision` is that of the state's components (`Scalar`): f64 only for the kernels written
/// over `Scalar` (`ode_adaptive`), whose parameters then come as f32 pairs (`PARAM_WORDS`, see
/// [`crate::real::Real::WORDS`]); the layout then imports `real_f64` for the model's `r_*`
/// functions. Noise stays f32.
pub fn wgsl_state_layout(
    model: &dyn Model,
    normals_per_noise: usize,
    draws_noise: bool,
    track_passage: bool,
    event_stops: bool,
    precision: Precision,
) -> String {
    let (dim, noise) = (model.dim(), model.noise_dim());
    let normals = noise * normals_per_noise;
    let g = group_steps(normals);
    let scalar = match precision {
        Precision::F32 => "alias Scalar = f32;\nconst PARAM_WORDS: u32 = 1u;\n",
        Precision::F64 => "#import real_f64\nalias Scalar = f64;\nconst PARAM_WORDS: u32 = 2u;\n",
    };
    format!(
        "// State layout, generated by the engine.\n{scalar}const DIM: u32 = {dim}u;\n\
         alias State = {};\n\
         const NOISE: u32 = {noise}u;\nalias Noise = {};\n\
         const NORMALS: u32 = {normals}u;\nconst LEVY_AREA: bool = {};\n\
         const DRAWS_NOISE: bool = {draws_noise};\n\
         const GROUP_STEPS: u32 = {g}u;\nconst GROUP_NORMALS: u32 = {}u;\n\
         const TRACK_PASSAGE: bool = {track_passage};\nconst EVENT_STOPS: bool = {event_stops};\n",
        wgsl_vector(dim, precision.name()),
        wgsl_vector(noise, "f32"),
        normals_per_noise > 1,
        g * normals
    )
}

/// The WGSL type of `n` values indexed in loops over `0..n`: a vector for 2 to 4, which
/// drivers keep in registers whatever the index, else an array (whose runtime-indexed
/// copies a driver may leave in memory when it does not unroll the loop first).
fn wgsl_vector(n: usize, scalar: &str) -> String {
    if (2..=4).contains(&n) {
        format!("vec{n}<{scalar}>")
    } else {
        format!("array<{scalar}, {n}>")
    }
}

/// The WGSL module `model` that `sde_ensemble.wgsl` imports: the parameter count and the
/// model's functions.
pub fn wgsl_module(model: &dyn Model) -> String {
    // Diagonal noise applies the diffusion component by component; a model with general
    // noise writes its own `noise_apply` (the product of its d x m matrix with dw).
    let apply = if model.general_noise() {
        ""
    } else {
        "\nfn noise_apply(t: f32, x: State, dw: Noise) -> State {\n    let g = diffusion(t, x);\n    \
         var r: State;\n    for (var i = 0u; i < DIM; i++) {\n        r[i] = g[i] * dw[i];\n    }\n    \
         return r;\n}\n"
    };
    let split = match model.underdamped() {
        Some(u) => format!(
            "const POSITIONS: u32 = {}u;\nconst PARAM_GAMMA: u32 = {}u;\n\
             const PARAM_KT: u32 = {}u;\nconst PARAM_MASS: u32 = {}u;\n",
            u.positions, u.gamma_param, u.kt_param, u.mass_param
        ),
        None => String::new(),
    };
    format!(
        "// Model `{}`, generated by the engine.\nconst NPARAMS: u32 = {}u;\n{split}\n{}{apply}",
        crate::shader::comment_text(&model.name()),
        model.params().len().max(1),
        model.wgsl_functions()
    )
}

fn require(name: &str, value: f64, ok: bool, reason: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("model.params.{name}"),
            value,
            reason,
        ))
    }
}

/// Ornstein-Uhlenbeck `dX_i = theta (mu - X_i) dt + sigma dW_i`, independent in each of `dim`
/// components.
#[derive(Clone, Debug, PartialEq)]
pub struct OrnsteinUhlenbeck {
    /// Mean-reversion rate.
    pub theta: f64,
    /// Long-time mean.
    pub mu: f64,
    /// Noise amplitude.
    pub sigma: f64,
    /// Number of independent components.
    pub dim: usize,
}

impl OrnsteinUhlenbeck {
    /// A one-dimensional OU process.
    pub fn new(theta: f64, mu: f64, sigma: f64) -> Self {
        Self {
            theta,
            mu,
            sigma,
            dim: 1,
        }
    }

    /// The same process in `dim` independent components.
    pub fn with_dim(mut self, dim: usize) -> Self {
        self.dim = dim;
        self
    }
}

impl Model for OrnsteinUhlenbeck {
    fn name(&self) -> String {
        "ornstein_uhlenbeck".into()
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn params(&self) -> Vec<(String, f64)> {
        vec![
            ("theta".into(), self.theta),
            ("mu".into(), self.mu),
            ("sigma".into(), self.sigma),
        ]
    }
    fn wgsl_functions(&self) -> String {
        r#"fn drift(t: f32, x: State) -> State {
    var f: State;
    for (var i = 0u; i < DIM; i++) {
        f[i] = params[0] * (params[1] - x[i]);
    }
    return f;
}

fn diffusion(t: f32, x: State) -> State {
    var g: State;
    for (var i = 0u; i < DIM; i++) {
        g[i] = params[2];
    }
    return g;
}

fn diffusion_dg(t: f32, x: State) -> State {
    var zero: State;
    return zero;
}
"#
        .into()
    }
    fn lane_terms(&self) -> Option<&dyn LaneTerms> {
        Some(self)
    }
    #[inline]
    fn drift(&self, _t: f32, x: &State, p: &[f32]) -> State {
        let mut f = [0.0; MAX_DIM];
        for i in 0..self.dim {
            f[i] = p[0] * (p[1] - x[i]);
        }
        f
    }
    #[inline]
    fn diffusion(&self, _t: f32, _x: &State, p: &[f32]) -> State {
        let mut g = [0.0; MAX_DIM];
        g[..self.dim].fill(p[2]);
        g
    }
    #[inline]
    fn diffusion_dg(&self, _t: f32, _x: &State, _p: &[f32]) -> State {
        [0.0; MAX_DIM]
    }
    fn validate(&self) -> Result<()> {
        require("sigma", self.sigma, self.sigma >= 0.0, "must be >= 0")
    }
    fn additive_noise(&self) -> bool {
        true
    }
    fn scalar_flow(&self, component: usize) -> Option<ScalarFlow<'_>> {
        (component < self.dim && self.sigma > 0.0)
            .then(|| ScalarFlow::new(|x| self.theta * (self.mu - x), self.sigma))
    }
}

/// Geometric Brownian motion `dS = mu S dt + sigma S dW` (Ito).
#[derive(Clone, Debug, PartialEq)]
pub struct GeometricBrownianMotion {
    /// Drift rate.
    pub mu: f64,
    /// Volatility.
    pub sigma: f64,
}

impl Model for GeometricBrownianMotion {
    fn name(&self) -> String {
        "geometric_brownian_motion".into()
    }
    fn dim(&self) -> usize {
        1
    }
    fn state_names(&self) -> Vec<String> {
        vec!["S".into()]
    }
    fn params(&self) -> Vec<(String, f64)> {
        vec![("mu".into(), self.mu), ("sigma".into(), self.sigma)]
    }
    fn wgsl_functions(&self) -> String {
        r#"fn drift(t: f32, x: State) -> State {
    return State(params[0] * x[0]);
}

fn diffusion(t: f32, x: State) -> State {
    return State(params[1] * x[0]);
}

fn diffusion_dg(t: f32, x: State) -> State {
    return State(params[1] * params[1] * x[0]);
}
"#
        .into()
    }
    #[inline]
    fn drift(&self, _t: f32, x: &State, p: &[f32]) -> State {
        let mut f = [0.0; MAX_DIM];
        f[0] = p[0] * x[0];
        f
    }
    #[inline]
    fn diffusion(&self, _t: f32, x: &State, p: &[f32]) -> State {
        let mut g = [0.0; MAX_DIM];
        g[0] = p[1] * x[0];
        g
    }
    #[inline]
    fn diffusion_dg(&self, _t: f32, x: &State, p: &[f32]) -> State {
        let mut d = [0.0; MAX_DIM];
        d[0] = p[1] * p[1] * x[0];
        d
    }
    fn validate(&self) -> Result<()> {
        require("sigma", self.sigma, self.sigma >= 0.0, "must be >= 0")
    }
}

/// Overdamped motion in the double well `U = x^4/4 - x^2/2` at temperature `D`:
/// `dX = (X - X^3) dt + sqrt(2 D) dW`, stationary density proportional to `exp(-U/D)`.
#[derive(Clone, Debug, PartialEq)]
pub struct DoubleWell {
    /// Temperature (noise intensity).
    pub temperature: f64,
}

impl Model for DoubleWell {
    fn name(&self) -> String {
        "double_well".into()
    }
    fn dim(&self) -> usize {
        1
    }
    fn params(&self) -> Vec<(String, f64)> {
        vec![("D".into(), self.temperature)]
    }
    fn wgsl_functions(&self) -> String {
        r#"fn drift(t: f32, x: State) -> State {
    return State(x[0] - x[0] * x[0] * x[0]);
}

fn diffusion(t: f32, x: State) -> State {
    return State(sqrt(2.0 * params[0]));
}

fn diffusion_dg(t: f32, x: State) -> State {
    return State(0.0);
}
"#
        .into()
    }
    #[inline]
    fn drift(&self, _t: f32, x: &State, _p: &[f32]) -> State {
        let mut f = [0.0; MAX_DIM];
        f[0] = x[0] - x[0] * x[0] * x[0];
        f
    }
    #[inline]
    fn diffusion(&self, _t: f32, _x: &State, p: &[f32]) -> State {
        let mut g = [0.0; MAX_DIM];
        g[0] = (2.0 * p[0]).sqrt();
        g
    }
    #[inline]
    fn diffusion_dg(&self, _t: f32, _x: &State, _p: &[f32]) -> State {
        [0.0; MAX_DIM]
    }
    fn validate(&self) -> Result<()> {
        require(
            "D",
            self.temperature,
            self.temperature >= 0.0,
            "must be >= 0",
        )
    }
    fn additive_noise(&self) -> bool {
        true
    }
    fn scalar_flow(&self, component: usize) -> Option<ScalarFlow<'_>> {
        (component == 0 && self.temperature > 0.0)
            .then(|| ScalarFlow::new(|x| x - x * x * x, (2.0 * self.temperature).sqrt()))
    }
}

/// Cox-Ingersoll-Ross `dX = kappa (theta - X) dt + sigma sqrt(X) dW` with full truncation:
/// `X` enters drift and diffusion as `max(X, 0)`, so the square root stays real even when a
/// discrete step overshoots below zero (Lord, Koekkoek and van Dijk, 2010).
#[derive(Clone, Debug, PartialEq)]
pub struct CoxIngersollRoss {
    /// Mean-reversion rate.
    pub kappa: f64,
    /// Long-time mean.
    pub theta: f64,
    /// Volatility.
    pub sigma: f64,
}

impl Model for CoxIngersollRoss {
    fn name(&self) -> String {
        "cox_ingersoll_ross".into()
    }
    fn dim(&self) -> usize {
        1
    }
    fn params(&self) -> Vec<(String, f64)> {
        vec![
            ("kappa".into(), self.kappa),
            ("theta".into(), self.theta),
            ("sigma".into(), self.sigma),
        ]
    }
    fn wgsl_functions(&self) -> String {
        r#"fn drift(t: f32, x: State) -> State {
    return State(params[0] * (params[1] - max(x[0], 0.0)));
}

fn diffusion(t: f32, x: State) -> State {
    return State(params[2] * sqrt(max(x[0], 0.0)));
}

// g g' = sigma^2 / 2 wherever the square root is differentiable.
fn diffusion_dg(t: f32, x: State) -> State {
    return State(select(0.0, 0.5 * params[2] * params[2], x[0] > 0.0));
}
"#
        .into()
    }
    #[inline]
    fn drift(&self, _t: f32, x: &State, p: &[f32]) -> State {
        let mut f = [0.0; MAX_DIM];
        f[0] = p[0] * (p[1] - x[0].max(0.0));
        f
    }
    #[inline]
    fn diffusion(&self, _t: f32, x: &State, p: &[f32]) -> State {
        let mut g = [0.0; MAX_DIM];
        g[0] = p[2] * x[0].max(0.0).sqrt();
        g
    }
    #[inline]
    fn diffusion_dg(&self, _t: f32, x: &State, p: &[f32]) -> State {
        let mut d = [0.0; MAX_DIM];
        d[0] = if x[0] > 0.0 { 0.5 * p[2] * p[2] } else { 0.0 };
        d
    }
    fn validate(&self) -> Result<()> {
        require("kappa", self.kappa, self.kappa >= 0.0, "must be >= 0")?;
        require("theta", self.theta, self.theta >= 0.0, "must be >= 0")?;
        require("sigma", self.sigma, self.sigma >= 0.0, "must be >= 0")
    }
}

/// OU's terms for eight trajectories: `drift` and the default `noise_apply` (`g_i dw_i` with
/// `g_i = sigma`) lane by lane.
impl crate::twin::LaneTerms for OrnsteinUhlenbeck {
    fn drift_lanes(
        &self,
        _t: f32,
        x: &crate::twin::LaneState,
        p: &crate::twin::LaneParams<'_>,
    ) -> crate::twin::LaneState {
        let mut f = [[0.0; 8]; MAX_DIM];
        for i in 0..self.dim {
            for l in 0..8 {
                f[i][l] = p[l][0] * (p[l][1] - x[i][l]);
            }
        }
        f
    }
    fn noise_apply_lanes(
        &self,
        _t: f32,
        _x: &crate::twin::LaneState,
        dw: &crate::twin::LaneState,
        p: &crate::twin::LaneParams<'_>,
    ) -> crate::twin::LaneState {
        let mut r = [[0.0; 8]; MAX_DIM];
        for i in 0..self.dim {
            for l in 0..8 {
                r[i][l] = p[l][2] * dw[i][l];
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_groups_fill_whole_philox_blocks() {
        for dim in 1..=MAX_DIM {
            let g = group_steps(dim);
            assert_eq!(g * dim % 4, 0, "dim {dim}");
            assert!(
                (1..g).all(|h| h * dim % 4 != 0),
                "dim {dim}: {g} is not the smallest"
            );
        }
    }
}
