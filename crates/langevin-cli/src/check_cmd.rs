//! `langevin check`: validates a config of any kind without running it, and prints what would
//! run: the generated WGSL of an ensemble's kernel (on stdout), then on stderr the kind, the
//! kernels, the plan (units, steps, save times) and the memory the run needs.

use anyhow::Result;
use langevin::config::Config;
use langevin::kind::Kind;
use std::path::Path;

/// Validates `cfg` (read from `path`) and prints its kernel and plan.
pub fn run(path: &Path, cfg: &Config) -> Result<()> {
    let kind = Kind::named(&cfg.kind)?;
    let plan = (crate::kinds::commands(kind.name).check)(cfg)?;
    eprintln!(
        "{}: valid kind = \"{}\" ({}); {plan}",
        path.display(),
        kind.name,
        kind.about
    );
    Ok(())
}
