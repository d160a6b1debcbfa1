//! One worker child process, seen from the host: started in its own process group, its
//! frames read under a size limit and a deadline, its stderr drained as bytes into a bounded
//! tail, its death noticed even while a forked grandchild still holds its pipes, and the
//! whole group killed when it goes.

use super::protocol::{
    decode_reply, read_frame, to_backend_error, write_json, Reply, Request, MAX_MESSAGE,
    PROTOCOL_VERSION,
};
use super::stderr_tail::StderrTail;
use driftbench_core::BackendError;
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a waiting host checks whether the worker has exited.
const EXIT_POLL: Duration = Duration::from_millis(50);
/// How long a worker whose pipes closed may take to exit before it is killed.
const DEATH_GRACE: Duration = Duration::from_secs(1);
/// How long a worker told to shut down may take before its group is killed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Process groups of the live workers, for [`kill_all_workers`].
static LIVE: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<u32>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Set once the host was told to terminate: no worker starts after it, and a worker that dies
/// is said to have been terminated.
static TERMINATED: AtomicBool = AtomicBool::new(false);

/// End every worker now and start none after (SIGTERM: stop now, keep what is done). The
/// runs they held fail as "terminated", so the sweep can journal them and write its report.
pub fn terminate_all_workers() {
    TERMINATED.store(true, Ordering::SeqCst);
    kill_all_workers();
}

/// Kill every live worker's process group: for a host about to exit at once (a second
/// Ctrl-C), whose workers would otherwise outlive it in their own groups.
pub fn kill_all_workers() {
    #[cfg(unix)]
    for pid in live().drain(..) {
        if let Ok(pid) = libc::pid_t::try_from(pid) {
            // SAFETY: signals a group this process started and has not reaped.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

/// What a worker says about itself in its first frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// Backend name the plugin reports.
    pub backend: String,
    /// Plugin version.
    pub version: String,
    /// ABI version the plugin speaks, `major.minor`.
    pub abi: String,
}

/// A running worker.
pub(crate) struct Worker {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    frames: Receiver<std::io::Result<Option<Vec<u8>>>>,
    /// Largest frame the reader accepts next; set before each request.
    limit: Arc<AtomicUsize>,
    stderr: StderrTail,
    /// Set once the child is reaped.
    status: Option<ExitStatus>,
    /// What the worker said first.
    pub hello: Hello,
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => "signal",
    }
}

/// "exited with code 3", "killed by signal 11 (SIGSEGV)".
fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("killed by signal {sig} ({})", signal_name(sig));
        }
    }
    match status.code() {
        Some(c) => format!("exited with code {c}"),
        None => "exited".into(),
    }
}

impl Worker {
    /// Start `exe worker --plugin PLUGIN` and read its hello within `deadline`.
    pub(crate) fn spawn(
        exe: &Path,
        plugin: &Path,
        deadline: Duration,
    ) -> Result<Worker, BackendError> {
        if TERMINATED.load(Ordering::SeqCst) {
            return Err(BackendError::Run(
                "terminated (SIGTERM): no new worker is started".into(),
            ));
        }
        if !plugin.is_file() {
            let what = if plugin.exists() {
                "is not a regular file"
            } else {
                "not found"
            };
            return Err(BackendError::Load(format!(
                "plugin {} {what}",
                plugin.display()
            )));
        }
        let mut cmd = Command::new(exe);
        cmd.arg("worker")
            .arg("--plugin")
            .arg(plugin)
            .env(
                super::lifeline::HOST_PID_ENV,
                std::process::id().to_string(),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // Its own group: killed as one with whatever the plugin forks, and a Ctrl-C at
            // the terminal reaches driftbench only, which then stops between runs.
            cmd.process_group(0);
        }
        let mut child = cmd.spawn().map_err(|e| {
            BackendError::Run(format!("cannot start worker {}: {e}", exe.display()))
        })?;
        live().push(child.id());
        let (Some(stdout), Some(stderr), Some(stdin)) =
            (child.stdout.take(), child.stderr.take(), child.stdin.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(BackendError::Run("worker started without its pipes".into()));
        };
        let limit = Arc::new(AtomicUsize::new(MAX_MESSAGE));
        let (tx, frames) = mpsc::channel();
        let reader_limit = Arc::clone(&limit);
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let f = read_frame(&mut r, reader_limit.load(Ordering::SeqCst));
                let end = !matches!(f, Ok(Some(_)));
                if tx.send(f).is_err() || end {
                    break;
                }
            }
        });
        let mut w = Worker {
            child,
            stdin: BufWriter::new(stdin),
            frames,
            limit,
            stderr: StderrTail::drain(stderr),
            status: None,
            hello: Hello {
                backend: String::new(),
                version: String::new(),
                abi: String::new(),
            },
        };
        match w.recv(Some(deadline), "starting") {
            Ok(Reply::Hello {
                protocol,
                backend,
                version,
                abi,
            }) if protocol == PROTOCOL_VERSION => {
                w.hello = Hello {
                    backend,
                    version,
                    abi,
                }
            }
            Ok(Reply::Hello { protocol, .. }) => {
                return Err(BackendError::Load(format!(
                    "worker speaks protocol v{protocol}, this driftbench speaks v{PROTOCOL_VERSION}"
                )))
            }
            Ok(Reply::Error { kind, message }) => return Err(to_backend_error(kind, message)),
            Ok(other) => {
                return Err(BackendError::Run(format!(
                    "worker greeted with {}",
                    reply_name(&other)
                )))
            }
            Err(e) => return Err(e),
        }
        Ok(w)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the worker has exited, without reaping it (so its pid, which names its
    /// process group, cannot be reused before the group is killed).
    #[cfg(unix)]
    fn has_exited(&mut self) -> bool {
        if self.status.is_some() {
            return true;
        }
        let pid: libc::id_t = self.pid();
        // SAFETY: `info` is a plain C struct that waitid fills; WNOWAIT leaves the child
        // unreaped, so `Child` still owns it.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let r = libc::waitid(
                libc::P_PID,
                pid,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            r == 0 && info.si_pid() != 0
        }
    }

    #[cfg(not(unix))]
    fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Kill the worker's whole process group (the worker and anything it forked), then reap
    /// the worker. Returns its exit status.
    pub(crate) fn kill_group(&mut self) -> Option<ExitStatus> {
        if let Some(s) = self.status {
            return Some(s);
        }
        #[cfg(unix)]
        if let Ok(pid) = libc::pid_t::try_from(self.pid()) {
            // SAFETY: signals the group this worker leads; the leader is not reaped yet, so
            // the group id is still ours.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        self.status = self.child.wait().ok();
        let pid = self.pid();
        live().retain(|p| *p != pid);
        self.status
    }

    /// The worker is gone or must go: kill its group and say why, with its last stderr line.
    fn death(&mut self, what: &str) -> BackendError {
        // Its pipes close a moment before it becomes a zombie: wait a little for the status.
        let t0 = Instant::now();
        let mut exited = self.has_exited();
        while !exited && t0.elapsed() < DEATH_GRACE {
            std::thread::sleep(Duration::from_millis(5));
            exited = self.has_exited();
        }
        let status = self.kill_group();
        let how = match (exited, status) {
            _ if TERMINATED.load(Ordering::SeqCst) => "terminated (SIGTERM)".to_string(),
            (true, Some(s)) => describe(s),
            _ => "killed".to_string(),
        };
        let mut msg = format!("worker {what}: {how}");
        if exited {
            self.stderr.wait_for_end(DEATH_GRACE);
        }
        if let Some(l) = self.stderr.last_meaningful_line() {
            msg.push_str(&format!("; last stderr: {l}"));
        }
        BackendError::Run(msg)
    }

    /// Wait for the next frame until `timeout` (none: as long as the worker lives).
    fn recv_frame(
        &mut self,
        timeout: Option<Duration>,
        doing: &str,
    ) -> Result<Vec<u8>, BackendError> {
        let t0 = Instant::now();
        loop {
            let slice = match timeout {
                Some(t) => match t.checked_sub(t0.elapsed()) {
                    Some(left) => left.min(EXIT_POLL),
                    None => {
                        if self.has_exited() {
                            return Err(self.death(&format!("died while {doing}")));
                        }
                        self.kill_group();
                        let mut msg = format!(
                            "timed out after {:.1}s while {doing}; worker killed",
                            t.as_secs_f64()
                        );
                        if let Some(l) = self.stderr.last_meaningful_line() {
                            msg.push_str(&format!("; last stderr: {l}"));
                        }
                        return Err(BackendError::Run(msg));
                    }
                },
                None => EXIT_POLL,
            };
            match self.frames.recv_timeout(slice) {
                Ok(Ok(Some(frame))) => return Ok(frame),
                Ok(Ok(None)) | Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.death(&format!("died while {doing}")))
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                    self.kill_group();
                    return Err(BackendError::Run(format!(
                        "protocol error while {doing}: bad frame: {e}; worker killed"
                    )));
                }
                Ok(Err(_)) => return Err(self.death(&format!("died while {doing}"))),
                Err(RecvTimeoutError::Timeout) => {
                    // A worker that exited while a forked child still holds its pipes never
                    // closes them: notice the exit itself.
                    if self.has_exited() {
                        if let Ok(Ok(Some(frame))) = self.frames.try_recv() {
                            return Ok(frame);
                        }
                        return Err(self.death(&format!("died while {doing}")));
                    }
                }
            }
        }
    }

    fn recv(&mut self, timeout: Option<Duration>, doing: &str) -> Result<Reply, BackendError> {
        let frame = self.recv_frame(timeout, doing)?;
        decode_reply(&frame).map_err(|e| {
            self.kill_group();
            BackendError::Run(format!(
                "protocol error while {doing}: worker sent a bad message: {e}; worker killed"
            ))
        })
    }

    /// Send a request and read its reply within `timeout`, and the binary frame of a
    /// `Logits` reply (exactly `binary_bytes` long) or a `Trace` reply (at most
    /// `binary_bytes`). Frames are refused beyond that before anything is allocated.
    pub(crate) fn request(
        &mut self,
        req: &Request,
        timeout: Option<Duration>,
        binary_bytes: usize,
        doing: &str,
    ) -> Result<(Reply, Option<Vec<u8>>), BackendError> {
        let logits_bytes = binary_bytes;
        // Set before the request goes out: the reader thread reads the binary frame ahead.
        self.limit
            .store(MAX_MESSAGE.max(binary_bytes), Ordering::SeqCst);
        if write_json(&mut self.stdin, req).is_err() {
            return Err(self.death(&format!("died before {doing}")));
        }
        let t0 = Instant::now();
        let reply = self.recv(timeout, doing)?;
        if let Reply::Logits { count, f64, .. } = reply {
            // The width asked for, never the one announced: a worker answering f32 to an
            // f64 request (or the reverse) is out of step, whatever its count.
            let width = req.logit_bytes();
            if f64 != (width == 8) {
                self.kill_group();
                return Err(BackendError::Run(format!(
                    "protocol error while {doing}: worker answered {} logits, {} were asked for",
                    if f64 { "f64" } else { "f32" },
                    if width == 8 { "f64" } else { "f32" }
                )));
            }
            if count.checked_mul(width) != Some(logits_bytes) {
                self.kill_group();
                return Err(BackendError::Run(format!(
                    "protocol error while {doing}: worker announced {count} logits, expected {}",
                    logits_bytes / width
                )));
            }
            let left = timeout.map(|t| t.saturating_sub(t0.elapsed()));
            let bytes = self.recv_frame(left, doing)?;
            if bytes.len() != logits_bytes {
                self.kill_group();
                return Err(BackendError::Run(format!(
                    "protocol error while {doing}: logits frame of {} bytes, expected {logits_bytes}",
                    bytes.len()
                )));
            }
            return Ok((reply, Some(bytes)));
        }
        if let Reply::Trace { bytes: announced } = reply {
            if announced > binary_bytes {
                self.kill_group();
                return Err(BackendError::Run(format!(
                    "protocol error while {doing}: worker announced a trace of {announced} \
                     bytes, at most {binary_bytes} accepted"
                )));
            }
            let left = timeout.map(|t| t.saturating_sub(t0.elapsed()));
            let bytes = self.recv_frame(left, doing)?;
            if bytes.len() != announced {
                self.kill_group();
                return Err(BackendError::Run(format!(
                    "protocol error while {doing}: trace frame of {} bytes, announced {announced}",
                    bytes.len()
                )));
            }
            return Ok((reply, Some(bytes)));
        }
        Ok((reply, None))
    }

    /// Ask the worker to exit; kill its group if it does not within a grace period (and in
    /// any case, so nothing it forked outlives it).
    pub(crate) fn shutdown(mut self) {
        if write_json(&mut self.stdin, &Request::Shutdown).is_ok() {
            let t0 = Instant::now();
            while t0.elapsed() < SHUTDOWN_GRACE && !self.has_exited() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        self.kill_group();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// The variant name of a reply, for "answered X to Y" messages (never the payload, which
/// may be large or hostile).
pub(crate) fn reply_name(r: &Reply) -> &'static str {
    match r {
        Reply::Hello { .. } => "hello",
        Reply::Probe { .. } => "probe",
        Reply::Configured { .. } => "configured",
        Reply::Opened { .. } => "opened",
        Reply::Peaks { .. } => "peaks",
        Reply::Logits { .. } => "logits",
        Reply::Trace { .. } => "trace",
        Reply::Error { .. } => "error",
    }
}
