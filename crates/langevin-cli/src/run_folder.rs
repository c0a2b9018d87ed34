//! A run's output folder, written so that nothing partial ever looks complete and two runs
//! never mix.
//!
//! - A run writes every file into a fresh sibling folder `<dir>.tmp-<pid>` and moves it into
//!   place when all of it is written ([`RunFolder::commit`]): a whole-folder rename when
//!   `<dir>` does not exist or is empty, else file by file with `summary.json` (or
//!   `partial.json`) removed first and moved last, so that its presence means every other file
//!   is there. On failure the temporary folder is removed and `<dir>` is left as it was.
//! - A folder that holds another run (`summary.json`, `partial.json` or `checkpoint.json`) is
//!   refused unless `--overwrite`, which removes that run's files (`*.json`, `*.csv`, `*.npy`,
//!   `*.png` and temporaries; other files and subfolders, such as shards, are kept), or unless
//!   it is the folder `--resume` continues.
//! - An exclusive lock on `<parent>/.<name>.lock` (flock, released when the process ends,
//!   however it ends) refuses a second run into the same folder while one is running.
//!
//! A checkpointed run keeps `checkpoint.json` in `<dir>` itself while it runs (where `--resume
//! <dir>` finds it), beside no `summary.json` until the run ends: a folder with a checkpoint
//! and without a summary is an interrupted run, and a stopped run's summary says `"partial":
//! true`.

use anyhow::{Context, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// The files whose presence makes a folder hold a run; the first two are moved in last.
const MARKERS: [&str; 3] = ["summary.json", "partial.json", "checkpoint.json"];

/// What a run asks of its folder.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rules {
    /// Replace a run already in the folder (`--overwrite`).
    pub overwrite: bool,
    /// The folder is the one `--resume` continues: its run is this one.
    pub resuming: bool,
    /// Create `<dir>` now, for a checkpoint written there while the run goes on.
    pub create_now: bool,
}

/// A run's folder while the run writes it.
pub struct RunFolder {
    dir: PathBuf,
    staging: PathBuf,
    committed: bool,
    /// `dir` was created by [`RunFolder::open`] (for a checkpoint).
    created: bool,
    _lock: Lock,
}

impl RunFolder {
    /// Locks `dir` against other runs, applies `rules` to what it holds, and creates the
    /// temporary folder the run writes into (which proves the place writable before any work).
    ///
    /// # Errors
    /// [`langevin::Error::InvalidInput`] naming `--out` (exit status 2) for a folder that
    /// holds another run, is being written by another run, or cannot be written.
    pub fn open(dir: PathBuf, rules: Rules) -> Result<RunFolder> {
        let shown = dir.display().to_string();
        let refuse = |reason: String| -> anyhow::Error {
            langevin::Error::invalid("--out", &shown, reason).into()
        };
        if dir.exists() && !dir.is_dir() {
            return Err(refuse("is a file, not a folder".into()));
        }
        let name = dir
            .file_name()
            .filter(|n| *n != "." && *n != "..")
            .ok_or_else(|| {
                refuse("not a folder a run can own: name a folder, e.g. --out runs/a".into())
            })?
            .to_owned();
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|e| refuse(format!("cannot be written: {e}")))?;
        let mut lock_name = std::ffi::OsString::from(".");
        lock_name.push(&name);
        lock_name.push(".lock");
        let lock = Lock::take(&parent.join(lock_name)).map_err(refuse)?;
        let mut staging_name = name.clone();
        staging_name.push(format!(".tmp-{}", std::process::id()));
        let staging = parent.join(staging_name);
        remove_stale_staging(&parent, &name);
        let held = MARKERS.iter().find(|m| dir.join(m).exists());
        if let Some(marker) = held.filter(|_| !rules.resuming) {
            if rules.overwrite {
                remove_run_files(&dir)
                    .map_err(|e| refuse(format!("cannot remove the run it holds: {e}")))?;
            } else if *marker == "checkpoint.json" {
                return Err(refuse(format!(
                    "holds an interrupted run ({marker}): continue it with `langevin run --resume {}`, or pass --overwrite to replace it",
                    dir.display()
                )));
            } else {
                return Err(refuse(format!(
                    "holds another run ({marker}): choose another --out, or pass --overwrite to replace it"
                )));
            }
        }
        let _ = fs::remove_dir_all(&staging);
        let folder = RunFolder {
            created: rules.create_now && !dir.exists(),
            dir,
            staging,
            committed: false,
            _lock: lock,
        };
        fs::create_dir(&folder.staging).map_err(|e| refuse(format!("cannot be written: {e}")))?;
        if rules.create_now {
            fs::create_dir_all(&folder.dir)
                .map_err(|e| refuse(format!("cannot be written: {e}")))?;
        }
        Ok(folder)
    }

    /// The folder the run's files go to until [`RunFolder::commit`].
    pub fn staging(&self) -> &Path {
        &self.staging
    }

    /// The folder the run ends in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves the written files into place, the summary last; returns the run's folder.
    ///
    /// # Errors
    /// When a move fails; the message says what `dir` holds then.
    pub fn commit(mut self) -> Result<PathBuf> {
        let empty = fs::read_dir(&self.dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if empty {
            fs::remove_dir(&self.dir).with_context(|| {
                format!("cannot replace the empty folder {}", self.dir.display())
            })?;
        }
        if !self.dir.exists() {
            fs::rename(&self.staging, &self.dir).with_context(|| {
                format!(
                    "cannot move {} to {}: the results are in the former",
                    self.staging.display(),
                    self.dir.display()
                )
            })?;
            self.committed = true;
            return Ok(self.dir.clone());
        }
        let incomplete = |e: std::io::Error, what: &Path| {
            anyhow::anyhow!(
                "cannot move {} into {}: {e}; {} holds no summary, so it is incomplete",
                what.display(),
                self.dir.display(),
                self.dir.display()
            )
        };
        for marker in &MARKERS[..2] {
            let old = self.dir.join(marker);
            if old.exists() {
                fs::remove_file(&old).map_err(|e| incomplete(e, &old))?;
            }
        }
        let mut entries: Vec<PathBuf> = fs::read_dir(&self.staging)?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?;
        // The markers last: their presence means every other file is in place.
        entries.sort_by_key(|p| {
            MARKERS[..2]
                .iter()
                .any(|m| p.file_name().is_some_and(|n| n == *m))
        });
        for from in entries {
            let to = self
                .dir
                .join(from.file_name().expect("an entry has a name"));
            fs::rename(&from, &to).map_err(|e| incomplete(e, &from))?;
        }
        fs::remove_dir(&self.staging)?;
        self.committed = true;
        Ok(self.dir.clone())
    }
}

impl Drop for RunFolder {
    /// A run that did not complete leaves no temporary folder behind, nor the folder it
    /// created unless a checkpoint is in it.
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
            if self.created {
                // Fails, as it should, where the folder is not empty.
                let _ = fs::remove_dir(&self.dir);
            }
        }
    }
}

/// Removes `<name>.tmp-<pid>` folders beside `<name>` that a run killed before it could clean
/// up left; only called under the folder's lock, so none of them is being written.
fn remove_stale_staging(parent: &Path, name: &std::ffi::OsStr) {
    let Some(name) = name.to_str() else { return };
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let prefix = format!("{name}.tmp-");
    for e in entries.flatten() {
        let file = e.file_name();
        let stale = file.to_str().is_some_and(|f| {
            f.strip_prefix(&prefix)
                .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        });
        if stale {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// Removes the files a run writes from `dir` (the markers first, so that it never looks
/// complete meanwhile); other files and subfolders stay.
fn remove_run_files(dir: &Path) -> std::io::Result<()> {
    for marker in MARKERS {
        let path = dir.join(marker);
        if path.exists() {
            fs::remove_file(path)?;
        }
    }
    for e in fs::read_dir(dir)? {
        let e = e?;
        if !e.file_type()?.is_file() {
            continue;
        }
        let name = e.file_name();
        let name = name.to_string_lossy();
        let ours = name.contains(".tmp-")
            || [".json", ".csv", ".npy", ".png"]
                .iter()
                .any(|ext| name.ends_with(ext));
        if ours {
            fs::remove_file(e.path())?;
        }
    }
    Ok(())
}

/// An exclusive lock on a file, held until dropped or the process ends.
struct Lock {
    path: PathBuf,
    #[cfg(unix)]
    _file: fs::File,
}

impl Lock {
    /// Takes the lock at `path` without waiting; the error says who holds it.
    #[cfg(unix)]
    fn take(path: &Path) -> std::result::Result<Lock, String> {
        use std::io::Write;
        use std::os::unix::fs::MetadataExt;
        use std::os::unix::io::AsRawFd;
        loop {
            let mut file = fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| {
                    format!(
                        "cannot be written: cannot create the lock file {}: {e}",
                        path.display()
                    )
                })?;
            // SAFETY: flock on a file descriptor this function owns.
            let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if taken != 0 {
                let holder = fs::read_to_string(path).unwrap_or_default();
                return Err(format!(
                    "another langevin run (process {}) is writing into this folder now; wait for it or choose another --out",
                    holder.trim()
                ));
            }
            // The holder before us may have removed the file between our open and our lock:
            // then the lock is on a file nobody else sees, and we take it again.
            let same = match (file.metadata(), fs::metadata(path)) {
                (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
                _ => false,
            };
            if same {
                let _ = file.set_len(0);
                let _ = write!(file, "{}", std::process::id());
                return Ok(Lock {
                    path: path.to_path_buf(),
                    _file: file,
                });
            }
        }
    }

    /// Elsewhere than on Unix no lock is taken.
    #[cfg(not(unix))]
    fn take(path: &Path) -> std::result::Result<Lock, String> {
        Ok(Lock {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for Lock {
    /// Removes the lock file while still holding the lock (see [`Lock::take`]).
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}
