//! `--max-memory`: a bound on the host memory of an ensemble run, by default the machine's
//! memory. Batches (the CPU twin's states, the GPU backend's staging) are sized to half of
//! it; what a run keeps for every trajectory until the end (final states, first-passage
//! times) must fit in the other half, or the run is refused before it starts.
//! `--max-output`: a bound on the bytes of those arrays a run writes (its final states, and
//! as many again in a checkpoint), by default the output disk's free space.

use langevin::{EnsembleSpec, Error};

/// Bytes from `512M`, `8G`, `1.5T` (powers of 1024) or a plain number of bytes.
pub fn parse_size(text: &str) -> Result<u64, Error> {
    parse_size_of("--max-memory", text)
}

/// [`parse_size`] for the flag `flag`.
fn parse_size_of(flag: &str, text: &str) -> Result<u64, Error> {
    let t = text.trim();
    let (number, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let scale: u64 = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return Err(Error::invalid(flag, text, "a size such as 512M, 8G or 1T")),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| Error::invalid(flag, text, "a size such as 512M, 8G or 1T"))?;
    let bytes = value * scale as f64;
    if !(bytes.is_finite() && bytes >= 1.0 * (1u64 << 20) as f64) {
        return Err(Error::invalid(flag, text, "at least 1M"));
    }
    Ok(bytes as u64)
}

/// Bytes the run keeps per trajectory until its end (`written`: false) or writes (true): final
/// states (in f32, and in f64 beside them for f64 runs; kept also when the host bins
/// histograms from them) and first-passage times.
fn kept_per_trajectory(spec: &EnsembleSpec, written: bool) -> u64 {
    let dim = spec.model.dim() as u64;
    let wide = spec.scheme.is_adaptive() && spec.adaptive.precision == langevin::Precision::F64;
    let per_component = 4 + 8 * u64::from(wide);
    let finals = if written {
        spec.final_states
    } else {
        spec.reads_final_states()
    };
    per_component * dim * u64::from(finals) + 4 * u64::from(spec.first_passage.is_some())
}

/// Bytes of snapshots the run keeps until its end (every trajectory's states at the save
/// times for quantiles, or the paths of the first ones), and of the paths alone (which are
/// written).
fn snapshot_bytes(spec: &EnsembleSpec) -> (u64, u64) {
    // Resolving reads every expression and sweep again: only for runs that take snapshots.
    if spec.paths.is_none() && spec.quantiles.is_empty() {
        return (0, 0);
    }
    let Ok(run) = spec.resolve() else {
        return (0, 0);
    };
    let Some(s) = run.snapshots.as_ref() else {
        return (0, 0);
    };
    let wide = spec.scheme.is_adaptive() && spec.adaptive.precision == langevin::Precision::F64;
    let per_value = 4 + 8 * u64::from(wide);
    let dim = run.dim as u64;
    let kept = s
        .trajectories
        .saturating_mul(s.steps.len() as u64)
        .saturating_mul(dim * per_value);
    let paths = s
        .path_trajectories
        .saturating_mul(s.path_slots.len() as u64)
        .saturating_mul(dim * per_value);
    (kept, paths)
}

/// The machine's physical memory (`MemTotal` of `/proc/meminfo`); `None` where unknown.
fn machine_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Bounds `spec` by `--max-memory` as given, else by the machine's memory (where known).
///
/// # Errors
/// As [`apply`], or for a malformed size.
pub fn bound(spec: &mut EnsembleSpec, given: Option<&str>) -> Result<(), Error> {
    match given {
        Some(text) => apply(spec, parse_size(text)?, "--max-memory"),
        None => match machine_memory() {
            Some(limit) => apply(spec, limit, "--max-memory (default: this machine's memory)"),
            None => Ok(()),
        },
    }
}

/// Bounds `spec`'s batches by half of `limit` and refuses a run whose kept outputs need more
/// than the other half; `what` names the limit in the refusal.
pub fn apply(spec: &mut EnsembleSpec, limit: u64, what: &str) -> Result<(), Error> {
    let kept = kept_per_trajectory(spec, false)
        .saturating_mul(spec.trajectories)
        .saturating_add(snapshot_bytes(spec).0);
    if kept > limit / 2 {
        return Err(Error::Limit(format!(
            "{what} {limit} bytes: the run keeps {kept} bytes of final states, \
             first-passage times, paths and the states quantiles are taken from for its {} \
             trajectories, more than half the limit; raise the limit with --max-memory, run \
             fewer trajectories per run (--shard), or turn off output.final_state / the first \
             passage / output.paths / output.quantiles",
            spec.trajectories
        )));
    }
    let batch = limit / 2;
    spec.chunking.max_batch_bytes = Some(
        spec.chunking
            .max_batch_bytes
            .map_or(batch, |b| b.min(batch)),
    );
    Ok(())
}

/// Free bytes on the file system of `dir` (`statvfs`); `None` where unknown.
fn free_space(dir: &std::path::Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: `path` is a NUL-terminated string and `stat` a zeroed struct statvfs fills.
        unsafe {
            let mut stat: libc::statvfs = std::mem::zeroed();
            if libc::statvfs(path.as_ptr(), &mut stat) != 0 {
                return None;
            }
            #[allow(clippy::unnecessary_cast)]
            Some((stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64))
        }
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Refuses a run whose per-trajectory files (final states; twice that when it writes
/// checkpoints, which hold them too) need more than `--max-output`, by default the free
/// space of the disk `dir` is on.
///
/// # Errors
/// [`Error::Limit`] with the numbers, or a malformed size.
pub fn check_output(
    spec: &EnsembleSpec,
    dir: &std::path::Path,
    given: Option<&str>,
    checkpointed: bool,
) -> Result<(), Error> {
    let (limit, what) = match given {
        Some(text) => (
            parse_size_of("--max-output", text)?,
            "--max-output".to_string(),
        ),
        None => match free_space(dir) {
            Some(free) => (
                free,
                format!(
                    "--max-output (default: the free space on {})",
                    dir.display()
                ),
            ),
            None => return Ok(()),
        },
    };
    let per = kept_per_trajectory(spec, true).saturating_mul(1 + u64::from(checkpointed));
    let bytes = per
        .saturating_mul(spec.trajectories)
        .saturating_add(snapshot_bytes(spec).1);
    if bytes > limit {
        return Err(Error::Limit(format!(
            "{what} {limit} bytes: the run writes {bytes} bytes of final states and paths{} for \
             its {} trajectories; raise the limit with --max-output, write elsewhere (--out), \
             run fewer trajectories per run (--shard), or turn off output.final_state / \
             output.paths",
            if checkpointed {
                " (and its checkpoints as many)"
            } else {
                ""
            },
            spec.trajectories
        )));
    }
    Ok(())
}

/// Bytes in KiB, MiB, GiB or TiB.
pub fn bytes(n: u64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_powers_of_1024() {
        assert_eq!(parse_size("512M").unwrap(), 512 << 20);
        assert_eq!(parse_size("8G").unwrap(), 8 << 30);
        assert_eq!(parse_size("8GiB").unwrap(), 8 << 30);
        assert_eq!(parse_size("1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_size("2097152").unwrap(), 2 << 20);
        for bad in ["", "G", "8X", "-1G", "1K", "nanG"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
