//! The backend trait every compute stack implements, in process or behind a plugin.

use crate::options::{BackendSetup, Configured, Counters};
use crate::profile::{Peaks, RunProfile};
use crate::records::Route;
use crate::roofline::ModelCost;
use crate::trace::LayerTrace;
use crate::{Dtype, Metrics, ModelSpec};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How the decode route lays out its KV cache (see `kv_aligned` in DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvLayout {
    /// `kv_aligned = 1`: step `t` attends over exactly the `t + 1` cached keys.
    Aligned,
    /// `kv_aligned = 0`: a preallocated buffer of `round_up(span, block)` slots; every step
    /// attends over the whole capacity with the unused tail masked.
    Padded {
        /// Block size the capacity is rounded up to.
        block: usize,
    },
}

/// One device a backend can run on, as its probe reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Device or adapter name (e.g. `NVIDIA H100`, `llvmpipe`, `cpu`).
    pub name: String,
    /// Kind: `cpu`, `discrete`, `integrated`, `virtual`, `software`, ...
    pub kind: String,
    /// Driver name and version, where known.
    #[serde(default)]
    pub driver: Option<String>,
    /// Dtypes this device can compute in.
    pub dtypes: Vec<Dtype>,
    /// Dtypes this device cannot compute in, each with the reason.
    #[serde(default)]
    pub unsupported: Vec<(Dtype, String)>,
    /// Free-form details (compute capability, memory, threads...).
    #[serde(default)]
    pub details: Vec<(String, String)>,
}

/// What a backend's probe says, without side effects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Backend name (`flex`, `wgpu`, `cuda`, ...).
    pub backend: String,
    /// Version of the backend implementation (the plugin crate).
    pub version: String,
    /// Version of the burn stack it was built with, if any.
    #[serde(default)]
    pub burn_version: Option<String>,
    /// `None` when available; otherwise why not (`no CUDA driver`).
    #[serde(default)]
    pub unavailable: Option<String>,
    /// Devices found.
    pub devices: Vec<DeviceInfo>,
    /// Dtypes the backend can compute in at all, on a device that allows them: what a user
    /// would get on suitable hardware, listed even when nothing is available here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backend_dtypes: Vec<Dtype>,
}

impl Probe {
    /// Why `dtype` cannot run on the first device, or `None` when it can.
    pub fn dtype_unavailable(&self, dtype: Dtype) -> Option<String> {
        if let Some(why) = &self.unavailable {
            return Some(format!("{}: {why}", self.backend));
        }
        let Some(dev) = self.devices.first() else {
            return Some(format!("{}: no device", self.backend));
        };
        if dev.dtypes.contains(&dtype) {
            return None;
        }
        let why = dev
            .unsupported
            .iter()
            .find(|(d, _)| *d == dtype)
            .map(|(_, w)| w.clone())
            .unwrap_or_else(|| format!("{} has no {dtype}", dev.name));
        Some(format!("{}: {why}", self.backend))
    }
}

/// What a session says about the model it loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Vocabulary size: the width of a logits row.
    pub vocab: usize,
    /// Longest prompt the session accepts (context length).
    pub max_span: usize,
    /// Device the session runs on.
    pub device: String,
    /// Human-readable model description (architecture, parameter count).
    pub model: String,
}

/// A session's [`SessionInfo`] as `open` answers it across the plugin ABI: the info's fields
/// and, from ABI v1.3, the session's [`ModelCost`] (an older host ignores the extra member,
/// an older plugin sends none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenedInfo {
    /// The info.
    #[serde(flatten)]
    pub info: SessionInfo,
    /// What the model costs to run ([`Session::cost`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<ModelCost>,
}

/// Largest vocabulary a session may report (a logits row of 16 MiB).
pub const MAX_VOCAB: usize = 1 << 22;

impl SessionInfo {
    /// Check what a plugin said before anything is sized by it: a vocab of 0 or 2^62 would
    /// otherwise panic the prompt generator or abort an allocation in driftbench itself.
    pub fn check(&self) -> Result<(), String> {
        if self.vocab == 0 || self.vocab > MAX_VOCAB {
            return Err(format!(
                "the backend reported vocab {}, expected 1 to {MAX_VOCAB}",
                self.vocab
            ));
        }
        if self.max_span == 0 {
            return Err("the backend reported max_span 0".into());
        }
        Ok(())
    }
}

/// Errors a backend or session reports.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum BackendError {
    /// The backend, device or dtype is not available here (becomes `SKIPPED`).
    #[error("not available: {0}")]
    Unavailable(String),
    /// The request itself is invalid (span too long, token out of range...).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Loading the model failed.
    #[error("model load failed: {0}")]
    Load(String),
    /// The computation failed.
    #[error("run failed: {0}")]
    Run(String),
    /// The backend panicked; its session is poisoned.
    #[error("backend panicked: {0}")]
    Panic(String),
}

impl BackendError {
    /// The message without the kind's prefix: what crosses the plugin ABI and the worker
    /// protocol, where the kind travels as a code (the receiver adds the prefix once).
    pub fn message(&self) -> &str {
        match self {
            BackendError::Unavailable(m)
            | BackendError::Invalid(m)
            | BackendError::Load(m)
            | BackendError::Run(m)
            | BackendError::Panic(m) => m,
        }
    }
}

/// One compute stack. Implemented in process by backend crates and by the plugin host's
/// wrapper around a loaded plugin.
pub trait Backend: Send {
    /// Backend name (`flex`, `wgpu`, `cuda`, ...).
    fn name(&self) -> &str;
    /// List devices and dtypes without side effects (no tensor is ever created).
    fn probe(&self) -> Probe;
    /// Take this instance's options (and the cache folder) before any session opens; answer
    /// with the options in force. Called at most once per process before the first `open`,
    /// and again with the same setup in every worker process. A backend without options
    /// accepts an empty set and refuses any other.
    fn configure(&mut self, setup: &BackendSetup) -> Result<Configured, BackendError> {
        match setup.options.keys().next() {
            None => Ok(Configured::default()),
            Some(key) => Err(BackendError::Invalid(format!(
                "unknown option `{key}`; this backend takes no options"
            ))),
        }
    }
    /// Load `model` in `dtype`; weights are converted and uploaded once per session.
    fn open(&self, model: &ModelSpec, dtype: Dtype) -> Result<Box<dyn Session>, BackendError>;
}

/// A model loaded on one backend in one dtype.
pub trait Session: Send {
    /// What was loaded.
    fn info(&self) -> SessionInfo;
    /// Prefill route: all tokens in one forward with a causal mask; writes the logits of
    /// every position into `out` (`tokens.len() * vocab` values, row-major).
    fn prefill(&mut self, tokens: &[u32], out: &mut [f32]) -> Result<(), BackendError>;
    /// Decode route: one token per step through a fresh KV cache laid out as `layout`;
    /// writes the logits of every step into `out` (`tokens.len() * vocab`).
    fn decode(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f32],
    ) -> Result<(), BackendError>;
    /// Seconds the last successful `prefill`/`decode` took where it ran, when that is known
    /// better than the caller's own clock (a worker process measures its plugin call, so the
    /// logits' trip through the pipe is left out). `None`: the caller's clock is the measure.
    fn last_wall_s(&self) -> Option<f64> {
        None
    }
    /// Counters of the last `prefill`/`decode` (kernels compiled, autotune keys tuned...),
    /// empty where the backend keeps none.
    fn last_counters(&self) -> Counters {
        Counters::new()
    }
    /// What the loaded model costs to run (weights multiplied per token, their bytes as the
    /// session holds them, KV widths), for the report's roofline figures; `None` where the
    /// session does not say. Constant for the life of the session.
    fn cost(&self) -> Option<ModelCost> {
        None
    }
    /// Timing details of the last successful `prefill`/`decode` (every decode step's time,
    /// the logits' read-back, the process's peak memory); the default measures nothing.
    fn last_profile(&self) -> RunProfile {
        RunProfile::default()
    }
    /// Measure the peak matrix-product throughput and memory bandwidth this session's device
    /// reaches in its dtype, with short probes (see [`Peaks`]). Called at most once per
    /// session, before its runs; the host caches the answer per machine. Sessions that
    /// cannot measure keep this default, which says so.
    fn peaks(&mut self) -> Result<Peaks, BackendError> {
        Err(BackendError::Unavailable(
            "this backend does not measure its peaks".into(),
        ))
    }
    /// Run `route` on `tokens` (decode through a KV cache in `layout`; prefill ignores it)
    /// and return the hidden state of every position at every trace point (see
    /// [`crate::trace`]), computed by the same kernels as the untraced route. Sessions that
    /// cannot trace keep this default, which says so.
    fn trace(
        &mut self,
        route: Route,
        tokens: &[u32],
        layout: KvLayout,
    ) -> Result<LayerTrace, BackendError> {
        let _ = (route, tokens, layout);
        Err(BackendError::Unavailable(
            "this backend does not trace layers".into(),
        ))
    }
    /// Compare two logits matrices of width `vocab`. The host default runs on the CPU;
    /// a backend may do it on its device.
    fn compare(&self, prefill: &[f32], decode: &[f32], vocab: usize) -> Metrics {
        crate::metrics::compare(prefill, decode, vocab)
    }
}
