//! Kernel compilations, kernel-cache hits and autotune runs, counted from cubecl's log
//! events, and reported per call.
//!
//! cubecl announces each of these through the `log` crate, synchronously, on the thread that
//! does the work: "Compiling kernel" / "Using PTX cache" (cuda), "[cubecl-wgpu] compiling
//! WGSL module" / "Using SPIR-V cache" (wgpu), "Tuning <key>" (every new autotune key) and
//! "Loaded N autotune cached entries". A `log::Log` that recognises those messages turns them
//! into counters; it never prints anything. Each plugin library carries its own copy of
//! `log`, so this logger sees only its own plugin's events.

use driftbench_core::route::Route;
use driftbench_core::trace::LayerTrace;
use driftbench_core::{
    BackendError, Counters, KvLayout, ModelCost, Peaks, RunProfile, Session, SessionInfo,
};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

/// Counter names, as they appear in journals and the report's warm-up table.
pub const KERNELS_COMPILED: &str = driftbench_core::options::COMPILE_COUNTERS[0];
/// Kernels loaded from the on-disk kernel cache instead of compiled.
pub const KERNEL_CACHE_HITS: &str = "kernel_cache_hits";
/// Autotune keys tuned (each compiles and times several kernel variants).
pub const AUTOTUNE_KEYS_TUNED: &str = driftbench_core::options::COMPILE_COUNTERS[1];
/// Autotune results loaded from the on-disk autotune cache.
pub const AUTOTUNE_ENTRIES_LOADED: &str = "autotune_entries_loaded";

static COMPILED: AtomicU64 = AtomicU64::new(0);
static CACHE_HITS: AtomicU64 = AtomicU64::new(0);
static TUNED: AtomicU64 = AtomicU64::new(0);
static LOADED: AtomicU64 = AtomicU64::new(0);

/// The first bytes of a message: enough to recognise it, without formatting a kernel's
/// whole source (WGSL compile messages carry it).
struct Head {
    buf: [u8; 64],
    len: usize,
}

impl std::fmt::Write for Head {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if self.len == self.buf.len() {
            Err(std::fmt::Error) // stop formatting: the rest is not needed
        } else {
            Ok(())
        }
    }
}

/// Which counter a cubecl message feeds, and by how much.
fn classify(message: &str) -> Option<(&'static AtomicU64, u64)> {
    if message.starts_with("Compiling kernel")
        || message.starts_with("[cubecl-wgpu] compiling WGSL module")
        || message.starts_with("Compiling ")
    {
        Some((&COMPILED, 1))
    } else if message.starts_with("Using PTX cache") || message.starts_with("Using SPIR-V cache") {
        Some((&CACHE_HITS, 1))
    } else if message.starts_with("Tuning ") {
        Some((&TUNED, 1))
    } else if let Some(rest) = message.strip_prefix("Loaded ") {
        let n = rest.split_whitespace().next()?.parse().ok()?;
        rest.contains("autotune").then_some((&LOADED, n))
    } else {
        None
    }
}

struct CountingLogger;

impl log::Log for CountingLogger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.target().starts_with("cubecl")
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut head = Head {
            buf: [0; 64],
            len: 0,
        };
        let _ = write!(head, "{}", record.args());
        let text = String::from_utf8_lossy(&head.buf[..head.len]);
        if let Some((counter, n)) = classify(&text) {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    fn flush(&self) {}
}

static LOGGER: CountingLogger = CountingLogger;
static INSTALL: Once = Once::new();

/// Install the counting logger (once per plugin library). If something else already
/// installed a logger, counting stays off and every counter reads 0.
pub fn install() {
    INSTALL.call_once(|| {
        if log::set_logger(&LOGGER).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    });
}

/// The counters so far in this process.
pub fn snapshot() -> Counters {
    [
        (KERNELS_COMPILED, &COMPILED),
        (KERNEL_CACHE_HITS, &CACHE_HITS),
        (AUTOTUNE_KEYS_TUNED, &TUNED),
        (AUTOTUNE_ENTRIES_LOADED, &LOADED),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.load(Ordering::Relaxed)))
    .collect()
}

/// `after - before`, counter by counter.
fn delta(before: &Counters, after: &Counters) -> Counters {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .collect()
}

/// A session that reports, per call, what cubecl compiled, loaded and tuned during it.
pub struct MeteredSession {
    inner: Box<dyn Session>,
    last: Counters,
}

impl MeteredSession {
    /// Wrap `inner`; installs the counting logger.
    pub fn new(inner: Box<dyn Session>) -> Self {
        install();
        MeteredSession {
            inner,
            last: Counters::new(),
        }
    }

    fn metered(
        &mut self,
        f: impl FnOnce(&mut dyn Session) -> Result<(), BackendError>,
    ) -> Result<(), BackendError> {
        let before = snapshot();
        let r = f(self.inner.as_mut());
        self.last = delta(&before, &snapshot());
        r
    }
}

impl Session for MeteredSession {
    fn info(&self) -> SessionInfo {
        self.inner.info()
    }
    fn prefill(&mut self, tokens: &[u32], out: &mut [f32]) -> Result<(), BackendError> {
        self.metered(|s| s.prefill(tokens, out))
    }
    fn decode(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f32],
    ) -> Result<(), BackendError> {
        self.metered(|s| s.decode(tokens, layout, out))
    }
    fn last_wall_s(&self) -> Option<f64> {
        self.inner.last_wall_s()
    }
    fn last_counters(&self) -> Counters {
        self.last.clone()
    }
    fn last_profile(&self) -> RunProfile {
        self.inner.last_profile()
    }
    fn cost(&self) -> Option<ModelCost> {
        self.inner.cost()
    }
    /// Not metered: the counters keep describing the last route.
    fn peaks(&mut self) -> Result<Peaks, BackendError> {
        self.inner.peaks()
    }
    /// Not metered: a trace is a diagnostic, and the counters keep describing the last route.
    fn trace(
        &mut self,
        route: Route,
        tokens: &[u32],
        layout: KvLayout,
    ) -> Result<LayerTrace, BackendError> {
        self.inner.trace(route, tokens, layout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_cubecl_messages() {
        let n = |m: &str| classify(m).map(|(_, n)| n);
        assert_eq!(n("Compiling kernel"), Some(1));
        assert_eq!(
            n("[cubecl-wgpu] compiling WGSL module `main`\nfn main() {}"),
            Some(1)
        );
        assert!(std::ptr::eq(
            classify("Using PTX cache").unwrap().0,
            &CACHE_HITS
        ));
        assert!(std::ptr::eq(
            classify("Tuning MatmulKey { m: 8 }").unwrap().0,
            &TUNED
        ));
        assert_eq!(n("Loaded 42 autotune cached entries"), Some(42));
        assert_eq!(n("Load autotune cache ..."), None);
        assert_eq!(n("Using adapter llvmpipe"), None);
    }

    #[test]
    fn head_keeps_only_the_start() {
        let mut h = Head {
            buf: [0; 64],
            len: 0,
        };
        let long = "x".repeat(1000);
        assert!(write!(h, "Compiling {long}").is_err());
        assert_eq!(h.len, 64);
        assert!(h.buf.starts_with(b"Compiling xx"));
    }
}
