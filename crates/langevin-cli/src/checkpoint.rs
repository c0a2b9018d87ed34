//! Checkpointed ensemble runs: the trajectories run in pieces of whole blocks, in order, each
//! piece's statistics folded onto those of the pieces before ([`langevin::shard::fold`]).
//! Every `--checkpoint-every` seconds, and when SIGINT or SIGTERM arrives, `checkpoint.json`
//! (the config as run, the next trajectory, the folded statistics) is written atomically, and
//! on a signal the results so far too, marked partial. `--resume DIR` continues from the
//! checkpoint. The pieces do not depend on timing or interruptions, so a resumed run folds the
//! same pieces in the same order and ends bit-identical to an uninterrupted one.

use crate::outputs;
use crate::shards::fingerprint;
use anyhow::{Context, Result};
use langevin::shard::{self, Partial};
use langevin::{Engine, EnsembleResult, EnsembleSpec, Progress};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The checkpoint file in a run's folder.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";

/// Trajectory-steps per piece unless `--checkpoint-piece` says: seconds on a software
/// adapter, well under a second on a discrete GPU.
const PIECE_WORK: u64 = 1 << 33;

/// What `checkpoint.json` holds.
#[derive(Serialize, Deserialize)]
pub struct Checkpoint {
    /// The config file's text.
    pub config_text: String,
    /// Where it was read from.
    pub config_origin: String,
    /// The overrides it ran with.
    pub overrides: Vec<(String, String)>,
    /// Trajectories per piece.
    pub piece: u64,
    /// The first trajectory not yet run.
    pub next: u64,
    /// The folded statistics of trajectories `[0, next)`.
    pub partial: Partial,
}

impl Checkpoint {
    /// Reads `dir/checkpoint.json`, refusing a corrupt file or one of another engine version.
    ///
    /// # Errors
    /// [`langevin::Error::InvalidInput`] naming `--resume`.
    pub fn read(dir: &Path) -> Result<Checkpoint> {
        let path = dir.join(CHECKPOINT_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            langevin::Error::invalid("--resume", path.display(), format!("no checkpoint: {e}"))
        })?;
        let c: Checkpoint = serde_json::from_str(&text).map_err(|e| {
            langevin::Error::invalid(
                "--resume",
                path.display(),
                format!("the checkpoint is corrupt ({e}); it was not used"),
            )
        })?;
        let here = env!("CARGO_PKG_VERSION");
        if c.partial.version != here || c.partial.format != shard::PARTIAL_FORMAT {
            return Err(langevin::Error::invalid(
                "--resume",
                path.display(),
                format!(
                    "written by version {} (format {}), this is {here}: resume it with that version",
                    c.partial.version, c.partial.format
                ),
            )
            .into());
        }
        if c.partial.fingerprint != fingerprint(&c.config_text, &c.overrides)
            || c.next != c.partial.first + c.partial.count
            || c.partial.first != 0
        {
            return Err(langevin::Error::invalid(
                "--resume",
                path.display(),
                "the checkpoint does not match its own config or range: it was not used",
            )
            .into());
        }
        Ok(c)
    }
}

/// Set by SIGINT or SIGTERM.
static STOP: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Routes SIGINT and SIGTERM to [`STOP`] (Unix; elsewhere Ctrl-C ends the process).
fn catch_signals() {
    #[cfg(unix)]
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// How a checkpointed run ended.
pub enum Outcome {
    /// All trajectories ran.
    Done(EnsembleResult),
    /// A signal stopped it; the checkpoint is written.
    Stopped {
        /// The results of the trajectories run.
        result: EnsembleResult,
    },
}

/// The source of a run: its config text, origin and overrides.
pub struct Source<'a> {
    /// The config file's text.
    pub text: &'a str,
    /// Where it came from.
    pub origin: &'a str,
    /// Its overrides.
    pub overrides: &'a [(String, String)],
}

/// Trajectories per piece: `requested` or about [`PIECE_WORK`] trajectory-steps, in whole
/// blocks.
pub fn piece_size(steps: u32, requested: Option<u64>) -> u64 {
    let block = u64::from(langevin::plan::BLOCK_SIZE);
    let raw = requested.unwrap_or(PIECE_WORK / u64::from(steps.max(1)));
    raw.div_ceil(block).max(1) * block
}

/// Runs `spec` piece by piece into `dir` from `resume` (or the start), writing checkpoints
/// every `every` and stopping at a signal. With several engines (`--devices`), each round
/// gives every engine a piece and folds them in order: identical adapters share the work
/// evenly; a slower one holds each round back.
#[allow(clippy::too_many_arguments)]
pub fn run(
    engines: &[Engine],
    spec: &EnsembleSpec,
    source: &Source<'_>,
    dir: &Path,
    piece: u64,
    every: Duration,
    resume: Option<Checkpoint>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Outcome> {
    catch_signals();
    let total = spec.trajectories;
    let print = fingerprint(source.text, source.overrides);
    let (mut next, mut acc) = match resume {
        Some(c) => (c.next, Some(c.partial)),
        None => (0, None),
    };
    let steps = spec.resolve()?.n_steps;
    let grand = total * u64::from(steps);
    let device = devices_info(engines);
    let mut last_write = Instant::now();
    let write = |acc: &Partial, next: u64| -> Result<()> {
        let c = Checkpoint {
            config_text: source.text.to_string(),
            config_origin: source.origin.to_string(),
            overrides: source.overrides.to_vec(),
            piece,
            next,
            partial: acc.clone(),
        };
        outputs::write_atomic(
            &dir.join(CHECKPOINT_FILE),
            serde_json::to_string(&c)?.as_bytes(),
        )
        .context("cannot write the checkpoint")
    };
    while next < total {
        if STOP.load(Ordering::SeqCst) {
            let Some(a) = &acc else {
                anyhow::bail!(
                    "interrupted before the first piece of trajectories finished: nothing to save"
                );
            };
            write(a, next)?;
            return Ok(Outcome::Stopped {
                result: a.clone().into_result(device),
            });
        }
        // A round: one piece per device, run side by side, folded in trajectory order (so the
        // statistics do not depend on which device ran which piece).
        let round: Vec<(u64, u64)> = (0..engines.len() as u64)
            .map(|k| next + k * piece)
            .take_while(|&start| start < total)
            .map(|start| (start, piece.min(total - start)))
            .collect();
        let part =
            |(start, count): (u64, u64)| spec.clone().first_trajectory(start).trajectories(count);
        let results: Vec<langevin::Result<EnsembleResult>> = if round.len() == 1 {
            let before = next * u64::from(steps);
            vec![
                injected_fault(&engines[0], round[0].0, piece).and_then(|()| {
                    engines[0].run_with_progress(&part(round[0]), &mut |p| {
                        progress(Progress {
                            done: before + p.done,
                            total: grand,
                        })
                    })
                }),
            ]
        } else {
            let outcome = std::thread::scope(|scope| {
                let handles: Vec<_> = round
                    .iter()
                    .zip(engines)
                    .map(|(&range, engine)| {
                        let spec = part(range);
                        scope.spawn(move || {
                            injected_fault(engine, range.0, piece).and_then(|()| engine.run(&spec))
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a device thread panicked"))
                    .collect()
            });
            outcome
        };
        for (&(start, count), run) in round.iter().zip(results) {
            let result = match run {
                Ok(r) => r,
                Err(e @ langevin::Error::Device { .. }) => {
                    // What finished is kept: a lost device costs at most the pieces in flight.
                    let saved = match &acc {
                        Some(a) => {
                            write(a, next)?;
                            format!(
                                "the {next} trajectories finished before it are saved in {}: \
                                 continue with `langevin run --resume {}` (on this adapter once \
                                 it is back, or with --backend or --devices on another)",
                                dir.join(CHECKPOINT_FILE).display(),
                                dir.display()
                            )
                        }
                        None => "no piece had finished, so there is nothing to resume: run it \
                                 again"
                            .to_string(),
                    };
                    anyhow::bail!("{e}; {saved}");
                }
                Err(e) => return Err(e.into()),
            };
            let p = Partial::of(&result, &print, start, total)?;
            acc = Some(match acc {
                None => p,
                Some(a) => shard::fold(vec![a, p])?,
            });
            next += count;
        }
        if round.len() > 1 {
            progress(Progress {
                done: next * u64::from(steps),
                total: grand,
            });
        }
        if next < total && last_write.elapsed() >= every {
            write(acc.as_ref().expect("a piece ran"), next)?;
            last_write = Instant::now();
        }
    }
    let acc = acc.expect("at least one trajectory");
    Ok(Outcome::Done(acc.into_result(device)))
}

/// The device of a result run on `engines`: the one engine's, or all of them named together.
fn devices_info(engines: &[Engine]) -> langevin::DeviceInfo {
    let mut info = engines[0].device().clone();
    if engines.len() > 1 {
        info.name = engines
            .iter()
            .map(|e| e.device().name.clone())
            .collect::<Vec<_>>()
            .join(" + ");
    }
    info
}

/// Fault injection for the tests of device loss: `LANGEVIN_FAIL_DEVICE_AT=N` makes the piece
/// that starts at trajectory `N` fail as a lost device would.
fn injected_fault(engine: &Engine, next: u64, piece: u64) -> langevin::Result<()> {
    let at = std::env::var("LANGEVIN_FAIL_DEVICE_AT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    match at {
        Some(at) if (next..next + piece).contains(&at) => Err(langevin::Error::Device {
            adapter: engine.device().name.clone(),
            message: "device lost (injected by LANGEVIN_FAIL_DEVICE_AT)".into(),
        }),
        _ => Ok(()),
    }
}
