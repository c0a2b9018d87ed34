//! Configs of interacting ensembles: `kind = "kuramoto"` to a [`KuramotoSpec`],
//! `kind = "chain"` to a [`ChainSpec`] (`equation = "ew" | "kpz" | "phase"`, `sites`, `nu`,
//! `lambda`, `noise`, `disorder`; `[output] log_times`, `fit = [t1, t2]`; a sweep of one of
//! `nu`, `lambda`, `D`, `disorder`, `sites`, one run per value), `kind = "cbo"` to a
//! [`CboSpec`] (`objective`, `dim`, `particles`, `lambda`, `sigma`, `alpha`, `alpha_growth`,
//! `alpha_max`, `noise = "anisotropic" | "isotropic"`, `box`, `shift`, `energy_tol`,
//! `diff_tol`; the objective a built-in name or an expression with `sum_i(...)` and
//! `prod_i(...)`; steps `t_end / dt`),
//! `kind = "vicsek"` to a [`VicsekSpec`] (`particles`, `density`, `radius`, `speed`,
//! `noise` = eta; steps `t_end / dt`, dt 1 unless given; `eta` and `density` sweepable). A
//! replica is the ensemble's trajectory: `[ensemble] trajectories` counts replicas (runs).
//!
//!
//! ```toml
//! kind = "kuramoto"
//! [model]
//! oscillators = 4096
//! coupling = 2.0                    # K (sweepable as K)
//! noise = 0.0                       # phase noise D (sweepable as D)
//! frequencies = { law = "lorentzian", gamma = 0.5, sampling = "quantiles" }
//! [solver]
//! dt = 0.01
//! t_end = 100.0
//! [ensemble]
//! trajectories = 64                 # replicas
//! [ensemble.sweep]
//! K = { linspace = [0.5, 3.0], count = 8 }
//! [output]
//! save_times = 101
//! time_average = { from = 50.0 }    # the window of the averaged order parameter
//! ```

use super::cbo::{CboSpec, Objective};
use super::chain::{ChainModel, ChainSpec};
use super::kuramoto::{FrequencyLaw, KuramotoSpec, Sampling};
use super::vicsek::VicsekSpec;
use crate::config::{Config, NoiseConfig, SaveTimes};
use crate::error::{Error, Result};

impl Config {
    /// The Kuramoto run of a `kind = "kuramoto"` config.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field.
    pub fn to_kuramoto(&self) -> Result<KuramotoSpec> {
        let m = &self.model;
        if self.kind != "kuramoto" {
            return Err(Error::invalid("kind", &self.kind, "expected \"kuramoto\""));
        }
        let given = [
            ("model.state", !m.state.is_empty()),
            ("model.drift", !m.drift.is_empty()),
            ("model.diffusion", !m.diffusion.is_empty()),
            ("model.species", !m.species.is_empty()),
            ("model.reactions", !m.reactions.is_empty()),
            ("model.transitions", !m.transitions.is_empty()),
            ("model.system", m.system.is_some()),
            ("model.params", !m.params.is_empty()),
        ];
        refuse_given(
            &given,
            "a kuramoto model is given by oscillators, coupling, noise and frequencies",
        )?;
        self.refuse_chain_keys("a kuramoto model")?;
        let oscillators = m.oscillators.ok_or_else(|| {
            Error::invalid(
                "model.oscillators",
                "missing",
                "the oscillators per replica",
            )
        })?;
        let coupling = m
            .coupling
            .ok_or_else(|| Error::invalid("model.coupling", "missing", "the coupling K"))?;
        let noise = self.noise_strength()?;
        let f = m.frequencies.as_ref().ok_or_else(|| {
            Error::invalid(
                "model.frequencies",
                "missing",
                "e.g. { law = \"lorentzian\", gamma = 0.5 }",
            )
        })?;
        let width = |key: &str, v: Option<f64>| {
            v.ok_or_else(|| {
                Error::invalid(
                    format!("model.frequencies.{key}"),
                    "missing",
                    format!("a {} law needs it", f.law),
                )
            })
        };
        let law = match f.law.as_str() {
            "lorentzian" => FrequencyLaw::Lorentzian {
                gamma: width("gamma", f.gamma)?,
            },
            "gaussian" => FrequencyLaw::Gaussian {
                sd: width("sd", f.sd)?,
            },
            "uniform" => FrequencyLaw::Uniform {
                half_width: width("half_width", f.half_width)?,
            },
            other => {
                return Err(Error::invalid(
                    "model.frequencies.law",
                    other,
                    "expected \"lorentzian\", \"gaussian\" or \"uniform\"",
                ))
            }
        };
        let sampling = match f.sampling.as_deref() {
            None | Some("quantiles") => Sampling::Quantiles,
            Some("random") => Sampling::Random,
            Some(other) => {
                return Err(Error::invalid(
                    "model.frequencies.sampling",
                    other,
                    "expected \"quantiles\" or \"random\"",
                ))
            }
        };
        let saves = self.even_saves()?;
        let replicas = self.replicas()?;
        let single = self.ensemble.sweep.len() == 1;
        let sweeps = self
            .ensemble
            .sweep
            .iter()
            .map(|(param, s)| s.to_sweep(param, single, self.ensemble.trajectories))
            .collect::<Result<Vec<_>>>()?;
        Ok(KuramotoSpec {
            oscillators,
            coupling,
            noise,
            law,
            sampling,
            mean_frequency: f.mean,
            t_end: self.solver.t_end,
            dt: self.dt()?,
            replicas,
            seed: self.ensemble.seed,
            saves,
            sweeps,
            average_from: self
                .output
                .time_average
                .as_ref()
                .map_or(self.solver.t_end / 2.0, |a| a.from),
        })
    }

    /// The noise strength D: `model.noise`, a number (0 unless given).
    fn noise_strength(&self) -> Result<f64> {
        match &self.model.noise {
            None => Ok(0.0),
            Some(NoiseConfig::Amplitude(d)) => Ok(*d),
            Some(NoiseConfig::Kind(k)) => Err(Error::invalid(
                "model.noise",
                k,
                "the noise strength D, a number",
            )),
        }
    }

    /// The number of evenly spaced save times of a run from t = 0.
    fn even_saves(&self) -> Result<usize> {
        if self.solver.t0 != 0.0 {
            return Err(Error::invalid(
                "solver.t0",
                self.solver.t0,
                "interacting ensembles start at 0",
            ));
        }
        match &self.output.save_times {
            SaveTimes::Count(n) => Ok(*n),
            SaveTimes::List(_) => Err(Error::invalid(
                "output.save_times",
                "a list",
                "interacting ensembles save at evenly spaced times: give their number",
            )),
        }
    }

    /// The replicas: `ensemble.trajectories`.
    fn replicas(&self) -> Result<u32> {
        u32::try_from(self.ensemble.trajectories).map_err(|_| {
            Error::invalid(
                "ensemble.trajectories",
                self.ensemble.trajectories,
                "the replicas, at most 2^32 - 1",
            )
        })
    }

    fn refuse_chain_keys(&self, what: &str) -> Result<()> {
        let m = &self.model;
        let given = [
            ("model.equation", m.equation.is_some()),
            ("model.sites", m.sites.is_some()),
            ("model.nu", m.nu.is_some()),
            ("model.lambda", m.lambda.is_some()),
            ("model.disorder", m.disorder.is_some()),
        ];
        refuse_given(&given, &format!("not a key of {what}"))
    }

    /// The chain run of a `kind = "chain"` config.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field.
    pub fn to_chain(&self) -> Result<ChainSpec> {
        let m = &self.model;
        if self.kind != "chain" {
            return Err(Error::invalid("kind", &self.kind, "expected \"chain\""));
        }
        let given = [
            ("model.state", !m.state.is_empty()),
            ("model.drift", !m.drift.is_empty()),
            ("model.species", !m.species.is_empty()),
            ("model.system", m.system.is_some()),
            ("model.params", !m.params.is_empty()),
            ("model.oscillators", m.oscillators.is_some()),
            ("model.coupling", m.coupling.is_some()),
            ("model.frequencies", m.frequencies.is_some()),
        ];
        refuse_given(
            &given,
            "a chain is given by equation, sites, nu, lambda, noise and disorder",
        )?;
        let model: ChainModel = m
            .equation
            .as_deref()
            .ok_or_else(|| {
                Error::invalid("model.equation", "missing", "\"ew\", \"kpz\" or \"phase\"")
            })?
            .parse()?;
        let sites = m
            .sites
            .ok_or_else(|| Error::invalid("model.sites", "missing", "the sites per replica"))?;
        let noise = self.noise_strength()?;
        let saves = self.even_saves()?;
        Ok(ChainSpec {
            model,
            sites,
            nu: m.nu.unwrap_or(1.0),
            lambda: m.lambda.unwrap_or(0.0),
            noise,
            disorder: m.disorder.unwrap_or(0.0),
            t_end: self.solver.t_end,
            dt: self.dt()?,
            replicas: self.replicas()?,
            seed: self.ensemble.seed,
            saves,
            log_saves: self.output.log_times,
        })
    }

    /// The sweep of a `kind = "chain"` config: one of `nu`, `lambda`, `D`, `disorder`,
    /// `sites`, one run per value ([`super::chain::run_sweep`]); `None` without one.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field: more than one parameter, or another name.
    pub fn chain_sweep(&self) -> Result<Option<crate::Sweep>> {
        let mut sweeps = self.ensemble.sweep.iter();
        let Some((param, s)) = sweeps.next() else {
            return Ok(None);
        };
        if let Some((second, _)) = sweeps.next() {
            return Err(Error::invalid(
                format!("ensemble.sweep.{second}"),
                "given",
                "a chain sweeps one parameter (one run per value)",
            ));
        }
        if !super::chain::SWEEPABLE.contains(&param.as_str()) {
            return Err(Error::invalid(
                format!("ensemble.sweep.{param}"),
                "given",
                format!(
                    "a chain sweeps one of {}",
                    super::chain::SWEEPABLE.join(", ")
                ),
            ));
        }
        Ok(Some(s.to_sweep(param, false, 1)?))
    }

    /// The CBO runs of a `kind = "cbo"` config.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field.
    pub fn to_cbo(&self) -> Result<CboSpec> {
        let m = &self.model;
        if self.kind != "cbo" {
            return Err(Error::invalid("kind", &self.kind, "expected \"cbo\""));
        }
        let given = [
            ("model.state", !m.state.is_empty()),
            ("model.drift", !m.drift.is_empty()),
            ("model.species", !m.species.is_empty()),
            ("model.system", m.system.is_some()),
            ("model.params", !m.params.is_empty()),
            ("model.oscillators", m.oscillators.is_some()),
            ("model.sites", m.sites.is_some()),
        ];
        refuse_given(
            &given,
            "a cbo model is given by objective, dim, particles and the CBO parameters",
        )?;
        let objective: Objective = m
            .objective
            .as_deref()
            .ok_or_else(|| {
                Error::invalid(
                    "model.objective",
                    "missing",
                    "\"sphere\", \"rastrigin\", \"ackley\" or an expression in sum_i(...)",
                )
            })?
            .parse()?;
        let dim = m
            .dim
            .ok_or_else(|| Error::invalid("model.dim", "missing", "the coordinates"))?;
        let mut spec = CboSpec::new(objective, dim);
        let anisotropic = match &m.noise {
            None => true,
            Some(NoiseConfig::Kind(k)) if k == "anisotropic" => true,
            Some(NoiseConfig::Kind(k)) if k == "isotropic" => false,
            Some(other) => {
                return Err(Error::invalid(
                    "model.noise",
                    format!("{other:?}"),
                    "\"anisotropic\" or \"isotropic\"",
                ))
            }
        };
        let saves = self.even_saves()?;
        let dt = self.dt()?;
        let steps = (self.solver.t_end / dt).round();
        if !(steps >= 1.0 && steps <= f64::from(u32::MAX / 2)) {
            return Err(Error::invalid(
                "solver.t_end",
                self.solver.t_end,
                "t_end / dt is the number of steps: at least 1, at most 2^31",
            ));
        }
        spec.particles = m.particles.unwrap_or(spec.particles);
        spec.lambda = m.lambda.unwrap_or(spec.lambda);
        spec.sigma = m.sigma.unwrap_or(spec.sigma);
        spec.alpha = m.alpha.unwrap_or(spec.alpha);
        spec.alpha_growth = m.alpha_growth.unwrap_or(spec.alpha_growth);
        spec.alpha_max = m.alpha_max.unwrap_or(spec.alpha_max);
        spec.shift = m.shift.unwrap_or(spec.shift);
        spec.energy_tol = m.energy_tol;
        spec.diff_tol = m.diff_tol;
        spec.init = m.init_box.map_or(spec.init, |[lo, hi]| (lo, hi));
        spec.anisotropic = anisotropic;
        spec.dt = dt;
        spec.steps = steps as u32;
        spec.replicas = self.replicas()?;
        spec.seed = self.ensemble.seed;
        spec.saves = saves;
        Ok(spec)
    }
}

impl Config {
    /// The Vicsek run of a `kind = "vicsek"` config, and the densities of a density sweep
    /// (one run each; empty without one). A sweep of `eta` spreads over the replicas.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field.
    pub fn to_vicsek(&self) -> Result<(VicsekSpec, Vec<f64>)> {
        let m = &self.model;
        if self.kind != "vicsek" {
            return Err(Error::invalid("kind", &self.kind, "expected \"vicsek\""));
        }
        let given = [
            ("model.state", !m.state.is_empty()),
            ("model.drift", !m.drift.is_empty()),
            ("model.species", !m.species.is_empty()),
            ("model.system", m.system.is_some()),
            ("model.params", !m.params.is_empty()),
            ("model.oscillators", m.oscillators.is_some()),
            ("model.objective", m.objective.is_some()),
            ("model.box", m.init_box.is_some()),
        ];
        refuse_given(
            &given,
            "a vicsek model is given by particles, density, radius, speed and noise (eta)",
        )?;
        self.refuse_chain_keys("a vicsek model")?;
        let particles = m
            .particles
            .ok_or_else(|| Error::invalid("model.particles", "missing", "particles per replica"))?;
        let density = m
            .density
            .ok_or_else(|| Error::invalid("model.density", "missing", "particles per unit area"))?;
        if !(density.is_finite() && density > 0.0) {
            return Err(Error::invalid("model.density", density, "must be positive"));
        }
        let mut spec = VicsekSpec::new(particles);
        spec.box_len = (f64::from(particles) / density).sqrt();
        spec.radius = m.radius.unwrap_or(spec.radius);
        spec.speed = m.speed.unwrap_or(spec.speed);
        spec.noise = self.noise_strength()?;
        spec.dt = self.solver.dt.unwrap_or(1.0);
        let steps = (self.solver.t_end / spec.dt).round();
        if !(steps >= 1.0 && steps <= f64::from(u32::MAX / 2)) {
            return Err(Error::invalid(
                "solver.t_end",
                self.solver.t_end,
                "t_end / dt is the number of steps: at least 1, at most 2^31",
            ));
        }
        spec.steps = steps as u32;
        spec.saves = self.even_saves()?;
        spec.replicas = self.replicas()?;
        spec.seed = self.ensemble.seed;
        spec.average_from = self
            .output
            .time_average
            .as_ref()
            .map_or(spec.steps / 2, |a| {
                (a.from / spec.dt).round().clamp(0.0, f64::from(u32::MAX)) as u32
            });
        let mut densities = Vec::new();
        for (param, s) in &self.ensemble.sweep {
            match param.as_str() {
                "eta" => {
                    spec.sweeps
                        .push(s.to_sweep(param, true, self.ensemble.trajectories)?);
                }
                "density" => densities = s.to_sweep(param, false, 1)?.values.to_vec(),
                other => {
                    return Err(Error::invalid(
                        format!("ensemble.sweep.{other}"),
                        "given",
                        "a vicsek run sweeps eta (across replicas) and density (one run each)",
                    ))
                }
            }
        }
        Ok((spec, densities))
    }
}

/// Refuses the first key of `given` that is set, saying `why`.
fn refuse_given(given: &[(&str, bool)], why: &str) -> Result<()> {
    match given.iter().find(|(_, g)| *g) {
        Some((key, _)) => Err(Error::invalid(*key, "given", why)),
        None => Ok(()),
    }
}
