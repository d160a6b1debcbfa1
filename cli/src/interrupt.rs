//! Signals during a sweep.
//!
//! - SIGINT (Ctrl-C): stop after the pair in progress; the journal and a report marked
//!   INCOMPLETE are written (exit 3).
//! - SIGTERM (`timeout`, a CI runner, Kubernetes): stop now, keep what is done. Every worker is
//!   ended at once and no new one starts, so the pair in flight is INCOMPLETE ("terminated");
//!   the journal and the report are written and the exit code is 3. Should that take longer
//!   than [`TERM_GRACE`] (a backend running in this process cannot be ended), driftbench exits
//!   with what the journal holds.
//! - A second signal of either kind stops at once, killing the workers' process groups first
//!   (they do not get the terminal's signal).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Exit code after a second signal (128 + SIGINT, as shells report it).
const EXIT_INTERRUPTED: i32 = 130;

/// Exit code when the report could not be written within [`TERM_GRACE`] (128 + SIGTERM).
const EXIT_TERMINATED: i32 = 143;

/// How long SIGTERM leaves to journal the pair in flight and write the report.
pub const TERM_GRACE: Duration = Duration::from_secs(5);

/// Install the handlers; the flag is set on the first signal.
#[cfg(unix)]
pub fn install() -> Arc<AtomicBool> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::iterator::Signals;
    let stop = Arc::new(AtomicBool::new(false));
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) else {
        eprintln!("warning: cannot install signal handlers; Ctrl-C stops at once");
        return stop;
    };
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if flag.swap(true, Ordering::SeqCst) {
                driftbench_plugin_host::kill_all_workers();
                eprintln!("\ndriftbench: stopped at once");
                std::process::exit(EXIT_INTERRUPTED);
            }
            if sig == SIGTERM {
                terminate();
            } else {
                eprintln!(
                    "\ndriftbench: SIGINT: stopping after the pair in progress (again to stop at once)"
                );
            }
        }
    });
    stop
}

/// SIGTERM: end the workers now, and leave the sweep [`TERM_GRACE`] to write what it has.
#[cfg(unix)]
fn terminate() {
    eprintln!(
        "\ndriftbench: SIGTERM: ending the workers; the pair in flight is INCOMPLETE, the journal and report are written"
    );
    driftbench_plugin_host::terminate_all_workers();
    std::thread::spawn(|| {
        std::thread::sleep(TERM_GRACE);
        driftbench_plugin_host::kill_all_workers();
        eprintln!(
            "driftbench: SIGTERM: the report was not written within {}s; the journal holds every finished pair",
            TERM_GRACE.as_secs()
        );
        std::process::exit(EXIT_TERMINATED);
    });
}

/// Without unix signals, nothing sets the flag.
#[cfg(not(unix))]
pub fn install() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}
