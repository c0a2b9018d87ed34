//! Configs of `kind = "field"` runs to a [`FieldSpec`]:
//!
//! ```toml
//! kind = "field"
//! [grid]
//! points = [512]                     # or [nx, ny] for 2-D; powers of two
//! length = [60.0]
//! [model]
//! equation = "klein-gordon"          # or "model-a" (with kT), or "kpz" (nu, lambda, noise)
//! potential = "1 - cos(phi)"         # V(phi); V' by symbolic differentiation
//! profile = { name = "breather", omega = 0.5 }   # or init = ["..."], init_momentum = ["..."]
//!                                    # or { name = "thermal", temperature = 0.5 }
//! [solver]
//! t_end = 25.0                       # dt = safety * 2 / omega_max unless given
//! precision = "f64"                  # optional: f64 stepping and FFTs (SHADER_F64 on a GPU)
//! [ensemble]
//! trajectories = 1                   # fields in the batch
//! ```

use super::{profiles, FieldEquation, FieldSpec, Potential};
use crate::config::{Config, SaveTimes};
use crate::error::{Error, Result};

impl Config {
    /// The field run of a `kind = "field"` config.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] or [`Error::Expression`] naming the field.
    pub fn to_field(&self) -> Result<FieldSpec> {
        let m = &self.model;
        if self.kind != "field" {
            return Err(Error::invalid("kind", &self.kind, "expected \"field\""));
        }
        let grid = self
            .grid
            .as_ref()
            .ok_or_else(|| Error::invalid("grid", "missing", "points and length per axis"))?;
        let points: [u32; 2] = match grid.points.as_slice() {
            [n] => [*n, 1],
            [nx, ny] => [*nx, *ny],
            _ => {
                return Err(Error::invalid(
                    "grid.points",
                    format!("{:?}", grid.points),
                    "one entry (1-D) or two (2-D)",
                ))
            }
        };
        let length = match grid.length.as_slice() {
            [l] => [*l, *l],
            [lx, ly] if points[1] > 1 => [*lx, *ly],
            _ => {
                return Err(Error::invalid(
                    "grid.length",
                    format!("{:?}", grid.length),
                    "one side for every axis, or one per axis",
                ))
            }
        };
        let equation = match m.equation.as_deref() {
            None | Some("klein-gordon") => FieldEquation::KleinGordon,
            Some("kpz") => FieldEquation::Kpz {
                nu: m.nu.unwrap_or(1.0),
                lambda: m.lambda.unwrap_or(0.0),
                noise: match &m.noise {
                    Some(crate::config::NoiseConfig::Amplitude(d)) => *d,
                    None => 1.0,
                    Some(other) => {
                        return Err(Error::invalid(
                            "model.noise",
                            format!("{other:?}"),
                            "KPZ's noise strength D, a number",
                        ))
                    }
                },
            },
            Some("model-a") => FieldEquation::ModelA {
                temperature: m.kt.ok_or_else(|| {
                    Error::invalid("model.kT", "missing", "model A needs the temperature")
                })?,
            },
            Some(other) => {
                return Err(Error::invalid(
                    "model.equation",
                    other,
                    "\"klein-gordon\", \"model-a\" or \"kpz\"",
                ))
            }
        };
        let profile = m.profile.as_ref();
        let default_potential = match profile.map(|p| p.name.as_str()) {
            Some("breather") => Some(profiles::SINE_GORDON),
            Some("kink_antikink" | "kink") => Some(profiles::PHI4),
            _ => None,
        };
        let kpz = matches!(equation, FieldEquation::Kpz { .. });
        let text = m
            .potential
            .as_deref()
            .or(default_potential)
            .or(kpz.then_some("0"))
            .ok_or_else(|| {
                Error::invalid("model.potential", "missing", "V(phi), e.g. \"phi^2 / 2\"")
            })?;
        let params: Vec<(&str, f64)> = m.params.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let potential = Potential::new(text, &params)?;
        let mut spec = FieldSpec::new(points[0], length[0], potential);
        spec.points = points;
        spec.length = length;
        spec.equation = equation;
        let need = |key: &str, v: Option<f64>| {
            v.ok_or_else(|| {
                Error::invalid(
                    format!("model.profile.{key}"),
                    "missing",
                    "this profile needs it",
                )
            })
        };
        (spec.init_phi, spec.init_pi) =
            match profile {
                Some(p) => match p.name.as_str() {
                    "breather" => profiles::breather(need("omega", p.omega)?),
                    "kink" => profiles::kink(p.velocity.unwrap_or(0.0), p.position.unwrap_or(0.0)),
                    "kink_antikink" => profiles::kink_antikink(
                        need("velocity", p.velocity)?,
                        need("position", p.position)?,
                    ),
                    "gaussian" => {
                        profiles::gaussian_pulse(p.amplitude.unwrap_or(1.0), p.width.unwrap_or(1.0))
                    }
                    "thermal" => {
                        spec.thermal = Some(need("temperature", p.temperature)?);
                        ("0".into(), "0".into())
                    }
                    other => return Err(Error::invalid(
                        "model.profile.name",
                        other,
                        "\"gaussian\", \"breather\", \"kink\", \"kink_antikink\" or \"thermal\"",
                    )),
                },
                None => (
                    m.init.first().cloned().unwrap_or_else(|| "0".into()),
                    m.init_momentum
                        .first()
                        .cloned()
                        .unwrap_or_else(|| "0".into()),
                ),
            };
        spec.antiperiodic = match grid.boundary.as_deref() {
            None | Some("periodic") => false,
            Some("antiperiodic") => true,
            Some(other) => {
                return Err(Error::invalid(
                    "grid.boundary",
                    other,
                    "\"periodic\" or \"antiperiodic\"",
                ))
            }
        };
        spec.fields = u32::try_from(self.ensemble.trajectories).map_err(|_| {
            Error::invalid(
                "ensemble.trajectories",
                self.ensemble.trajectories,
                "the fields, at most 2^32 - 1",
            )
        })?;
        spec.seed = self.ensemble.seed;
        spec.dt = self.solver.dt;
        spec.safety = self.solver.safety.unwrap_or(spec.safety);
        if let Some(p) = &self.solver.precision {
            spec.precision = crate::real::Precision::parse("solver.precision", p)?;
        }
        spec.t_end = self.solver.t_end;
        spec.saves = match &self.output.save_times {
            SaveTimes::Count(n) => *n,
            SaveTimes::List(_) => {
                return Err(Error::invalid(
                    "output.save_times",
                    "a list",
                    "field runs save at evenly spaced times: give their number",
                ))
            }
        };
        spec.average_from = self
            .output
            .time_average
            .as_ref()
            .map_or(self.solver.t_end / 2.0, |a| a.from);
        Ok(spec)
    }
}
