//! llama.cpp's and ggml's log lines go to the process's stderr (a worker's stderr, which the
//! host keeps the tail of), never to stdout; below warnings only with the `verbose` option.

use llama_cpp_sys_2 as sys;
use std::ffi::{c_char, c_void, CStr};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether info and debug lines are written too.
static VERBOSE: AtomicBool = AtomicBool::new(false);
/// Whether the last piece was written: a `CONT` piece continues the line before it.
static LAST_WRITTEN: AtomicBool = AtomicBool::new(false);

/// Route both loggers to stderr (idempotent), info lines only when `verbose`.
pub fn to_stderr(verbose: bool) {
    VERBOSE.store(verbose, Ordering::Relaxed);
    // SAFETY: the callback is a plain function valid for the life of the process; no user
    // data is passed.
    unsafe {
        sys::llama_log_set(Some(log_line), std::ptr::null_mut());
        sys::ggml_log_set(Some(log_line), std::ptr::null_mut());
    }
}

/// The logger: one text piece per call (llama.cpp splits a line over calls, `CONT` pieces).
unsafe extern "C" fn log_line(level: sys::ggml_log_level, text: *const c_char, _: *mut c_void) {
    if text.is_null() {
        return;
    }
    let write = match level {
        sys::GGML_LOG_LEVEL_WARN | sys::GGML_LOG_LEVEL_ERROR => true,
        sys::GGML_LOG_LEVEL_CONT => LAST_WRITTEN.load(Ordering::Relaxed),
        _ => VERBOSE.load(Ordering::Relaxed),
    };
    LAST_WRITTEN.store(write, Ordering::Relaxed);
    if !write {
        return;
    }
    // SAFETY: llama.cpp passes a NUL-terminated string valid for the call.
    let bytes = unsafe { CStr::from_ptr(text) }.to_bytes();
    let _ = std::io::stderr().lock().write_all(bytes);
}
