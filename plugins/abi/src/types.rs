//! `#[repr(C)]` types of ABI v1.

use crate::DbBuf;
use std::ffi::{c_char, c_void};

/// `b"DRFTBNCH"` read as a little-endian u64: the first field of every table.
pub const MAGIC: u64 = u64::from_le_bytes(*b"DRFTBNCH");
/// ABI major version; a different major is incompatible.
pub const ABI_MAJOR: u32 = 1;
/// ABI minor version; additions at the end of the table. 1 added `configure` and
/// `last_counters`; 2 added `trace`; 3 added `last_profile` and `peaks` (and the optional
/// `cost` member of `open`'s session info); 4 added `prefill_f64` and `decode_f64` (and the
/// optional `logits` member of the session info): f64 logits cross as f64.
pub const ABI_MINOR: u32 = 4;
/// Size of a v1.0 table (everything before `configure`): the smallest table a host of this
/// major accepts. Fields past it are read only when the plugin's minor says they exist.
pub const V1_0_TABLE_SIZE: usize = std::mem::offset_of!(PluginV1, configure);
/// Size of a v1.1 table (everything before `trace`).
pub const V1_1_TABLE_SIZE: usize = std::mem::offset_of!(PluginV1, trace);
/// Size of a v1.2 table (everything before `last_profile`).
pub const V1_2_TABLE_SIZE: usize = std::mem::offset_of!(PluginV1, last_profile);
/// Size of a v1.3 table (everything before `prefill_f64`).
pub const V1_3_TABLE_SIZE: usize = std::mem::offset_of!(PluginV1, prefill_f64);

/// `route` codes of [`PluginV1::trace`].
pub mod route {
    /// The prefill route.
    pub const PREFILL: u32 = 0;
    /// The decode route.
    pub const DECODE: u32 = 1;
}
/// Name of the entry symbol, NUL-terminated.
pub const ENTRY_SYMBOL: &[u8] = b"driftbench_plugin_v1\0";

/// Status codes returned by table functions.
pub mod status {
    /// Success.
    pub const OK: i32 = 0;
    /// A run failed; message in the error buffer.
    pub const RUN: i32 = 1;
    /// Backend, device or dtype not available (becomes `SKIPPED`).
    pub const UNAVAILABLE: i32 = 2;
    /// Invalid request (bad span, token, buffer size).
    pub const INVALID: i32 = 3;
    /// Model load failed.
    pub const LOAD: i32 = 4;
    /// The plugin panicked; the session is poisoned.
    pub const PANIC: i32 = 5;
    /// The session panicked earlier and refuses further work.
    pub const POISONED: i32 = 6;
}

/// The fields every table version starts with: read these before anything else.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PluginHeader {
    /// [`MAGIC`].
    pub magic: u64,
    /// [`ABI_MAJOR`] the plugin was built with.
    pub abi_major: u32,
    /// [`ABI_MINOR`] the plugin was built with.
    pub abi_minor: u32,
    /// `size_of::<PluginV1>()` in the plugin.
    pub struct_size: u32,
}

/// The function table of ABI v1.
#[repr(C)]
pub struct PluginV1 {
    /// Handshake fields.
    pub header: PluginHeader,
    /// Backend name, NUL-terminated, static.
    pub name: *const c_char,
    /// Plugin version, NUL-terminated, static.
    pub version: *const c_char,
    /// Write the probe (JSON of `driftbench_core::Probe`) into `out`. No side effects.
    pub probe: unsafe extern "C" fn(out: *mut DbBuf) -> i32,
    /// Load a model (JSON of `driftbench_core::ModelSpec`) in a dtype (`Dtype::code`). On
    /// success stores a session handle and writes the session info JSON into `msg` (the
    /// fields of `driftbench_core::SessionInfo`, and from v1.3 an optional `cost` member:
    /// JSON of `driftbench_core::ModelCost`); on failure writes the error message into `msg`.
    pub open: unsafe extern "C" fn(
        model_json: *const u8,
        model_len: usize,
        dtype: u32,
        session: *mut *mut c_void,
        msg: *mut DbBuf,
    ) -> i32,
    /// Prefill `n` tokens; writes `n × vocab` f32 logits into `out` (`out_len` values).
    pub prefill: unsafe extern "C" fn(
        session: *mut c_void,
        tokens: *const u32,
        n: usize,
        out: *mut f32,
        out_len: usize,
        err: *mut DbBuf,
    ) -> i32,
    /// Decode `n` tokens one per step; `kv_aligned` 1 or 0, `block` the padded cache's block.
    pub decode: unsafe extern "C" fn(
        session: *mut c_void,
        tokens: *const u32,
        n: usize,
        kv_aligned: u32,
        block: u32,
        out: *mut f32,
        out_len: usize,
        err: *mut DbBuf,
    ) -> i32,
    /// Free a session (plugin-allocated, so plugin-freed).
    pub close: unsafe extern "C" fn(session: *mut c_void),
    // ---- v1.1: present when `abi_minor >= 1`; a null pointer means "not provided". ----
    /// Take the backend's setup (JSON of `driftbench_core::BackendSetup`: options and cache
    /// folder) before any session opens. On success writes the options in force (JSON of
    /// `driftbench_core::Configured`) into `msg`; on failure the error message.
    pub configure: Option<
        unsafe extern "C" fn(setup_json: *const u8, setup_len: usize, msg: *mut DbBuf) -> i32,
    >,
    /// Write the counters of the session's last route (a JSON object of name → unsigned
    /// integer: kernels compiled, autotune keys tuned...) into `out`.
    pub last_counters: Option<unsafe extern "C" fn(session: *mut c_void, out: *mut DbBuf) -> i32>,
    // ---- v1.2: present when `abi_minor >= 2`; a null pointer means "not provided". ----
    /// Run route `route` ([`route::PREFILL`] or [`route::DECODE`]; `kv_aligned` and `block`
    /// as for `decode`, ignored by prefill) on `n` tokens and write the hidden state of every
    /// position at every trace point (`driftbench_core::trace`) into `out`, in the binary form
    /// of `driftbench_core::trace::LayerTrace::to_bytes`: `b"DBTRACE1"`, `u32` points,
    /// positions and hidden size, each point's name as a `u32` length and UTF-8 bytes, then
    /// `points × positions × hidden` `f32`, all little-endian.
    ///
    /// On success `out.len` is the length of that form; when it exceeds `out.cap` nothing is
    /// written and the plugin keeps the answer, so the host's retry with a buffer of
    /// `out.len` bytes and otherwise identical arguments gets it without recomputing. On
    /// failure the message goes to `err` and the status says why ([`status::UNAVAILABLE`]:
    /// this session cannot trace).
    #[allow(clippy::type_complexity)]
    pub trace: Option<
        unsafe extern "C" fn(
            session: *mut c_void,
            tokens: *const u32,
            n: usize,
            route: u32,
            kv_aligned: u32,
            block: u32,
            out: *mut DbBuf,
            err: *mut DbBuf,
        ) -> i32,
    >,
    // ---- v1.3: present when `abi_minor >= 3`; a null pointer means "not provided". ----
    /// Write the profile of the session's last successful route (JSON of
    /// `driftbench_core::RunProfile`: every decode step's seconds, the read-back's) into
    /// `out`.
    pub last_profile: Option<unsafe extern "C" fn(session: *mut c_void, out: *mut DbBuf) -> i32>,
    /// Measure the peaks of the session's device in its dtype (short GEMM and bandwidth
    /// probes) and write them (JSON of `driftbench_core::Peaks`) into `out`; on failure the
    /// message goes to `out` and the status says why ([`status::UNAVAILABLE`]: this session
    /// cannot measure). A panic poisons the session, as in a route.
    pub peaks: Option<unsafe extern "C" fn(session: *mut c_void, out: *mut DbBuf) -> i32>,
    // ---- v1.4: present when `abi_minor >= 4`; a null pointer means "not provided". ----
    /// [`PluginV1::prefill`] with f64 logits: writes `n × vocab` f64 values into `out`
    /// (`out_len` values). The host calls it only in an f64 session whose info said
    /// `"logits": "f64"`, and fills `out` with the f64 unwritten-logit sentinel
    /// (`driftbench_core::unwritten::UNWRITTEN64_BITS`) first.
    pub prefill_f64: Option<
        unsafe extern "C" fn(
            session: *mut c_void,
            tokens: *const u32,
            n: usize,
            out: *mut f64,
            out_len: usize,
            err: *mut DbBuf,
        ) -> i32,
    >,
    /// [`PluginV1::decode`] with f64 logits, as [`PluginV1::prefill_f64`].
    #[allow(clippy::type_complexity)]
    pub decode_f64: Option<
        unsafe extern "C" fn(
            session: *mut c_void,
            tokens: *const u32,
            n: usize,
            kv_aligned: u32,
            block: u32,
            out: *mut f64,
            out_len: usize,
            err: *mut DbBuf,
        ) -> i32,
    >,
}

// SAFETY: the table is immutable after creation and its pointers reference static, read-only
// data (NUL-terminated names and functions), so sharing it between threads is sound.
unsafe impl Sync for PluginV1 {}
// SAFETY: as for Sync: moving the table moves only pointers to static, read-only data.
unsafe impl Send for PluginV1 {}

impl std::fmt::Debug for PluginV1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginV1")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}
