//! Ctrl-C and SIGTERM during a sweep: the first stops it after the pair in progress (the
//! journal and a report marked INCOMPLETE are written, exit 3); a second stops at once,
//! killing the workers' process groups first (they do not get the terminal's signal).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Exit code after a second signal (128 + SIGINT, as shells report it).
const EXIT_INTERRUPTED: i32 = 130;

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
            let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
            eprintln!(
                "\ndriftbench: {name}: stopping after the pair in progress (again to stop at once)"
            );
        }
    });
    stop
}

/// Without unix signals, nothing sets the flag.
#[cfg(not(unix))]
pub fn install() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}
