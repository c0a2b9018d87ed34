//! The kinds of run a config describes, in one table: what each reads from a config, and which
//! of the run options (shards, checkpoints, a memory bound, several devices) it supports.
//!
//! A config is read as `kind` first; then every key of its `[model]`, `[solver]`, `[output]`
//! and `[grid]` sections must be one that kind reads. A key that another kind reads is refused
//! with the kinds that accept it, so a key is never silently ignored. Adding a kind adds one
//! entry to [`KINDS`].

use crate::error::{Error, Result};

/// How a kind's runs are driven, which decides the options they support.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Independent trajectories folded into statistics: `sde`, `ode`, `langevin`,
    /// `reactions`, `jump`. These split into shards, checkpoint in pieces, run on several
    /// devices and take a memory bound.
    Ensemble,
    /// One replica per workgroup, interacting within it: `kuramoto`, `chain`, `cbo`.
    Replicas,
    /// Vicsek flocks: a pipeline of dispatches over particles and cells each step.
    Flock,
    /// Pseudo-spectral fields on a grid.
    Field,
}

/// A run option that only some kinds support.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOption {
    /// `--shard I/N` and `langevin merge`.
    Shard,
    /// `--checkpoint-every`, `--checkpoint-piece` and `--resume`.
    Checkpoint,
    /// `--max-memory`.
    MaxMemory,
    /// `--devices`.
    Devices,
}

impl RunOption {
    /// The option as written on the command line.
    pub fn flag(self) -> &'static str {
        match self {
            RunOption::Shard => "--shard",
            RunOption::Checkpoint => "--checkpoint-every",
            RunOption::MaxMemory => "--max-memory",
            RunOption::Devices => "--devices",
        }
    }
}

/// One kind of run: its name, what it is, and the keys it reads.
#[derive(Debug)]
pub struct Kind {
    /// The value of `kind` in a config.
    pub name: &'static str,
    /// One line on what it runs.
    pub about: &'static str,
    /// How its runs are driven.
    pub family: Family,
    /// The keys of `[model]` it reads.
    pub model: &'static [&'static str],
    /// The keys of `[solver]` it reads.
    pub solver: &'static [&'static str],
    /// The keys of `[output]` it reads.
    pub output: &'static [&'static str],
    /// The keys of `[grid]` it reads (none: the section is refused).
    pub grid: &'static [&'static str],
}

/// The keys of `[ensemble]`, read by every kind (`trajectories` counts replicas or fields
/// where a kind has no independent trajectories; each kind checks which parameters it sweeps).
pub const ENSEMBLE_KEYS: &[&str] = &["trajectories", "seed", "sweep"];

/// The top-level keys of a config besides the sections.
pub const TOP_KEYS: &[&str] = &[
    "name", "kind", "model", "solver", "ensemble", "output", "grid",
];

const EXPR_MODEL: &[&str] = &[
    "system",
    "noise",
    "state",
    "params",
    "drift",
    "diffusion",
    "init",
];
const ENSEMBLE_SOLVER: &[&str] = &[
    "scheme",
    "dt",
    "t_end",
    "t0",
    "rtol",
    "atol",
    "max_steps",
    "max_dt",
    "brownian_tol",
    "precision",
];
const ENSEMBLE_OUTPUT: &[&str] = &[
    "save_times",
    "histogram",
    "first_passage",
    "event",
    "final_state",
    "plots",
    "displacement",
    "time_average",
    "observables",
    "covariance",
    "quantiles",
    "paths",
    "histograms",
    "histogram2d",
];
const JUMP_OUTPUT: &[&str] = &[
    "save_times",
    "histogram",
    "first_passage",
    "event",
    "final_state",
    "plots",
    "displacement",
    "time_average",
    "observables",
    "covariance",
    "quantiles",
    "paths",
    "histograms",
    "histogram2d",
    "closures",
    "cme",
    "distributions",
    "events",
];
const REPLICA_SOLVER: &[&str] = &["dt", "t_end", "t0"];

/// Every kind, in the order `langevin check` and the docs list them.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "sde",
        about: "stochastic differential equations, diagonal or general noise, or a zoo system with additive noise",
        family: Family::Ensemble,
        model: EXPR_MODEL,
        solver: ENSEMBLE_SOLVER,
        output: ENSEMBLE_OUTPUT,
        grid: &[],
    },
    Kind {
        name: "ode",
        about: "ordinary differential equations (a drift and no noise), or a zoo system",
        family: Family::Ensemble,
        model: EXPR_MODEL,
        solver: ENSEMBLE_SOLVER,
        output: ENSEMBLE_OUTPUT,
        grid: &[],
    },
    Kind {
        name: "langevin",
        about: "underdamped Langevin dynamics from a potential",
        family: Family::Ensemble,
        model: &[
            "state",
            "params",
            "potential",
            "gamma",
            "kT",
            "mass",
            "init",
            "init_momentum",
        ],
        solver: ENSEMBLE_SOLVER,
        output: ENSEMBLE_OUTPUT,
        grid: &[],
    },
    Kind {
        name: "reactions",
        about: "reaction networks: exact paths (ssa), tau-leaping, or the chemical Langevin equation",
        family: Family::Ensemble,
        model: &["species", "params", "reactions"],
        solver: ENSEMBLE_SOLVER,
        output: JUMP_OUTPUT,
        grid: &[],
    },
    Kind {
        name: "jump",
        about: "Markov jump processes between named states, with counters",
        family: Family::Ensemble,
        model: &["state", "params", "init", "transitions", "counters"],
        solver: ENSEMBLE_SOLVER,
        output: JUMP_OUTPUT,
        grid: &[],
    },
    Kind {
        name: "kuramoto",
        about: "Kuramoto oscillators with phase noise, one replica per workgroup",
        family: Family::Replicas,
        model: &["oscillators", "coupling", "noise", "frequencies"],
        solver: REPLICA_SOLVER,
        output: &["save_times", "time_average", "plots"],
        grid: &[],
    },
    Kind {
        name: "chain",
        about: "lattice chains (Edwards-Wilkinson, KPZ, phase oscillators) with noise and quenched disorder",
        family: Family::Replicas,
        model: &["equation", "sites", "nu", "lambda", "noise", "disorder"],
        solver: REPLICA_SOLVER,
        output: &["save_times", "log_times", "fit", "plots"],
        grid: &[],
    },
    Kind {
        name: "cbo",
        about: "consensus-based optimisation of an objective",
        family: Family::Replicas,
        model: &[
            "objective",
            "dim",
            "particles",
            "lambda",
            "sigma",
            "alpha",
            "alpha_growth",
            "alpha_max",
            "noise",
            "shift",
            "box",
            "energy_tol",
            "diff_tol",
        ],
        solver: REPLICA_SOLVER,
        output: &["save_times", "plots"],
        grid: &[],
    },
    Kind {
        name: "vicsek",
        about: "Vicsek flocks on a cell list rebuilt every step",
        family: Family::Flock,
        model: &["particles", "density", "radius", "speed", "noise"],
        solver: REPLICA_SOLVER,
        output: &["save_times", "time_average", "plots"],
        grid: &[],
    },
    Kind {
        name: "field",
        about: "pseudo-spectral fields: Klein-Gordon, model A, KPZ",
        family: Family::Field,
        model: &[
            "equation",
            "potential",
            "params",
            "profile",
            "init",
            "init_momentum",
            "nu",
            "lambda",
            "noise",
            "kT",
        ],
        solver: &["dt", "t_end", "safety", "precision"],
        output: &["save_times", "time_average", "plots"],
        grid: &["points", "length", "boundary"],
    },
];

impl Kind {
    /// Whether `auto` runs this kind on the CPU twin rather than on a software GPU adapter (a
    /// Vulkan driver that runs on the CPU, such as lavapipe): chains, CBO and fields, whose
    /// kernels synchronise within a workgroup every step, which such a driver emulates slowly.
    /// Measured on one machine, software adapter against the twin: the examples
    /// `ew_finite_size` 47.3 s and 15.5 s, `kpz_chain` 2.16 s and 1.94 s, `cbo_rastrigin`
    /// 24.0 s and 14.6 s; `langevin bench --size small` kg and fft at 0.55 and 0.63 of the
    /// twin's rate. Kuramoto (bench: 2.0 times the twin's rate; its example even), Vicsek
    /// (even) and the ensembles (3 to 17 times) stay on the adapter.
    pub fn prefers_twin_on_software(&self) -> bool {
        matches!(self.name, "chain" | "cbo" | "field")
    }

    /// The kind named `name`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] on `kind`, listing the kinds, with the closest name.
    pub fn named(name: &str) -> Result<&'static Kind> {
        KINDS.iter().find(|k| k.name == name).ok_or_else(|| {
            let hint = crate::expr::parse::closest(name, KINDS.iter().map(|k| k.name))
                .map_or(String::new(), |s| format!("; did you mean \"{s}\"?"));
            Error::invalid(
                "kind",
                format!("\"{name}\""),
                format!(
                    "expected one of {}{hint}",
                    names(KINDS.iter().map(|k| k.name))
                ),
            )
        })
    }

    /// Whether its runs support `option`.
    pub fn supports(&self, option: RunOption) -> bool {
        // Each splits or bounds a run by ranges of independent trajectories.
        match option {
            RunOption::Shard
            | RunOption::Checkpoint
            | RunOption::MaxMemory
            | RunOption::Devices => self.family == Family::Ensemble,
        }
    }

    /// Refuses `option` on a kind that does not support it, naming the kinds that do.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the option.
    pub fn require(&self, option: RunOption) -> Result<()> {
        if self.supports(option) {
            return Ok(());
        }
        let which = KINDS.iter().filter(|k| k.supports(option)).map(|k| k.name);
        Err(Error::invalid(
            option.flag(),
            format!("kind = \"{}\"", self.name),
            format!("only kinds {} support it", names(which)),
        ))
    }

    /// The keys this kind reads in `section` (`model`, `solver`, `output`, `grid` or
    /// `ensemble`).
    pub fn keys(&self, section: &str) -> &'static [&'static str] {
        match section {
            "model" => self.model,
            "solver" => self.solver,
            "output" => self.output,
            "grid" => self.grid,
            "ensemble" => ENSEMBLE_KEYS,
            _ => &[],
        }
    }

    /// Checks the keys of a config's table against what this kind reads: a section this kind
    /// has no use for, or a key in a section that it does not read, is refused with the kinds
    /// that read it (or, for a key no kind reads, the closest key of this kind).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the key.
    pub fn check_keys(&self, table: &toml::Table) -> Result<()> {
        for (top, value) in table {
            if !TOP_KEYS.contains(&top.as_str()) {
                return Err(self.unknown(top, "", TOP_KEYS));
            }
            let Some(section) = value.as_table() else {
                continue;
            };
            if top == "grid" && self.grid.is_empty() {
                let readers = KINDS.iter().filter(|k| !k.grid.is_empty()).map(|k| k.name);
                return Err(Error::invalid(
                    "grid",
                    "given",
                    format!(
                        "kind = \"{}\" has no grid; only kind {} reads [grid]",
                        self.name,
                        names(readers)
                    ),
                ));
            }
            let own = self.keys(top);
            for key in section.keys() {
                if !own.contains(&key.as_str()) {
                    return Err(self.unknown(key, top, own));
                }
            }
        }
        Ok(())
    }

    /// The error for `section.key`, a key this kind does not read.
    fn unknown(&self, key: &str, section: &str, own: &[&str]) -> Error {
        let path = if section.is_empty() {
            key.to_string()
        } else {
            format!("{section}.{key}")
        };
        let readers: Vec<&str> = KINDS
            .iter()
            .filter(|k| k.keys(section).contains(&key))
            .map(|k| k.name)
            .collect();
        let what = if section == "model" { "model" } else { "run" };
        let reason = match readers.as_slice() {
            [] => {
                let hint = crate::expr::parse::closest(key, own.iter().copied())
                    .map_or(String::new(), |s| format!("; did you mean `{s}`?"));
                format!("unknown field `{key}` of kind = \"{}\"{hint}", self.name)
            }
            [one] => format!(
                "only a kind = \"{one}\" {what} reads it (this is kind = \"{}\")",
                self.name
            ),
            several => format!(
                "only kinds {} read it (this is kind = \"{}\")",
                names(several.iter().copied()),
                self.name
            ),
        };
        let listing = if own.is_empty() {
            String::new()
        } else if section.is_empty() {
            format!(" (top-level keys: {})", own.join(", "))
        } else {
            format!(
                " ([{section}] of kind = \"{}\": {})",
                self.name,
                own.join(", ")
            )
        };
        Error::invalid(path, "given", format!("{reason}{listing}"))
    }
}

/// `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
fn names<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = items.map(|n| format!("\"{n}\"")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_named_once_and_reads_its_sections() {
        for (i, k) in KINDS.iter().enumerate() {
            assert!(KINDS[..i].iter().all(|o| o.name != k.name), "{}", k.name);
            assert!(k.solver.contains(&"t_end"), "{}", k.name);
            assert!(k.output.contains(&"save_times"), "{}", k.name);
        }
    }

    #[test]
    fn a_key_of_another_kind_names_the_kinds_that_read_it() {
        let table: toml::Table = toml::from_str("[model]\nparticles = 64\n").unwrap();
        let err = Kind::named("sde").unwrap().check_keys(&table).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("model.particles"), "{text}");
        assert!(text.contains("only kinds \"cbo\" or \"vicsek\""), "{text}");
    }

    #[test]
    fn an_unknown_key_gets_the_closest_key_of_the_kind() {
        let table: toml::Table = toml::from_str("[model]\ncouplin = 2.0\n").unwrap();
        let err = Kind::named("kuramoto")
            .unwrap()
            .check_keys(&table)
            .unwrap_err();
        assert!(err.to_string().contains("did you mean `coupling`"), "{err}");
    }

    #[test]
    fn options_are_refused_by_the_kinds_that_lack_them() {
        let kuramoto = Kind::named("kuramoto").unwrap();
        let err = kuramoto.require(RunOption::Shard).unwrap_err().to_string();
        assert!(err.contains("--shard") && err.contains("\"sde\""), "{err}");
        assert!(Kind::named("sde")
            .unwrap()
            .require(RunOption::Shard)
            .is_ok());
        assert!(Kind::named("fluid").is_err());
    }
}
