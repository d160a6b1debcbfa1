//! The backend trait every compute stack implements, in process or behind a plugin.

use crate::dtype::Dtype;
use crate::error::BackendError;
use crate::kv::KvLayout;
use crate::metrics::{self, Metrics};
use crate::model_spec::ModelSpec;
use crate::options::{BackendSetup, Configured, Counters};
use crate::probe::Probe;
use crate::profile::{Peaks, RunProfile};
use crate::roofline::ModelCost;
use crate::route::Route;
use crate::session_info::SessionInfo;
use crate::trace::LayerTrace;
use crate::unwritten;

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
        metrics::compare(prefill, decode, vocab)
    }

    // ---- f64 logits (ABI v1.4). Every method below has a default, so a session written
    // before them builds unchanged and hands its f64 logits over as f32. ----

    /// Whether [`Session::prefill_f64`] and [`Session::decode_f64`] write logits computed in
    /// f64 (true only for a session that overrides them, in an f64 session). The default,
    /// `false`, says they widen the f32 routes: the host then judges the pair at
    /// f32-transport precision and labels it so. Constant for the life of the session.
    fn logits_f64(&self) -> bool {
        false
    }
    /// The prefill route with its logits as f64 (`tokens.len() * vocab` values, row-major).
    /// The host calls it in f64 sessions only. The default runs [`Session::prefill`] and
    /// widens its f32 logits ([`widen_f32_route`]); an f64 session overrides it to hand over
    /// the f64 values it computed, and says so in [`Session::logits_f64`].
    fn prefill_f64(&mut self, tokens: &[u32], out: &mut [f64]) -> Result<(), BackendError> {
        widen_f32_route(out, |o| self.prefill(tokens, o))
    }
    /// The decode route with its logits as f64; see [`Session::prefill_f64`].
    fn decode_f64(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f64],
    ) -> Result<(), BackendError> {
        widen_f32_route(out, |o| self.decode(tokens, layout, o))
    }
    /// [`Session::compare`] of two f64 matrices.
    fn compare_f64(&self, prefill: &[f64], decode: &[f64], vocab: usize) -> Metrics {
        metrics::compare_f64(prefill, decode, vocab)
    }
}

/// Run an f32 route (`f`, writing into a buffer of `out.len()` values) and widen its logits
/// into `out`: what [`Session::prefill_f64`] and [`Session::decode_f64`] do by default. The
/// f32 buffer starts filled with the f32 unwritten-logit sentinel, and every sentinel left
/// becomes the f64 one, so a logit the route did not write is still caught.
pub fn widen_f32_route(
    out: &mut [f64],
    f: impl FnOnce(&mut [f32]) -> Result<(), BackendError>,
) -> Result<(), BackendError> {
    let mut narrow = Vec::new();
    narrow
        .try_reserve_exact(out.len())
        .map_err(|e| BackendError::Run(format!("cannot allocate {} f32 logits: {e}", out.len())))?;
    narrow.resize(out.len(), unwritten::UNWRITTEN);
    f(&mut narrow)?;
    unwritten::widen(&narrow, out);
    Ok(())
}
