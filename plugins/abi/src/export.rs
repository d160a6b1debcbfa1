//! Plugin side: the exported functions and the [`export_plugin!`](crate::export_plugin) macro.
//!
//! Each plugin `cdylib` links its own copy of this crate, so the statics below are per plugin.
//!
//! # Safety contract of the table functions
//!
//! The `unsafe extern "C"` functions below are only reached through [`PluginV1`], and the host
//! calls them as its field docs say: every `*mut DbBuf` is null or points to a valid [`DbBuf`]
//! whose `ptr` is valid for `cap` bytes; every input pointer that is not null is valid for
//! reads of its length (`setup_len` bytes, `model_len` bytes, `n` tokens); `out` is valid for
//! `out_len` f32 (f64 in the `_f64` routes) writes and aliases nothing else passed; `session` (in `open`: `*session`'s
//! target) is null or a handle this plugin's `open` returned that is not closed yet, used by
//! one thread at a time and closed once.

use crate::{route, status, DbBuf, PluginHeader, PluginV1, ABI_MAJOR, ABI_MINOR, MAGIC};
use driftbench_core::route::Route;
use driftbench_core::{
    Backend, BackendError, BackendSetup, Dtype, KvLayout, ModelSpec, OpenedInfo, Session,
};
use std::any::Any;
use std::ffi::{c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, OnceLock};

/// Makes the plugin's backend; the macro passes `<T as Default>::default` boxed.
pub type BackendFactory = fn() -> Box<dyn Backend>;

struct Registry {
    backend: Mutex<Box<dyn Backend>>,
    _name: CString,
    _version: CString,
    table: PluginV1,
}

// SAFETY: the only non-thread-safe fields are the table's pointers, which point to the
// CStrings above (never mutated, alive as long as the registry: forever, it is a static) and to
// functions; the backend itself sits behind a Mutex.
unsafe impl Sync for Registry {}
// SAFETY: as for Sync: the table's pointers reference immutable data owned by the registry.
unsafe impl Send for Registry {}

static REGISTRY: OnceLock<Registry> = OnceLock::new();

struct SessionSlot {
    session: Box<dyn Session>,
    poisoned: Option<String>,
    /// A trace that did not fit the host's buffer, kept for the retry (see `trace`).
    kept_trace: Option<(TraceKey, Vec<u8>)>,
}

/// The arguments a kept trace answers.
#[derive(PartialEq)]
struct TraceKey {
    route: Route,
    layout: KvLayout,
    tokens: Vec<u32>,
}

/// Implementation of the entry symbol; called by [`export_plugin!`](crate::export_plugin).
#[doc(hidden)]
pub fn __export(factory: BackendFactory, version: &'static str) -> *const PluginV1 {
    let reg = REGISTRY.get_or_init(|| {
        let backend = factory();
        let name = CString::new(backend.name()).unwrap_or_default();
        let version = CString::new(version).unwrap_or_default();
        let table = PluginV1 {
            header: PluginHeader {
                magic: MAGIC,
                abi_major: ABI_MAJOR,
                abi_minor: ABI_MINOR,
                struct_size: std::mem::size_of::<PluginV1>() as u32,
            },
            name: name.as_ptr(),
            version: version.as_ptr(),
            probe,
            open,
            prefill,
            decode,
            close,
            configure: Some(configure),
            last_counters: Some(last_counters),
            // Always offered: a session type that cannot trace answers UNAVAILABLE through
            // the trait's default.
            trace: Some(trace),
            last_profile: Some(last_profile),
            // As for `trace`: the trait's default answers UNAVAILABLE.
            peaks: Some(peaks),
            // Always offered; the session info's `logits` member says whether they hand
            // over f64 values computed in f64 (`Session::logits_f64`) or the f32 routes
            // widened (the trait's default), which the host then reads as f32 transport.
            prefill_f64: Some(prefill_f64),
            decode_f64: Some(decode_f64),
        };
        Registry {
            backend: Mutex::new(backend),
            _name: name,
            _version: version,
            table,
        }
    });
    &reg.table
}

/// Export `$ty` (a `driftbench_core::Backend + Default`) as this library's plugin.
#[macro_export]
macro_rules! export_plugin {
    ($ty:ty) => {
        /// The driftbench plugin entry point (ABI v1).
        #[no_mangle]
        pub extern "C" fn driftbench_plugin_v1() -> *const $crate::PluginV1 {
            fn make() -> Box<dyn ::driftbench_core::Backend> {
                Box::new(<$ty as ::core::default::Default>::default())
            }
            ::std::panic::catch_unwind(|| $crate::__export(make, env!("CARGO_PKG_VERSION")))
                .unwrap_or(::std::ptr::null())
        }
    };
}

fn panic_text(p: Box<dyn Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".to_string()
    }
}

fn code(e: &BackendError) -> i32 {
    match e {
        BackendError::Unavailable(_) => status::UNAVAILABLE,
        BackendError::Invalid(_) => status::INVALID,
        BackendError::Load(_) => status::LOAD,
        BackendError::Run(_) => status::RUN,
        BackendError::Panic(_) => status::PANIC,
    }
}

fn backend() -> Option<&'static Mutex<Box<dyn Backend>>> {
    REGISTRY.get().map(|r| &r.backend)
}

unsafe extern "C" fn probe(out: *mut DbBuf) -> i32 {
    let r = catch_unwind(|| {
        let b = backend().ok_or("plugin not initialised")?;
        let guard = b.lock().map_err(|_| "backend lock poisoned")?;
        serde_json::to_string(&guard.probe()).map_err(|_| "probe is not serialisable")
    });
    match r {
        Ok(Ok(json)) => {
            // SAFETY: `out` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(out, &json) };
            status::OK
        }
        Ok(Err(e)) => {
            // SAFETY: `out` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(out, e) };
            status::RUN
        }
        Err(p) => {
            // SAFETY: `out` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(out, &format!("probe panicked: {}", panic_text(p))) };
            status::PANIC
        }
    }
}

unsafe extern "C" fn configure(setup_json: *const u8, setup_len: usize, msg: *mut DbBuf) -> i32 {
    if setup_json.is_null() {
        // SAFETY: `msg` is null or a valid host buffer (table contract, see module docs).
        unsafe { DbBuf::write(msg, "null argument") };
        return status::INVALID;
    }
    // SAFETY: non-null, and the host passes `setup_len` readable bytes (table contract).
    let bytes = unsafe { std::slice::from_raw_parts(setup_json, setup_len) };
    let r = catch_unwind(AssertUnwindSafe(|| -> Result<String, BackendError> {
        let setup: BackendSetup = serde_json::from_slice(bytes)
            .map_err(|e| BackendError::Invalid(format!("backend setup: {e}")))?;
        let b = backend().ok_or_else(|| BackendError::Run("plugin not initialised".into()))?;
        let mut guard = b
            .lock()
            .map_err(|_| BackendError::Run("backend lock poisoned".into()))?;
        let configured = guard.configure(&setup)?;
        serde_json::to_string(&configured)
            .map_err(|e| BackendError::Run(format!("options in force are not serialisable: {e}")))
    }));
    match r {
        Ok(Ok(json)) => {
            // SAFETY: `msg` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(msg, &json) };
            status::OK
        }
        Ok(Err(e)) => {
            // SAFETY: `msg` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(msg, e.message()) };
            code(&e)
        }
        Err(p) => {
            // SAFETY: `msg` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(msg, &format!("configure panicked: {}", panic_text(p))) };
            status::PANIC
        }
    }
}

unsafe extern "C" fn open(
    model_json: *const u8,
    model_len: usize,
    dtype: u32,
    session: *mut *mut c_void,
    msg: *mut DbBuf,
) -> i32 {
    if model_json.is_null() || session.is_null() {
        // SAFETY: `msg` is null or a valid host buffer (table contract, see module docs).
        unsafe { DbBuf::write(msg, "null argument") };
        return status::INVALID;
    }
    // SAFETY: non-null, and the host passes `model_len` readable bytes (table contract).
    let bytes = unsafe { std::slice::from_raw_parts(model_json, model_len) };
    let r = catch_unwind(AssertUnwindSafe(
        || -> Result<Box<dyn Session>, BackendError> {
            let spec: ModelSpec = serde_json::from_slice(bytes)
                .map_err(|e| BackendError::Invalid(format!("model spec: {e}")))?;
            let dtype = Dtype::from_code(dtype)
                .ok_or_else(|| BackendError::Invalid(format!("unknown dtype code {dtype}")))?;
            let b = backend().ok_or_else(|| BackendError::Run("plugin not initialised".into()))?;
            let guard = b
                .lock()
                .map_err(|_| BackendError::Run("backend lock poisoned".into()))?;
            guard.open(&spec, dtype)
        },
    ));
    match r {
        Ok(Ok(s)) => {
            let opened = OpenedInfo {
                info: s.info(),
                cost: s.cost(),
                logits: s.logits_f64().then_some(Dtype::F64),
            };
            let info = serde_json::to_string(&opened).unwrap_or_default();
            // SAFETY: `msg` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(msg, &info) };
            let slot = Box::new(SessionSlot {
                session: s,
                poisoned: None,
                kept_trace: None,
            });
            // SAFETY: `session` is non-null (checked above) and the host's handle slot, valid
            // for a write (table contract).
            unsafe { *session = Box::into_raw(slot) as *mut c_void };
            status::OK
        }
        Ok(Err(e)) => {
            // SAFETY: `msg` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(msg, e.message()) };
            code(&e)
        }
        Err(p) => {
            // SAFETY: `msg` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(msg, &format!("open panicked: {}", panic_text(p))) };
            status::PANIC
        }
    }
}

/// Run `f` on the session behind `session` with panic protection and poisoning.
///
/// # Safety
/// `err` is null or a valid host buffer; `session` is null or a live handle from [`open`], not
/// in use elsewhere (the table contract in the module docs).
unsafe fn with_session(
    session: *mut c_void,
    err: *mut DbBuf,
    f: impl FnOnce(&mut dyn Session) -> Result<(), BackendError>,
) -> i32 {
    if session.is_null() {
        // SAFETY: `err` is null or a valid host buffer (this function's contract).
        unsafe { DbBuf::write(err, "null session") };
        return status::INVALID;
    }
    // SAFETY: non-null, so a live `SessionSlot` from `open`, used by no one else right now
    // (this function's contract).
    let slot = unsafe { &mut *(session as *mut SessionSlot) };
    if let Some(why) = &slot.poisoned {
        // SAFETY: `err` is null or a valid host buffer (this function's contract).
        unsafe { DbBuf::write(err, &format!("session poisoned by an earlier panic: {why}")) };
        return status::POISONED;
    }
    match catch_unwind(AssertUnwindSafe(|| f(slot.session.as_mut()))) {
        Ok(Ok(())) => status::OK,
        Ok(Err(e)) => {
            // SAFETY: `err` is null or a valid host buffer (this function's contract).
            unsafe { DbBuf::write(err, e.message()) };
            code(&e)
        }
        Err(p) => {
            let why = panic_text(p);
            // SAFETY: `err` is null or a valid host buffer (this function's contract).
            // The host's error kind already says "panicked".
            unsafe { DbBuf::write(err, &why) };
            slot.poisoned = Some(why);
            status::PANIC
        }
    }
}

unsafe extern "C" fn prefill(
    session: *mut c_void,
    tokens: *const u32,
    n: usize,
    out: *mut f32,
    out_len: usize,
    err: *mut DbBuf,
) -> i32 {
    if tokens.is_null() || out.is_null() {
        // SAFETY: `err` is null or a valid host buffer (table contract, see module docs).
        unsafe { DbBuf::write(err, "null buffer") };
        return status::INVALID;
    }
    // SAFETY: non-null, and the host passes `n` readable tokens (table contract).
    let tokens = unsafe { std::slice::from_raw_parts(tokens, n) };
    // SAFETY: non-null, the host's buffer of `out_len` f32, aliased by nothing (table contract).
    let out = unsafe { std::slice::from_raw_parts_mut(out, out_len) };
    // SAFETY: `session` and `err` come from the host under the table contract.
    unsafe { with_session(session, err, |s| s.prefill(tokens, out)) }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn decode(
    session: *mut c_void,
    tokens: *const u32,
    n: usize,
    kv_aligned: u32,
    block: u32,
    out: *mut f32,
    out_len: usize,
    err: *mut DbBuf,
) -> i32 {
    if tokens.is_null() || out.is_null() {
        // SAFETY: `err` is null or a valid host buffer (table contract, see module docs).
        unsafe { DbBuf::write(err, "null buffer") };
        return status::INVALID;
    }
    let layout = match kv_layout(kv_aligned, block) {
        Ok(l) => l,
        Err(why) => {
            // SAFETY: `err` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(err, &why) };
            return status::INVALID;
        }
    };
    // SAFETY: non-null, and the host passes `n` readable tokens (table contract).
    let tokens = unsafe { std::slice::from_raw_parts(tokens, n) };
    // SAFETY: non-null, the host's buffer of `out_len` f32, aliased by nothing (table contract).
    let out = unsafe { std::slice::from_raw_parts_mut(out, out_len) };
    // SAFETY: `session` and `err` come from the host under the table contract.
    unsafe { with_session(session, err, |s| s.decode(tokens, layout, out)) }
}

unsafe extern "C" fn prefill_f64(
    session: *mut c_void,
    tokens: *const u32,
    n: usize,
    out: *mut f64,
    out_len: usize,
    err: *mut DbBuf,
) -> i32 {
    if tokens.is_null() || out.is_null() {
        // SAFETY: `err` is null or a valid host buffer (table contract, see module docs).
        unsafe { DbBuf::write(err, "null buffer") };
        return status::INVALID;
    }
    // SAFETY: non-null, and the host passes `n` readable tokens (table contract).
    let tokens = unsafe { std::slice::from_raw_parts(tokens, n) };
    // SAFETY: non-null, the host's buffer of `out_len` f64, aliased by nothing (table contract).
    let out = unsafe { std::slice::from_raw_parts_mut(out, out_len) };
    // SAFETY: `session` and `err` come from the host under the table contract.
    unsafe { with_session(session, err, |s| s.prefill_f64(tokens, out)) }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn decode_f64(
    session: *mut c_void,
    tokens: *const u32,
    n: usize,
    kv_aligned: u32,
    block: u32,
    out: *mut f64,
    out_len: usize,
    err: *mut DbBuf,
) -> i32 {
    if tokens.is_null() || out.is_null() {
        // SAFETY: `err` is null or a valid host buffer (table contract, see module docs).
        unsafe { DbBuf::write(err, "null buffer") };
        return status::INVALID;
    }
    let layout = match kv_layout(kv_aligned, block) {
        Ok(l) => l,
        Err(why) => {
            // SAFETY: `err` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(err, &why) };
            return status::INVALID;
        }
    };
    // SAFETY: non-null, and the host passes `n` readable tokens (table contract).
    let tokens = unsafe { std::slice::from_raw_parts(tokens, n) };
    // SAFETY: non-null, the host's buffer of `out_len` f64, aliased by nothing (table contract).
    let out = unsafe { std::slice::from_raw_parts_mut(out, out_len) };
    // SAFETY: `session` and `err` come from the host under the table contract.
    unsafe { with_session(session, err, |s| s.decode_f64(tokens, layout, out)) }
}

fn kv_layout(kv_aligned: u32, block: u32) -> Result<KvLayout, String> {
    match kv_aligned {
        1 => Ok(KvLayout::Aligned),
        0 => Ok(KvLayout::Padded {
            block: block as usize,
        }),
        other => Err(format!("kv_aligned must be 0 or 1, got {other}")),
    }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn trace(
    session: *mut c_void,
    tokens: *const u32,
    n: usize,
    route: u32,
    kv_aligned: u32,
    block: u32,
    out: *mut DbBuf,
    err: *mut DbBuf,
) -> i32 {
    if tokens.is_null() || out.is_null() {
        // SAFETY: `err` is null or a valid host buffer (table contract, see module docs).
        unsafe { DbBuf::write(err, "null buffer") };
        return status::INVALID;
    }
    let route = match route {
        route::PREFILL => Route::Prefill,
        route::DECODE => Route::Decode,
        other => {
            // SAFETY: `err` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(err, &format!("unknown route code {other}")) };
            return status::INVALID;
        }
    };
    let layout = match kv_layout(kv_aligned, block) {
        Ok(l) => l,
        Err(why) => {
            // SAFETY: `err` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(err, &why) };
            return status::INVALID;
        }
    };
    // SAFETY: non-null, and the host passes `n` readable tokens (table contract).
    let tokens = unsafe { std::slice::from_raw_parts(tokens, n) };
    let key = TraceKey {
        route,
        layout,
        tokens: tokens.to_vec(),
    };
    // A retry for an answer that did not fit: hand over the kept one, no recomputation.
    let kept = if session.is_null() {
        None
    } else {
        // SAFETY: non-null, so a live `SessionSlot` from `open`, not in use elsewhere (table
        // contract); this borrow ends before `with_session` takes its own.
        let slot = unsafe { &mut *(session as *mut SessionSlot) };
        slot.kept_trace
            .take()
            .filter(|(k, _)| *k == key)
            .map(|(_, b)| b)
    };
    let mut bytes = Vec::new();
    let code = match kept {
        Some(b) => {
            bytes = b;
            status::OK
        }
        // SAFETY: `session` and `err` come from the host under the table contract.
        None => unsafe {
            with_session(session, err, |s| {
                let t = s.trace(route, tokens, layout)?;
                t.check().map_err(BackendError::Run)?;
                bytes = t.to_bytes();
                Ok(())
            })
        },
    };
    if code != status::OK {
        return code;
    }
    // SAFETY: `out` is non-null (checked above), so a valid host buffer (table contract).
    if !unsafe { DbBuf::put(out, &bytes) } {
        // SAFETY: `session` is non-null here (`with_session` refuses a null one), a live slot
        // not borrowed elsewhere any more.
        let slot = unsafe { &mut *(session as *mut SessionSlot) };
        slot.kept_trace = Some((key, bytes));
    }
    status::OK
}

unsafe extern "C" fn last_counters(session: *mut c_void, out: *mut DbBuf) -> i32 {
    if session.is_null() {
        // SAFETY: `out` is null or a valid host buffer (table contract, see module docs).
        unsafe { DbBuf::write(out, "null session") };
        return status::INVALID;
    }
    // SAFETY: non-null, so a live `SessionSlot` from `open`, not in use elsewhere (table
    // contract).
    let slot = unsafe { &*(session as *const SessionSlot) };
    match catch_unwind(AssertUnwindSafe(|| {
        serde_json::to_string(&slot.session.last_counters()).unwrap_or_else(|_| "{}".into())
    })) {
        Ok(json) => {
            // SAFETY: `out` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(out, &json) };
            status::OK
        }
        Err(p) => {
            // SAFETY: `out` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(out, &format!("last_counters panicked: {}", panic_text(p))) };
            status::PANIC
        }
    }
}

unsafe extern "C" fn last_profile(session: *mut c_void, out: *mut DbBuf) -> i32 {
    if session.is_null() {
        // SAFETY: `out` is null or a valid host buffer (table contract, see module docs).
        unsafe { DbBuf::write(out, "null session") };
        return status::INVALID;
    }
    // SAFETY: non-null, so a live `SessionSlot` from `open`, not in use elsewhere (table
    // contract).
    let slot = unsafe { &*(session as *const SessionSlot) };
    match catch_unwind(AssertUnwindSafe(|| {
        serde_json::to_string(&slot.session.last_profile()).unwrap_or_else(|_| "{}".into())
    })) {
        Ok(json) => {
            // SAFETY: `out` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(out, &json) };
            status::OK
        }
        Err(p) => {
            // SAFETY: `out` is null or a valid host buffer (table contract, see module docs).
            unsafe { DbBuf::write(out, &format!("last_profile panicked: {}", panic_text(p))) };
            status::PANIC
        }
    }
}

unsafe extern "C" fn peaks(session: *mut c_void, out: *mut DbBuf) -> i32 {
    let mut json = String::new();
    // SAFETY: `session` and `out` come from the host under the table contract; `out` serves
    // as the error buffer until the answer is written.
    let code = unsafe {
        with_session(session, out, |s| {
            let p = s.peaks()?;
            json = serde_json::to_string(&p)
                .map_err(|e| BackendError::Run(format!("peaks are not serialisable: {e}")))?;
            Ok(())
        })
    };
    if code == status::OK {
        // SAFETY: `out` is null or a valid host buffer (table contract, see module docs).
        unsafe { DbBuf::write(out, &json) };
    }
    code
}

unsafe extern "C" fn close(session: *mut c_void) {
    if !session.is_null() {
        // SAFETY: non-null, so the `Box<SessionSlot>` that `open` leaked, closed only once
        // (table contract); ownership comes back here.
        let slot = unsafe { Box::from_raw(session as *mut SessionSlot) };
        // A poisoned session may hold broken state: leak it rather than run its destructors.
        if slot.poisoned.is_some() {
            std::mem::forget(slot);
        } else {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(slot)));
        }
    }
}
