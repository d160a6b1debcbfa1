//! The host side: a `Backend` whose sessions live in `driftbench worker` child processes.

use super::process::{reply_name, Hello, Worker};
use super::protocol::{to_backend_error, Reply, Request, MAX_TRACE_BYTES};
use driftbench_core::backend::widen_f32_route;
use driftbench_core::route::Route;
use driftbench_core::trace::LayerTrace;
use driftbench_core::{
    Backend, BackendError, BackendSetup, Configured, Counters, Dtype, KvLayout, ModelCost,
    ModelSpec, Peaks, Probe, RunProfile, Session, SessionInfo,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a worker may take for each kind of call.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// Start, hello, probe, options and model load (each).
    pub open: Duration,
    /// One prefill or decode; `None`: as long as the worker lives.
    pub run: Option<Duration>,
}

/// What a worker runs: the `driftbench` executable and the plugin it loads.
#[derive(Debug, Clone)]
struct Recipe {
    exe: PathBuf,
    plugin: PathBuf,
    deadlines: Deadlines,
    /// Handed to every new worker before it opens a model; `None` until configured.
    setup: Option<BackendSetup>,
}

impl Recipe {
    fn spawn(&self) -> Result<Worker, BackendError> {
        Worker::spawn(&self.exe, &self.plugin, self.deadlines.open)
    }
}

/// A backend whose every session runs in its own worker process. Nothing of the plugin runs
/// in this process: even its entry point and probe run in a worker.
#[derive(Debug, Clone)]
pub struct WorkerBackend {
    recipe: Recipe,
    hello: Hello,
    probe: Probe,
}

fn unexpected(what: &str, r: &Reply) -> BackendError {
    match r {
        Reply::Error { kind, message } => to_backend_error(*kind, message.clone()),
        other => BackendError::Run(format!(
            "protocol error: worker answered `{}` to {what}",
            reply_name(other)
        )),
    }
}

fn probe_of(w: &mut Worker, deadline: Duration) -> Result<Probe, BackendError> {
    match w.request(&Request::Probe, Some(deadline), 0, "probing")? {
        (Reply::Probe { probe }, _) => Ok(probe),
        // The worker's message already says "probe failed: …".
        (Reply::Error { message, .. }, _) => Err(BackendError::Run(message)),
        (other, _) => Err(unexpected("a probe", &other)),
    }
}

/// A worker that could not be started, with what it said before it failed.
#[derive(Debug)]
pub struct StartError {
    /// The worker's hello, if it got that far (the probe failed after it).
    pub hello: Option<Hello>,
    /// What went wrong.
    pub error: BackendError,
}

impl WorkerBackend {
    /// Start a worker for `plugin` (with `exe worker --plugin PLUGIN`) to learn the backend's
    /// name, versions and probe. Each step has `deadlines.open`; runs get `deadlines.run`.
    pub fn start(exe: &Path, plugin: &Path, deadlines: Deadlines) -> Result<Self, StartError> {
        let recipe = Recipe {
            exe: exe.to_path_buf(),
            plugin: plugin.to_path_buf(),
            deadlines,
            setup: None,
        };
        let mut w = recipe
            .spawn()
            .map_err(|error| StartError { hello: None, error })?;
        let hello = w.hello.clone();
        let probe = probe_of(&mut w, deadlines.open).map_err(|error| StartError {
            hello: Some(hello.clone()),
            error,
        })?;
        w.shutdown();
        Ok(WorkerBackend {
            recipe,
            hello,
            probe,
        })
    }

    /// Name, version and ABI the plugin reported.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }
}

impl Backend for WorkerBackend {
    fn name(&self) -> &str {
        &self.hello.backend
    }
    fn probe(&self) -> Probe {
        self.probe.clone()
    }
    fn configure(&mut self, setup: &BackendSetup) -> Result<Configured, BackendError> {
        let mut w = self.recipe.spawn()?;
        let configured = configure(&mut w, setup, self.recipe.deadlines.open)?;
        // Options may change what the probe says (which device comes first).
        self.probe = probe_of(&mut w, self.recipe.deadlines.open)?;
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
            cost: None,
            logits_f64: false,
            last_wall_s: None,
            last_counters: Counters::new(),
            last_profile: RunProfile::default(),
        };
        s.ensure_worker()?;
        Ok(Box::new(s))
    }
}

/// Hand the plugin its setup; the answer is the options in force.
fn configure(
    w: &mut Worker,
    setup: &BackendSetup,
    deadline: Duration,
) -> Result<Configured, BackendError> {
    let req = Request::Configure {
        setup: setup.clone(),
    };
    match w.request(&req, Some(deadline), 0, "configuring")? {
        (Reply::Configured { configured }, _) => Ok(configured),
        (other, _) => Err(unexpected("configure", &other)),
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
    /// What the model costs to run, as the first worker's session said.
    cost: Option<ModelCost>,
    /// The session's f64 routes hand over f64 logits, as the first worker's session said.
    logits_f64: bool,
    /// Wall time of the last successful route, as the worker measured it.
    last_wall_s: Option<f64>,
    /// The plugin's counters of the last successful route.
    last_counters: Counters,
    /// The profile of the last successful route (with the worker's peak memory).
    last_profile: RunProfile,
}

impl WorkerSession {
    fn ensure_worker(&mut self) -> Result<&mut Worker, BackendError> {
        if self.worker.is_none() {
            let deadline = self.recipe.deadlines.open;
            let mut w = self.recipe.spawn()?;
            if let Some(setup) = &self.recipe.setup {
                configure(&mut w, setup, deadline)?;
            }
            let open = Request::Open {
                model: self.model.clone(),
                dtype: self.dtype,
            };
            let (info, cost, logits) =
                match w.request(&open, Some(deadline), 0, "opening the model")? {
                    (Reply::Opened { info, cost, logits }, _) => (info, cost, logits),
                    (other, _) => return Err(unexpected("open", &other)),
                };
            let logits_f64 = self.dtype == Dtype::F64 && logits == Some(Dtype::F64);
            if let Some(old) = &self.info {
                if old.vocab != info.vocab {
                    return Err(BackendError::Run(format!(
                        "a fresh worker reports vocab {}, its predecessor {}",
                        info.vocab, old.vocab
                    )));
                }
            }
            if self.info.is_none() {
                self.cost = cost;
                self.logits_f64 = logits_f64;
            } else if self.logits_f64 != logits_f64 {
                return Err(BackendError::Run(format!(
                    "a fresh worker's session hands over {} logits, its predecessor's {}",
                    if logits_f64 { "f64" } else { "f32" },
                    if self.logits_f64 { "f64" } else { "f32" }
                )));
            }
            self.info = Some(info);
            self.worker = Some(w);
        }
        Ok(self.worker.as_mut().expect("just ensured"))
    }

    /// The error of a call that did not get its expected reply, dropping the worker where it
    /// cannot be trusted again: a panic poisoned its session, an unexpected reply or a failed
    /// exchange leaves the protocol out of step.
    fn failed(&mut self, doing: &str, r: Result<Reply, BackendError>) -> BackendError {
        let (e, drop_worker) = match r {
            Ok(Reply::Error { kind, message }) => {
                let e = to_backend_error(kind, message);
                let poisoned = matches!(e, BackendError::Panic(_));
                (e, poisoned)
            }
            Ok(other) => (unexpected(doing, &other), true),
            Err(f) => (f, true),
        };
        if drop_worker {
            self.worker = None;
        }
        e
    }

    fn route<T: Wire>(
        &mut self,
        req: Request,
        doing: &str,
        out: &mut [T],
    ) -> Result<(), BackendError> {
        let timeout = self.recipe.deadlines.run;
        self.last_wall_s = None;
        self.last_counters.clear();
        self.last_profile = RunProfile::default();
        let w = self.ensure_worker()?;
        let bytes = out.len().saturating_mul(T::BYTES);
        match w.request(&req, timeout, bytes, doing) {
            Ok((
                Reply::Logits {
                    wall_s,
                    counters,
                    profile,
                    ..
                },
                Some(bytes),
            )) => {
                self.last_wall_s = wall_s;
                self.last_counters = counters;
                self.last_profile = profile;
                for (o, b) in out.iter_mut().zip(bytes.chunks_exact(T::BYTES)) {
                    *o = T::from_le(b);
                }
                Ok(())
            }
            Ok((other, _)) => Err(self.failed(doing, Ok(other))),
            Err(f) => Err(self.failed(doing, Err(f))),
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
    fn last_profile(&self) -> RunProfile {
        self.last_profile.clone()
    }
    fn cost(&self) -> Option<ModelCost> {
        self.cost.clone()
    }
    /// Measured in the worker, under the open deadline (a first product may compile and
    /// autotune kernels). A probe that failed for any reason but "not available" may have
    /// left the device in a bad state: its worker is replaced before the next run.
    fn peaks(&mut self) -> Result<Peaks, BackendError> {
        let deadline = self.recipe.deadlines.open;
        let doing = "measuring peaks";
        let w = self.ensure_worker()?;
        let e = match w.request(&Request::Peaks, Some(deadline), 0, doing) {
            Ok((Reply::Peaks { peaks }, _)) => return Ok(peaks),
            Ok((other, _)) => self.failed(doing, Ok(other)),
            Err(f) => self.failed(doing, Err(f)),
        };
        if !matches!(e, BackendError::Unavailable(_)) {
            if let Some(w) = self.worker.take() {
                w.shutdown();
            }
        }
        Err(e)
    }
    fn prefill(&mut self, tokens: &[u32], out: &mut [f32]) -> Result<(), BackendError> {
        let req = Request::Prefill {
            tokens: tokens.to_vec(),
            f64: false,
        };
        self.route(req, "running prefill", out)
    }
    fn decode(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f32],
    ) -> Result<(), BackendError> {
        let req = Request::Decode {
            tokens: tokens.to_vec(),
            layout,
            f64: false,
        };
        self.route(req, "running decode", out)
    }
    fn logits_f64(&self) -> bool {
        self.logits_f64
    }
    /// f64 logits through the pipe when the session hands them over; otherwise its f32
    /// logits (half the bytes) widened here.
    fn prefill_f64(&mut self, tokens: &[u32], out: &mut [f64]) -> Result<(), BackendError> {
        if !self.logits_f64 {
            return widen_f32_route(out, |o| self.prefill(tokens, o));
        }
        let req = Request::Prefill {
            tokens: tokens.to_vec(),
            f64: true,
        };
        self.route(req, "running prefill", out)
    }
    fn decode_f64(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f64],
    ) -> Result<(), BackendError> {
        if !self.logits_f64 {
            return widen_f32_route(out, |o| self.decode(tokens, layout, o));
        }
        let req = Request::Decode {
            tokens: tokens.to_vec(),
            layout,
            f64: true,
        };
        self.route(req, "running decode", out)
    }
    fn trace(
        &mut self,
        route: Route,
        tokens: &[u32],
        layout: KvLayout,
    ) -> Result<LayerTrace, BackendError> {
        let req = Request::Trace {
            route,
            tokens: tokens.to_vec(),
            layout,
        };
        let timeout = self.recipe.deadlines.run;
        let doing = format!("tracing {}", route.as_str());
        let w = self.ensure_worker()?;
        match w.request(&req, timeout, MAX_TRACE_BYTES, &doing) {
            Ok((Reply::Trace { .. }, Some(bytes))) => parse_trace(&bytes, tokens.len()),
            Ok((other, _)) => Err(self.failed(&doing, Ok(other))),
            Err(f) => Err(self.failed(&doing, Err(f))),
        }
    }
}

/// A logit type of the binary logits frame.
trait Wire: Copy {
    /// Bytes of one value.
    const BYTES: usize;
    /// The value of `b` (exactly `BYTES` little-endian bytes).
    fn from_le(b: &[u8]) -> Self;
}

impl Wire for f32 {
    const BYTES: usize = 4;
    fn from_le(b: &[u8]) -> f32 {
        f32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

impl Wire for f64 {
    const BYTES: usize = 8;
    fn from_le(b: &[u8]) -> f64 {
        f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }
}

/// A trace's binary form as the plugin or worker sent it, checked against the request.
pub(crate) fn parse_trace(bytes: &[u8], positions: usize) -> Result<LayerTrace, BackendError> {
    let t = LayerTrace::from_bytes(bytes)
        .map_err(|e| BackendError::Run(format!("the backend sent a bad trace: {e}")))?;
    if t.positions != positions {
        return Err(BackendError::Run(format!(
            "the backend traced {} positions, {positions} were asked for",
            t.positions
        )));
    }
    Ok(t)
}

impl Drop for WorkerSession {
    fn drop(&mut self) {
        if let Some(w) = self.worker.take() {
            w.shutdown();
        }
    }
}
