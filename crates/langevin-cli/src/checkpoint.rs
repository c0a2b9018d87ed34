//! Checkpointed ensemble runs: the trajectories run in pieces of whole blocks, in order, each
//! piece's statistics folded onto those of the pieces before ([`langevin::shard::fold`]).
//! Every `--checkpoint-every` seconds, and when SIGINT or SIGTERM arrives, `checkpoint.json`
//! (the config as run, the next trajectory, the folded statistics) is written atomically,
//! with the per-trajectory arrays (final states, first-passage times) beside it as NPY files
//! named after the next trajectory, and on a signal the results so far too, marked partial.
//! A signal stops the piece running within about a second ([`Engine::run_stoppable`]); that
//! piece is dropped, the finished ones kept, and the process exits 130 (SIGINT) or 143
//! (SIGTERM). `--resume DIR` continues from the checkpoint. The pieces do not depend on
//! timing or interruptions, so a resumed run folds the same pieces in the same order and ends
//! bit-identical to an uninterrupted one.

use crate::files;
use crate::outputs;
use crate::provenance::{self, Invocation};
use crate::shards::fingerprint;
use anyhow::{Context, Result};
use langevin::shard::{self, Partial};
use langevin::{Engine, EnsembleResult, EnsembleSpec, Progress};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// The checkpoint file in a run's folder.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";

/// The layout of `checkpoint.json` and its arrays; a checkpoint of another is refused.
/// Format 1 held the arrays in the JSON (960 MB for 86 million states); format 2 holds them
/// in NPY files.
pub const CHECKPOINT_FORMAT: u32 = 2;

/// Trajectory-steps per piece unless `--checkpoint-piece` says: seconds on a software
/// adapter, well under a second on a discrete GPU.
const PIECE_WORK: u64 = 1 << 33;

/// What `checkpoint.json` holds.
#[derive(Serialize, Deserialize)]
pub struct Checkpoint {
    /// [`CHECKPOINT_FORMAT`] (absent, so 0, in format 1).
    #[serde(default)]
    pub format: u32,
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
    /// The folded statistics of trajectories `[0, next)`, none when no piece had finished;
    /// in the file, without the arrays of [`Checkpoint::arrays`].
    pub partial: Option<Partial>,
    /// The NPY file beside `checkpoint.json` of each per-trajectory array of the partial.
    #[serde(default)]
    pub arrays: Vec<ArrayFile>,
    /// The run's first invocation.
    #[serde(default)]
    pub origin: Invocation,
    /// The invocations that resumed it, this one's not yet among them.
    #[serde(default)]
    pub resumed: Vec<Invocation>,
}

/// A per-trajectory array of a checkpoint's partial, in its own NPY file.
#[derive(Clone, Serialize, Deserialize)]
pub struct ArrayFile {
    /// Which array: `final_states`, `final_states_f64` or `first_passage`.
    pub array: String,
    /// The file's name in the run's folder.
    pub file: String,
    /// Its values.
    pub len: u64,
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
        let mut c: Checkpoint = serde_json::from_str(&text).map_err(|e| {
            langevin::Error::invalid(
                "--resume",
                path.display(),
                format!("the checkpoint is corrupt ({e}); it was not used"),
            )
        })?;
        let here = env!("CARGO_PKG_VERSION");
        if c.format != CHECKPOINT_FORMAT {
            return Err(langevin::Error::invalid(
                "--resume",
                path.display(),
                format!(
                    "a checkpoint of format {}, this version ({here}) reads format \
                     {CHECKPOINT_FORMAT}: resume it with the version that wrote it",
                    c.format
                ),
            )
            .into());
        }
        if let Some(p) = &c.partial {
            if p.version != here || p.format != shard::PARTIAL_FORMAT {
                return Err(langevin::Error::invalid(
                    "--resume",
                    path.display(),
                    format!(
                        "written by version {} (format {}), this is {here}: resume it with that version",
                        p.version, p.format
                    ),
                )
                .into());
            }
        }
        let print = fingerprint(&c.config_text, &c.overrides);
        let consistent = match &c.partial {
            Some(p) => p.fingerprint == print && c.next == p.first + p.count && p.first == 0,
            None => c.next == 0 && c.arrays.is_empty(),
        };
        if consistent {
            if let Some(p) = c.partial.as_mut() {
                for a in &c.arrays {
                    load_array(dir, a, p).map_err(|reason| {
                        langevin::Error::invalid(
                            "--resume",
                            dir.join(&a.file).display(),
                            format!(
                                "the checkpoint's {} are unusable ({reason}); it was not used",
                                a.array
                            ),
                        )
                    })?;
                }
            }
        }
        if !consistent {
            return Err(langevin::Error::invalid(
                "--resume",
                path.display(),
                "the checkpoint does not match its own config or range: it was not used",
            )
            .into());
        }
        Ok(c)
    }

    /// The fingerprint of the config and overrides it ran.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.config_text, &self.overrides)
    }
}

/// Reads the NPY file of `a` into its place in `p`, checking its type and length.
fn load_array(dir: &Path, a: &ArrayFile, p: &mut Partial) -> Result<(), String> {
    let bytes = std::fs::read(dir.join(&a.file)).map_err(|e| e.to_string())?;
    let (descr, payload) = files::npy_payload(&bytes)?;
    let want = if a.array == "final_states_f64" {
        "<f8"
    } else {
        "<f4"
    };
    let width = if want == "<f8" { 8 } else { 4 };
    if descr != want || payload.len() as u64 != a.len * width {
        return Err(format!(
            "{descr} with {} bytes where {} values of {want} were written",
            payload.len(),
            a.len
        ));
    }
    let f32s = || -> Vec<f32> {
        payload
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect()
    };
    match a.array.as_str() {
        "final_states" => p.final_states = Some(f32s()),
        "final_states_f64" => {
            p.final_states_f64 = Some(
                payload
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect(),
            );
        }
        "first_passage" => match p.first_passage.as_mut() {
            Some(f) => f.times = f32s(),
            None => return Err("first-passage times of a run without them".into()),
        },
        other => return Err(format!("an unknown array {other}")),
    }
    Ok(())
}

/// Set by SIGINT or SIGTERM; the engines check it between dispatches.
static STOP: AtomicBool = AtomicBool::new(false);

/// The signal that set [`STOP`].
static SIGNAL: AtomicI32 = AtomicI32::new(0);

#[cfg(unix)]
extern "C" fn on_signal(signal: libc::c_int) {
    SIGNAL.store(signal, Ordering::SeqCst);
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

/// A run stopped by a signal, its checkpoint written: the process exits `128 + signal`
/// (130 for SIGINT, 143 for SIGTERM), as a shell reports a process the signal ended.
#[derive(Debug)]
pub struct Interrupted {
    /// The signal.
    pub signal: i32,
    /// What was saved and how to continue.
    pub message: String,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Interrupted {}

impl Interrupted {
    /// The exit status: 128 plus the signal.
    pub fn status(&self) -> u8 {
        u8::try_from(128 + self.signal).unwrap_or(1)
    }
}

/// How a checkpointed run ended.
pub enum Outcome {
    /// All trajectories ran.
    Done(EnsembleResult),
    /// A signal stopped it; the checkpoint is written.
    Stopped {
        /// The results of the trajectories run, none when no piece had finished.
        result: Option<EnsembleResult>,
        /// The signal.
        signal: i32,
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
        Some(c) => {
            provenance::resume(c.origin, c.resumed);
            (c.next, c.partial)
        }
        None => (0, None),
    };
    let steps = spec.resolve()?.n_steps;
    let grand = total * u64::from(steps);
    let device = devices_info(engines);
    let mut last_write = Instant::now();
    let write = |acc: &mut Option<Partial>, next: u64| -> Result<()> {
        write_checkpoint(dir, source, piece, next, acc).context("cannot write the checkpoint")
    };
    while next < total {
        if STOP.load(Ordering::SeqCst) {
            write(&mut acc, next)?;
            return Ok(Outcome::Stopped {
                result: acc.map(|a| a.into_result(device)),
                signal: SIGNAL.load(Ordering::SeqCst),
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
                    engines[0].run_stoppable(
                        &part(round[0]),
                        &mut |p| {
                            progress(Progress {
                                done: before + p.done,
                                total: grand,
                            })
                        },
                        &STOP,
                    )
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
                            injected_fault(engine, range.0, piece)
                                .and_then(|()| engine.run_stoppable(&spec, &mut |_| {}, &STOP))
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
                // The stopped piece and those after it are dropped; the next turn of the
                // loop saves the pieces before it.
                Err(langevin::Error::Stopped) => break,
                Err(e @ langevin::Error::Device { .. }) => {
                    // What finished is kept: a lost device costs at most the pieces in flight.
                    let saved = if acc.is_some() {
                        write(&mut acc, next)?;
                        format!(
                            "the {next} trajectories finished before it are saved in {}: \
                             continue with `langevin run --resume {}` (on this adapter once \
                             it is back, or with --backend or --devices on another)",
                            dir.join(CHECKPOINT_FILE).display(),
                            dir.display()
                        )
                    } else {
                        "no piece had finished, so there is nothing to resume: run it again"
                            .to_string()
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
        if next < total && last_write.elapsed() >= every && !STOP.load(Ordering::SeqCst) {
            write(&mut acc, next)?;
            last_write = Instant::now();
        }
    }
    let acc = acc.expect("at least one trajectory");
    Ok(Outcome::Done(acc.into_result(device)))
}

/// The per-trajectory arrays of a partial, each written to an NPY file.
const ARRAYS: [&str; 3] = ["final_states", "final_states_f64", "first_passage"];

/// Writes `dir/checkpoint.json` for trajectories `[0, next)` folded into `acc`: the arrays
/// first, each to an NPY file named after `next` (so that a checkpoint never names an array
/// of another), then the JSON that names them, then the arrays of earlier checkpoints go.
/// The arrays are taken out of `acc` while the JSON is made and put back.
fn write_checkpoint(
    dir: &Path,
    source: &Source<'_>,
    piece: u64,
    next: u64,
    acc: &mut Option<Partial>,
) -> Result<()> {
    let mut arrays = Vec::new();
    let mut taken = Taken::default();
    if let Some(p) = acc.as_mut() {
        taken = Taken {
            final_states: p.final_states.take(),
            final_states_f64: p.final_states_f64.take(),
            passage: p
                .first_passage
                .as_mut()
                .map(|f| std::mem::take(&mut f.times)),
        };
        let dim = p.state_names.len().max(1);
        let mut put = |array: &str, bytes: Vec<u8>, len: usize| -> Result<()> {
            let file = format!("checkpoint-{next}.{array}.npy");
            files::write_atomic(&dir.join(&file), &bytes)?;
            arrays.push(ArrayFile {
                array: array.to_string(),
                file,
                len: len as u64,
            });
            Ok(())
        };
        let written = (|| -> Result<()> {
            if let Some(v) = &taken.final_states {
                put(ARRAYS[0], files::npy_f32(v, v.len() / dim, dim), v.len())?;
            }
            if let Some(v) = &taken.final_states_f64 {
                put(ARRAYS[1], files::npy_f64(v, v.len() / dim, dim), v.len())?;
            }
            if let Some(v) = &taken.passage {
                put(ARRAYS[2], files::npy_f32(v, v.len(), 1), v.len())?;
            }
            Ok(())
        })();
        if let Err(e) = written {
            restore(p, taken);
            return Err(e);
        }
    }
    let c = Checkpoint {
        format: CHECKPOINT_FORMAT,
        config_text: source.text.to_string(),
        config_origin: source.origin.to_string(),
        overrides: source.overrides.to_vec(),
        piece,
        next,
        partial: acc.clone(),
        arrays,
        origin: provenance::origin(),
        resumed: provenance::resumed(),
    };
    if let Some(p) = acc.as_mut() {
        restore(p, taken);
    }
    files::write_atomic(
        &dir.join(CHECKPOINT_FILE),
        serde_json::to_string(&c)?.as_bytes(),
    )?;
    let keep: Vec<PathBuf> = c.arrays.iter().map(|a| dir.join(&a.file)).collect();
    remove_arrays(dir, &keep);
    Ok(())
}

/// The per-trajectory arrays taken out of a partial while its JSON is made.
#[derive(Default)]
struct Taken {
    final_states: Option<Vec<f32>>,
    final_states_f64: Option<Vec<f64>>,
    passage: Option<Vec<f32>>,
}

/// Puts the arrays taken out of `p` back.
fn restore(p: &mut Partial, taken: Taken) {
    p.final_states = taken.final_states;
    p.final_states_f64 = taken.final_states_f64;
    if let (Some(f), Some(times)) = (p.first_passage.as_mut(), taken.passage) {
        f.times = times;
    }
}

/// Removes the checkpoint arrays in `dir` other than `keep`.
/// Removes a finished run's checkpoint and its arrays from `dir`, once its results are in
/// place.
pub fn remove(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(CHECKPOINT_FILE));
    remove_arrays(dir, &[]);
}

fn remove_arrays(dir: &Path, keep: &[PathBuf]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with("checkpoint-") && name.ends_with(".npy") && !keep.contains(&e.path()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
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

/// Writes what a stopped run finished into `stage`, the run folder's staging copy of `dir`
/// (its results marked partial, when a piece had finished), and says how to continue.
///
/// # Errors
/// When the results cannot be written.
pub fn stopped(
    stage: &Path,
    dir: &Path,
    config: &langevin::config::Config,
    spec: &EnsembleSpec,
    result: Option<EnsembleResult>,
    signal: i32,
) -> Result<Interrupted> {
    let name = match signal {
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    };
    let saved = match result {
        Some(result) => {
            outputs::write_all(stage, config, spec, &result)?;
            outputs::mark_partial(stage, result.trajectories)?;
            format!(
                "after {} of {} trajectories: their results are in {} (summary.json \
                 \"partial\": true) with a checkpoint",
                result.trajectories,
                spec.trajectories,
                dir.display()
            )
        }
        None => format!(
            "before the first piece of trajectories finished: {} holds a checkpoint of the \
             config and no results",
            dir.display()
        ),
    };
    Ok(Interrupted {
        signal,
        message: format!(
            "interrupted by {name} {saved}; continue with `langevin run --resume {}`",
            dir.display()
        ),
    })
}
