//! What a running sweep tells its user: a progress bar in the CLI, nothing in tests.

/// Progress feedback (a progress bar in the CLI; nothing in tests).
pub trait Progress {
    /// Total number of runs, before the first.
    fn start(&self, total_runs: u64);
    /// What is happening now.
    fn message(&self, msg: &str);
    /// `n` runs done (or skipped).
    fn advance(&self, n: u64);
    /// A line worth keeping above the bar.
    fn println(&self, line: &str);
}

/// Progress that shows nothing.
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: u64) {}
    fn message(&self, _: &str) {}
    fn advance(&self, _: u64) {}
    fn println(&self, _: &str) {}
}
