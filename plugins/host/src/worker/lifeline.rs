//! A worker dies with its host. The host passes its pid in [`HOST_PID_ENV`]; the worker checks
//! it at start (the host may already be gone) and then watches it from a thread of its own,
//! which keeps running while the plugin is stuck in a model load or a kernel. When the host is
//! gone — killed, crashed, or ended by `timeout` — the worker kills its whole process group:
//! itself and whatever the plugin forked, so nothing is left holding a GPU.

use std::time::Duration;

/// Environment variable holding the host's pid, set by the host for every worker.
pub(crate) const HOST_PID_ENV: &str = "DRIFTBENCH_HOST_PID";

/// How often the worker looks for its host.
const WATCH_EVERY: Duration = Duration::from_millis(100);

/// Watch the host named by [`HOST_PID_ENV`]; nothing to watch without it (a worker started
/// by hand).
#[cfg(unix)]
pub(crate) fn die_with_host() {
    let Some(host) = std::env::var(HOST_PID_ENV)
        .ok()
        .and_then(|v| v.parse::<libc::pid_t>().ok())
    else {
        return;
    };
    if !host_alive(host) {
        kill_own_group();
    }
    std::thread::spawn(move || loop {
        std::thread::sleep(WATCH_EVERY);
        if !host_alive(host) {
            kill_own_group();
        }
    });
}

#[cfg(not(unix))]
pub(crate) fn die_with_host() {}

/// The host is alive while it is still this process's parent: once it dies the worker is
/// reparented (to init or a subreaper), and a new process reusing its pid is not the parent.
#[cfg(unix)]
fn host_alive(host: libc::pid_t) -> bool {
    // SAFETY: getppid has no preconditions and cannot fail.
    unsafe { libc::getppid() == host }
}

/// SIGKILL to this process's group: the worker and everything the plugin forked.
#[cfg(unix)]
fn kill_own_group() -> ! {
    // SAFETY: signals this process's own group, which the host created for the worker alone
    // (`process_group(0)` at spawn).
    unsafe {
        libc::kill(0, libc::SIGKILL);
    }
    // Not reached: SIGKILL cannot be caught; exit in case the group signal was refused.
    std::process::exit(137)
}
