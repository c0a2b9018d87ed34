//! `--max-memory`: a bound on the host memory of an ensemble run. Batches (the CPU twin's
//! states, the GPU backend's staging) are sized to half of it; what a run keeps for every
//! trajectory until the end (final states, first-passage times) must fit in the other half,
//! or the run is refused before it starts.

use langevin::{EnsembleSpec, Error};

/// Bytes from `512M`, `8G`, `1.5T` (powers of 1024) or a plain number of bytes.
pub fn parse_size(text: &str) -> Result<u64, Error> {
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
        _ => {
            return Err(Error::invalid(
                "--max-memory",
                text,
                "a size such as 512M, 8G or 1T",
            ))
        }
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| Error::invalid("--max-memory", text, "a size such as 512M, 8G or 1T"))?;
    let bytes = value * scale as f64;
    if !(bytes.is_finite() && bytes >= 1.0 * (1u64 << 20) as f64) {
        return Err(Error::invalid("--max-memory", text, "at least 1M"));
    }
    Ok(bytes as u64)
}

/// Bytes the run keeps per trajectory until its end: final states (in f32, and in f64 beside
/// them for f64 runs) and first-passage times.
fn kept_per_trajectory(spec: &EnsembleSpec) -> u64 {
    let dim = spec.model.dim() as u64;
    let wide = spec.scheme.is_adaptive() && spec.adaptive.precision == langevin::Precision::F64;
    let per_component = 4 + 8 * u64::from(wide);
    per_component * dim * u64::from(spec.final_states) + 4 * u64::from(spec.first_passage.is_some())
}

/// Bounds `spec`'s batches by half of `limit` and refuses a run whose kept outputs need more
/// than the other half.
pub fn apply(spec: &mut EnsembleSpec, limit: u64) -> Result<(), Error> {
    let kept = kept_per_trajectory(spec) * spec.trajectories;
    if kept > limit / 2 {
        return Err(Error::Limit(format!(
            "--max-memory {limit} bytes: the run keeps {kept} bytes of final states and \
             first-passage times for its {} trajectories, more than half the limit; raise \
             the limit, run fewer trajectories per run (--shard), or turn off \
             output.final_state / the first passage",
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
