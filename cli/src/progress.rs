//! A progress bar on stderr (hidden when stderr is not a terminal).

use crate::text::terminal;
use driftbench_sweep::runner::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

/// Redraws per second at most: a warm-up that compiles hundreds of kernels must not flood the
/// terminal.
const REDRAW_HZ: u8 = 4;

/// indicatif-backed [`Progress`].
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar with no length yet.
    pub fn new() -> Self {
        let bar =
            ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(REDRAW_HZ));
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} runs  {msg}")
                .expect("static template")
                .progress_chars("=> "),
        );
        // The clock moves during a call of minutes (a first call compiling kernels), so a
        // long warm-up never looks hung; hidden bars (stderr not a terminal) never tick.
        if !bar.is_hidden() {
            bar.enable_steady_tick(Duration::from_millis(500));
        }
        Bar { bar }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn start(&self, total_runs: u64) {
        self.bar.set_length(total_runs);
    }
    fn message(&self, msg: &str) {
        self.bar.set_message(terminal(msg));
    }
    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }
    fn println(&self, line: &str) {
        // One line each, whatever a plugin put in its messages.
        let line = terminal(line).replace('\n', " ");
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }
}
