//! Plugin side: the exported functions and the [`export_plugin!`](crate::export_plugin) macro.
//!
//! Each plugin `cdylib` links its own copy of this crate, so the statics below are per plugin.

use crate::{status, DbBuf, PluginHeader, PluginV1, ABI_MAJOR, ABI_MINOR, MAGIC};
use driftbench_core::{Backend, BackendError, BackendSetup, Dtype, KvLayout, ModelSpec, Session};
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

// The table holds pointers to the CStrings above, which live as long as the registry (forever).
unsafe impl Sync for Registry {}
unsafe impl Send for Registry {}

static REGISTRY: OnceLock<Registry> = OnceLock::new();

struct SessionSlot {
    session: Box<dyn Session>,
    poisoned: Option<String>,
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
            DbBuf::write(out, &json);
            status::OK
        }
        Ok(Err(e)) => {
            DbBuf::write(out, e);
            status::RUN
        }
        Err(p) => {
            DbBuf::write(out, &format!("probe panicked: {}", panic_text(p)));
            status::PANIC
        }
    }
}

unsafe extern "C" fn configure(setup_json: *const u8, setup_len: usize, msg: *mut DbBuf) -> i32 {
    if setup_json.is_null() {
        DbBuf::write(msg, "null argument");
        return status::INVALID;
    }
    let bytes = std::slice::from_raw_parts(setup_json, setup_len);
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
            DbBuf::write(msg, &json);
            status::OK
        }
        Ok(Err(e)) => {
            DbBuf::write(msg, e.message());
            code(&e)
        }
        Err(p) => {
            DbBuf::write(msg, &format!("configure panicked: {}", panic_text(p)));
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
        DbBuf::write(msg, "null argument");
        return status::INVALID;
    }
    let bytes = std::slice::from_raw_parts(model_json, model_len);
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
            let info = serde_json::to_string(&s.info()).unwrap_or_default();
            DbBuf::write(msg, &info);
            let slot = Box::new(SessionSlot {
                session: s,
                poisoned: None,
            });
            *session = Box::into_raw(slot) as *mut c_void;
            status::OK
        }
        Ok(Err(e)) => {
            DbBuf::write(msg, e.message());
            code(&e)
        }
        Err(p) => {
            DbBuf::write(msg, &format!("open panicked: {}", panic_text(p)));
            status::PANIC
        }
    }
}

/// Run `f` on the session behind `session` with panic protection and poisoning.
unsafe fn with_session(
    session: *mut c_void,
    err: *mut DbBuf,
    f: impl FnOnce(&mut dyn Session) -> Result<(), BackendError>,
) -> i32 {
    if session.is_null() {
        DbBuf::write(err, "null session");
        return status::INVALID;
    }
    let slot = &mut *(session as *mut SessionSlot);
    if let Some(why) = &slot.poisoned {
        DbBuf::write(err, &format!("session poisoned by an earlier panic: {why}"));
        return status::POISONED;
    }
    match catch_unwind(AssertUnwindSafe(|| f(slot.session.as_mut()))) {
        Ok(Ok(())) => status::OK,
        Ok(Err(e)) => {
            DbBuf::write(err, e.message());
            code(&e)
        }
        Err(p) => {
            let why = panic_text(p);
            DbBuf::write(err, &format!("panicked: {why}"));
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
        DbBuf::write(err, "null buffer");
        return status::INVALID;
    }
    let tokens = std::slice::from_raw_parts(tokens, n);
    let out = std::slice::from_raw_parts_mut(out, out_len);
    with_session(session, err, |s| s.prefill(tokens, out))
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
        DbBuf::write(err, "null buffer");
        return status::INVALID;
    }
    let layout = match kv_aligned {
        1 => KvLayout::Aligned,
        0 => KvLayout::Padded {
            block: block as usize,
        },
        other => {
            DbBuf::write(err, &format!("kv_aligned must be 0 or 1, got {other}"));
            return status::INVALID;
        }
    };
    let tokens = std::slice::from_raw_parts(tokens, n);
    let out = std::slice::from_raw_parts_mut(out, out_len);
    with_session(session, err, |s| s.decode(tokens, layout, out))
}

unsafe extern "C" fn last_counters(session: *mut c_void, out: *mut DbBuf) -> i32 {
    if session.is_null() {
        DbBuf::write(out, "null session");
        return status::INVALID;
    }
    let slot = &*(session as *const SessionSlot);
    match catch_unwind(AssertUnwindSafe(|| {
        serde_json::to_string(&slot.session.last_counters()).unwrap_or_else(|_| "{}".into())
    })) {
        Ok(json) => {
            DbBuf::write(out, &json);
            status::OK
        }
        Err(p) => {
            DbBuf::write(out, &format!("last_counters panicked: {}", panic_text(p)));
            status::PANIC
        }
    }
}

unsafe extern "C" fn close(session: *mut c_void) {
    if !session.is_null() {
        let slot = Box::from_raw(session as *mut SessionSlot);
        // A poisoned session may hold broken state: leak it rather than run its destructors.
        if slot.poisoned.is_some() {
            std::mem::forget(slot);
        } else {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(slot)));
        }
    }
}
