//! Host-owned byte buffers the plugin writes text into.

/// A buffer the host allocates and frees; the plugin writes at most `cap` bytes at `ptr` and
/// sets `len` to the full length of what it wanted to write (which may exceed `cap`: the host
/// then retries with a larger buffer, or accepts truncation for error messages).
#[repr(C)]
#[derive(Debug)]
pub struct DbBuf {
    /// Start of the buffer.
    pub ptr: *mut u8,
    /// Capacity in bytes.
    pub cap: usize,
    /// Bytes the plugin produced (may exceed `cap`).
    pub len: usize,
}

impl DbBuf {
    /// Write `s` into the buffer behind `buf` (plugin side).
    ///
    /// # Safety
    /// `buf` is null or points to a valid `DbBuf` whose `ptr` is valid for `cap` bytes.
    pub unsafe fn write(buf: *mut DbBuf, s: &str) {
        if buf.is_null() {
            return;
        }
        // SAFETY: non-null, so a valid `DbBuf` (caller's contract).
        let b = unsafe { &mut *buf };
        let n = s.len().min(b.cap);
        if n > 0 && !b.ptr.is_null() {
            // SAFETY: `b.ptr` is valid for `cap` bytes (caller's contract) and `n <= cap`; `s`
            // is a Rust string, so it cannot overlap the host's buffer.
            unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), b.ptr, n) };
        }
        b.len = s.len();
    }

    /// Write all of `bytes` into the buffer behind `buf` when they fit, nothing otherwise
    /// (plugin side); `len` is set to `bytes.len()` either way. Returns whether they fit.
    ///
    /// # Safety
    /// As for [`DbBuf::write`].
    pub unsafe fn put(buf: *mut DbBuf, bytes: &[u8]) -> bool {
        if buf.is_null() {
            return false;
        }
        // SAFETY: non-null, so a valid `DbBuf` (caller's contract).
        let b = unsafe { &mut *buf };
        b.len = bytes.len();
        if bytes.len() > b.cap || (b.ptr.is_null() && !bytes.is_empty()) {
            return false;
        }
        if !bytes.is_empty() {
            // SAFETY: `b.ptr` is valid for `cap` bytes (caller's contract), `bytes.len() <=
            // cap`, and `bytes` is the plugin's own memory, so it cannot overlap.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), b.ptr, bytes.len()) };
        }
        true
    }

    /// A host-side buffer of `cap` bytes with its backing storage.
    pub fn host(cap: usize) -> (Vec<u8>, DbBuf) {
        let mut v = vec![0u8; cap];
        let b = DbBuf {
            ptr: v.as_mut_ptr(),
            cap,
            len: 0,
        };
        (v, b)
    }

    /// The text written into `storage` (host side), truncated to the capacity.
    pub fn text(&self, storage: &[u8]) -> String {
        String::from_utf8_lossy(&storage[..self.len.min(storage.len())]).into_owned()
    }
}
