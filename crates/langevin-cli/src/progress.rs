//! A progress bar with ETA on stderr, shown only for runs that last longer than a second, when
//! stderr is a terminal and `--quiet` is off.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use langevin::Progress;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Shown after this long, so short runs print nothing but their summary.
const DELAY: Duration = Duration::from_secs(1);

/// The bar of one run.
pub struct Bar {
    enabled: bool,
    start: Instant,
    bar: Option<ProgressBar>,
}

impl Bar {
    /// A bar that stays hidden when `quiet` or when stderr is not a terminal.
    pub fn new(quiet: bool) -> Bar {
        Bar {
            enabled: !quiet && std::io::stderr().is_terminal(),
            start: Instant::now(),
            bar: None,
        }
    }

    /// Records progress; draws once the run has lasted [`DELAY`].
    pub fn update(&mut self, p: Progress) {
        if !self.enabled || (self.bar.is_none() && self.start.elapsed() < DELAY) {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(Some(p.total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{bar:40} {percent:>3}% {human_pos}/{human_len} trajectory-steps, ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        bar.set_position(p.done);
    }

    /// Clears the bar.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
