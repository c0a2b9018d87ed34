//! Run configs in TOML: the user's model as expressions, the solver, the ensemble and the
//! outputs, turned into an [`EnsembleSpec`]. Every mistake is reported with the key or the
//! expression it concerns; unknown keys get the closest valid one as a suggestion.

use crate::adaptive::AdaptiveControl;
use crate::error::{Error, Result};
use crate::event::EventAction;
use crate::expr::{self, Program, Scope};
use crate::expr_model::ExprModel;
use crate::kind::Kind;
use crate::model::Model;
use crate::scheme::Scheme;
use crate::spec::{Direction, EnsembleSpec, InitialLaw, InitialState, SaveAt};
use crate::sweep::Sweep;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A whole config file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Name of the run (the default output folder is `runs/<name>`).
    pub name: String,
    /// `sde`; `ode` when there is no diffusion; `langevin` for underdamped dynamics given by a
    /// potential.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// The model.
    pub model: ModelConfig,
    /// The solver.
    pub solver: SolverConfig,
    /// The ensemble.
    pub ensemble: EnsembleConfig,
    /// What to save.
    #[serde(default)]
    pub output: OutputConfig,
    /// The grid of a `field` run.
    pub grid: Option<GridConfig>,
}

/// `[grid]` of a `field` run: points per axis (powers of two; one entry for 1-D, two for
/// 2-D) and the domain's side per axis.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GridConfig {
    /// Points per axis.
    pub points: Vec<u32>,
    /// The side per axis (one value for every axis, or one per axis).
    pub length: Vec<f64>,
    /// `periodic` (the default) or `antiperiodic` along x (1-D Klein-Gordon).
    pub boundary: Option<String>,
}

/// `model.profile` of a `field` run: a built-in initial condition.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// `gaussian`, `breather`, `kink` (antiperiodic), `kink_antikink`, `thermal`.
    pub name: String,
    /// The breather's frequency.
    pub omega: Option<f64>,
    /// The kinks' speed.
    pub velocity: Option<f64>,
    /// Half the kinks' initial separation.
    pub position: Option<f64>,
    /// The pulse's height.
    pub amplitude: Option<f64>,
    /// The pulse's width.
    pub width: Option<f64>,
    /// A thermal field's temperature.
    pub temperature: Option<f64>,
}

fn default_kind() -> String {
    "sde".into()
}

/// The initial count of a species: a number, or a law of counts drawn per trajectory.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum SpeciesInit {
    /// Every trajectory starts with this many.
    Count(i64),
    /// `poisson(l)`, `binomial(n, p)` or `uniform_int(a, b)`, in the parameters.
    Law(String),
}

/// `[model]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// A system of the chaos zoo by name ([`crate::zoo`]): it supplies the state, the
    /// drift, the parameters (which `params` overrides) and the initial condition.
    pub system: Option<String>,
    /// A number: additive noise amplitude on every component of a zoo system. `"general"`:
    /// `diffusion` is a `d x m` matrix (`"diagonal"`, the default, one entry per variable).
    pub noise: Option<NoiseConfig>,
    /// Names of the state variables (for `langevin`: the positions; the momenta are `p_<name>`).
    #[serde(default)]
    pub state: Vec<String>,
    /// Parameters and their values.
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    /// One drift expression per state variable (`sde` and `ode`).
    #[serde(default)]
    pub drift: Vec<String>,
    /// The potential `U` of a `langevin` model, an expression in the positions and parameters.
    pub potential: Option<String>,
    /// Friction of a `langevin` model.
    pub gamma: Option<f64>,
    /// Temperature of a `langevin` model.
    #[serde(rename = "kT")]
    pub kt: Option<f64>,
    /// Mass of a `langevin` model (1 unless given).
    pub mass: Option<f64>,
    /// Initial momenta of a `langevin` model, one per position (thermal `normal(0, sqrt(mass*kT))`
    /// unless given).
    #[serde(default)]
    pub init_momentum: Vec<String>,
    /// One diffusion expression per state variable (diagonal noise), or a matrix of one row
    /// per state variable (general noise); absent for an ODE.
    #[serde(default)]
    pub diffusion: DiffusionConfig,
    /// One initial value per state variable: an expression in the parameters,
    /// `normal(mean, sd)` or `uniform(lo, hi)` (a zoo system's published point unless given).
    #[serde(default)]
    pub init: Vec<String>,
    /// The species of a `reactions` model and their initial counts (state order:
    /// alphabetical): a count, or a law of counts, `poisson(l)`, `binomial(n, p)` or
    /// `uniform_int(a, b)`.
    #[serde(default)]
    pub species: BTreeMap<String, SpeciesInit>,
    /// The reactions of a `reactions` model.
    #[serde(default)]
    pub reactions: Vec<ReactionConfig>,
    /// The transitions of a `jump` model between the states named in `state`.
    #[serde(default)]
    pub transitions: Vec<TransitionConfig>,
    /// Counters of a `jump` model: integer variables, 0 at the start, that transitions add to
    /// (`add = { x = 1 }`), e.g. the displacement of a particle whose state is its site modulo
    /// a period. They follow the states in the state vector.
    #[serde(default)]
    pub counters: Vec<String>,
    /// Oscillators per replica of a `kuramoto` model.
    pub oscillators: Option<u32>,
    /// The coupling K of a `kuramoto` model (the phase noise D is `noise`).
    pub coupling: Option<f64>,
    /// The natural frequencies of a `kuramoto` model.
    pub frequencies: Option<FrequenciesConfig>,
    /// The coupling of a `chain` model: `ew`, `kpz` or `phase`.
    pub equation: Option<String>,
    /// Sites per replica of a `chain` model.
    pub sites: Option<u32>,
    /// nu of a `chain` model (K for `phase`).
    pub nu: Option<f64>,
    /// lambda of a `chain` model (`kpz`; the weight of `1 - cos` for `phase`).
    pub lambda: Option<f64>,
    /// The standard deviation of a `chain` model's quenched rates.
    pub disorder: Option<f64>,
    /// The objective of a `cbo` model: `sphere`, `rastrigin`, `ackley`, or an expression with
    /// `sum_i(...)` and `prod_i(...)` over the coordinates `x_i`.
    pub objective: Option<String>,
    /// Coordinates of a `cbo` model.
    pub dim: Option<u32>,
    /// Particles per run of a `cbo` model.
    pub particles: Option<u32>,
    /// Noise of a `cbo` model.
    pub sigma: Option<f64>,
    /// Initial alpha of a `cbo` model.
    pub alpha: Option<f64>,
    /// alpha's factor per step of a `cbo` model.
    pub alpha_growth: Option<f64>,
    /// alpha's cap of a `cbo` model.
    pub alpha_max: Option<f64>,
    /// Where a `cbo` objective's minimum lies, in every coordinate.
    pub shift: Option<f64>,
    /// The initial box `[lo, hi]` of a `cbo` model's particles, per coordinate.
    #[serde(rename = "box")]
    pub init_box: Option<[f64; 2]>,
    /// A `cbo` run stops once the objective at its consensus falls below this.
    pub energy_tol: Option<f64>,
    /// A `cbo` run stops once its consensus moves less than this in every coordinate.
    pub diff_tol: Option<f64>,
    /// Particles per unit area of a `vicsek` model (the box side is `sqrt(particles / density)`).
    pub density: Option<f64>,
    /// The interaction radius of a `vicsek` model (1 unless given).
    pub radius: Option<f64>,
    /// The speed v0 of a `vicsek` model (0.5 unless given).
    pub speed: Option<f64>,
    /// A built-in initial condition of a `field` model.
    pub profile: Option<ProfileConfig>,
}

/// `model.frequencies` of a `kuramoto` model:
/// `{ law = "lorentzian", gamma = 0.5, sampling = "quantiles" }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FrequenciesConfig {
    /// `lorentzian` (with `gamma`), `gaussian` (with `sd`) or `uniform` (with `half_width`).
    pub law: String,
    /// Half-width of a Lorentzian.
    pub gamma: Option<f64>,
    /// Standard deviation of a Gaussian.
    pub sd: Option<f64>,
    /// Half-width of a uniform law.
    pub half_width: Option<f64>,
    /// `quantiles` (default) or `random`.
    pub sampling: Option<String>,
    /// The centre of the law (0 unless given).
    #[serde(default)]
    pub mean: f64,
}

/// One entry of `model.transitions`: `{ from = "A", to = "B", rate = "k1" }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionConfig {
    /// The state left.
    pub from: String,
    /// The state entered.
    pub to: String,
    /// The rate, an expression in the parameters.
    pub rate: String,
    /// What the transition adds to counters (`model.counters`), by name.
    #[serde(default)]
    pub add: BTreeMap<String, i64>,
}

/// One entry of `model.reactions`: `{ eq = "2X -> 3X", rate = "c1*A" }` (mass action) or
/// `{ eq = "0 -> X", propensity = "c3*B" }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReactionConfig {
    /// The equation.
    pub eq: String,
    /// A mass-action rate constant.
    pub rate: Option<String>,
    /// An explicit propensity.
    pub propensity: Option<String>,
}

/// `model.noise`: an amplitude for a zoo system, or the kind of noise.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum NoiseConfig {
    /// Additive noise on every component of a zoo system.
    Amplitude(f64),
    /// `"diagonal"` or `"general"`.
    Kind(String),
}

/// `model.diffusion`: a list (diagonal noise) or a list of rows (general noise).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum DiffusionConfig {
    /// `g_i`, one per state variable.
    Diagonal(Vec<String>),
    /// `G_ij`, one row per state variable, one column per noise.
    Matrix(Vec<Vec<String>>),
}

impl Default for DiffusionConfig {
    fn default() -> Self {
        DiffusionConfig::Diagonal(Vec::new())
    }
}

impl DiffusionConfig {
    /// Whether no diffusion is given.
    pub fn is_empty(&self) -> bool {
        match self {
            DiffusionConfig::Diagonal(v) => v.is_empty(),
            DiffusionConfig::Matrix(v) => v.is_empty(),
        }
    }

    /// Entries (diagonal) or rows (matrix).
    pub fn len(&self) -> usize {
        match self {
            DiffusionConfig::Diagonal(v) => v.len(),
            DiffusionConfig::Matrix(v) => v.len(),
        }
    }
}

/// `[solver]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SolverConfig {
    /// Scheme name; unless given, `rk4` for an `ode`, `baoab` for `langevin`, else
    /// `euler_maruyama`.
    pub scheme: Option<String>,
    /// Time step (for the adaptive schemes, the first step tried; save times lie on its
    /// grid). For `reactions` only the grid of save times: (t_end - t0) / 1000 unless given.
    pub dt: Option<f64>,
    /// End time.
    pub t_end: f64,
    /// Start time.
    #[serde(default)]
    pub t0: f64,
    /// Relative tolerance of the adaptive schemes.
    pub rtol: Option<f64>,
    /// Absolute tolerance of the adaptive schemes.
    pub atol: Option<f64>,
    /// Attempts per trajectory of an adaptive scheme over the run.
    pub max_steps: Option<u32>,
    /// The longest step of an adaptive SDE scheme.
    pub max_dt: Option<f64>,
    /// The time resolution of the Brownian tree of an adaptive SDE scheme (default dt / 1024).
    pub brownian_tol: Option<f64>,
    /// A `field` run's step as a fraction of the stability bound 2 / omega_max (0.5 unless
    /// given; `dt` overrides).
    pub safety: Option<f64>,
    /// The precision of a `field` run, or of an ODE ensemble stepped by `dopri5`: `"f32"`
    /// (the default) or `"f64"` (on the CPU backend, or an adapter with `SHADER_F64`).
    pub precision: Option<String>,
}

/// A seed from a TOML integer (0 to 2^63 - 1) or a string of digits (any u64).
fn seed_u64<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seed {
        Integer(i64),
        Digits(String),
        Other(serde::de::IgnoredAny),
    }
    let range = "a seed from 0 to 18446744073709551615 (above 9223372036854775807, TOML's \
                 largest integer, write it as a string: seed = \"18446744073709551615\")";
    match Seed::deserialize(d)? {
        Seed::Integer(n) => u64::try_from(n)
            .map_err(|_| serde::de::Error::custom(format!("ensemble.seed = {n}: {range}"))),
        Seed::Digits(text) => text
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("ensemble.seed = {text:?}: {range}"))),
        Seed::Other(_) => Err(serde::de::Error::custom(format!("ensemble.seed: {range}"))),
    }
}

/// `[ensemble]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleConfig {
    /// Number of trajectories.
    pub trajectories: u64,
    /// Seed of the random streams: any u64. TOML integers stop at 2^63 - 1, so a larger seed
    /// is written as a string of digits, `seed = "18446744073709551615"`.
    #[serde(default, deserialize_with = "seed_u64")]
    pub seed: u64,
    /// Swept parameters, by name. The grid runs over them in alphabetical order of the names,
    /// the first varying slowest.
    #[serde(default)]
    pub sweep: BTreeMap<String, SweepConfig>,
}

/// One `[ensemble.sweep]` entry: `linspace = [a, b]` or `logspace = [a, b]` with `count`, or
/// `values = [...]`. A single sweep without `count` gives one value per trajectory.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// Evenly spaced from `a` to `b` inclusive.
    pub linspace: Option<[f64; 2]>,
    /// Evenly spaced in the logarithm from `a` to `b` inclusive (both > 0).
    pub logspace: Option<[f64; 2]>,
    /// The values themselves.
    pub values: Option<Vec<f64>>,
    /// Number of values of a `linspace` or `logspace`.
    pub count: Option<usize>,
}

impl SweepConfig {
    pub(crate) fn to_sweep(&self, param: &str, single: bool, trajectories: u64) -> Result<Sweep> {
        let field = format!("ensemble.sweep.{param}");
        let count = || -> Result<usize> {
            match self.count {
                Some(0) => Err(Error::invalid(
                    format!("{field}.count"),
                    0,
                    "must be at least 1",
                )),
                Some(n) => Ok(n),
                None if single => usize::try_from(trajectories).map_err(|_| {
                    Error::Limit(format!("{field}: one value per trajectory is too many"))
                }),
                None => Err(Error::invalid(
                    format!("{field}.count"),
                    "missing",
                    "needed when several parameters are swept",
                )),
            }
        };
        match (&self.linspace, &self.logspace, &self.values) {
            (Some([a, b]), None, None) => Ok(Sweep::linspace(param, *a, *b, count()?)),
            (None, Some([a, b]), None) => {
                if !(*a > 0.0 && *b > 0.0) {
                    return Err(Error::invalid(
                        format!("{field}.logspace"),
                        format!("[{a}, {b}]"),
                        "both ends must be positive",
                    ));
                }
                Ok(Sweep::logspace(param, *a, *b, count()?))
            }
            (None, None, Some(v)) => {
                if self.count.is_some() {
                    return Err(Error::invalid(
                        format!("{field}.count"),
                        self.count.unwrap_or(0),
                        "goes with linspace or logspace, not values",
                    ));
                }
                Ok(Sweep {
                    param: param.to_string(),
                    values: std::sync::Arc::new(v.clone()),
                })
            }
            _ => Err(Error::invalid(
                &field,
                "",
                "give exactly one of linspace = [a, b], logspace = [a, b] or values = [...]",
            )),
        }
    }
}

/// `save_times`: a count or a list.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum SaveTimes {
    /// Evenly spaced times including t0 and t_end.
    Count(usize),
    /// Explicit times.
    List(Vec<f64>),
}

/// `[output]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Save times.
    #[serde(default = "default_save_times")]
    pub save_times: SaveTimes,
    /// Histogram at the final time.
    pub histogram: Option<HistogramConfig>,
    /// First-passage times through a level.
    pub first_passage: Option<FirstPassageConfig>,
    /// An event: a condition watched at every step end, recorded or stopping the trajectory.
    pub event: Option<EventConfig>,
    /// Write the final states.
    #[serde(default)]
    pub final_state: bool,
    /// Draw the PNG plots (on by default).
    #[serde(default = "default_plots")]
    pub plots: bool,
    /// Mean-square displacements and autocorrelations with the initial state at the save
    /// times.
    #[serde(default)]
    pub displacement: bool,
    /// Per-trajectory time averages from `from` to the end.
    pub time_average: Option<TimeAverageConfig>,
    /// For `reactions`: moment closures to compare with the run (`normal2`, `zero2`, `zero3`).
    #[serde(default)]
    pub closures: Vec<String>,
    /// For `reactions`: the exact master equation on the box of counts `[0, bound]` per
    /// species, to compare with the run.
    pub cme: Option<BTreeMap<String, u32>>,
    /// For `reactions` and `jump`: save times at which to record every component's
    /// distribution, one bin per count.
    #[serde(default)]
    pub distributions: Vec<f64>,
    /// For `reactions` and `jump`: write each trajectory's events (`events.npy`).
    #[serde(default)]
    pub events: bool,
    /// Named expressions in the state, `t` and the parameters (for `langevin`, also `U`, the
    /// potential), whose moments are taken at the save times as the state's; in the order
    /// written.
    #[serde(default, with = "ordered_table")]
    pub observables: Vec<(String, String)>,
    /// The covariance of the state and the observables at the save times.
    #[serde(default)]
    pub covariance: bool,
    /// Exact quantiles at these levels of every variable and observable at the save times.
    #[serde(default)]
    pub quantiles: Vec<f64>,
    /// More histograms at the final time, of variables or observables, binned on the host.
    #[serde(default)]
    pub histograms: Vec<HistogramConfig>,
    /// A 2-D histogram at the final time, binned on the host.
    pub histogram2d: Option<Histogram2dConfig>,
    /// The paths of the first trajectories: `{ trajectories = K, every = n }`.
    pub paths: Option<PathsConfig>,
    /// For `chain`: space the save times evenly in log t.
    #[serde(default)]
    pub log_times: bool,
    /// For `chain`: the window `[t1, t2]` over which to fit the growth exponent.
    pub fit: Option<[f64; 2]>,
}

/// `output.histogram2d`: `{ vars = ["x", "y"], bins = [40, 40], range = [[-2, 2], [-2, 2]] }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Histogram2dConfig {
    /// The two variables or observables.
    pub vars: [String; 2],
    /// Bins along each.
    pub bins: [u32; 2],
    /// `[[lo, hi], [lo, hi]]`.
    pub range: [[f64; 2]; 2],
}

/// `output.paths`: `{ trajectories = 4, every = 10 }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PathsConfig {
    /// Paths of trajectories `0..trajectories`.
    pub trajectories: u64,
    /// A state every this many steps (with the first and last); the save times without it.
    pub every: Option<u32>,
}

/// `output.time_average`: `{ from = 10.0 }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimeAverageConfig {
    /// The window's start (burn-in); it runs to `t_end`.
    pub from: f64,
}

fn default_plots() -> bool {
    true
}

fn default_save_times() -> SaveTimes {
    SaveTimes::Count(11)
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            save_times: default_save_times(),
            histogram: None,
            first_passage: None,
            event: None,
            final_state: false,
            plots: true,
            displacement: false,
            time_average: None,
            closures: Vec::new(),
            cme: None,
            distributions: Vec::new(),
            events: false,
            observables: Vec::new(),
            covariance: false,
            quantiles: Vec::new(),
            histograms: Vec::new(),
            histogram2d: None,
            paths: None,
            log_times: false,
            fit: None,
        }
    }
}

/// `output.event`: `{ when = "x >= 1", action = "stop" }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EventConfig {
    /// One comparison of two expressions in the state, parameters and `t`.
    pub when: String,
    /// `record` (the default) or `stop`.
    #[serde(default = "default_action")]
    pub action: String,
}

fn default_action() -> String {
    "record".into()
}

/// `output.first_passage`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FirstPassageConfig {
    /// State variable.
    pub var: String,
    /// The level.
    pub level: f64,
    /// `up` (first time var >= level) or `down` (var <= level).
    #[serde(default = "default_direction")]
    pub direction: String,
}

fn default_direction() -> String {
    "up".into()
}

/// `output.histogram`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HistogramConfig {
    /// State variable.
    pub var: String,
    /// Number of bins.
    pub bins: u32,
    /// `[min, max]`.
    pub range: [f64; 2],
}

/// The keys of the tables inside sections (`histogram`, `reactions`, `transitions`, `sweep`,
/// `event`, `profile`, ...), for suggestions; the sections' own keys come from
/// [`crate::kind::KINDS`].
const NESTED_KEYS: &[&str] = &[
    "action",
    "add",
    "amplitude",
    "bins",
    "count",
    "direction",
    "eq",
    "every",
    "from",
    "half_width",
    "law",
    "level",
    "linspace",
    "logspace",
    "mean",
    "omega",
    "position",
    "propensity",
    "range",
    "rate",
    "sampling",
    "sd",
    "temperature",
    "to",
    "trajectories",
    "values",
    "var",
    "vars",
    "velocity",
    "when",
    "width",
];

/// Every key a config may hold, for suggestions on an unknown one.
fn known_keys() -> impl Iterator<Item = &'static str> {
    let sections = crate::kind::KINDS
        .iter()
        .flat_map(|k| [k.model, k.solver, k.output, k.grid])
        .flatten();
    crate::kind::TOP_KEYS
        .iter()
        .chain(crate::kind::ENSEMBLE_KEYS)
        .chain(sections)
        .chain(NESTED_KEYS)
        .copied()
}

impl Config {
    /// Parses TOML text; `origin` names the file in errors.
    ///
    /// # Errors
    /// [`Error::Config`] with the TOML parser's location, and a suggestion for unknown keys.
    pub fn from_toml(origin: &str, text: &str, overrides: &[(String, String)]) -> Result<Config> {
        let mut value: toml::Table =
            toml::from_str(text).map_err(|e| config_error(origin, &e.to_string()))?;
        // `model = "lorenz"` is short for `[model] system = "lorenz"`.
        if let Some(toml::Value::String(name)) = value.get("model") {
            let mut table = toml::Table::new();
            table.insert("system".into(), toml::Value::String(name.clone()));
            value.insert("model".into(), toml::Value::Table(table));
        }
        let declared = declared_params(&value);
        for (path, v) in overrides {
            if let Some(param) = path.strip_prefix("model.params.") {
                check_override_param(param, &declared)?;
            }
            set_path(&mut value, path, v).map_err(|m| config_error(origin, &m))?;
        }
        // The kind first, then the keys that kind reads: a key of another kind is refused,
        // never ignored.
        let kind = kind_of(&value).map_err(|m| config_error(origin, &m))?;
        Kind::named(&kind)?.check_keys(&value)?;
        let mut config =
            Config::deserialize(value).map_err(|e| config_error(origin, &e.to_string()))?;
        config.kind = kind;
        Ok(config)
    }

    /// The parameters of `model.params` that no expression of the config names: most likely
    /// a slip (a parameter meant for another expression, or a misspelt name in one), so the
    /// command line warns about them.
    pub fn unused_params(&self) -> Vec<String> {
        let m = &self.model;
        if m.system.is_some() {
            // The zoo system's own expressions read them.
            return Vec::new();
        }
        let mut texts: Vec<&str> = Vec::new();
        texts.extend(m.drift.iter().map(String::as_str));
        match &m.diffusion {
            DiffusionConfig::Diagonal(v) => texts.extend(v.iter().map(String::as_str)),
            DiffusionConfig::Matrix(rows) => {
                texts.extend(rows.iter().flatten().map(String::as_str))
            }
        }
        texts.extend(m.init.iter().map(String::as_str));
        texts.extend(m.init_momentum.iter().map(String::as_str));
        texts.extend(m.potential.as_deref());
        for r in &m.reactions {
            texts.extend(r.rate.as_deref());
            texts.extend(r.propensity.as_deref());
        }
        texts.extend(m.transitions.iter().map(|t| t.rate.as_str()));
        texts.extend(self.output.event.as_ref().map(|e| e.when.as_str()));
        texts.extend(self.output.observables.iter().map(|(_, e)| e.as_str()));
        let named: std::collections::BTreeSet<&str> =
            texts.iter().flat_map(|t| identifiers(t)).collect();
        m.params
            .keys()
            .filter(|p| !named.contains(p.as_str()) && !self.ensemble.sweep.contains_key(*p))
            .cloned()
            .collect()
    }

    /// The ensemble this config describes.
    ///
    /// # Errors
    /// [`Error::Expression`] or [`Error::InvalidInput`] naming the field.
    pub fn to_spec(&self) -> Result<EnsembleSpec> {
        // A key of field runs that an ensemble would otherwise ignore.
        if self.solver.safety.is_some() {
            return Err(Error::invalid(
                "solver.safety",
                "given",
                format!(
                    "a kind = \"field\" setting; a kind = \"{}\" run has no stability bound to scale",
                    self.kind
                ),
            ));
        }
        let (model, init) = self.model()?;
        self.spec_of(model, &init)
    }

    /// The model this config describes, with the initial-value texts of its state (a zoo
    /// system's published point when `init` is not given).
    ///
    /// # Errors
    /// [`Error::Expression`] or [`Error::InvalidInput`] naming the field.
    pub fn model(&self) -> Result<(ExprModel, Vec<String>)> {
        let m = &self.model;
        let params: Vec<(String, f64)> = m.params.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let mut init = m.init.clone();
        let model = match (self.kind.as_str(), &m.system) {
            ("sde" | "ode", Some(name)) => {
                self.refuse_langevin_keys()?;
                let given = [
                    ("model.state", !m.state.is_empty()),
                    ("model.drift", !m.drift.is_empty()),
                    ("model.diffusion", !m.diffusion.is_empty()),
                ];
                if let Some((key, _)) = given.iter().find(|(_, g)| *g) {
                    return Err(Error::invalid(
                        *key,
                        "given",
                        format!("the zoo system `{name}` defines it (set model.noise for additive noise)"),
                    ));
                }
                let noise = match &m.noise {
                    None => 0.0,
                    Some(NoiseConfig::Amplitude(a)) => *a,
                    Some(NoiseConfig::Kind(k)) => {
                        return Err(Error::invalid(
                            "model.noise",
                            k,
                            "a zoo system takes an additive noise amplitude (a number)",
                        ))
                    }
                };
                if !(noise.is_finite() && noise >= 0.0) {
                    return Err(Error::invalid(
                        "model.noise",
                        noise,
                        "must be a finite number >= 0",
                    ));
                }
                if self.kind == "ode" && noise > 0.0 {
                    return Err(Error::invalid(
                        "model.noise",
                        noise,
                        "an ode has no noise (kind = \"sde\")",
                    ));
                }
                if self.kind == "sde" && noise == 0.0 {
                    return Err(Error::invalid(
                        "model.noise",
                        noise,
                        "an sde needs noise > 0 (or kind = \"ode\")",
                    ));
                }
                let system = crate::zoo::system(name)?;
                if init.is_empty() {
                    init = system.initial.iter().map(|v| format!("{v:e}")).collect();
                }
                system.model(&params, noise)?
            }
            ("sde" | "ode", None) => {
                self.refuse_langevin_keys()?;
                let general = match &m.noise {
                    None => matches!(m.diffusion, DiffusionConfig::Matrix(_)),
                    Some(NoiseConfig::Kind(k)) if k == "general" => true,
                    Some(NoiseConfig::Kind(k)) if k == "diagonal" => false,
                    Some(NoiseConfig::Kind(k)) => {
                        return Err(Error::invalid(
                            "model.noise",
                            k,
                            "expected \"diagonal\" or \"general\"",
                        ))
                    }
                    Some(NoiseConfig::Amplitude(a)) => {
                        return Err(Error::invalid(
                            "model.noise",
                            a,
                            "an amplitude adds noise to a zoo system (model.system); write model.diffusion here",
                        ))
                    }
                };
                if self.kind == "sde" && m.diffusion.is_empty() {
                    return Err(Error::invalid("model.diffusion", "[]", "an sde needs one diffusion expression per state variable (or kind = \"ode\")"));
                }
                if self.kind == "ode" && !m.diffusion.is_empty() {
                    return Err(Error::invalid(
                        "model.diffusion",
                        format!("{} expressions", m.diffusion.len()),
                        "an ode has no diffusion",
                    ));
                }
                match (&m.diffusion, general) {
                    (DiffusionConfig::Matrix(rows), true) => {
                        ExprModel::with_noise_matrix(&self.name, &m.state, &params, &m.drift, rows)?
                    }
                    (DiffusionConfig::Diagonal(g), false) => {
                        ExprModel::new(&self.name, &m.state, &params, &m.drift, g)?
                    }
                    (DiffusionConfig::Diagonal(g), true) if g.is_empty() => {
                        ExprModel::new(&self.name, &m.state, &params, &m.drift, g)?
                    }
                    (DiffusionConfig::Diagonal(_), true) => {
                        return Err(Error::invalid(
                            "model.diffusion",
                            "a list",
                            "noise = \"general\" takes a matrix: one row [..] per state variable",
                        ))
                    }
                    (DiffusionConfig::Matrix(_), false) => {
                        return Err(Error::invalid(
                            "model.diffusion",
                            "a matrix",
                            "noise = \"diagonal\" takes one expression per state variable",
                        ))
                    }
                }
            }
            ("jump", _) => {
                let network = self.jump_network(&params)?;
                init = network.initial.iter().map(u32::to_string).collect();
                ExprModel::reaction_network(&self.name, network)?
            }
            ("reactions", _) => {
                let given = [
                    ("model.system", m.system.is_some()),
                    ("model.state", !m.state.is_empty()),
                    ("model.drift", !m.drift.is_empty()),
                    ("model.diffusion", !m.diffusion.is_empty()),
                    ("model.potential", m.potential.is_some()),
                    ("model.init", !m.init.is_empty()),
                ];
                if let Some((key, _)) = given.iter().find(|(_, g)| *g) {
                    return Err(Error::invalid(
                        *key,
                        "given",
                        "a reactions model is given by its species (with initial counts), params and reactions",
                    ));
                }
                // A species drawn from a law starts the network's own counts at 0; the
                // kernels draw it (`initial` parses the law).
                let species: Vec<(String, i64)> = m
                    .species
                    .iter()
                    .map(|(k, v)| {
                        let count = match v {
                            SpeciesInit::Count(c) => *c,
                            SpeciesInit::Law(_) => 0,
                        };
                        (k.clone(), count)
                    })
                    .collect();
                let laws = m.species.values().any(|v| matches!(v, SpeciesInit::Law(_)));
                if laws {
                    for (key, given) in [
                        ("output.cme", self.output.cme.is_some()),
                        ("output.closures", !self.output.closures.is_empty()),
                    ] {
                        if given {
                            return Err(Error::invalid(
                                key,
                                "given",
                                "the comparison starts from fixed counts: give every species \
                                 a count, not a law",
                            ));
                        }
                    }
                }
                let reactions: Vec<crate::reactions::ReactionSpec> = m
                    .reactions
                    .iter()
                    .map(|r| crate::reactions::ReactionSpec {
                        eq: r.eq.clone(),
                        rate: r.rate.clone(),
                        propensity: r.propensity.clone(),
                    })
                    .collect();
                let network =
                    crate::reactions::ReactionNetwork::new(&species, &params, &reactions)?;
                init = m
                    .species
                    .values()
                    .map(|v| match v {
                        SpeciesInit::Count(c) => c.to_string(),
                        SpeciesInit::Law(law) => law.clone(),
                    })
                    .collect();
                ExprModel::reaction_network(&self.name, network)?
            }
            ("langevin", _) => {
                if m.system.is_some() || m.noise.is_some() {
                    return Err(Error::invalid(
                        "model.system",
                        "given",
                        "zoo systems are sde or ode models, not langevin",
                    ));
                }
                for (key, given) in [
                    ("model.drift", !m.drift.is_empty()),
                    ("model.diffusion", !m.diffusion.is_empty()),
                ] {
                    if given {
                        return Err(Error::invalid(
                            key,
                            "given",
                            "a langevin model is given by its potential, gamma, kT and mass",
                        ));
                    }
                }
                let need = |key: &str, v: Option<f64>| {
                    v.ok_or_else(|| {
                        Error::invalid(
                            format!("model.{key}"),
                            "missing",
                            "a langevin model needs it",
                        )
                    })
                };
                let potential = m.potential.as_deref().ok_or_else(|| {
                    Error::invalid(
                        "model.potential",
                        "missing",
                        "a langevin model needs its potential U",
                    )
                })?;
                ExprModel::underdamped(
                    &self.name,
                    &m.state,
                    &params,
                    potential,
                    need("gamma", m.gamma)?,
                    need("kT", m.kt)?,
                    m.mass.unwrap_or(1.0),
                )?
            }
            (other, _) => {
                return Err(Error::invalid(
                    "kind",
                    other,
                    "expected \"sde\", \"ode\", \"langevin\", \"reactions\" or \"jump\"",
                ))
            }
        };
        Ok((model, init))
    }

    /// A `jump` model as a reaction network: one species per state, holding 1 in the current
    /// state and 0 elsewhere; each transition `from -> to` at its rate (mass action on the
    /// indicator of `from`).
    fn jump_network(&self, params: &[(String, f64)]) -> Result<crate::reactions::ReactionNetwork> {
        let m = &self.model;
        let given = [
            ("model.drift", !m.drift.is_empty()),
            ("model.diffusion", !m.diffusion.is_empty()),
            ("model.species", !m.species.is_empty()),
            ("model.reactions", !m.reactions.is_empty()),
            ("model.system", m.system.is_some()),
        ];
        if let Some((key, _)) = given.iter().find(|(_, g)| *g) {
            return Err(Error::invalid(
                *key,
                "given",
                "a jump model is given by its states (model.state), the initial one (model.init) and model.transitions",
            ));
        }
        let start = match m.init.as_slice() {
            [one] => one,
            _ => {
                return Err(Error::invalid(
                    "model.init",
                    format!("{} entries", m.init.len()),
                    "a jump model starts in one state: init = [\"A\"]",
                ))
            }
        };
        if !m.state.contains(start) {
            return Err(Error::invalid(
                "model.init",
                start,
                format!("not one of the states {}", m.state.join(", ")),
            ));
        }
        for (k, c) in m.counters.iter().enumerate() {
            if m.state.contains(c) || m.counters[..k].contains(c) {
                return Err(Error::invalid(
                    format!("model.counters[{k}]"),
                    c,
                    "a counter's name must differ from the states and the other counters",
                ));
            }
        }
        let species: Vec<(String, i64)> = m
            .state
            .iter()
            .map(|s| (s.clone(), i64::from(s == start)))
            .chain(m.counters.iter().map(|c| (c.clone(), 0)))
            .collect();
        let reactions: Vec<crate::reactions::ReactionSpec> = m
            .transitions
            .iter()
            .map(|t| crate::reactions::ReactionSpec {
                eq: format!("{} -> {}", t.from, t.to),
                rate: Some(t.rate.clone()),
                propensity: None,
            })
            .collect();
        // The network's errors name reactions and species; here they are transitions and states.
        let rename = |text: String| {
            text.replace("model.reactions", "model.transitions")
                .replace(".eq", "")
                .replace("species", "state")
        };
        let mut network = crate::reactions::ReactionNetwork::new(&species, params, &reactions)
            .map_err(|e| match e {
                Error::InvalidInput {
                    field,
                    value,
                    reason,
                } => Error::InvalidInput {
                    field: rename(field),
                    value,
                    reason: rename(reason),
                },
                Error::Expression { field, rendered } => Error::Expression {
                    field: rename(field),
                    rendered: rename(rendered),
                },
                other => other,
            })?;
        let n_states = m.state.len();
        for (k, t) in m.transitions.iter().enumerate() {
            for (name, step) in &t.add {
                let field = format!("model.transitions[{k}].add.{name}");
                let Some(c) = m.counters.iter().position(|c| c == name) else {
                    return Err(Error::invalid(
                        field,
                        name,
                        format!(
                            "not a counter (model.counters = [{}])",
                            m.counters.join(", ")
                        ),
                    ));
                };
                if *step == 0 || step.abs() > 1 << 20 {
                    return Err(Error::invalid(
                        field,
                        step,
                        "a counter's step is a nonzero integer of at most 2^20",
                    ));
                }
                network.reactions[k].change[n_states + c] += *step as i32;
            }
        }
        Ok(network)
    }

    /// The step: `solver.dt`, which only a `reactions` or `jump` model may leave out (it then
    /// sets only the grid of save times).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when it is missing.
    pub fn dt(&self) -> Result<f64> {
        match (self.solver.dt, self.kind.as_str()) {
            (Some(dt), _) => Ok(dt),
            (None, "reactions" | "jump") => {
                // At least 1000 steps, a whole number between evenly spaced save times, so that
                // those fall on the grid exactly.
                let intervals = match self.output.save_times {
                    SaveTimes::Count(n) if n > 1 => (n - 1) as f64,
                    _ => 1.0,
                };
                let per = (1000.0 / intervals).ceil();
                Ok((self.solver.t_end - self.solver.t0) / (intervals * per))
            }
            (None, _) => Err(Error::invalid(
                "solver.dt",
                "missing",
                "the step is needed (only kind = \"reactions\" may leave it out)",
            )),
        }
    }

    fn spec_of(&self, model: ExprModel, init: &[String]) -> Result<EnsembleSpec> {
        let scheme: Scheme = match (&self.solver.scheme, self.kind.as_str()) {
            (Some(name), _) => name.parse()?,
            (None, "ode") => Scheme::Rk4,
            (None, "langevin") => Scheme::Baoab,
            (None, "reactions" | "jump") => Scheme::Ssa,
            (None, _) => Scheme::EulerMaruyama,
        };
        let state_names = model.state_names();
        let (initial, count_tables) = self.initial(init, &model.params(), state_names.len())?;
        let save_at = match &self.output.save_times {
            SaveTimes::Count(n) => SaveAt::Count(*n),
            SaveTimes::List(v) => SaveAt::Times(v.clone()),
        };
        let mut spec = EnsembleSpec::with_model(Arc::new(model))
            .scheme(scheme)
            .time_span(self.solver.t0, self.solver.t_end)
            .dt(self.dt()?)
            .tolerances(
                self.solver.rtol.unwrap_or(if scheme == Scheme::TauLeap {
                    crate::reactions::TAU_LEAP_EPSILON
                } else {
                    AdaptiveControl::default().rtol
                }),
                self.solver.atol.unwrap_or(AdaptiveControl::default().atol),
            )
            .max_steps(
                self.solver
                    .max_steps
                    .unwrap_or(AdaptiveControl::default().max_steps),
            )
            .trajectories(self.ensemble.trajectories)
            .seed(self.ensemble.seed)
            .save_at(save_at)
            .final_states(self.output.final_state);
        spec.initial = initial;
        spec.count_tables = count_tables;
        spec.adaptive.max_dt = self.solver.max_dt;
        spec.displacement = self.output.displacement;
        spec.covariance = self.output.covariance;
        spec.quantiles = self.output.quantiles.clone();
        spec.paths = self
            .output
            .paths
            .as_ref()
            .map(|p| crate::snapshot::PathSpec {
                trajectories: p.trajectories,
                every: p.every,
            });
        for (name, text) in &self.output.observables {
            let text = match (self.kind.as_str(), self.model.potential.as_deref()) {
                ("langevin", Some(u)) if !state_names.iter().any(|s| s == "U") => {
                    with_potential(text, u)
                }
                _ => text.clone(),
            };
            spec = spec.observable(name, &text);
        }
        if !matches!(self.kind.as_str(), "reactions" | "jump")
            && (!self.output.closures.is_empty() || self.output.cme.is_some())
        {
            return Err(Error::invalid(
                "output.closures",
                "given",
                "moment closures and the master equation compare with reaction networks (kind = \"reactions\")",
            ));
        }
        for c in &self.output.closures {
            crate::closure::Closure::parse(c)?;
        }
        spec.time_average_from = self.output.time_average.as_ref().map(|a| a.from);
        spec.count_distributions = self.output.distributions.clone();
        spec.keep_events = self.output.events;
        spec.adaptive.brownian_tol = self.solver.brownian_tol;
        if let Some(text) = &self.solver.precision {
            // Checked against the scheme and model when the spec is resolved.
            spec.adaptive.precision = crate::real::Precision::parse("solver.precision", text)?;
        }
        let single = self.ensemble.sweep.len() == 1;
        for (param, sweep) in &self.ensemble.sweep {
            spec = spec.sweep(sweep.to_sweep(param, single, self.ensemble.trajectories)?);
        }
        if let Some(fp) = &self.output.first_passage {
            let component = state_index(&state_names, "output.first_passage.var", &fp.var)?;
            let direction = match fp.direction.as_str() {
                "up" => Direction::Up,
                "down" => Direction::Down,
                other => {
                    return Err(Error::invalid(
                        "output.first_passage.direction",
                        other,
                        "expected \"up\" or \"down\"",
                    ))
                }
            };
            spec = spec.first_passage(component, fp.level, direction);
        }
        if let Some(e) = &self.output.event {
            let action = match e.action.as_str() {
                "record" => EventAction::Record,
                "stop" => EventAction::Stop,
                other => {
                    return Err(Error::invalid(
                        "output.event.action",
                        other,
                        "expected \"record\" or \"stop\"",
                    ))
                }
            };
            spec = spec.event(&e.when, action);
        }
        let observed: Vec<String> = state_names
            .iter()
            .cloned()
            .chain(self.output.observables.iter().map(|(n, _)| n.clone()))
            .collect();
        for (i, h) in self.output.histograms.iter().enumerate() {
            let field = format!("output.histograms[{i}].var");
            let component = state_index(&observed, &field, &h.var)?;
            spec = spec.add_histogram(component, h.bins, (h.range[0], h.range[1]));
        }
        if let Some(h) = &self.output.histogram2d {
            let a = state_index(&observed, "output.histogram2d.vars", &h.vars[0])?;
            let b = state_index(&observed, "output.histogram2d.vars", &h.vars[1])?;
            spec = spec.histogram2d(
                [a, b],
                h.bins,
                [
                    (h.range[0][0], h.range[0][1]),
                    (h.range[1][0], h.range[1][1]),
                ],
            );
        }
        if let Some(h) = &self.output.histogram {
            let component = state_index(&observed, "output.histogram.var", &h.var)?;
            if h.range[0] >= h.range[1] {
                return Err(Error::invalid(
                    "output.histogram.range",
                    format!("[{}, {}]", h.range[0], h.range[1]),
                    "min must be below max",
                ));
            }
            spec = spec.histogram(component, h.bins, (h.range[0], h.range[1]));
        }
        Ok(spec)
    }

    /// Keys that only a `langevin` model reads are refused elsewhere rather than ignored.
    fn refuse_langevin_keys(&self) -> Result<()> {
        let m = &self.model;
        let given = [
            ("model.potential", m.potential.is_some()),
            ("model.gamma", m.gamma.is_some()),
            ("model.kT", m.kt.is_some()),
            ("model.mass", m.mass.is_some()),
            ("model.init_momentum", !m.init_momentum.is_empty()),
            ("model.species", !m.species.is_empty()),
            ("model.reactions", !m.reactions.is_empty()),
        ];
        match given.iter().find(|(_, g)| *g) {
            Some((key, _)) => Err(Error::invalid(
                *key,
                "given",
                format!(
                    "only a kind = \"{}\" model reads it (this is kind = \"{}\")",
                    if key.ends_with("species") || key.ends_with("reactions") {
                        "reactions"
                    } else {
                        "langevin"
                    },
                    self.kind
                ),
            )),
            None => Ok(()),
        }
    }

    /// The initial laws of the `dim` state components: `model.init`, then for a `langevin`
    /// model `model.init_momentum` or the thermal law of the momenta. Expressions may use
    /// the model's parameters (for `langevin`, also `gamma`, `kT` and `mass`).
    fn initial(
        &self,
        init: &[String],
        params: &[(String, f64)],
        dim: usize,
    ) -> Result<(InitialState, Vec<Vec<f64>>)> {
        let m = &self.model;
        let mut tables: Vec<Vec<f64>> = Vec::new();
        let mut texts = init.to_vec();
        let positions = if self.kind == "langevin" {
            dim / 2
        } else {
            dim
        };
        if init.len() != positions {
            return Err(Error::invalid(
                "model.init",
                format!("{} values", init.len()),
                format!("expected one per state variable ({positions})"),
            ));
        }
        if self.kind == "langevin" {
            if m.init_momentum.is_empty() {
                texts.extend((0..positions).map(|_| "normal(0, sqrt(mass*kT))".to_string()));
            } else if m.init_momentum.len() != positions {
                return Err(Error::invalid(
                    "model.init_momentum",
                    format!("{} values", m.init_momentum.len()),
                    format!("expected one per position ({positions})"),
                ));
            } else {
                texts.extend(m.init_momentum.iter().cloned());
            }
        }
        let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
        let values: Vec<f32> = params.iter().map(|(_, v)| *v as f32).collect();
        let scope = Scope::new(&[] as &[&str], &names);
        let mut laws = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let species = (self.kind == "reactions")
                .then(|| m.species.keys().nth(i))
                .flatten();
            let field = if let Some(name) = species {
                format!("model.species.{name}")
            } else if i < positions {
                format!("model.init[{i}]")
            } else {
                format!("model.init_momentum[{}]", i - positions)
            };
            let evaluate = |src: &str, offset: usize| -> Result<f64> {
                let node = expr::parse(src, &scope).map_err(|mut e| {
                    e.span = (e.span.0 + offset, e.span.1 + offset);
                    Error::Expression {
                        field: field.clone(),
                        rendered: e.render(&field, text),
                    }
                })?;
                let program = Program::compile(&node)
                    .ok_or_else(|| Error::Limit(format!("{field} nests too deep")))?;
                Ok(f64::from(program.eval(0.0, &[], &values)))
            };
            let trimmed = text.trim_start();
            let lead = text.len() - trimmed.len();
            // `normal(a, b)`, `uniform(a, b)` and, for species counts, `poisson(l)`,
            // `binomial(n, p)` and `uniform_int(a, b)`: expressions in the parameters.
            let law = [
                "normal",
                "uniform_int",
                "uniform",
                "poisson",
                "binomial",
                "table",
            ]
            .into_iter()
            .find_map(|name| {
                trimmed
                    .strip_prefix(name)
                    .and_then(|r| r.trim_start().strip_prefix('('))
                    .and_then(|r| r.trim_end().strip_suffix(')'))
                    .map(|args| (name, args))
            });
            let law = match law {
                Some((name, args)) => {
                    let offset = lead + trimmed.find('(').map_or(0, |k| k + 1);
                    if name == "table" {
                        let mut weights = Vec::new();
                        let mut start = 0;
                        for piece in split_top_level(args) {
                            weights.push(evaluate(piece, offset + start)?);
                            start += piece.len() + 1;
                        }
                        let total: f64 = weights.iter().sum();
                        if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0))
                            || total <= 0.0
                            || weights.len() > crate::spec::MAX_TABLE
                        {
                            return Err(Error::invalid(
                                &field,
                                text,
                                format!(
                                    "table(p0, p1, ...) needs 1 to {} weights >= 0 of positive sum \
                                     (the probabilities of the counts 0, 1, ...)",
                                    crate::spec::MAX_TABLE
                                ),
                            ));
                        }
                        if self.kind != "reactions" {
                            return Err(Error::invalid(
                                &field,
                                text,
                                "a table draws the species counts of a reactions model",
                            ));
                        }
                        let probabilities: Vec<f64> = weights.iter().map(|w| w / total).collect();
                        let mean = probabilities
                            .iter()
                            .enumerate()
                            .map(|(k, p)| k as f64 * p)
                            .sum();
                        laws.push(InitialLaw::Table {
                            table: tables.len(),
                            len: probabilities.len(),
                            mean,
                        });
                        tables.push(probabilities);
                        continue;
                    }
                    let (a, b) = if name == "poisson" {
                        (evaluate(args, offset)?, 0.0)
                    } else {
                        let comma = args.find(',').ok_or_else(|| {
                            Error::invalid(
                                &field,
                                text,
                                format!("{name}(a, b) needs two arguments"),
                            )
                        })?;
                        (
                            evaluate(&args[..comma], offset)?,
                            evaluate(&args[comma + 1..], offset + comma + 1)?,
                        )
                    };
                    let law = match name {
                        "normal" => InitialLaw::Normal { mean: a, sd: b },
                        "uniform" => InitialLaw::Uniform { lo: a, hi: b },
                        "poisson" => InitialLaw::Poisson { mean: a },
                        "binomial" => InitialLaw::Binomial { n: a, p: b },
                        _ => InitialLaw::UniformInt { lo: a, hi: b },
                    };
                    if law.is_discrete() && self.kind != "reactions" {
                        return Err(Error::invalid(
                            &field,
                            text,
                            "poisson, binomial and uniform_int draw the species counts of a \
                             reactions model",
                        ));
                    }
                    law
                }
                None => InitialLaw::Fixed(evaluate(text, 0)?),
            };
            laws.push(law);
        }
        Ok((InitialState::Laws(laws), tables))
    }
}

/// The kind of a config's table: `kind`, else `sde`; a zoo system without `kind` is an `ode`,
/// or an `sde` when it is given noise.
fn kind_of(table: &toml::Table) -> std::result::Result<String, String> {
    match table.get("kind") {
        Some(toml::Value::String(k)) => return Ok(k.clone()),
        Some(other) => return Err(format!("`kind` must be a string, not {}", other.type_str())),
        None => {}
    }
    let model = table.get("model").and_then(toml::Value::as_table);
    if model.is_some_and(|m| m.contains_key("system")) {
        let noise = model.and_then(|m| m.get("noise"));
        let quiet = match noise {
            None => true,
            Some(toml::Value::Float(a)) => *a == 0.0,
            Some(toml::Value::Integer(a)) => *a == 0,
            Some(_) => false,
        };
        return Ok(if quiet { "ode" } else { "sde" }.into());
    }
    Ok(default_kind())
}

/// The parameters a config declares before any `--set`: `model.params`, and a zoo system's.
fn declared_params(table: &toml::Table) -> Vec<String> {
    let model = table.get("model").and_then(toml::Value::as_table);
    let mut names: Vec<String> = model
        .and_then(|m| m.get("params"))
        .and_then(toml::Value::as_table)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let system = model
        .and_then(|m| m.get("system"))
        .and_then(toml::Value::as_str);
    if let Some(system) = system.and_then(|s| crate::zoo::system(s).ok()) {
        names.extend(system.params.iter().map(|(n, _)| n.to_string()));
    }
    names
}

/// `--set model.params.X` must name a declared parameter: a new one would be read by no
/// expression, so a misspelt name would leave the intended one unchanged.
fn check_override_param(param: &str, declared: &[String]) -> Result<()> {
    if declared.iter().any(|d| d == param) {
        return Ok(());
    }
    let hint = expr::parse::closest(param, declared.iter().map(String::as_str))
        .map_or(String::new(), |s| format!("; did you mean `{s}`?"));
    let listing = if declared.is_empty() {
        "the model declares no parameters".to_string()
    } else {
        format!("the model's parameters are {}", declared.join(", "))
    };
    Err(Error::invalid(
        format!("model.params.{param}"),
        "--set",
        format!("not a parameter of the model ({listing}){hint}"),
    ))
}

/// The identifiers in an expression's text (names of variables, parameters and functions).
/// `text` with every identifier `U` replaced by the parenthesised potential, so that a
/// `langevin` observable can read the potential by name.
fn with_potential(text: &str, potential: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word == "U" {
            out.push_str(&format!("({potential})"));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            // Letters, digits and `_` make a word: `U2` and `dU` are other names.
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// A TOML table of strings as a list of (key, value) in the order written (the tables keep
/// their order), and back.
mod ordered_table {
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        list: &[(String, String)],
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(list.len()))?;
        for (k, v) in list {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Vec<(String, String)>, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Vec<(String, String)>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of names to expressions")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut list = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    list.push((k, v));
                }
                Ok(list)
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// The comma-separated pieces of `args` outside parentheses.
fn split_top_level(args: &str) -> Vec<&str> {
    let (mut depth, mut start, mut pieces) = (0i32, 0, Vec::new());
    for (k, c) in args.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                pieces.push(&args[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    pieces.push(&args[start..]);
    pieces
}

fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
}

fn state_index(state: &[String], field: &str, var: &str) -> Result<usize> {
    state.iter().position(|s| s == var).ok_or_else(|| {
        let hint = expr::parse::closest(var, state.iter().map(String::as_str))
            .map_or(String::new(), |s| format!("; did you mean `{s}`?"));
        Error::invalid(
            field,
            var,
            format!("not a state variable or observable{hint}"),
        )
    })
}

fn config_error(origin: &str, message: &str) -> Error {
    let mut message = message.trim().to_string();
    if let Some(rest) = message.split("unknown field `").nth(1) {
        if let Some(key) = rest.split('`').next() {
            if let Some(s) = expr::parse::closest(key, known_keys()) {
                message.push_str(&format!("\nhelp: did you mean `{s}`?"));
            }
        }
    }
    Error::Config {
        origin: origin.to_string(),
        message,
    }
}

/// Sets `a.b.c = value` in a TOML table; the value is parsed as TOML (number, bool, array) or
/// taken as a string.
fn set_path(table: &mut toml::Table, path: &str, value: &str) -> std::result::Result<(), String> {
    let parsed: toml::Value = toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()));
    let keys: Vec<&str> = path.split('.').collect();
    let (last, parents) = keys.split_last().ok_or("empty --set path")?;
    let mut current = table;
    for k in parents {
        current = current
            .entry(k.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("--set {path}: `{k}` is not a table"))?;
    }
    current.insert(last.to_string(), parsed);
    Ok(())
}
