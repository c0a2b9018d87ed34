//! What ran, recorded in every run's `summary.json` (of every kind): the config as resolved (every
//! key after `--set`, with the defaults filled in), the engine version and the git commit it
//! was built from, the command line and the start time. A resumed run keeps the command and
//! start of the run it continues (and lists the resumptions); a merge lists each shard's.
//!
//! One process runs one command, so what ran is process-wide state: the writers of
//! `summary.json` read it here rather than each taking it as another argument.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// The git commit the executable was built from (`unknown` outside a git checkout).
pub const COMMIT: &str = env!("LANGEVIN_GIT_COMMIT");

/// An invocation: its command line and when it started.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    /// The arguments, the executable first.
    pub command: Vec<String>,
    /// UTC, RFC 3339 (`2026-12-07T19:12:08Z`).
    pub started: String,
}

impl Invocation {
    /// This process's invocation, started now.
    pub fn now() -> Invocation {
        Invocation {
            command: std::env::args().collect(),
            started: rfc3339(SystemTime::now()),
        }
    }
}

/// What `summary.json` says ran.
#[derive(Default)]
struct Record {
    /// The run's first invocation.
    origin: Option<Invocation>,
    /// Later invocations that resumed it.
    resumed: Vec<Invocation>,
    /// Extra entries (a merge's shards).
    extra: serde_json::Map<String, Value>,
}

static RECORD: Mutex<Option<Record>> = Mutex::new(None);

fn with_record<T>(f: impl FnOnce(&mut Record) -> T) -> T {
    let mut guard = RECORD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f(guard.get_or_insert_with(Record::default))
}

/// Records this process's invocation, started now: called first thing, so that the start
/// time is the command's.
pub fn start() {
    let now = Invocation::now();
    with_record(|r| r.origin = Some(now));
}

/// The run's first invocation (this one unless it resumes another).
pub fn origin() -> Invocation {
    with_record(|r| r.origin.clone().unwrap_or_else(Invocation::now))
}

/// The invocations that resumed the run so far.
pub fn resumed() -> Vec<Invocation> {
    with_record(|r| r.resumed.clone())
}

/// This process continues the run first invoked as `origin` and resumed by `resumed`.
pub fn resume(origin: Invocation, resumed: Vec<Invocation>) {
    with_record(|r| {
        let this = r.origin.take().unwrap_or_else(Invocation::now);
        r.origin = Some(origin);
        r.resumed = resumed;
        r.resumed.push(this);
    });
}

/// Adds `key` to what `summary.json` says ran (a merge's list of shards).
pub fn set_extra(key: &str, value: Value) {
    with_record(|r| {
        r.extra.insert(key.to_string(), value);
    });
}

/// Adds `config`, `version`, `command`, `started` (and `resumed`, and any extra entries) to
/// `summary`.
pub fn annotate(summary: &mut Value, config: &langevin::config::Config) {
    let origin = origin();
    let (resumed, extra) = with_record(|r| (r.resumed.clone(), r.extra.clone()));
    summary["config"] = serde_json::to_value(config).unwrap_or(Value::Null);
    summary["version"] = json!({
        "engine": env!("CARGO_PKG_VERSION"),
        "commit": COMMIT,
    });
    summary["command"] = json!(origin.command);
    summary["started"] = json!(origin.started);
    if !resumed.is_empty() {
        summary["resumed"] = json!(resumed);
    }
    for (k, v) in extra {
        summary[k] = v;
    }
}

/// `t` in UTC as RFC 3339, to the second.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_utc_rfc3339() {
        let at = |s: u64| rfc3339(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_796_670_728), "2026-12-07T19:12:08Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
