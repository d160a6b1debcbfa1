//! The host side: a `Backend` whose sessions live in `driftbench worker` child processes.

use super::protocol::{read_frame, to_backend_error, write_json, Reply, Request, PROTOCOL_VERSION};
use driftbench_core::{
    Backend, BackendError, BackendSetup, Configured, Counters, Dtype, KvLayout, ModelSpec, Probe,
    Session, SessionInfo,
};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a worker may take to start and say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(120);
/// Lines of a worker's stderr kept for failure reasons.
const STDERR_TAIL: usize = 6;

/// What a worker runs: the `driftbench` executable and the plugin it loads.
#[derive(Debug, Clone)]
struct Recipe {
    exe: PathBuf,
    plugin: PathBuf,
    timeout: Option<Duration>,
    /// Handed to every new worker before it opens a model; `None` until configured.
    setup: Option<BackendSetup>,
}

/// A backend whose every session runs in its own worker process.
#[derive(Debug, Clone)]
pub struct WorkerBackend {
    recipe: Recipe,
    name: String,
    probe: Probe,
}

impl WorkerBackend {
    /// Start a worker for `plugin` (with `exe worker --plugin PLUGIN`) to learn the backend's
    /// name and probe; `timeout` bounds every later run.
    pub fn start(
        exe: &Path,
        plugin: &Path,
        timeout: Option<Duration>,
    ) -> Result<Self, BackendError> {
        let recipe = Recipe {
            exe: exe.to_path_buf(),
            plugin: plugin.to_path_buf(),
            timeout,
            setup: None,
        };
        let mut w = Worker::spawn(&recipe)?;
        let probe = match w.request(&Request::Probe, Some(HELLO_TIMEOUT))? {
            (Reply::Probe { probe }, _) => probe,
            (other, _) => {
                return Err(BackendError::Run(format!(
                    "worker answered {other:?} to a probe"
                )))
            }
        };
        let name = w.backend.clone();
        w.shutdown();
        Ok(WorkerBackend {
            recipe,
            name,
            probe,
        })
    }
}

impl Backend for WorkerBackend {
    fn name(&self) -> &str {
        &self.name
    }
    fn probe(&self) -> Probe {
        self.probe.clone()
    }
    fn configure(&mut self, setup: &BackendSetup) -> Result<Configured, BackendError> {
        let mut w = Worker::spawn(&self.recipe)?;
        let configured = w.configure(setup)?;
        // Options may change what the probe says (which device comes first).
        if let (Reply::Probe { probe }, _) = w.request(&Request::Probe, Some(HELLO_TIMEOUT))? {
            self.probe = probe;
        }
        w.shutdown();
        self.recipe.setup = Some(setup.clone());
        Ok(configured)
    }
    fn open(&self, model: &ModelSpec, dtype: Dtype) -> Result<Box<dyn Session>, BackendError> {
        let mut s = WorkerSession {
            recipe: self.recipe.clone(),
            model: model.clone(),
            dtype,
            worker: None,
            info: None,
            last_wall_s: None,
            last_counters: Counters::new(),
        };
        s.ensure_worker()?;
        Ok(Box::new(s))
    }
}

/// One child process.
struct Worker {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    frames: Receiver<std::io::Result<Option<Vec<u8>>>>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    backend: String,
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

fn describe(status: Option<ExitStatus>) -> String {
    let Some(status) = status else {
        return "did not exit; killed".into();
    };
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
    fn spawn(recipe: &Recipe) -> Result<Worker, BackendError> {
        let mut child = Command::new(&recipe.exe)
            .arg("worker")
            .arg("--plugin")
            .arg(&recipe.plugin)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                BackendError::Run(format!("cannot start worker {}: {e}", recipe.exe.display()))
            })?;
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let stdin = BufWriter::new(child.stdin.take().expect("piped stdin"));
        let (tx, frames) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let f = read_frame(&mut r);
                let end = !matches!(f, Ok(Some(_)));
                if tx.send(f).is_err() || end {
                    break;
                }
            }
        });
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr_tail);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                if t.len() == STDERR_TAIL {
                    t.pop_front();
                }
                t.push_back(line);
            }
        });
        let mut w = Worker {
            child,
            stdin,
            frames,
            stderr_tail,
            backend: String::new(),
        };
        match w.recv(Some(HELLO_TIMEOUT))? {
            Reply::Hello { protocol, backend } if protocol == PROTOCOL_VERSION => {
                w.backend = backend
            }
            Reply::Hello { protocol, .. } => {
                return Err(BackendError::Load(format!(
                    "worker speaks protocol v{protocol}, this driftbench speaks v{PROTOCOL_VERSION}"
                )))
            }
            Reply::Error { kind, message } => return Err(to_backend_error(kind, message)),
            other => return Err(BackendError::Run(format!("worker greeted with {other:?}"))),
        }
        Ok(w)
    }

    /// The worker is gone or must go: reap it and say why.
    fn death(&mut self, what: &str) -> BackendError {
        let mut status = None;
        for _ in 0..50 {
            if let Ok(Some(s)) = self.child.try_wait() {
                status = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let tail = self.stderr_tail.lock().unwrap_or_else(|p| p.into_inner());
        let last = tail.iter().rev().find(|l| !l.trim().is_empty()).cloned();
        let mut msg = format!("worker {what}: {}", describe(status));
        if let Some(l) = last {
            msg.push_str(&format!("; last stderr: {}", l.trim()));
        }
        BackendError::Run(msg)
    }

    fn recv_frame(&mut self, timeout: Option<Duration>) -> Result<Vec<u8>, BackendError> {
        let got = match timeout {
            Some(t) => self.frames.recv_timeout(t),
            None => self
                .frames
                .recv()
                .map_err(|_| RecvTimeoutError::Disconnected),
        };
        match got {
            Ok(Ok(Some(frame))) => Ok(frame),
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                Err(BackendError::Run(format!(
                    "timed out after {:.1}s; worker killed",
                    timeout.unwrap_or_default().as_secs_f64()
                )))
            }
            _ => Err(self.death("died")),
        }
    }

    fn recv(&mut self, timeout: Option<Duration>) -> Result<Reply, BackendError> {
        let frame = self.recv_frame(timeout)?;
        serde_json::from_slice(&frame).map_err(|e| {
            let _ = self.child.kill();
            BackendError::Run(format!("worker sent a bad frame: {e}"))
        })
    }

    /// Send a request and read its reply (and the logits frame of a `Logits` reply).
    fn request(
        &mut self,
        req: &Request,
        timeout: Option<Duration>,
    ) -> Result<(Reply, Option<Vec<u8>>), BackendError> {
        if write_json(&mut self.stdin, req).is_err() {
            return Err(self.death("died"));
        }
        let reply = self.recv(timeout)?;
        if let Reply::Logits { .. } = reply {
            let bytes = self.recv_frame(timeout)?;
            return Ok((reply, Some(bytes)));
        }
        Ok((reply, None))
    }

    /// Hand the plugin its setup; the answer is the options in force.
    fn configure(&mut self, setup: &BackendSetup) -> Result<Configured, BackendError> {
        let req = Request::Configure {
            setup: setup.clone(),
        };
        match self.request(&req, Some(HELLO_TIMEOUT))? {
            (Reply::Configured { configured }, _) => Ok(configured),
            (Reply::Error { kind, message }, _) => Err(to_backend_error(kind, message)),
            (other, _) => Err(BackendError::Run(format!(
                "worker answered {other:?} to configure"
            ))),
        }
    }

    fn shutdown(mut self) {
        let _ = write_json(&mut self.stdin, &Request::Shutdown);
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A session in a worker; a worker that dies is replaced (and the model reloaded) on the
/// next run.
struct WorkerSession {
    recipe: Recipe,
    model: ModelSpec,
    dtype: Dtype,
    worker: Option<Worker>,
    info: Option<SessionInfo>,
    /// Wall time of the last successful route, as the worker measured it.
    last_wall_s: Option<f64>,
    /// The plugin's counters of the last successful route.
    last_counters: Counters,
}

impl WorkerSession {
    fn ensure_worker(&mut self) -> Result<&mut Worker, BackendError> {
        if self.worker.is_none() {
            let mut w = Worker::spawn(&self.recipe)?;
            if let Some(setup) = &self.recipe.setup {
                w.configure(setup)?;
            }
            let open = Request::Open {
                model: self.model.clone(),
                dtype: self.dtype,
            };
            match w.request(&open, None)? {
                (Reply::Opened { info }, _) => self.info = Some(info),
                (Reply::Error { kind, message }, _) => return Err(to_backend_error(kind, message)),
                (other, _) => {
                    return Err(BackendError::Run(format!(
                        "worker answered {other:?} to open"
                    )))
                }
            }
            self.worker = Some(w);
        }
        Ok(self.worker.as_mut().expect("just ensured"))
    }

    fn route(&mut self, req: Request, out: &mut [f32]) -> Result<(), BackendError> {
        let timeout = self.recipe.timeout;
        self.last_wall_s = None;
        self.last_counters.clear();
        let w = self.ensure_worker()?;
        let result = w.request(&req, timeout);
        match result {
            Ok((
                Reply::Logits {
                    count,
                    wall_s,
                    counters,
                },
                Some(bytes),
            )) if count == out.len() && bytes.len() == 4 * count => {
                self.last_wall_s = wall_s;
                self.last_counters = counters;
                for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
                Ok(())
            }
            Ok((Reply::Logits { count, .. }, _)) => Err(BackendError::Run(format!(
                "worker returned {count} logits, expected {}",
                out.len()
            ))),
            Ok((Reply::Error { kind, message }, _)) => {
                let e = to_backend_error(kind, message);
                if matches!(e, BackendError::Panic(_)) {
                    // The plugin's session is poisoned: start afresh next time.
                    self.worker = None;
                }
                Err(e)
            }
            Ok((other, _)) => Err(BackendError::Run(format!("worker answered {other:?}"))),
            Err(f) => {
                self.worker = None;
                Err(f)
            }
        }
    }
}

impl Session for WorkerSession {
    fn info(&self) -> SessionInfo {
        self.info.clone().expect("opened before use")
    }
    fn last_wall_s(&self) -> Option<f64> {
        self.last_wall_s
    }
    fn last_counters(&self) -> Counters {
        self.last_counters.clone()
    }
    fn prefill(&mut self, tokens: &[u32], out: &mut [f32]) -> Result<(), BackendError> {
        self.route(
            Request::Prefill {
                tokens: tokens.to_vec(),
            },
            out,
        )
    }
    fn decode(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f32],
    ) -> Result<(), BackendError> {
        self.route(
            Request::Decode {
                tokens: tokens.to_vec(),
                layout,
            },
            out,
        )
    }
}

impl Drop for WorkerSession {
    fn drop(&mut self) {
        if let Some(w) = self.worker.take() {
            w.shutdown();
        }
    }
}
