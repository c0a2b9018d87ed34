//! `langevin run CONFIG --shard I/N` and `langevin merge DIR...`: one ensemble split over a
//! cluster's processes, each writing `partial.json` (the config text and overrides it ran,
//! and [`langevin::shard::Partial`]), merged into the folder one whole run would write.

use crate::files;
use crate::outputs;
use anyhow::{Context, Result};
use langevin::config::Config;
use langevin::shard::{self, Partial, Shard};
use langevin::{Engine, EnsembleSpec};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file a shard writes.
pub const PARTIAL_FILE: &str = "partial.json";

/// What `partial.json` holds: the config as run, and the statistics.
#[derive(Serialize, Deserialize)]
pub struct ShardFile {
    /// The config file's text.
    pub config_text: String,
    /// Where it was read from (for messages).
    pub config_origin: String,
    /// The `--set` overrides (with `--trajectories` and `--seed`), in order.
    pub overrides: Vec<(String, String)>,
    /// The shard, `I/N`.
    pub shard: String,
    /// Where it ran: the adapter, and `Gpu` or `Cpu`.
    pub adapter: String,
    /// `Gpu` or `Cpu`.
    pub backend: String,
    /// The adapter's graphics API (`Vulkan`, `Metal`; `cpu` for the CPU twin).
    #[serde(default)]
    pub api: String,
    /// The adapter's driver.
    #[serde(default)]
    pub driver: String,
    /// The invocation that ran the shard.
    #[serde(default)]
    pub invocation: crate::provenance::Invocation,
    /// The statistics.
    pub partial: Partial,
}

/// FNV-1a over the config text and the overrides: what makes two shards parts of one run.
pub fn fingerprint(text: &str, overrides: &[(String, String)]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    eat(text.as_bytes());
    for (k, v) in overrides {
        eat(k.as_bytes());
        eat(v.as_bytes());
    }
    format!("{h:016x}")
}

/// Runs part `shard` of `spec` (the trajectories `[I T / N, (I + 1) T / N)` with their global
/// indices) and writes `dir/partial.json`.
#[allow(clippy::too_many_arguments)]
pub fn run(
    engine: &Engine,
    spec: &EnsembleSpec,
    shard: Shard,
    text: &str,
    origin: &str,
    overrides: &[(String, String)],
    dir: &Path,
    progress: &mut dyn FnMut(langevin::Progress),
) -> Result<langevin::EnsembleResult> {
    shard::check_spec(spec)?;
    let total = spec.trajectories;
    let (first, count) = shard.range(total)?;
    let part = spec.clone().first_trajectory(first).trajectories(count);
    let result = engine.run_with_progress(&part, progress)?;
    let file = ShardFile {
        config_text: text.to_string(),
        config_origin: origin.to_string(),
        overrides: overrides.to_vec(),
        shard: format!("{}/{}", shard.index, shard.count),
        adapter: result.device.name.clone(),
        backend: format!("{:?}", result.device.kind),
        api: result.device.api.clone(),
        driver: result.device.driver.clone(),
        invocation: crate::provenance::origin(),
        partial: Partial::of(&result, &fingerprint(text, overrides), first, total)?,
    };
    files::write_atomic(
        &dir.join(PARTIAL_FILE),
        serde_json::to_string(&file)?.as_bytes(),
    )?;
    Ok(result)
}

/// Reads `path` (a shard's folder or its `partial.json`).
fn read(path: &Path) -> Result<ShardFile> {
    let file = if path.is_dir() {
        path.join(PARTIAL_FILE)
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read the shard {}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        langevin::Error::invalid(
            "merge",
            file.display(),
            format!("not a partial result of this engine version: {e}"),
        )
        .into()
    })
}

/// Merges the shards in `paths` into `out` (default `runs/<name>`), written as one run of
/// the covered trajectories would be; returns the folder and the result. Shards that leave
/// trajectories of the run out are refused unless `partial`, and then the summary says
/// `"partial": true` and lists the missing ranges. The summary names the adapters, APIs and
/// drivers the shards ran on, and each shard's command line and start.
///
/// # Errors
/// [`langevin::Error::InvalidInput`] naming `merge` for shards that are not parts of one run,
/// or that miss trajectories without `partial`.
pub fn merge(
    paths: &[PathBuf],
    out: Option<PathBuf>,
    rules: outputs::Rules,
    partial: bool,
) -> Result<(PathBuf, Config, langevin::EnsembleResult)> {
    let files = paths.iter().map(|p| read(p)).collect::<Result<Vec<_>>>()?;
    let head = files
        .first()
        .ok_or_else(|| langevin::Error::invalid("merge", "no folders", "at least one shard"))?;
    let config = Config::from_toml(&head.config_origin, &head.config_text, &head.overrides)?;
    let spec = config.to_spec()?;
    let parts: Vec<Partial> = files.iter().map(|f| f.partial.clone()).collect();
    let missing = shard::gaps(&parts);
    let covered: u64 = parts.iter().map(|p| p.count).sum();
    let distinct = |f: &dyn Fn(&ShardFile) -> &str| {
        let mut v: Vec<&str> = files.iter().map(f).filter(|s| !s.is_empty()).collect();
        v.sort_unstable();
        v.dedup();
        v.join(", ")
    };
    let mut device = langevin::DeviceInfo::cpu();
    device.name = format!(
        "{} shards on {}",
        parts.len(),
        distinct(&|f: &ShardFile| f.adapter.as_str())
    );
    device.api = distinct(&|f: &ShardFile| f.api.as_str());
    device.driver = distinct(&|f: &ShardFile| f.driver.as_str());
    if files.iter().all(|f| f.backend == "Gpu") {
        device.kind = langevin::BackendKind::Gpu;
    }
    device.device_type = if files.iter().all(|f| f.backend == "Cpu") {
        "Cpu".into()
    } else {
        "shards".into()
    };
    crate::provenance::set_extra(
        "shards",
        serde_json::Value::Array(
            files
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "shard": f.shard,
                        "trajectories": [f.partial.first, f.partial.first + f.partial.count],
                        "adapter": f.adapter,
                        "backend": f.backend.to_lowercase(),
                        "api": f.api,
                        "driver": f.driver,
                        "command": f.invocation.command,
                        "started": f.invocation.started,
                    })
                })
                .collect(),
        ),
    );
    if !missing.is_empty() {
        crate::provenance::set_extra("missing", serde_json::json!(missing));
    }
    let total = head.partial.total;
    // Shards that are not parts of one run, or overlap, are refused first (by the merge).
    let result = shard::merge(parts, device)?;
    if !missing.is_empty() && !partial {
        let ranges: Vec<String> = missing.iter().map(|(a, b)| format!("{a}..{b}")).collect();
        return Err(langevin::Error::invalid(
            "merge",
            format!("trajectories {}", ranges.join(", ")),
            format!(
                "missing: the shards given cover {covered} of the run's {} trajectories; merge \
                 every shard, or pass --partial to write what they cover, marked partial",
                total
            ),
        )
        .into());
    }
    let folder = outputs::run_dir(&config.name, out, rules)?;
    outputs::write_all(folder.staging(), &config, &spec, &result)
        .and_then(|_| {
            if missing.is_empty() {
                Ok(())
            } else {
                outputs::mark_partial(folder.staging(), result.trajectories)
            }
        })
        .map_err(|e| {
            e.context(format!(
                "cannot write the merged results: nothing was written to {}",
                folder.dir().display()
            ))
        })?;
    let dir = folder.commit()?;
    Ok((dir, config, result))
}
