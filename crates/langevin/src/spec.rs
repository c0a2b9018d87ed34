//! What to run: model terms, scheme, initial law, time grid, save-at, ensemble size, and the
//! observables wanted. Separate pieces in the spirit of diffrax; [`EnsembleSpec::resolve`]
//! checks them all before any device work and fixes the step grid.

use crate::adaptive::AdaptiveControl;
use crate::error::{Error, Result};
use crate::event::{Event, EventAction, EventSpec};
use crate::model::Model;
use crate::scheme::Scheme;
use crate::state::MAX_DIM;
use crate::sweep::{ResolvedSweep, Sweep};
use std::sync::Arc;

/// The law of the initial state, per component.
#[derive(Clone, Debug, PartialEq)]
pub enum InitialState {
    /// Every trajectory starts at the same point.
    Fixed(Vec<f64>),
    /// Independent normals `N(mean_i, sd_i^2)`, drawn from the trajectory's initial stream.
    Normal {
        /// Means per component.
        mean: Vec<f64>,
        /// Standard deviations per component.
        sd: Vec<f64>,
    },
    /// A law per component.
    Laws(Vec<InitialLaw>),
}

/// The initial law of one component.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InitialLaw {
    /// A fixed value.
    Fixed(f64),
    /// `N(mean, sd^2)`, from the trajectory's initial stream of normals.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
    /// Uniform on `[lo, hi)`, from the trajectory's initial stream of uniforms.
    Uniform {
        /// Lower end.
        lo: f64,
        /// Upper end.
        hi: f64,
    },
    /// Poisson of this mean (a count), by the sampler of `shaders/lib/poisson.wgsl`.
    Poisson {
        /// Mean, at most 2^20.
        mean: f64,
    },
    /// Binomial: the successes of `n` trials of probability `p` (a count), each trial one
    /// uniform of the initial stream.
    Binomial {
        /// Trials, an integer in `[0, MAX_BINOMIAL_TRIALS]`.
        n: f64,
        /// Success probability in `[0, 1]`.
        p: f64,
    },
    /// Uniform on the integers `lo..=hi`.
    UniformInt {
        /// Smallest value.
        lo: f64,
        /// Largest value.
        hi: f64,
    },
    /// The counts `0..len` with the probabilities of table `table` of
    /// [`EnsembleSpec::count_tables`].
    Table {
        /// Which table.
        table: usize,
        /// Its length (counts 0 to `len - 1`).
        len: usize,
        /// Its mean.
        mean: f64,
    },
}

impl InitialLaw {
    /// The centre of the law: the fixed value, the mean, or the midpoint.
    pub fn centre(&self) -> f64 {
        match *self {
            InitialLaw::Fixed(v) => v,
            InitialLaw::Normal { mean, .. } => mean,
            InitialLaw::Uniform { lo, hi } | InitialLaw::UniformInt { lo, hi } => 0.5 * (lo + hi),
            InitialLaw::Poisson { mean } => mean,
            InitialLaw::Binomial { n, p } => n * p,
            InitialLaw::Table { mean, .. } => mean,
        }
    }

    /// Whether the law draws integer counts (Poisson, binomial, uniform on integers).
    pub fn is_discrete(&self) -> bool {
        matches!(
            self,
            InitialLaw::Poisson { .. }
                | InitialLaw::Binomial { .. }
                | InitialLaw::UniformInt { .. }
                | InitialLaw::Table { .. }
        )
    }

    /// The loop iterations `initial_state` spends on this component, each loop counted with
    /// its last test (a kernel's budget on drivers that leave loops, [`crate::plan::LoopCost`]):
    /// a Poisson draw searches at most 64 counts or makes at most 64 attempts; a binomial one
    /// runs a trial per iteration.
    pub fn loop_cost(&self) -> u64 {
        match *self {
            InitialLaw::Poisson { .. } => 65,
            InitialLaw::Binomial { n, .. } => n as u64 + 1,
            InitialLaw::Table { len, .. } => len as u64,
            _ => 0,
        }
    }
}

/// The most trials of a [`InitialLaw::Binomial`] draw (one loop iteration each).
pub const MAX_BINOMIAL_TRIALS: f64 = 4096.0;

/// Law codes of the kernels' `init` array. Keep in sync with `initial_state` in
/// `shaders/sde_ensemble.wgsl`.
pub const LAW_NORMAL: f32 = 0.0;
/// Uniform law code.
pub const LAW_UNIFORM: f32 = 1.0;
/// Poisson law code.
pub const LAW_POISSON: f32 = 2.0;
/// Binomial law code.
pub const LAW_BINOMIAL: f32 = 3.0;
/// Uniform-on-integers law code.
pub const LAW_UNIFORM_INT: f32 = 4.0;
/// Table law code: the first parameter is the offset of the table's cumulative probabilities
/// in `init`, the second its length.
pub const LAW_TABLE: f32 = 5.0;

/// The longest table of an [`InitialLaw::Table`] (one loop iteration per count searched).
pub const MAX_TABLE: usize = 4096;

/// The times at which statistics are saved.
#[derive(Clone, Debug, PartialEq)]
pub enum SaveAt {
    /// `n` evenly spaced times from `t0` to `t_end`, both included (`n = 1` saves `t_end` only).
    Count(usize),
    /// Explicit times in `[t0, t_end]`, ascending, each snapped to the nearest step.
    Times(Vec<f64>),
}

pub use crate::binned::HistogramSpec;

pub use crate::stats::Direction;

/// The first time one component reaches a level, recorded per trajectory at step ends
/// (discrete monitoring). A trajectory that starts beyond the level passes at `t0`.
#[derive(Clone, Debug, PartialEq)]
pub struct FirstPassageSpec {
    /// Index of the state component.
    pub component: usize,
    /// The level.
    pub level: f64,
    /// Up or down.
    pub direction: Direction,
}

/// How a run is cut into batches (trajectories) and dispatches (steps). The results do not
/// depend on these: they only bound memory and the length of one dispatch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Chunking {
    /// At most this many trajectories per batch (rounded down to a whole workgroup).
    pub max_batch_trajectories: Option<u64>,
    /// At most this many steps per dispatch.
    pub steps_per_dispatch: Option<u32>,
    /// Bytes of device (or, for the CPU twin, host) memory one batch may use.
    pub max_batch_bytes: Option<u64>,
    /// The CPU twin steps eight trajectories in lockstep where the model allows (`None`:
    /// yes); `Some(false)` runs one at a time, with the same bits, for comparison.
    pub cpu_lanes: Option<bool>,
}

/// One ensemble run of an SDE with diagonal noise.
#[derive(Clone, Debug)]
pub struct EnsembleSpec {
    /// The drift and diffusion.
    pub model: Arc<dyn Model>,
    /// The time-stepping scheme.
    pub scheme: Scheme,
    /// The initial law.
    pub initial: InitialState,
    /// Start time.
    pub t0: f64,
    /// End time.
    pub t_end: f64,
    /// Requested step; the grid uses `(t_end - t0) / n` with `n = ceil((t_end - t0) / dt)`.
    pub dt: f64,
    /// Number of trajectories.
    pub trajectories: u64,
    /// The 64-bit seed that keys every random stream.
    pub seed: u64,
    /// When to save statistics.
    pub save_at: SaveAt,
    /// A histogram at the final time.
    pub histogram: Option<HistogramSpec>,
    /// First-passage times of one component through a level.
    pub first_passage: Option<FirstPassageSpec>,
    /// Return every trajectory's final state.
    pub final_states: bool,
    /// Each step's Brownian increment is the sum of this many finer ones, so that runs at
    /// `dt` and `dt / k` (with `k` times the substeps) follow the same Brownian path.
    pub brownian_substeps: u32,
    /// Batching and dispatch sizes.
    pub chunking: Chunking,
    /// Parameters swept across the trajectories (a grid product; see [`crate::sweep`]).
    pub sweeps: Vec<Sweep>,
    /// Global index of the first trajectory: a run of trajectories `[first, first + n)` draws
    /// the same random streams (and sweep values) as those trajectories of a larger run.
    pub first_trajectory: u64,
    /// An event watched at every step end (record or stop).
    pub event: Option<EventSpec>,
    /// Tolerances and bounds of an adaptive scheme (`dt` is then the first step tried, and
    /// save times lie on its grid).
    pub adaptive: AdaptiveControl,
    /// Observe, at each save time, the displacement `x - x(t0)` (for mean-square
    /// displacements) and the product `x(t0) x` (for autocorrelations) of every component.
    pub displacement: bool,
    /// Average each trajectory's states over the step ends after this time up to `t_end`
    /// (iterate averaging), and report the averages' ensemble statistics.
    pub time_average_from: Option<f64>,
    /// Jump schemes: the times (save times) at which to record the distribution of every
    /// integer component, one bin per value.
    pub count_distributions: Vec<f64>,
    /// Jump schemes: return every trajectory's events (SSA) or steps (tau-leaping).
    pub keep_events: bool,
    /// Named expressions in the state, `t` and the parameters, whose moments are taken at
    /// every save time as the state's ([`crate::observable`]).
    pub observables: Vec<crate::observable::ObservableSpec>,
    /// The covariance of the state and the observables at every save time.
    pub covariance: bool,
    /// Keep the paths of the first trajectories ([`crate::snapshot`]).
    pub paths: Option<crate::snapshot::PathSpec>,
    /// Exact quantiles at these levels of every variable and observable at every save time.
    pub quantiles: Vec<f64>,
    /// The probability tables of [`InitialLaw::Table`] laws (counts 0, 1, ...), normalised.
    pub count_tables: Vec<Vec<f64>>,
    /// More 1-D histograms at the final time, binned on the host ([`crate::binned`]).
    pub histograms: Vec<HistogramSpec>,
    /// A 2-D histogram at the final time, binned on the host.
    pub histogram2d: Option<crate::binned::Histogram2dSpec>,
}

impl EnsembleSpec {
    /// A run of `model` with defaults: Euler-Maruyama, the origin as initial state,
    /// `t` in `[0, 1]`, `dt = 1e-3`, 1024 trajectories, seed 0, 11 save times.
    pub fn new(model: impl Model + 'static) -> Self {
        let dim = model.dim();
        Self::from_arc(Arc::new(model), dim)
    }

    fn from_arc(model: Arc<dyn Model>, dim: usize) -> Self {
        Self {
            model,
            scheme: Scheme::EulerMaruyama,
            initial: InitialState::Fixed(vec![0.0; dim]),
            t0: 0.0,
            t_end: 1.0,
            dt: 1e-3,
            trajectories: 1024,
            seed: 0,
            save_at: SaveAt::Count(11),
            histogram: None,
            first_passage: None,
            final_states: false,
            brownian_substeps: 1,
            chunking: Chunking::default(),
            sweeps: Vec::new(),
            first_trajectory: 0,
            adaptive: AdaptiveControl::default(),
            event: None,
            displacement: false,
            time_average_from: None,
            count_distributions: Vec::new(),
            keep_events: false,
            observables: Vec::new(),
            covariance: false,
            paths: None,
            quantiles: Vec::new(),
            histograms: Vec::new(),
            histogram2d: None,
            count_tables: Vec::new(),
        }
    }

    /// A run of a shared model.
    pub fn with_model(model: Arc<dyn Model>) -> Self {
        let dim = model.dim();
        Self::from_arc(model, dim)
    }

    /// Sets the tolerances of an adaptive scheme.
    pub fn tolerances(mut self, rtol: f64, atol: f64) -> Self {
        self.adaptive.rtol = rtol;
        self.adaptive.atol = atol;
        self
    }

    /// The precision Dormand-Prince integrates in ([`crate::adaptive::AdaptiveControl::precision`]).
    pub fn precision(mut self, precision: crate::real::Precision) -> Self {
        self.adaptive.precision = precision;
        self
    }

    /// Bounds the attempts (accepted and rejected steps) of each trajectory of an adaptive run.
    pub fn max_steps(mut self, max_steps: u32) -> Self {
        self.adaptive.max_steps = max_steps;
        self
    }

    /// Adds a swept parameter; several sweeps form a grid, the first varying slowest.
    pub fn sweep(mut self, sweep: Sweep) -> Self {
        self.sweeps.push(sweep);
        self
    }

    /// Runs trajectories `[first, first + trajectories)` of a larger run, with their global
    /// random streams and sweep values.
    pub fn first_trajectory(mut self, first: u64) -> Self {
        self.first_trajectory = first;
        self
    }

    /// Sets the scheme. For [`Scheme::TauLeap`] it also sets `eps` (the relative tolerance)
    /// to [`crate::reactions::TAU_LEAP_EPSILON`]; `tolerances` afterwards overrides it.
    pub fn scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = scheme;
        if scheme == Scheme::TauLeap {
            self.adaptive.rtol = crate::reactions::TAU_LEAP_EPSILON;
        }
        self
    }
    /// Sets a fixed initial state.
    pub fn initial_fixed(mut self, x0: &[f64]) -> Self {
        self.initial = InitialState::Fixed(x0.to_vec());
        self
    }
    /// Sets a normal initial law.
    pub fn initial_normal(mut self, mean: &[f64], sd: &[f64]) -> Self {
        self.initial = InitialState::Normal {
            mean: mean.to_vec(),
            sd: sd.to_vec(),
        };
        self
    }
    /// Sets the time span.
    pub fn time_span(mut self, t0: f64, t_end: f64) -> Self {
        self.t0 = t0;
        self.t_end = t_end;
        self
    }
    /// Sets the step.
    pub fn dt(mut self, dt: f64) -> Self {
        self.dt = dt;
        self
    }
    /// The loop iterations drawing one trajectory's initial state costs a kernel (the discrete
    /// laws loop; [`InitialLaw::loop_cost`]).
    pub fn initial_loop_cost(&self) -> u64 {
        match &self.initial {
            InitialState::Laws(laws) => laws.iter().map(InitialLaw::loop_cost).sum(),
            _ => 0,
        }
    }

    /// Sets the number of trajectories.
    pub fn trajectories(mut self, n: u64) -> Self {
        self.trajectories = n;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets the save times.
    pub fn save_at(mut self, save_at: SaveAt) -> Self {
        self.save_at = save_at;
        self
    }
    /// Asks for a histogram of `component` at the final time: a state component, or
    /// observable `component - dim`.
    pub fn histogram(mut self, component: usize, bins: u32, range: (f64, f64)) -> Self {
        self.histogram = Some(HistogramSpec {
            component,
            bins,
            range,
        });
        self
    }
    /// Records the first passage of `component` through `level` in `direction`.
    pub fn first_passage(mut self, component: usize, level: f64, direction: Direction) -> Self {
        self.first_passage = Some(FirstPassageSpec {
            component,
            level,
            direction,
        });
        self
    }
    /// Watches `when` (one comparison, e.g. `x >= 1`) at every step end: records the first
    /// time it holds and, with [`EventAction::Stop`], freezes the trajectory there.
    pub fn event(mut self, when: &str, action: EventAction) -> Self {
        self.event = Some(EventSpec {
            when: when.to_string(),
            action,
        });
        self
    }

    /// Whether the kernels keep a first time per trajectory (a first passage or an event).
    pub fn tracks_passage(&self) -> bool {
        self.first_passage.is_some() || self.event.is_some()
    }

    /// Observes displacements from, and products with, the initial state at every save time
    /// ([`crate::EnsembleResult::msd`], [`crate::EnsembleResult::autocorrelation`]).
    pub fn displacement(mut self, on: bool) -> Self {
        self.displacement = on;
        self
    }

    /// Adds an observable: `name`, an expression in the state, `t` and the parameters (a
    /// comparison at its top is an indicator), whose moments are taken at every save time.
    pub fn observable(mut self, name: &str, expression: &str) -> Self {
        self.observables
            .push((name.to_string(), expression.to_string()));
        self
    }

    /// Takes the covariance of the state and the observables at every save time
    /// ([`crate::EnsembleResult::covariance`]).
    pub fn covariance(mut self, on: bool) -> Self {
        self.covariance = on;
        self
    }

    /// Keeps the states of trajectories `0..trajectories` at the save times, or every `every`
    /// steps (with the first and the last) ([`crate::EnsembleResult::paths`]).
    pub fn paths(mut self, trajectories: u64, every: Option<u32>) -> Self {
        self.paths = Some(crate::snapshot::PathSpec {
            trajectories,
            every,
        });
        self
    }

    /// Takes the exact quantiles at `levels` of every variable and observable at every save
    /// time ([`crate::EnsembleResult::quantiles`]).
    pub fn quantiles(mut self, levels: &[f64]) -> Self {
        self.quantiles = levels.to_vec();
        self
    }

    /// Adds a 1-D histogram of value `component` (a state variable, or observable
    /// `component - d`) at the final time, binned on the host.
    pub fn add_histogram(mut self, component: usize, bins: u32, range: (f64, f64)) -> Self {
        self.histograms.push(HistogramSpec {
            component,
            bins,
            range,
        });
        self
    }

    /// A 2-D histogram of values `components` at the final time, binned on the host.
    pub fn histogram2d(
        mut self,
        components: [usize; 2],
        bins: [u32; 2],
        range: [(f64, f64); 2],
    ) -> Self {
        self.histogram2d = Some(crate::binned::Histogram2dSpec {
            components,
            bins,
            range,
        });
        self
    }

    /// Whether the run reads every final state back: asked for, or binned on the host.
    pub fn reads_final_states(&self) -> bool {
        self.final_states || !self.histograms.is_empty() || self.histogram2d.is_some()
    }

    /// The values observed per trajectory at a save time.
    pub fn columns(&self, dim: usize) -> crate::observable::Columns {
        crate::observable::Columns {
            dim,
            origin: self.displacement,
            observables: self.observables.len(),
            covariance: self.covariance,
        }
    }

    /// Averages each trajectory over the step ends after `from` (up to `t_end`).
    pub fn time_average(mut self, from: f64) -> Self {
        self.time_average_from = Some(from);
        self
    }

    /// Records, for a jump scheme, the distribution of every component's count at each of
    /// `times` (each a save time).
    pub fn count_distributions(mut self, times: &[f64]) -> Self {
        self.count_distributions = times.to_vec();
        self
    }

    /// Keeps, for a jump scheme, each trajectory's number of events (SSA) or steps
    /// (tau-leaping).
    pub fn keep_events(mut self, keep: bool) -> Self {
        self.keep_events = keep;
        self
    }

    /// Asks for the final states.
    pub fn final_states(mut self, keep: bool) -> Self {
        self.final_states = keep;
        self
    }
    /// Sets the Brownian substeps per step.
    pub fn brownian_substeps(mut self, k: u32) -> Self {
        self.brownian_substeps = k;
        self
    }
    /// Sets the chunking.
    pub fn chunking(mut self, chunking: Chunking) -> Self {
        self.chunking = chunking;
        self
    }

    /// Warnings about a step `dt` beyond a known linear stability bound: a drift component
    /// linear in its own variable, `f_i = lambda x_i + (terms without x_i)` with `lambda < 0`,
    /// decays under the scheme only for `dt |lambda|` below 2 (Euler-Maruyama, Milstein, Heun)
    /// or 2.785 (RK4); above it the numerical solution grows without bound.
    pub fn stability_warnings(&self, dt: f64) -> Vec<String> {
        let bound = match self.scheme {
            Scheme::EulerMaruyama | Scheme::Milstein | Scheme::Heun => 2.0,
            Scheme::Rk4 => 2.785,
            _ => return Vec::new(),
        };
        let names = self.model.state_names();
        self.model
            .linear_rates()
            .iter()
            .enumerate()
            .filter_map(|(i, rate)| {
                let lambda = (*rate)?;
                (lambda < 0.0 && dt * -lambda >= bound).then(|| {
                    format!(
                        "solver.dt = {dt} is above the stability bound {bound} / |lambda| = {:.4e} of {} for the linear drift of `{}` (lambda = {lambda}): the trajectories will blow up",
                        bound / -lambda,
                        self.scheme,
                        names.get(i).map_or("?", String::as_str)
                    )
                })
            })
            .collect()
    }

    /// Checks every field and fixes the step grid, before any device work.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field and its value, or [`Error::Limit`].
    pub fn resolve(&self) -> Result<ResolvedRun> {
        let model = &self.model;
        let dim = model.dim();
        if dim == 0 || dim > MAX_DIM {
            return Err(Error::invalid(
                "model.state",
                format!("{dim} components"),
                format!("the state must have 1 to {MAX_DIM} components"),
            ));
        }
        let params = model.params();
        for (name, value) in &params {
            if !value.is_finite() {
                return Err(Error::invalid(
                    format!("model.params.{name}"),
                    value,
                    "must be finite",
                ));
            }
        }
        model.validate()?;
        self.scheme.check_model(model.as_ref())?;
        if self.first_passage.is_some() && self.event.is_some() {
            return Err(Error::invalid(
                "output.event",
                "given",
                "a run watches one thing: output.first_passage or output.event, not both",
            ));
        }
        if self.adaptive.precision == crate::real::Precision::F64 {
            if self.scheme != Scheme::Dopri5 {
                return Err(Error::invalid(
                    "solver.precision",
                    "f64",
                    format!(
                        "ensembles integrate in f64 with dopri5 (ODEs); {} steps in f32",
                        self.scheme
                    ),
                ));
            }
            if model.f64_drift().is_none() {
                return Err(Error::invalid(
                    "solver.precision",
                    "f64",
                    format!(
                        "model `{}` has no f64 form (models written as expressions have one)",
                        model.name()
                    ),
                ));
            }
        }
        if self.scheme.is_adaptive() {
            self.adaptive.validate()?;
            if self.scheme.on_brownian_tree() {
                crate::adaptive::TreeGrid::new(&self.adaptive, self.t0, self.t_end, self.dt)?;
            }
            if self.tracks_passage() {
                return Err(Error::invalid(
                    "output.first_passage",
                    "given",
                    format!(
                        "first passages are recorded by the fixed-step schemes, not {}",
                        self.scheme
                    ),
                ));
            }
        }

        if !self.t0.is_finite() {
            return Err(Error::invalid("solver.t0", self.t0, "must be finite"));
        }
        if !self.t_end.is_finite() {
            return Err(Error::invalid("solver.t_end", self.t_end, "must be finite"));
        }
        if !(self.dt.is_finite() && self.dt > 0.0) {
            return Err(Error::invalid(
                "solver.dt",
                self.dt,
                "must be a positive number",
            ));
        }
        let span = self.t_end - self.t0;
        if span < self.dt * (1.0 - 1e-9) {
            return Err(Error::invalid(
                "solver.t_end",
                self.t_end,
                format!("must be at least t0 + dt = {}", self.t0 + self.dt),
            ));
        }
        let n_steps_f = (span / self.dt - 1e-9).ceil();
        if self.brownian_substeps == 0 {
            return Err(Error::invalid(
                "solver.brownian_substeps",
                0,
                "must be at least 1",
            ));
        }
        let normals_per_path = n_steps_f * f64::from(self.brownian_substeps) * dim as f64;
        if normals_per_path > f64::from(u32::MAX) {
            return Err(Error::Limit(format!(
                "{n_steps_f} steps x {} substeps x {dim} components = {normals_per_path} normals per \
                 trajectory; at most {} fit the 32-bit noise counter",
                self.brownian_substeps,
                u32::MAX
            )));
        }
        let n_steps = n_steps_f as u32;
        let dt = span / f64::from(n_steps);

        if self.trajectories == 0 {
            return Err(Error::invalid(
                "ensemble.trajectories",
                0,
                "must be at least 1",
            ));
        }
        if self.trajectories + self.first_trajectory > (1u64 << 48) {
            return Err(Error::Limit(format!(
                "ensemble.trajectories = {} from index {} exceeds 2^48",
                self.trajectories, self.first_trajectory
            )));
        }
        let sweep = ResolvedSweep::resolve(
            &self.sweeps,
            &params,
            self.trajectories,
            self.first_trajectory,
        )?
        .map(std::sync::Arc::new);

        let laws: Vec<InitialLaw> = match &self.initial {
            InitialState::Fixed(x0) => x0.iter().map(|v| InitialLaw::Fixed(*v)).collect(),
            InitialState::Normal { mean, sd } => {
                if sd.len() != mean.len() {
                    return Err(Error::invalid(
                        "model.init.sd",
                        format!("{} values", sd.len()),
                        format!("expected one per mean ({})", mean.len()),
                    ));
                }
                mean.iter()
                    .zip(sd)
                    .map(|(m, s)| InitialLaw::Normal { mean: *m, sd: *s })
                    .collect()
            }
            InitialState::Laws(laws) => laws.clone(),
        };
        if laws.len() != dim {
            return Err(Error::invalid(
                "model.init",
                format!("{} values", laws.len()),
                format!("expected one per state component ({dim})"),
            ));
        }
        let mut init = vec![0.0f32; 3 * dim];
        let mut init_lo = vec![0.0f32; 2 * dim];
        // The tables' cumulative probabilities, after the three arrays of `init` (the jump
        // kernels, which alone draw from tables, are f32 and read no low words there).
        let mut tables: Vec<f32> = Vec::new();
        for (i, law) in laws.iter().enumerate() {
            let (kind, a, b) = match *law {
                InitialLaw::Fixed(v) => (LAW_NORMAL, v, 0.0),
                InitialLaw::Normal { mean, sd } => (LAW_NORMAL, mean, sd),
                InitialLaw::Uniform { lo, hi } => (LAW_UNIFORM, lo, hi),
                InitialLaw::Poisson { mean } => (LAW_POISSON, mean, 0.0),
                InitialLaw::Binomial { n, p } => (LAW_BINOMIAL, n, p),
                InitialLaw::UniformInt { lo, hi } => (LAW_UNIFORM_INT, lo, hi),
                InitialLaw::Table { table, len, .. } => {
                    let probabilities = self.count_tables.get(table).filter(|t| t.len() == len);
                    let Some(probabilities) = probabilities else {
                        return Err(Error::invalid(
                            format!("model.init[{i}]"),
                            table,
                            "a table law names one of the spec's count tables, of its length",
                        ));
                    };
                    if len == 0 || len > MAX_TABLE {
                        return Err(Error::invalid(
                            format!("model.init[{i}]"),
                            len,
                            format!("a table of 1 to {MAX_TABLE} probabilities"),
                        ));
                    }
                    let offset = 3 * dim + tables.len();
                    // Cumulative probabilities in f64, stored in f32: the kernel returns the
                    // first count whose cumulative probability exceeds its uniform.
                    let mut sum = 0.0;
                    for p in probabilities {
                        sum += p;
                        tables.push(sum as f32);
                    }
                    (LAW_TABLE, offset as f64, len as f64)
                }
            };
            for v in [a, b] {
                if !v.is_finite() {
                    return Err(Error::invalid(
                        format!("model.init[{i}]"),
                        v,
                        "must be finite",
                    ));
                }
            }
            if kind == LAW_NORMAL && b < 0.0 {
                return Err(Error::invalid(
                    format!("model.init.sd[{i}]"),
                    b,
                    "must be >= 0",
                ));
            }
            let count = |v: f64| v >= 0.0 && v.fract() == 0.0 && v <= f64::from(1u32 << 24);
            let bad = match *law {
                InitialLaw::Poisson { mean } if !(0.0..=f64::from(1u32 << 20)).contains(&mean) => {
                    Some(format!("poisson({mean}) needs a mean in [0, 2^20]"))
                }
                InitialLaw::Binomial { n, p }
                    if !(count(n) && n <= MAX_BINOMIAL_TRIALS && (0.0..=1.0).contains(&p)) =>
                {
                    Some(format!(
                        "binomial({n}, {p}) needs an integer n in [0, {MAX_BINOMIAL_TRIALS}] \
                         and p in [0, 1]"
                    ))
                }
                InitialLaw::UniformInt { lo, hi } if !(count(lo) && count(hi) && lo <= hi) => Some(
                    format!("uniform_int({lo}, {hi}) needs integers 0 <= lo <= hi <= 2^24"),
                ),
                _ => None,
            };
            if let Some(why) = bad {
                return Err(Error::invalid(
                    format!("model.init[{i}]"),
                    law.centre(),
                    why,
                ));
            }
            if law.is_discrete() && self.scheme.kind() != crate::scheme::SchemeKind::Jump {
                return Err(Error::invalid(
                    format!("model.init[{i}]"),
                    law.centre(),
                    format!(
                        "poisson, binomial, uniform_int and table initial counts run on the \
                         jump schemes (ssa, tau_leap), not {}",
                        self.scheme
                    ),
                ));
            }
            if kind == LAW_UNIFORM && a >= b {
                return Err(Error::invalid(
                    format!("model.init[{i}]"),
                    format!("uniform({a}, {b})"),
                    "needs lo < hi",
                ));
            }
            init[i] = kind;
            [init[dim + i], init_lo[i]] = crate::real::split(a);
            [init[2 * dim + i], init_lo[dim + i]] = crate::real::split(b);
        }

        init.extend_from_slice(&tables);
        let save_steps = self.save_steps(n_steps, dt)?;
        let times: Vec<f64> = save_steps
            .iter()
            .map(|&s| self.t0 + f64::from(s) * dt)
            .collect();

        if let Some(h) = &self.histogram {
            if h.bins == 0 {
                return Err(Error::invalid(
                    "output.histogram.bins",
                    0,
                    "must be at least 1",
                ));
            }
            if h.bins > 1 << 20 {
                return Err(Error::Limit(format!(
                    "output.histogram.bins = {} exceeds {}",
                    h.bins,
                    1 << 20
                )));
            }
            let (lo, hi) = h.range;
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(Error::invalid(
                    "output.histogram.range",
                    format!("[{lo}, {hi}]"),
                    "must be finite with lo < hi",
                ));
            }
            if h.component >= dim + self.observables.len() {
                return Err(Error::invalid(
                    "output.histogram.var",
                    h.component,
                    format!(
                        "the state has {dim} components and the run {} observables",
                        self.observables.len()
                    ),
                ));
            }
        }
        if let Some(fp) = &self.first_passage {
            if !fp.level.is_finite() {
                return Err(Error::invalid(
                    "output.first_passage.level",
                    fp.level,
                    "must be finite",
                ));
            }
            if fp.component >= dim {
                return Err(Error::invalid(
                    "output.first_passage.var",
                    fp.component,
                    format!("the state has {dim} components"),
                ));
            }
        }
        if let Some(0) = self.chunking.max_batch_trajectories {
            return Err(Error::invalid(
                "chunking.max_batch_trajectories",
                0,
                "must be at least 1",
            ));
        }
        if let Some(0) = self.chunking.steps_per_dispatch {
            return Err(Error::invalid(
                "chunking.steps_per_dispatch",
                0,
                "must be at least 1",
            ));
        }

        let average_from = self.resolve_time_average(n_steps, dt)?;
        if self.displacement && self.scheme.is_adaptive() {
            return Err(Error::invalid(
                "output.displacement",
                true,
                format!(
                    "displacements are observed by the fixed-step schemes, not {}",
                    self.scheme
                ),
            ));
        }
        let jump = self.scheme.kind() == crate::scheme::SchemeKind::Jump;
        for (field, asked) in [
            ("output.distributions", !self.count_distributions.is_empty()),
            ("output.events", self.keep_events),
        ] {
            if asked && !jump {
                return Err(Error::invalid(
                    field,
                    "given",
                    format!(
                        "recorded by the jump schemes (ssa, tau_leap), not {}",
                        self.scheme
                    ),
                ));
            }
        }
        save_slots(&self.count_distributions, &times, dt)?;
        let param_names: Vec<String> = params.iter().map(|(n, _)| n.clone()).collect();
        let event = self
            .event
            .as_ref()
            .map(|e| Event::resolve(e, &model.state_names(), &param_names))
            .transpose()?;
        let observables = crate::observable::Observables::resolve(
            &self.observables,
            &model.state_names(),
            &param_names,
        )?;
        let columns = self.columns(dim);
        if self.time_average_from.is_some()
            && self.observables.len() > crate::observable::MAX_AVERAGED
        {
            return Err(Error::invalid(
                "output.observables",
                format!("{} observables", self.observables.len()),
                format!(
                    "with time averages, at most {} (each is averaged at every step)",
                    crate::observable::MAX_AVERAGED
                ),
            ));
        }
        let loops = columns.loop_cost(params.len(), self.sweeps.len());
        if loops > crate::observable::MAX_LOOP_COST {
            return Err(Error::Limit(format!(
                "output.observables and output.covariance: {} values observed per trajectory \
                 ({} state components, {} observables, {} covariance pairs) take {loops} loop \
                 iterations per block of 64 trajectories; at most {} run on every driver",
                columns.width(),
                dim,
                columns.observables,
                columns.pairs(),
                crate::observable::MAX_LOOP_COST
            )));
        }
        crate::snapshot::check_levels(&self.quantiles)?;
        if !self.quantiles.is_empty()
            && self
                .event
                .as_ref()
                .is_some_and(|e| e.action == EventAction::Stop)
        {
            return Err(Error::invalid(
                "output.quantiles",
                "given",
                "a stopping event leaves frozen trajectories out of the statistics, and the quantiles do not know which: ask for them without it",
            ));
        }
        if self.paths.is_some_and(|p| p.every.is_some()) && (self.scheme.is_adaptive() || jump) {
            return Err(Error::invalid(
                "output.paths.every",
                "given",
                format!(
                    "{} stops at the save times only: its paths are kept there",
                    self.scheme
                ),
            ));
        }
        let values = dim + self.observables.len();
        for (i, h) in self.histograms.iter().enumerate() {
            let field = format!("output.histograms[{i}]");
            crate::binned::check(&field, h.bins, h.range.0, h.range.1)?;
            if h.component >= values {
                return Err(Error::invalid(
                    format!("{field}.var"),
                    h.component,
                    format!("{values} state variables and observables"),
                ));
            }
        }
        if let Some(h) = &self.histogram2d {
            for a in 0..2 {
                crate::binned::check("output.histogram2d", h.bins[a], h.range[a].0, h.range[a].1)?;
                if h.components[a] >= values {
                    return Err(Error::invalid(
                        "output.histogram2d.vars",
                        h.components[a],
                        format!("{values} state variables and observables"),
                    ));
                }
            }
            if u64::from(h.bins[0]) * u64::from(h.bins[1]) > 1 << 24 {
                return Err(Error::invalid(
                    "output.histogram2d.bins",
                    format!("{:?}", h.bins),
                    "at most 2^24 bins in all",
                ));
            }
        }
        let binned = !self.histograms.is_empty() || self.histogram2d.is_some();
        if binned
            && self
                .event
                .as_ref()
                .is_some_and(|e| e.action == EventAction::Stop)
        {
            return Err(Error::invalid(
                "output.histograms",
                "given",
                "a stopping event leaves frozen trajectories out of the statistics, and the host's histograms do not know which: ask for them without it",
            ));
        }
        let snapshots = crate::snapshot::Snapshots::resolve(
            self.paths,
            !self.quantiles.is_empty(),
            &save_steps,
            n_steps,
            self.trajectories,
            self.first_trajectory,
        )?;
        Ok(ResolvedRun {
            final_step: if self.scheme.is_adaptive() || jump {
                save_steps.iter().copied().max().unwrap_or(0)
            } else {
                n_steps
            },
            histograms: self.histograms.clone(),
            histogram2d: self.histogram2d.clone(),
            keeps_final_states: self.final_states,
            dim,
            event,
            snapshots,
            quantiles: self.quantiles.clone(),
            observables: std::sync::Arc::new(observables),
            columns,
            sweep,
            params: params.iter().map(|(_, v)| *v as f32).collect(),
            param_values: params.iter().map(|(_, v)| *v).collect(),
            init,
            init_lo,
            n_steps,
            dt,
            save_steps,
            times,
            t0: self.t0,
            average_from,
            cpu_lanes: self.chunking.cpu_lanes.unwrap_or(true),
        })
    }

    /// The last grid step at or before the time averages' start.
    fn resolve_time_average(&self, n_steps: u32, dt: f64) -> Result<Option<u32>> {
        let Some(from) = self.time_average_from else {
            return Ok(None);
        };
        let field = "output.time_average.from";
        if self.scheme.is_adaptive() {
            return Err(Error::invalid(
                field,
                from,
                format!(
                    "time averages are taken on the fixed step grid, not by {}",
                    self.scheme
                ),
            ));
        }
        if self
            .event
            .as_ref()
            .is_some_and(|e| e.action == EventAction::Stop)
        {
            return Err(Error::invalid(
                field,
                from,
                "a stopping event freezes trajectories at different times: their time averages \
                 would not cover one window",
            ));
        }
        if !(from.is_finite() && from >= self.t0 && from < self.t_end) {
            return Err(Error::invalid(
                field,
                from,
                format!("must lie in [t0, t_end) = [{}, {})", self.t0, self.t_end),
            ));
        }
        let step = ((from - self.t0) / dt + 1e-9).floor() as u32;
        Ok(Some(step.min(n_steps - 1)))
    }

    fn save_steps(&self, n_steps: u32, dt: f64) -> Result<Vec<u32>> {
        match &self.save_at {
            SaveAt::Count(0) => Err(Error::invalid("output.save_times", 0, "must be at least 1")),
            SaveAt::Count(1) => Ok(vec![n_steps]),
            SaveAt::Count(n) => Ok((0..*n)
                .map(|k| (k as f64 * f64::from(n_steps) / (*n - 1) as f64).round() as u32)
                .collect()),
            SaveAt::Times(times) => {
                if times.is_empty() {
                    return Err(Error::invalid(
                        "output.save_times",
                        "[]",
                        "needs at least one time",
                    ));
                }
                let tol = 1e-9 * (self.t_end - self.t0).abs().max(1.0);
                let mut steps = Vec::with_capacity(times.len());
                for (i, &t) in times.iter().enumerate() {
                    if !(t.is_finite() && t >= self.t0 - tol && t <= self.t_end + tol) {
                        return Err(Error::invalid(
                            format!("output.save_times[{i}]"),
                            t,
                            format!("must lie in [t0, t_end] = [{}, {}]", self.t0, self.t_end),
                        ));
                    }
                    if i > 0 && t < times[i - 1] {
                        return Err(Error::invalid(
                            format!("output.save_times[{i}]"),
                            t,
                            "save times must be in ascending order",
                        ));
                    }
                    steps.push(((t - self.t0) / dt).round().clamp(0.0, f64::from(n_steps)) as u32);
                }
                Ok(steps)
            }
        }
    }
}

/// What one trajectory of a run keeps in device (or host) memory, for sizing batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// State components.
    pub dim: usize,
    /// Values observed per save time ([`crate::plan::Plan::observed`]).
    pub observed: usize,
    /// Save times.
    pub saves: usize,
    /// Whether final states are read back.
    pub final_states: bool,
    /// Whether each trajectory's initial state is kept (displacements).
    pub origin: bool,
    /// Whether each trajectory's time sums are kept and read back (time averages).
    pub time_sums: bool,
    /// Values averaged over time per trajectory: the state's and the observables'.
    pub averaged: usize,
    /// Bytes of a state component: 4, or 8 for Dormand-Prince in f64.
    pub scalar_bytes: u64,
    /// Whether the kernels are those of the adaptive host loop, which keep a clock of four
    /// state-width words (read back at save times) and four count words per trajectory.
    pub adaptive: bool,
    /// Snapshot slots copied for every trajectory (quantiles, [`crate::snapshot`]); 0 when
    /// only the paths of a few are kept.
    pub snapshot_slots: usize,
}

impl Footprint {
    /// The footprint of `spec`, resolved as `run`.
    pub fn of(spec: &EnsembleSpec, run: &ResolvedRun) -> Self {
        let (dim, saves) = (run.dim, run.save_steps.len());
        Footprint {
            snapshot_slots: run
                .snapshots
                .as_ref()
                .filter(|s| s.trajectories >= spec.trajectories)
                .map_or(0, |s| s.steps.len()),
            dim,
            observed: spec.columns(dim).width(),
            saves,
            final_states: spec.reads_final_states() || spec.scheme.is_adaptive(),
            origin: spec.displacement,
            time_sums: spec.time_average_from.is_some(),
            averaged: dim + spec.observables.len(),
            scalar_bytes: if spec.scheme.is_adaptive() {
                spec.adaptive.precision.bytes()
            } else {
                4
            },
            adaptive: spec.scheme.is_adaptive(),
        }
    }

    /// Bytes of one trajectory's state.
    pub fn state_bytes(&self) -> u64 {
        self.scalar_bytes * self.dim as u64
    }

    /// Bytes of one trajectory's adaptive clock (`4 * scalar_bytes`; none without one).
    pub fn clock_bytes(&self) -> u64 {
        u64::from(self.adaptive) * 4 * self.scalar_bytes
    }

    /// Bytes of one trajectory's optional buffers in working memory: its initial state
    /// (4 per component), time sums (16 per component: value and square, each with its
    /// compensation), and an adaptive run's clock and counts.
    pub fn optional_bytes(&self) -> u64 {
        let d = self.dim as u64;
        self.snapshot_bytes()
            + u64::from(self.origin) * 4 * d
            + u64::from(self.time_sums) * 16 * self.averaged as u64
            + self.clock_bytes()
            + u64::from(self.adaptive) * 16
    }

    /// Bytes of one trajectory's outputs read back besides the moment partials: final
    /// states (in f32, and in f64 beside them for f64 runs), first-passage time, time sums,
    /// an adaptive run's clock.
    pub fn readback_bytes(&self) -> u64 {
        let d = self.dim as u64;
        let finals = if self.scalar_bytes > 4 {
            4 * d + self.state_bytes()
        } else {
            4 * d
        };
        u64::from(self.final_states) * finals
            + 4
            + u64::from(self.time_sums) * 16 * self.averaged as u64
            + self.clock_bytes()
            + self.snapshot_bytes()
    }

    /// Bytes of one trajectory's snapshots (in f32, and in f64 beside them for f64 runs).
    pub fn snapshot_bytes(&self) -> u64 {
        let per_value = if self.scalar_bytes > 4 {
            4 + self.scalar_bytes
        } else {
            4
        };
        self.snapshot_slots as u64 * self.dim as u64 * per_value
    }
}

/// A checked run: the step grid and the packed arrays the kernels read.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedRun {
    /// State dimension.
    pub dim: usize,
    /// The parameter sweep, if any: shared with the results that look its values up, so a
    /// sweep of a value per trajectory (8.4 million at 2^23) is not copied again.
    pub sweep: Option<std::sync::Arc<ResolvedSweep>>,
    /// The event, if any.
    pub event: Option<Event>,
    /// The observables (none when none were asked for).
    pub observables: std::sync::Arc<crate::observable::Observables>,
    /// The values observed per trajectory at a save time.
    pub columns: crate::observable::Columns,
    /// What the runners copy out for paths and quantiles.
    pub snapshots: Option<crate::snapshot::Snapshots>,
    /// The step of the final states: the last for fixed steps, the last save time for the
    /// host loop.
    pub final_step: u32,
    /// Histograms binned on the host from the final states.
    pub histograms: Vec<HistogramSpec>,
    /// A 2-D histogram binned on the host from the final states.
    pub histogram2d: Option<crate::binned::Histogram2dSpec>,
    /// Whether the final states were asked for (they may be read back for the histograms
    /// alone, then dropped).
    pub keeps_final_states: bool,
    /// The quantile levels asked for.
    pub quantiles: Vec<f64>,
    /// Model parameters as the kernels' `params` array.
    pub params: Vec<f32>,
    /// Model parameters in f64, for the kernels over `Scalar = f64` ([`Self::params_for`]).
    pub param_values: Vec<f64>,
    /// Initial laws as the kernels' `init` array: law codes, first and second parameters, each
    /// `dim` long.
    pub init: Vec<f32>,
    /// The low words of the laws' parameters as f32 pairs ([`crate::real::split`]): first
    /// parameters, then second, which the f64 kernels read after `init` ([`Self::init_for`]).
    pub init_lo: Vec<f32>,
    /// Number of steps.
    pub n_steps: u32,
    /// The step actually used.
    pub dt: f64,
    /// The step index of each save time.
    pub save_steps: Vec<u32>,
    /// The save times on the step grid.
    pub times: Vec<f64>,
    /// Start time.
    pub t0: f64,
    /// With time averages: the last step index at or before their start; the states after
    /// steps `average_from + 1 ..= n_steps` are averaged.
    pub average_from: Option<u32>,
    /// Whether the CPU twin may step eight trajectories in lockstep ([`Chunking::cpu_lanes`]).
    pub cpu_lanes: bool,
}

impl ResolvedRun {
    /// The time at step index `s` of the grid.
    pub fn time_of_step(&self, s: u32) -> f64 {
        self.t0 + f64::from(s) * self.dt
    }

    /// The sweep table the kernels read ([`crate::sweep::NO_SWEEP`] without a sweep).
    pub fn sweep_table(&self) -> &[u32] {
        self.sweep
            .as_ref()
            .map_or(&crate::sweep::NO_SWEEP[..], |s| &s.table[..])
    }

    /// The `params` words of a kernel over `Scalar = R` ([`crate::real::Real::WORDS`] per
    /// value; one unused zero value for a model without parameters, as `params` never binds
    /// empty).
    pub fn params_for<R: crate::real::Real>(&self) -> std::borrow::Cow<'_, [f32]> {
        if self.param_values.is_empty() {
            std::borrow::Cow::Owned(crate::real::stored_values::<R>(&[0.0]))
        } else if R::WORDS == 1 {
            std::borrow::Cow::Borrowed(&self.params)
        } else {
            std::borrow::Cow::Owned(crate::real::stored_values::<R>(&self.param_values))
        }
    }

    /// The `init` array of a kernel over `Scalar = R`: for f64, followed by the low words.
    pub fn init_for<R: crate::real::Real>(&self) -> std::borrow::Cow<'_, [f32]> {
        if R::WORDS == 1 {
            std::borrow::Cow::Borrowed(&self.init)
        } else {
            std::borrow::Cow::Owned([&self.init[..], &self.init_lo[..]].concat())
        }
    }

    /// The sweep table of a kernel over `Scalar = R`.
    pub fn sweep_table_for<R: crate::real::Real>(&self) -> std::borrow::Cow<'_, [u32]> {
        self.sweep.as_ref().map_or(
            std::borrow::Cow::Borrowed(&crate::sweep::NO_SWEEP[..]),
            |s| s.table_for::<R>(),
        )
    }
}

/// The index among the save times `times` of each of `wanted`: the nearest save time, which
/// may lie up to half a step `dt` away (save times are snapped to the step grid).
///
/// # Errors
/// [`Error::InvalidInput`] naming `output.distributions[i]` for a time that is not a save
/// time, with the nearest one.
pub fn save_slots(wanted: &[f64], times: &[f64], dt: f64) -> Result<Vec<usize>> {
    let tolerance = 0.5 * dt * (1.0 + 1e-9);
    wanted
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let nearest = (0..times.len())
                .min_by(|a, b| (times[*a] - t).abs().total_cmp(&(times[*b] - t).abs()))
                .expect("a run has a save time");
            if (times[nearest] - t).abs() <= tolerance {
                Ok(nearest)
            } else {
                Err(Error::invalid(
                    format!("output.distributions[{i}]"),
                    t,
                    format!(
                        "not a save time (the nearest is {}; see output.save_times)",
                        times[nearest]
                    ),
                ))
            }
        })
        .collect()
}
