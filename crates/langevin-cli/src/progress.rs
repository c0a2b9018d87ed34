//! A progress bar with ETA on stderr, shown only for runs that last longer than a second, when
//! stderr is a terminal and `--quiet` is off. It is redrawn every second, and its ETA comes
//! from the rate since the first work was done (setup and compilation left out), so that it is
//! neither 0 before the first dispatch returns nor stuck between updates.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use langevin::Progress;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Shown after this long, so short runs print nothing but their summary.
const DELAY: Duration = Duration::from_secs(1);

/// Redrawn at least this often, whether or not work was reported.
const REDRAW: Duration = Duration::from_secs(1);

/// The bar of one run.
pub struct Bar {
    enabled: bool,
    start: Instant,
    /// The first report of work done, and when it came: the origin of the rate.
    first: Option<(u64, Instant)>,
    bar: Option<ProgressBar>,
}

/// The time left at the rate from `(done0, t0)` to `(done, now)`; `None` until a rate is known.
pub fn eta(first: (u64, Instant), done: u64, now: Instant, total: u64) -> Option<Duration> {
    let (done0, t0) = first;
    let seconds = now.saturating_duration_since(t0).as_secs_f64();
    if done <= done0 || seconds <= 0.0 {
        return None;
    }
    let rate = (done - done0) as f64 / seconds;
    Some(Duration::from_secs_f64(
        total.saturating_sub(done) as f64 / rate,
    ))
}

/// `d` as `1h 02m`, `3m 05s` or `42s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m {sec:02}s"),
        (h, min, _) => format!("{h}h {min:02}m"),
    }
}

impl Bar {
    /// A bar that stays hidden when `quiet` or when stderr is not a terminal.
    pub fn new(quiet: bool) -> Bar {
        Bar {
            enabled: !quiet && std::io::stderr().is_terminal(),
            start: Instant::now(),
            first: None,
            bar: None,
        }
    }

    /// Records progress; draws once the run has lasted [`DELAY`].
    pub fn update(&mut self, p: Progress) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        let first = *self.first.get_or_insert((p.done, now));
        if self.bar.is_none() && self.start.elapsed() < DELAY {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(Some(p.total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{bar:40} {percent:>3}% {human_pos}/{human_len} trajectory-steps, \
                 {elapsed} elapsed, ETA {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(REDRAW);
            bar
        });
        bar.set_position(p.done);
        bar.set_message(eta(first, p.done, now, p.total).map_or("estimating".into(), human));
    }

    /// Clears the bar.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ETA is the work left at the rate since the first report, and unknown before any
    /// work has been timed.
    #[test]
    fn eta_is_the_work_left_at_the_rate_so_far() {
        let t0 = Instant::now();
        let at = |s: f64| t0 + Duration::from_secs_f64(s);
        assert_eq!(eta((0, t0), 0, at(5.0), 100), None);
        assert_eq!(eta((10, t0), 10, at(5.0), 100), None);
        // 30 in 3 s from the first report: 60 left take 6 s.
        let left = eta((10, t0), 40, at(3.0), 100).unwrap();
        assert!((left.as_secs_f64() - 6.0).abs() < 1e-9, "{left:?}");
        assert_eq!(eta((10, t0), 100, at(3.0), 100), Some(Duration::ZERO));
        assert_eq!(human(Duration::from_secs(42)), "42s");
        assert_eq!(human(Duration::from_secs(185)), "3m 05s");
        assert_eq!(human(Duration::from_secs(3720)), "1h 02m");
    }
}
