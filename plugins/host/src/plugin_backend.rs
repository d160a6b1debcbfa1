//! A loaded plugin as a `driftbench_core::Backend`.

use crate::worker::client::parse_trace;
use crate::worker::protocol::MAX_TRACE_BYTES;
use crate::LoadedPlugin;
use driftbench_core::profile;
use driftbench_core::route::Route;
use driftbench_core::trace::LayerTrace;
use driftbench_core::{
    Backend, BackendError, BackendSetup, Configured, Counters, Dtype, KvLayout, ModelCost,
    ModelSpec, OpenedInfo, Peaks, Probe, RunProfile, Session, SessionInfo,
};
use driftbench_plugin_abi::{route, status, DbBuf, PluginV1};
use std::ffi::c_void;

/// Message buffers start here and grow to what the plugin asks for.
const MSG_CAP: usize = 64 * 1024;

/// A plugin seen through the `Backend` trait.
#[derive(Debug, Clone)]
pub struct PluginBackend {
    plugin: LoadedPlugin,
}

impl PluginBackend {
    /// Wrap a loaded plugin.
    pub fn new(plugin: LoadedPlugin) -> Self {
        PluginBackend { plugin }
    }

    /// The plugin behind this backend.
    pub fn plugin(&self) -> &LoadedPlugin {
        &self.plugin
    }
}

fn to_error(code: i32, msg: String) -> BackendError {
    let msg = if msg.trim().is_empty() {
        format!("the plugin returned status {code} without a message")
    } else {
        msg
    };
    match code {
        status::UNAVAILABLE => BackendError::Unavailable(msg),
        status::INVALID => BackendError::Invalid(msg),
        status::LOAD => BackendError::Load(msg),
        status::PANIC | status::POISONED => BackendError::Panic(msg),
        _ => BackendError::Run(msg),
    }
}

/// Largest text answer taken from a plugin (a probe, session info, a message): what the
/// worker protocol carries in one message frame.
const MSG_MAX: usize = crate::worker::protocol::MAX_MESSAGE;

/// Call `f` with a text buffer, growing it once if the plugin's answer did not fit. An
/// answer announced larger than [`MSG_MAX`] is refused, never allocated.
fn with_text(mut f: impl FnMut(*mut DbBuf) -> i32) -> (i32, String) {
    let (storage, mut buf) = DbBuf::host(MSG_CAP);
    let code = f(&mut buf);
    if buf.len <= buf.cap {
        return (code, buf.text(&storage));
    }
    if buf.len > MSG_MAX {
        return (
            status::INVALID,
            format!(
                "the plugin announced an answer of {} bytes, more than the {MSG_MAX} accepted",
                buf.len
            ),
        );
    }
    let (storage, mut big) = DbBuf::host(buf.len);
    let code = f(&mut big);
    (code, big.text(&storage))
}

impl PluginBackend {
    /// The plugin's probe, or why it failed.
    pub fn try_probe(&self) -> Result<Probe, BackendError> {
        let t = self.plugin.table;
        // SAFETY: `probe` comes from a table whose handshake passed; the buffer is ours.
        let (code, text) = with_text(|b| unsafe { (t.probe)(b) });
        if code != status::OK {
            return Err(BackendError::Run(format!(
                "probe failed: {}",
                to_error(code, text).message()
            )));
        }
        serde_json::from_str::<Probe>(&text).map_err(|e| {
            BackendError::Run(format!(
                "probe failed: the plugin sent a probe that is not valid: {e}"
            ))
        })
    }
}

impl Backend for PluginBackend {
    fn name(&self) -> &str {
        &self.plugin.name
    }

    /// A probe that failed (returned an error, panicked, sent something that is not a probe)
    /// stands in as "not available", but callers that decide verdicts use
    /// [`PluginBackend::try_probe`]: a broken plugin is not absent hardware.
    fn probe(&self) -> Probe {
        self.try_probe().unwrap_or_else(|e| Probe {
            backend: self.plugin.name.clone(),
            version: self.plugin.version.clone(),
            burn_version: None,
            unavailable: Some(e.message().to_string()),
            devices: vec![],
            backend_dtypes: vec![],
            kv_unsupported: Vec::new(),
            kv_padding: None,
            traces: false,
        })
    }

    fn configure(&mut self, setup: &BackendSetup) -> Result<Configured, BackendError> {
        let Some(configure) = self.plugin.table.configure else {
            return match setup.options.keys().next() {
                None => Ok(Configured::default()),
                Some(key) => Err(BackendError::Invalid(format!(
                    "unknown option `{key}`: plugin {} speaks ABI v{}, which takes no options",
                    self.plugin.name, self.plugin.abi
                ))),
            };
        };
        let json = serde_json::to_vec(setup).map_err(|e| BackendError::Invalid(e.to_string()))?;
        // SAFETY: `configure` comes from the table whose handshake passed (present only when the
        // plugin's minor declares it); `json` is ours, `json.len()` bytes; the buffer is ours.
        let (code, text) = with_text(|b| unsafe { configure(json.as_ptr(), json.len(), b) });
        if code != status::OK {
            return Err(to_error(code, text));
        }
        serde_json::from_str(&text)
            .map_err(|e| BackendError::Run(format!("plugin sent bad options in force: {e}")))
    }

    fn open(&self, model: &ModelSpec, dtype: Dtype) -> Result<Box<dyn Session>, BackendError> {
        let t = self.plugin.table;
        let json = serde_json::to_vec(model).map_err(|e| BackendError::Invalid(e.to_string()))?;
        let mut handle: *mut c_void = std::ptr::null_mut();
        let (code, text) = with_text(|b| {
            if !handle.is_null() {
                // A retry after a too-small buffer: close the first session.
                // SAFETY: `handle` is the session the first `open` call returned; it is closed
                // once, then reset to null.
                unsafe { (t.close)(handle) };
                handle = std::ptr::null_mut();
            }
            // SAFETY: `open` comes from the table whose handshake passed; `json` is ours,
            // `json.len()` bytes; `handle` is a live local to write to; the buffer is ours.
            unsafe { (t.open)(json.as_ptr(), json.len(), dtype.code(), &mut handle, b) }
        });
        if code != status::OK || handle.is_null() {
            if !handle.is_null() {
                // SAFETY: a session this call opened whose answer was refused; closed once.
                unsafe { (t.close)(handle) };
            }
            return Err(to_error(code, text));
        }
        let opened = serde_json::from_str::<OpenedInfo>(&text)
            .map_err(|e| format!("plugin sent bad session info: {e}"))
            .and_then(|o| o.info.check().map(|()| o));
        let opened = match opened {
            Ok(o) => o,
            Err(why) => {
                // SAFETY: `handle` is the session this call opened; closed once.
                unsafe { (t.close)(handle) };
                return Err(BackendError::Run(why));
            }
        };
        // f64 logits cross as f64 only when the session says so and the table (v1.4) has
        // both routes for it; otherwise its f64 routes widen the f32 ones (f32 transport).
        let logits_f64 = dtype == Dtype::F64
            && opened.logits_f64()
            && t.prefill_f64.is_some()
            && t.decode_f64.is_some();
        Ok(Box::new(PluginSession {
            table: t,
            handle,
            info: opened.info,
            cost: opened.cost,
            logits_f64,
            abi: self.plugin.abi.clone(),
            rss_floor: None,
        }))
    }
}

/// A session living inside a plugin.
struct PluginSession {
    table: &'static PluginV1,
    handle: *mut c_void,
    info: SessionInfo,
    /// What the model costs to run, when the plugin said (ABI v1.3).
    cost: Option<ModelCost>,
    /// The f64 routes hand over f64 logits (ABI v1.4, the session info's `logits`).
    logits_f64: bool,
    /// ABI version of the plugin, for "cannot trace" messages.
    abi: String,
    /// The process's peak memory just before the peak probes ran; the probes' buffers are
    /// then forgotten (the peak is reset), so the runs' peak is the larger of this and the
    /// peak read after each run.
    rss_floor: Option<u64>,
}

/// First buffer offered for a trace; a larger answer costs one more call, which the plugin
/// answers from the trace it kept (no recomputation).
const TRACE_CAP: usize = 1 << 20;

// SAFETY: the handle is only used through this session, which is not Sync, so by one thread at
// a time; plugin sessions are `driftbench_core::Session`, which is Send, so they may move.
unsafe impl Send for PluginSession {}

impl PluginSession {
    /// Check the output size, then make one table call with an error buffer.
    fn call<T>(
        &self,
        tokens: &[u32],
        out: &mut [T],
        f: impl FnOnce(*mut T, *mut DbBuf) -> i32,
    ) -> Result<(), BackendError> {
        if out.len() != tokens.len() * self.info.vocab {
            return Err(BackendError::Invalid(format!(
                "output buffer holds {} values, expected {} × {}",
                out.len(),
                tokens.len(),
                self.info.vocab
            )));
        }
        let (storage, mut err) = DbBuf::host(MSG_CAP);
        match f(out.as_mut_ptr(), &mut err) {
            status::OK => Ok(()),
            code => Err(to_error(code, err.text(&storage))),
        }
    }
}

impl PluginSession {
    /// Why an optional table function `what`, added in ABI v1.`since`, is missing: an
    /// older plugin, or one that leaves the field null.
    fn absent(&self, what: &str, since: u32) -> String {
        let minor = self
            .abi
            .split('.')
            .nth(1)
            .and_then(|m| m.parse::<u32>().ok())
            .unwrap_or(0);
        if minor >= since {
            format!(
                "the plugin provides no {what} (its ABI v{} table leaves it null)",
                self.abi
            )
        } else {
            format!(
                "the plugin speaks ABI v{}, which has no {what} (added in v1.{since})",
                self.abi
            )
        }
    }
}

/// `kv_aligned` and `block` arguments of the table's `decode` and `trace`.
fn kv_args(layout: KvLayout) -> (u32, u32) {
    match layout {
        KvLayout::Aligned => (1, 0),
        KvLayout::Padded { block } => (0, u32::try_from(block).unwrap_or(u32::MAX)),
    }
}

impl Session for PluginSession {
    fn info(&self) -> SessionInfo {
        self.info.clone()
    }

    fn prefill(&mut self, tokens: &[u32], out: &mut [f32]) -> Result<(), BackendError> {
        let (t, h, n) = (self.table, self.handle, out.len());
        // SAFETY: `prefill` comes from the table whose handshake passed; `h` is this session's
        // live handle; `tokens` is ours; `call` passes `out` (`n` values) and its own error buffer.
        self.call(tokens, out, |o, e| unsafe {
            (t.prefill)(h, tokens.as_ptr(), tokens.len(), o, n, e)
        })
    }

    fn decode(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f32],
    ) -> Result<(), BackendError> {
        let (kv, block) = kv_args(layout);
        let (t, h, n) = (self.table, self.handle, out.len());
        // SAFETY: `decode` comes from the table whose handshake passed; `h` is this session's
        // live handle; `tokens` is ours; `call` passes `out` (`n` values) and its own error buffer.
        self.call(tokens, out, |o, e| unsafe {
            (t.decode)(h, tokens.as_ptr(), tokens.len(), kv, block, o, n, e)
        })
    }

    fn logits_f64(&self) -> bool {
        self.logits_f64
    }

    fn prefill_f64(&mut self, tokens: &[u32], out: &mut [f64]) -> Result<(), BackendError> {
        let f = match self.table.prefill_f64 {
            Some(f) if self.logits_f64 => f,
            _ => {
                return driftbench_core::backend::widen_f32_route(out, |o| self.prefill(tokens, o))
            }
        };
        let (h, n) = (self.handle, out.len());
        // SAFETY: `f` comes from the table whose handshake passed (present only when the
        // plugin's minor declares it); `h` is this session's live handle; `tokens` is ours;
        // `call` passes `out` (`n` f64 values) and its own error buffer.
        self.call(tokens, out, |o, e| unsafe {
            f(h, tokens.as_ptr(), tokens.len(), o, n, e)
        })
    }

    fn decode_f64(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f64],
    ) -> Result<(), BackendError> {
        let f = match self.table.decode_f64 {
            Some(f) if self.logits_f64 => f,
            _ => {
                return driftbench_core::backend::widen_f32_route(out, |o| {
                    self.decode(tokens, layout, o)
                })
            }
        };
        let (kv, block) = kv_args(layout);
        let (h, n) = (self.handle, out.len());
        // SAFETY: as in `prefill_f64`, for `decode_f64`.
        self.call(tokens, out, |o, e| unsafe {
            f(h, tokens.as_ptr(), tokens.len(), kv, block, o, n, e)
        })
    }

    fn trace(
        &mut self,
        route: Route,
        tokens: &[u32],
        layout: KvLayout,
    ) -> Result<LayerTrace, BackendError> {
        let Some(f) = self.table.trace else {
            return Err(BackendError::Unavailable(self.absent("layer trace", 2)));
        };
        let code = match route {
            Route::Prefill => route::PREFILL,
            Route::Decode => route::DECODE,
        };
        let (kv, block) = kv_args(layout);
        let h = self.handle;
        let call = |cap: usize| {
            let (storage, mut out) = DbBuf::host(cap);
            let (err_storage, mut err) = DbBuf::host(MSG_CAP);
            // SAFETY: `f` comes from the table whose handshake passed (present only when the
            // plugin's minor declares it); `h` is this session's live handle; `tokens` and
            // both buffers are ours.
            let status = unsafe {
                f(
                    h,
                    tokens.as_ptr(),
                    tokens.len(),
                    code,
                    kv,
                    block,
                    &mut out,
                    &mut err,
                )
            };
            match status {
                status::OK => Ok((storage, out.len)),
                c => Err(to_error(c, err.text(&err_storage))),
            }
        };
        let (mut storage, mut len) = call(TRACE_CAP)?;
        if len > storage.len() {
            if len > MAX_TRACE_BYTES {
                return Err(BackendError::Invalid(format!(
                    "the plugin's trace is {len} bytes, more than the {} MiB a trace may \
                     have: trace a shorter span",
                    MAX_TRACE_BYTES >> 20
                )));
            }
            (storage, len) = call(len)?;
            if len > storage.len() {
                return Err(BackendError::Run(format!(
                    "the plugin's trace grew from {} to {len} bytes between two calls",
                    storage.len()
                )));
            }
        }
        parse_trace(&storage[..len], tokens.len())
    }

    fn cost(&self) -> Option<ModelCost> {
        self.cost.clone()
    }

    /// The plugin's profile (nothing from a plugin older than ABI v1.3) with this process's
    /// peak memory: the worker's in a worker, the host's in process.
    fn last_profile(&self) -> RunProfile {
        let mut p = self
            .table
            .last_profile
            .and_then(|f| {
                let h = self.handle;
                // SAFETY: `f` comes from the table whose handshake passed (present only when
                // the plugin's minor declares it); `h` is this session's live handle; the
                // buffer is ours.
                let (code, text) = with_text(|b| unsafe { f(h, b) });
                if code != status::OK {
                    return None;
                }
                serde_json::from_str::<RunProfile>(&text).ok()
            })
            .unwrap_or_default();
        p.peak_rss_bytes = profile::peak_rss_bytes().map(|b| b.max(self.rss_floor.unwrap_or(0)));
        p
    }

    fn peaks(&mut self) -> Result<Peaks, BackendError> {
        let Some(f) = self.table.peaks else {
            return Err(BackendError::Unavailable(self.absent("peaks probe", 3)));
        };
        let before = profile::peak_rss_bytes();
        let h = self.handle;
        // SAFETY: `f` comes from the table whose handshake passed (present only when the
        // plugin's minor declares it); `h` is this session's live handle; the buffer is ours.
        let (code, text) = with_text(|b| unsafe { f(h, b) });
        if profile::reset_peak_rss() {
            self.rss_floor = self.rss_floor.max(before);
        }
        if code != status::OK {
            return Err(to_error(code, text));
        }
        serde_json::from_str(&text)
            .map_err(|e| BackendError::Run(format!("plugin sent bad peaks: {e}")))
    }

    fn last_counters(&self) -> Counters {
        let Some(f) = self.table.last_counters else {
            return Counters::new();
        };
        let h = self.handle;
        // SAFETY: `f` comes from the table whose handshake passed (present only when the
        // plugin's minor declares it); `h` is this session's live handle; the buffer is ours.
        let (code, text) = with_text(|b| unsafe { f(h, b) });
        if code != status::OK {
            return Counters::new();
        }
        serde_json::from_str(&text).unwrap_or_default()
    }
}

impl Drop for PluginSession {
    fn drop(&mut self) {
        // SAFETY: `handle` is the live session `open` returned; dropping closes it exactly once.
        unsafe { (self.table.close)(self.handle) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_without_a_message_still_says_something() {
        let e = to_error(77, String::new());
        assert_eq!(
            e.message(),
            "the plugin returned status 77 without a message"
        );
        assert!(
            matches!(to_error(status::PANIC, " ".into()), BackendError::Panic(m) if m.contains("status"))
        );
    }

    #[test]
    fn an_answer_announced_huge_is_refused_unallocated() {
        let (code, text) = with_text(|b| {
            // SAFETY: `b` is the host buffer `with_text` hands out, valid for this call.
            unsafe { (*b).len = usize::MAX / 2 };
            status::OK
        });
        assert_eq!(code, status::INVALID);
        assert!(text.contains("more than"), "{text}");
    }
}
