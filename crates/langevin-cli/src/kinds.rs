//! What the executable does for each kind, in one table beside the library's
//! ([`langevin::kind::KINDS`]): how `run` runs it into a folder, and what `check` says of it.
//! A kind of the ensemble family runs through the ensemble path of `main.rs` (shards,
//! checkpoints, memory bounds); the others through their own module's `run`.

use crate::outputs::Rules;
use anyhow::Result;
use langevin::config::Config;
use langevin::BackendChoice;
use std::path::PathBuf;

/// Runs a config into `out` (default `runs/<name>`) under the folder rules; `quiet` silences
/// progress and warnings.
pub type RunFn = fn(&Config, Option<BackendChoice>, Option<PathBuf>, Rules, bool) -> Result<()>;

/// Validates a config and describes what would run: kernels, plan, memory.
pub type CheckFn = fn(&Config) -> Result<String>;

/// The commands of one kind.
pub struct Commands {
    /// The kind's name, as in [`langevin::kind::KINDS`].
    pub kind: &'static str,
    /// Its own run, or `None` for the ensemble path.
    pub run: Option<RunFn>,
    /// What `langevin check` prints of it.
    pub check: CheckFn,
}

/// Every kind, in the order of [`langevin::kind::KINDS`].
pub const COMMANDS: &[Commands] = &[
    ensemble("sde"),
    ensemble("ode"),
    ensemble("langevin"),
    ensemble("reactions"),
    ensemble("jump"),
    Commands {
        kind: "kuramoto",
        run: Some(crate::kuramoto_outputs::run),
        check: crate::kuramoto_outputs::check,
    },
    Commands {
        kind: "chain",
        run: Some(crate::chain_outputs::run),
        check: crate::chain_outputs::check,
    },
    Commands {
        kind: "cbo",
        run: Some(crate::cbo_outputs::run),
        check: crate::cbo_outputs::check,
    },
    Commands {
        kind: "vicsek",
        run: Some(crate::vicsek_outputs::run),
        check: crate::vicsek_outputs::check,
    },
    Commands {
        kind: "field",
        run: Some(crate::field_outputs::run),
        check: crate::field_outputs::check,
    },
];

const fn ensemble(kind: &'static str) -> Commands {
    Commands {
        kind,
        run: None,
        check: crate::outputs::check,
    }
}

/// The commands of `kind`, a name that [`langevin::kind::Kind::named`] has accepted.
pub fn commands(kind: &str) -> &'static Commands {
    COMMANDS
        .iter()
        .find(|c| c.kind == kind)
        .unwrap_or_else(|| panic!("kind `{kind}` is in langevin::kind::KINDS but not in COMMANDS"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use langevin::kind::{Family, KINDS};

    /// The two tables name the same kinds in the same order, and exactly the ensemble family
    /// takes the ensemble path.
    #[test]
    fn every_kind_of_the_library_has_its_commands() {
        let ours: Vec<&str> = COMMANDS.iter().map(|c| c.kind).collect();
        let library: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        assert_eq!(ours, library);
        for (c, k) in COMMANDS.iter().zip(KINDS) {
            assert_eq!(c.run.is_none(), k.family == Family::Ensemble, "{}", k.name);
        }
    }
}
