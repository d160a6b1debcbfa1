//! A test plugin whose behaviour is picked by the `DRIFTBENCH_TEST_PLUGIN_MODE` environment
//! variable, read at every call:
//! - `ok` (default): a fake model whose logits depend only on the prefix, identical on both
//!   routes (every pair passes);
//! - `nan`: the decode route returns a NaN in its last row;
//! - `panic`: decode panics (caught at the ABI boundary, the session is poisoned);
//! - `abort`: decode aborts the process (SIGABRT);
//! - `panic-abort`: decode panics inside an `extern "C"` function, which Rust turns into an
//!   abort after printing the panic (and, with `RUST_BACKTRACE`, a backtrace);
//! - `segfault`: decode writes through a null pointer (SIGSEGV);
//! - `hang`: decode never returns;
//! - `sigkill`: decode has the process killed with SIGKILL, as an OOM killer would;
//! - `slow`: like `ok`, but every decode takes 150 ms more (a window to kill the worker in);
//! - `steady`: like `ok`, but every prefill and decode first sleeps [`STEADY_MS`] (50 ms), so
//!   its wall times are dominated by the sleep and two sweeps time alike on a busy machine
//!   (speed comparisons by `diff`);
//! - `steady-slow`: `steady` with decode [`STEADY_SLOWDOWN`] (3) times slower, prefill
//!   unchanged: a planted slowdown of one route;
//! - `perturb-odd-spans`: like `ok`, but an f32/f16/bf16 decode of an odd span moves its
//!   last row by up to 6 × [`PERTURBATION`] (the same run on another "machine" differs at
//!   that cell and route only; on the same machine it is not reproducible);
//! - `wrong-abi`: the entry point reports ABI v2 (the host must refuse it);
//! - `no-bf16`: the probe offers no bf16;
//! - `unavailable`: the probe says the backend is not available (`no fake device on this
//!   machine`), as a GPU backend on a machine without the GPU does;
//! - `v1.0`: the entry point hands out a v1.0 function table (no `configure`, no counters),
//!   as a plugin built against the first ABI release would;
//! - `v1.1`: the entry point hands out a v1.1 function table (no `trace`);
//! - `v1.2`: the entry point hands out a v1.2 function table (no `last_profile`, no
//!   `peaks`): its runs have no profile and its peaks cannot be measured;
//! - `v1.3`: the entry point hands out a v1.3 function table (no `prefill_f64`, no
//!   `decode_f64`): its f64 logits cross as f32;
//! - `f32-logits`: a v1.4 table, but the f64 session does not say it hands over f64 logits
//!   (as a session written before `Session::prefill_f64` existed): they cross as f32.
//!
//! In f64 (offered in every mode) the fake model's logits are f64 values that straddle f32
//! rounding boundaries: each is an f32 value plus half its ulp, minus 1e-13 on the prefill
//! route and plus 1e-13 on the decode route. In f64 the routes are 2e-13 apart; rounded to
//! f32 they land one f32 ulp apart (up to 9.5e-7 at logits below 10), as a real f64
//! backend's do when its logits cross as f32.
//!
//! Its sessions never trace: the trait's default answers "not available", which is what
//! the CLI's `--trace-layers` must report cleanly. They report a profile (each decode step's
//! seconds, a read-back time), fake peaks (1 GFLOP/s, 2 GB/s) and a fake model cost.
//!
//! Hostile modes (issue 8: a plugin must never fool the verdict nor take the sweep down):
//! - `unwritten-decode`: decode returns success without writing its output;
//! - `partial-decode`: decode writes only the first row (the first `VOCAB` values);
//! - `vocab-zero`, `vocab-huge`, `vocab-giant`: the session info reports a vocab of 0,
//!   2^31 or 2^62;
//! - `entry-segfault`, `entry-exit`, `entry-hang`: the entry point `driftbench_plugin_v1`
//!   writes through a null pointer, calls `exit(0)`, or sleeps forever, before returning
//!   its table;
//! - `open-hang`: `open` never returns; `probe-hang`: the probe never returns;
//! - `probe-panic`: the probe panics; `probe-badjson`: the probe answers OK with text that
//!   is not JSON;
//! - `stderr-binary`: every prefill and decode first writes invalid UTF-8 and then a normal
//!   line to stderr (a failed write fails the run), then works normally;
//! - `stderr-endless`: the first decode of each process writes 512 MiB to stderr without a
//!   newline (64 KiB chunks of one static buffer, so the plugin's own memory stays small),
//!   then every decode works normally;
//! - `garbage-frame`: decode writes the frame header `FF FF FF FF` (a 4 GiB length) to every
//!   write-only pipe among fds 3..1024 (the worker's protocol channel: the worker moved its
//!   original stdout there), then sleeps forever;
//! - `fork-hold`: decode forks; the child appends its pid and a newline to the file named by
//!   `DRIFTBENCH_TEST_PLUGIN_PIDFILE` (when set) and sleeps 60 s holding every inherited
//!   descriptor; the parent exits with code 3;
//! - `markdown`: the probe's device name, and the message of the Run error every decode
//!   returns, carry newlines, a markdown heading, a table row and ANSI escapes ([`MARKDOWN`]);
//! - `html`: the same two texts carry HTML and markdown that would be live in a browser: a
//!   script, an SVG with an event handler, `javascript:` and protocol-relative links and a
//!   remote image ([`HTML`]).
//! - `peaks-nan`, `peaks-zero`, `peaks-negative`, `peaks-huge`, `peaks-reps0`: the session's
//!   peaks carry a NaN GFLOP/s, a bandwidth of 0, a negative GFLOP/s, a bandwidth of 1e308 GB/s,
//!   or 0 repetitions.
//!
//! `DRIFTBENCH_TEST_PLUGIN_NAME` (read once, default `testplugin`) changes the backend name
//! the plugin reports, e.g. to `flex` to shadow another plugin.
//!
//! Options (`[backends.<name>]`, read by `configure`): `decode_shift` (a number, default 0)
//! is added to every decode logit, so two instances of this plugin differ by exactly that in
//! their decode route. Counters: `fake_compiles` is 1 for the first call of each (route,
//! KV layout, span), 0 after, like a backend compiling kernels per new shape.
//!
//! Its library name (`libdriftbench_test_plugin`) does not match the discovery rule
//! `libdriftbench_backend_*`, so only an explicit `--plugin PATH` loads it.

// Unsafe code here is FFI; every unsafe operation is explicit and says why it holds.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use driftbench_core::options::OptionReader;
use driftbench_core::{
    Backend, BackendError, BackendSetup, Configured, Counters, DeviceInfo, Dtype, KvLayout,
    ModelCost, ModelSpec, Peaks, Probe, RunProfile, Session, SessionInfo,
};
use driftbench_plugin_abi::{
    status, DbBuf, PluginHeader, PluginV1, MAGIC, V1_0_TABLE_SIZE, V1_1_TABLE_SIZE,
    V1_2_TABLE_SIZE, V1_3_TABLE_SIZE,
};
use std::ffi::{c_char, c_void};
use std::io::Write;

/// Environment variable selecting the behaviour.
pub const MODE_ENV: &str = "DRIFTBENCH_TEST_PLUGIN_MODE";
/// Environment variable naming the file the `fork-hold` child appends its pid to.
pub const PIDFILE_ENV: &str = "DRIFTBENCH_TEST_PLUGIN_PIDFILE";
/// Environment variable overriding the backend name (default `testplugin`).
pub const NAME_ENV: &str = "DRIFTBENCH_TEST_PLUGIN_NAME";
/// Text of the `markdown` mode: a line break, a heading, a table row and ANSI colours.
pub const MARKDOWN: &str = "line\n# Fake heading\n| fake | row |\n\x1b[31mred\x1b[0m";
/// What the `html` mode puts in a device name and in decode's error message.
pub const HTML: &str = "<script>alert(1)</script> <svg onload=alert(2)> [x](javascript:alert(3)) \
                        [y](//elsewhere/) ![](http://elsewhere/p.png)";
/// What the `stderr-binary` mode writes to stderr before its normal line.
pub const BINARY_STDERR: &[u8] = b"\xff\xfe\xfd not utf-8\n";
/// Bytes the `stderr-endless` mode writes, without a newline.
pub const ENDLESS_BYTES: usize = 512 << 20;
/// Milliseconds every prefill and decode of the `steady` modes sleeps: long against the
/// scheduler's jitter on a loaded machine (a few ms), so a 25 % change cannot be noise.
pub const STEADY_MS: u64 = 50;
/// How many times longer decode sleeps in `steady-slow`.
pub const STEADY_SLOWDOWN: u64 = 3;

fn mode() -> String {
    std::env::var(MODE_ENV).unwrap_or_else(|_| "ok".into())
}

/// The backend name: `DRIFTBENCH_TEST_PLUGIN_NAME`, read once, or `testplugin`.
fn backend_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| std::env::var(NAME_ENV).unwrap_or_else(|_| "testplugin".into()))
}

/// The sleep of the `steady` modes before a route's work; called once per route call (the
/// f32 entry points of f32/f16/bf16 sessions, the f64 ones of f64 sessions).
fn steady_pause(decode: bool) {
    let ms = match (mode().as_str(), decode) {
        ("steady", _) | ("steady-slow", false) => STEADY_MS,
        ("steady-slow", true) => STEADY_MS * STEADY_SLOWDOWN,
        _ => return,
    };
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

fn sleep_forever() -> ! {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

const VOCAB: usize = 11;

/// The fake backend.
#[derive(Debug, Default)]
pub struct TestBackend {
    decode_shift: f32,
}

struct FakeSession {
    decode_shift: f32,
    dtype: Dtype,
    seen: Vec<(Option<KvLayout>, usize)>,
    last: Counters,
    profile: RunProfile,
}

/// A panic in a function that may not unwind: Rust prints the panic, then a second one
/// ("panic in a function that cannot unwind"), then aborts the process.
extern "C" fn panic_where_unwinding_cannot() -> ! {
    panic!("test plugin panics where it cannot unwind")
}

/// The fake peaks every session reports.
pub fn fake_peaks(dtype: Dtype) -> Peaks {
    Peaks {
        dtype,
        product_dtype: dtype.to_string(),
        gemm_gflops: 1.0,
        gemm_shape: [2, 3, 4],
        bandwidth_gbs: 2.0,
        bandwidth_method: "fake probe".into(),
        reps: 1,
    }
}

impl FakeSession {
    /// Count a "compile" the first time a shape (route and layout, span) is seen.
    fn count(&mut self, decode: Option<KvLayout>, span: usize) {
        let new = !self.seen.contains(&(decode, span));
        if new {
            self.seen.push((decode, span));
        }
        self.last = [("fake_compiles".to_string(), new as u64)].into();
    }
}

/// Logits of position `t`: a function of the prefix only, so both routes agree exactly.
fn row(prefix: &[u32], out: &mut [f32]) {
    let h = prefix.iter().fold(1469598103934665603u64, |h, &t| {
        (h ^ t as u64).wrapping_mul(1099511628211)
    });
    for (v, o) in out.iter_mut().enumerate() {
        *o = ((h.rotate_left(v as u32 * 5) % 1000) as f32) / 100.0;
    }
}

fn stderr_failed(e: std::io::Error) -> BackendError {
    BackendError::Run(format!("test plugin: cannot write to stderr: {e}"))
}

/// The `stderr-binary` mode: invalid UTF-8, then a normal line. A host that stops draining
/// stderr makes these writes fail (EPIPE), and the run with them.
fn binary_stderr() -> Result<(), BackendError> {
    let mut e = std::io::stderr().lock();
    e.write_all(BINARY_STDERR).map_err(stderr_failed)?;
    e.write_all(b"test plugin: a normal line after binary bytes\n")
        .map_err(stderr_failed)?;
    e.flush().map_err(stderr_failed)
}

/// The `stderr-endless` mode: 512 MiB without a newline, once per process.
fn endless_stderr() -> Result<(), BackendError> {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    static CHUNK: [u8; 64 << 10] = [b'x'; 64 << 10];
    if DONE.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return Ok(());
    }
    let mut e = std::io::stderr().lock();
    for _ in 0..ENDLESS_BYTES / CHUNK.len() {
        e.write_all(&CHUNK).map_err(stderr_failed)?;
    }
    e.flush().map_err(stderr_failed)
}

/// The `garbage-frame` mode: a 4 GiB frame length on every write-only pipe from fd 3 up
/// (the worker's protocol channel), then nothing more.
#[cfg(unix)]
fn garbage_frame() -> ! {
    for fd in 3..1024 {
        // SAFETY: fstat and fcntl only inspect the descriptor; `st` is a plain C struct
        // that fstat fills in.
        let is_write_pipe = unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            libc::fstat(fd, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFIFO && {
                let fl = libc::fcntl(fd, libc::F_GETFL);
                fl >= 0 && (fl & libc::O_ACCMODE) == libc::O_WRONLY
            }
        };
        if is_write_pipe {
            let bytes = [0xFFu8; 4];
            // SAFETY: writes 4 bytes from a live stack buffer to an open descriptor.
            let _ = unsafe { libc::write(fd, bytes.as_ptr() as *const c_void, bytes.len()) };
        }
    }
    sleep_forever()
}

#[cfg(not(unix))]
fn garbage_frame() -> ! {
    sleep_forever()
}

/// The `fork-hold` mode: a child that keeps every inherited descriptor for 60 s, and a
/// parent that exits with code 3.
#[cfg(unix)]
fn fork_hold() -> ! {
    // Everything the child needs is prepared before the fork: after it, only
    // async-signal-safe calls.
    let pidfile = std::env::var_os(PIDFILE_ENV).and_then(|p| {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::CString::new(p.as_bytes()).ok()
    });
    let _ = std::io::stderr().flush();
    // SAFETY: fork itself is sound; the child below only calls async-signal-safe functions
    // (open, write, close, sleep, _exit) on data prepared before the fork.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: see above; `path` is NUL-terminated and `text` a live stack buffer.
        unsafe {
            if let Some(path) = &pidfile {
                let fd = libc::open(
                    path.as_ptr(),
                    libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND | libc::O_CLOEXEC,
                    0o644,
                );
                if fd >= 0 {
                    let mut text = [0u8; 24];
                    let n = decimal_line(libc::getpid() as u64, &mut text);
                    libc::write(fd, text.as_ptr() as *const c_void, n);
                    libc::close(fd);
                }
            }
            let mut left = 60;
            while left > 0 {
                left = libc::sleep(left);
            }
            libc::_exit(0);
        }
    }
    std::process::exit(3)
}

#[cfg(not(unix))]
fn fork_hold() -> ! {
    std::process::exit(3)
}

/// `n` in decimal and a newline into `buf`; returns the length. No allocation (used after
/// fork).
fn decimal_line(mut n: u64, buf: &mut [u8; 24]) -> usize {
    let mut digits = [0u8; 20];
    let mut k = 0;
    loop {
        digits[k] = b'0' + (n % 10) as u8;
        k += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for i in 0..k {
        buf[i] = digits[k - 1 - i];
    }
    buf[k] = b'\n';
    k + 1
}

impl Backend for TestBackend {
    fn name(&self) -> &str {
        backend_name()
    }
    fn probe(&self) -> Probe {
        let mut dtypes = vec![Dtype::F32, Dtype::F16, Dtype::Bf16, Dtype::F64];
        let mut unsupported = vec![];
        let mut device = "fake device".to_string();
        let mut unavailable = None;
        match mode().as_str() {
            "unavailable" => unavailable = Some("no fake device on this machine".to_string()),
            "no-bf16" => {
                dtypes.retain(|d| *d != Dtype::Bf16);
                unsupported.push((Dtype::Bf16, "test adapter has no bf16".to_string()));
            }
            "probe-panic" => panic!("test plugin asked to panic in its probe"),
            "probe-hang" => sleep_forever(),
            "markdown" => device = format!("fake device {MARKDOWN}"),
            "html" => device = format!("fake device {HTML}"),
            _ => {}
        }
        Probe {
            backend: backend_name().into(),
            version: env!("CARGO_PKG_VERSION").into(),
            burn_version: None,
            unavailable,
            devices: vec![DeviceInfo {
                name: device,
                kind: "software".into(),
                driver: None,
                dtypes,
                unsupported,
                details: vec![],
            }],
            backend_dtypes: vec![],
            kv_unsupported: Vec::new(),
            kv_padding: None,
            traces: false,
        }
    }
    fn configure(&mut self, setup: &BackendSetup) -> Result<Configured, BackendError> {
        let mut reader = OptionReader::new(&setup.options);
        let shift = reader.number("decode_shift", 0.0)?;
        let options = reader.finish()?;
        self.decode_shift = shift as f32;
        Ok(Configured {
            options,
            details: vec![("fake detail".into(), "configured".into())],
        })
    }
    fn open(&self, _model: &ModelSpec, dtype: Dtype) -> Result<Box<dyn Session>, BackendError> {
        if mode() == "open-hang" {
            sleep_forever();
        }
        Ok(Box::new(FakeSession {
            decode_shift: self.decode_shift,
            dtype,
            seen: Vec::new(),
            last: Counters::new(),
            profile: RunProfile::default(),
        }))
    }
}

impl Session for FakeSession {
    fn info(&self) -> SessionInfo {
        let vocab = match mode().as_str() {
            "vocab-zero" => 0,
            "vocab-huge" => 1usize << 31,
            "vocab-giant" => 1usize << 62,
            _ => VOCAB,
        };
        SessionInfo {
            vocab,
            max_span: 1 << 20,
            device: "fake device".into(),
            model: "fake prefix-hash model".into(),
        }
    }
    fn prefill(&mut self, tokens: &[u32], out: &mut [f32]) -> Result<(), BackendError> {
        if mode() == "stderr-binary" {
            binary_stderr()?;
        }
        if self.dtype == Dtype::F64 {
            let mut wide = vec![0f64; out.len()];
            self.prefill_f64(tokens, &mut wide)?;
            narrow(&wide, out);
            return Ok(());
        }
        steady_pause(false);
        self.count(None, tokens.len());
        fill(tokens, out);
        self.profile = RunProfile {
            step_s: Vec::new(),
            readback_s: Some(1e-6),
            peak_rss_bytes: None,
        };
        Ok(())
    }
    fn last_counters(&self) -> Counters {
        self.last.clone()
    }
    fn last_profile(&self) -> RunProfile {
        self.profile.clone()
    }
    fn cost(&self) -> Option<ModelCost> {
        Some(ModelCost {
            layers: 1,
            q_dim: 4,
            kv_dim: 2,
            product_params: 100,
            weight_bytes: 400,
            weight_dtype: "f32".into(),
            kv_value_bytes: 4,
        })
    }
    fn peaks(&mut self) -> Result<Peaks, BackendError> {
        let mut p = fake_peaks(self.dtype);
        match mode().as_str() {
            "peaks-nan" => p.gemm_gflops = f64::NAN,
            "peaks-zero" => p.bandwidth_gbs = 0.0,
            "peaks-negative" => p.gemm_gflops = -1.0,
            "peaks-huge" => p.bandwidth_gbs = 1e308,
            "peaks-reps0" => p.reps = 0,
            _ => {}
        }
        Ok(p)
    }
    fn logits_f64(&self) -> bool {
        self.dtype == Dtype::F64 && mode() != "f32-logits"
    }
    fn prefill_f64(&mut self, tokens: &[u32], out: &mut [f64]) -> Result<(), BackendError> {
        if self.dtype != Dtype::F64 {
            return driftbench_core::backend::widen_f32_route(out, |o| self.prefill(tokens, o));
        }
        steady_pause(false);
        self.count(None, tokens.len());
        fill64(tokens, -1.0, 0.0, out);
        self.profile = RunProfile {
            step_s: Vec::new(),
            readback_s: Some(1e-6),
            peak_rss_bytes: None,
        };
        Ok(())
    }
    fn decode_f64(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f64],
    ) -> Result<(), BackendError> {
        if self.dtype != Dtype::F64 {
            return driftbench_core::backend::widen_f32_route(out, |o| {
                self.decode(tokens, layout, o)
            });
        }
        match mode().as_str() {
            "panic" => panic!("test plugin asked to panic in decode"),
            "unwritten-decode" => return Ok(()),
            "partial-decode" => {
                if !tokens.is_empty() {
                    row64(&tokens[..1], 1.0, 0.0, &mut out[..VOCAB]);
                }
                return Ok(());
            }
            _ => {}
        }
        steady_pause(true);
        self.count(Some(layout), tokens.len());
        fill64(tokens, 1.0, f64::from(self.decode_shift), out);
        self.profile = RunProfile {
            step_s: vec![1e-6; tokens.len()],
            readback_s: Some(1e-6),
            peak_rss_bytes: None,
        };
        if mode() == "nan" {
            let n = out.len();
            out[n - 1] = f64::NAN;
        }
        Ok(())
    }
    fn decode(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f32],
    ) -> Result<(), BackendError> {
        if self.dtype == Dtype::F64
            && !matches!(mode().as_str(), "unwritten-decode" | "partial-decode")
        {
            let mut wide = vec![0f64; out.len()];
            self.decode_f64(tokens, layout, &mut wide)?;
            narrow(&wide, out);
            return Ok(());
        }
        match mode().as_str() {
            "panic" => panic!("test plugin asked to panic in decode"),
            "abort" => std::process::abort(),
            "panic-abort" => panic_where_unwinding_cannot(),
            "segfault" => {
                // SAFETY: deliberately not safe; this mode exists to crash.
                unsafe { std::ptr::write_volatile(std::ptr::null_mut::<u32>(), 1) };
                unreachable!()
            }
            "hang" => sleep_forever(),
            "sigkill" => {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &std::process::id().to_string()])
                    .status();
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
            "slow" => std::thread::sleep(std::time::Duration::from_millis(150)),
            "steady" | "steady-slow" => steady_pause(true),
            "unwritten-decode" => {
                self.count(Some(layout), tokens.len());
                return Ok(());
            }
            "partial-decode" => {
                self.count(Some(layout), tokens.len());
                if !tokens.is_empty() {
                    row(&tokens[..1], &mut out[..VOCAB]);
                }
                return Ok(());
            }
            "stderr-binary" => binary_stderr()?,
            "stderr-endless" => endless_stderr()?,
            "garbage-frame" => garbage_frame(),
            "fork-hold" => fork_hold(),
            "markdown" => {
                return Err(BackendError::Run(format!(
                    "test plugin decode failed: {MARKDOWN}"
                )))
            }
            "html" => {
                return Err(BackendError::Run(format!(
                    "test plugin decode failed: {HTML}"
                )))
            }
            _ => {}
        }
        self.count(Some(layout), tokens.len());
        let mut steps = Vec::with_capacity(tokens.len());
        for t in 0..tokens.len() {
            let t0 = std::time::Instant::now();
            row(&tokens[..=t], &mut out[t * VOCAB..(t + 1) * VOCAB]);
            steps.push(t0.elapsed().as_secs_f64());
        }
        self.profile = RunProfile {
            step_s: steps,
            readback_s: Some(1e-6),
            peak_rss_bytes: None,
        };
        for o in out.iter_mut() {
            *o += self.decode_shift;
        }
        if mode() == "nan" {
            let n = out.len();
            out[n - 1] = f32::NAN;
        }
        if mode() == "perturb-odd-spans" && tokens.len() % 2 == 1 {
            perturb_last_row(out);
        }
        Ok(())
    }
}

/// The `perturb-odd-spans` mode's change: the last row's logit `i` moved by
/// `PERTURBATION × (i mod 7)`, every token id touched, the top-k's included.
fn perturb_last_row(out: &mut [f32]) {
    let n = out.len();
    for (i, o) in out[n - VOCAB..].iter_mut().enumerate() {
        *o += PERTURBATION * (i % 7) as f32;
    }
}

/// How far `perturb-odd-spans` moves a logit per step of its ramp.
pub const PERTURBATION: f32 = 1e-3;

/// Logits of every position of `tokens`.
fn fill(tokens: &[u32], out: &mut [f32]) {
    for t in 0..tokens.len() {
        row(&tokens[..=t], &mut out[t * VOCAB..(t + 1) * VOCAB]);
    }
}

/// How far the f64 routes sit from the f32 rounding midpoint: prefill below, decode above.
pub const F64_OFFSET: f64 = 1e-13;

/// The f64 logits of row `t` of a route: the f32 row plus half an f32 ulp of each value, and
/// `side × F64_OFFSET` (−1 prefill, +1 decode), plus `shift`.
fn row64(prefix: &[u32], side: f64, shift: f64, out: &mut [f64]) {
    let mut narrow = [0f32; VOCAB];
    row(prefix, &mut narrow);
    for (o, &x) in out.iter_mut().zip(&narrow) {
        let half_ulp = (f64::from(f32::from_bits(x.to_bits() + 1)) - f64::from(x)) / 2.0;
        *o = f64::from(x) + half_ulp + side * F64_OFFSET + shift;
    }
}

/// The f64 logits of every position of `tokens` on a route (`side` as in [`row64`]).
fn fill64(tokens: &[u32], side: f64, shift: f64, out: &mut [f64]) {
    for t in 0..tokens.len() {
        row64(
            &tokens[..=t],
            side,
            shift,
            &mut out[t * VOCAB..(t + 1) * VOCAB],
        );
    }
}

/// f64 logits rounded to f32, as an f64 plugin speaking ABI v1.3 hands them over.
fn narrow(wide: &[f64], out: &mut [f32]) {
    for (o, w) in out.iter_mut().zip(wide) {
        *o = *w as f32;
    }
}

/// A header claiming ABI v2, for the `wrong-abi` mode: the host reads only the header first.
static WRONG_ABI: PluginHeader = PluginHeader {
    magic: MAGIC,
    abi_major: 2,
    abi_minor: 0,
    struct_size: std::mem::size_of::<PluginV1>() as u32,
};

/// The table of ABI v1.0, as a plugin built against it lays it out: the v1.1 fields
/// (`configure`, `last_counters`) do not exist.
#[repr(C)]
struct TableV1_0 {
    header: PluginHeader,
    name: *const c_char,
    version: *const c_char,
    probe: unsafe extern "C" fn(*mut driftbench_plugin_abi::DbBuf) -> i32,
    open: *const c_void,
    prefill: *const c_void,
    decode: *const c_void,
    close: *const c_void,
}

// SAFETY: read-only after creation; the pointers are to static functions and strings.
unsafe impl Sync for TableV1_0 {}
// SAFETY: as for Sync: moving it moves only pointers to static functions and strings.
unsafe impl Send for TableV1_0 {}

const _: () = assert!(std::mem::size_of::<TableV1_0>() == V1_0_TABLE_SIZE);

/// The v1.0 table of the `v1.0` mode, made from the real one.
fn v1_0_table(t: &PluginV1) -> &'static TableV1_0 {
    static TABLE: std::sync::OnceLock<TableV1_0> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| TableV1_0 {
        header: PluginHeader {
            abi_minor: 0,
            struct_size: V1_0_TABLE_SIZE as u32,
            ..t.header
        },
        name: t.name,
        version: t.version,
        probe: t.probe,
        open: t.open as *const c_void,
        prefill: t.prefill as *const c_void,
        decode: t.decode as *const c_void,
        close: t.close as *const c_void,
    })
}

/// What the `probe-badjson` probe answers, with status OK.
pub const BAD_JSON: &str = "this is {not JSON";

/// The probe of the `probe-badjson` mode: success, with text that is not JSON.
///
/// # Safety
/// `out` is null or a valid host buffer (the ABI's contract for `probe`).
unsafe extern "C" fn bad_json_probe(out: *mut DbBuf) -> i32 {
    // SAFETY: forwarded from this function's contract.
    unsafe { DbBuf::write(out, BAD_JSON) };
    status::OK
}

/// The table of the `probe-badjson` mode: the real one with [`bad_json_probe`].
fn bad_json_table(t: &PluginV1) -> &'static PluginV1 {
    static TABLE: std::sync::OnceLock<PluginV1> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| PluginV1 {
        header: t.header,
        name: t.name,
        version: t.version,
        probe: bad_json_probe,
        open: t.open,
        prefill: t.prefill,
        decode: t.decode,
        close: t.close,
        configure: t.configure,
        last_counters: t.last_counters,
        trace: t.trace,
        last_profile: t.last_profile,
        peaks: t.peaks,
        prefill_f64: t.prefill_f64,
        decode_f64: t.decode_f64,
    })
}

/// The table of ABI v1.1 (no `trace`), as a plugin built against it lays it out.
#[repr(C)]
struct TableV1_1 {
    v1_0: TableV1_0,
    configure: *const c_void,
    last_counters: *const c_void,
}

// SAFETY: read-only after creation; the pointers are to static functions and strings.
unsafe impl Sync for TableV1_1 {}
// SAFETY: as for Sync: moving it moves only pointers to static functions and strings.
unsafe impl Send for TableV1_1 {}

const _: () = assert!(std::mem::size_of::<TableV1_1>() == V1_1_TABLE_SIZE);

/// The v1.1 table of the `v1.1` mode, made from the real one.
fn v1_1_table(t: &PluginV1) -> &'static TableV1_1 {
    static TABLE: std::sync::OnceLock<TableV1_1> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let v1_0 = v1_0_table(t);
        TableV1_1 {
            v1_0: TableV1_0 {
                header: PluginHeader {
                    abi_minor: 1,
                    struct_size: V1_1_TABLE_SIZE as u32,
                    ..t.header
                },
                name: v1_0.name,
                version: v1_0.version,
                probe: v1_0.probe,
                open: v1_0.open,
                prefill: v1_0.prefill,
                decode: v1_0.decode,
                close: v1_0.close,
            },
            configure: t.configure.map_or(std::ptr::null(), |f| f as *const c_void),
            last_counters: t
                .last_counters
                .map_or(std::ptr::null(), |f| f as *const c_void),
        }
    })
}

/// The table of ABI v1.2 (no `last_profile`, no `peaks`), as a plugin built against it lays
/// it out.
#[repr(C)]
struct TableV1_2 {
    v1_1: TableV1_1,
    trace: *const c_void,
}

// SAFETY: read-only after creation; the pointers are to static functions and strings.
unsafe impl Sync for TableV1_2 {}
// SAFETY: as for Sync: moving it moves only pointers to static functions and strings.
unsafe impl Send for TableV1_2 {}

const _: () = assert!(std::mem::size_of::<TableV1_2>() == V1_2_TABLE_SIZE);

/// The v1.2 table of the `v1.2` mode, made from the real one.
fn v1_2_table(t: &PluginV1) -> &'static TableV1_2 {
    static TABLE: std::sync::OnceLock<TableV1_2> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let v1_1 = v1_1_table(t);
        TableV1_2 {
            v1_1: TableV1_1 {
                v1_0: TableV1_0 {
                    header: PluginHeader {
                        abi_minor: 2,
                        struct_size: V1_2_TABLE_SIZE as u32,
                        ..t.header
                    },
                    name: v1_1.v1_0.name,
                    version: v1_1.v1_0.version,
                    probe: v1_1.v1_0.probe,
                    open: v1_1.v1_0.open,
                    prefill: v1_1.v1_0.prefill,
                    decode: v1_1.v1_0.decode,
                    close: v1_1.v1_0.close,
                },
                configure: v1_1.configure,
                last_counters: v1_1.last_counters,
            },
            trace: t.trace.map_or(std::ptr::null(), |f| f as *const c_void),
        }
    })
}

/// The table of ABI v1.3 (no `prefill_f64`, no `decode_f64`), as a plugin built against it
/// lays it out.
#[repr(C)]
struct TableV1_3 {
    v1_2: TableV1_2,
    last_profile: *const c_void,
    peaks: *const c_void,
}

// SAFETY: read-only after creation; the pointers are to static functions and strings.
unsafe impl Sync for TableV1_3 {}
// SAFETY: as for Sync: moving it moves only pointers to static functions and strings.
unsafe impl Send for TableV1_3 {}

const _: () = assert!(std::mem::size_of::<TableV1_3>() == V1_3_TABLE_SIZE);

/// The v1.3 table of the `v1.3` mode, made from the real one.
fn v1_3_table(t: &PluginV1) -> &'static TableV1_3 {
    static TABLE: std::sync::OnceLock<TableV1_3> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let v1_2 = v1_2_table(t);
        let v1_1 = &v1_2.v1_1;
        TableV1_3 {
            v1_2: TableV1_2 {
                v1_1: TableV1_1 {
                    v1_0: TableV1_0 {
                        header: PluginHeader {
                            abi_minor: 3,
                            struct_size: V1_3_TABLE_SIZE as u32,
                            ..t.header
                        },
                        name: v1_1.v1_0.name,
                        version: v1_1.v1_0.version,
                        probe: v1_1.v1_0.probe,
                        open: v1_1.v1_0.open,
                        prefill: v1_1.v1_0.prefill,
                        decode: v1_1.v1_0.decode,
                        close: v1_1.v1_0.close,
                    },
                    configure: v1_1.configure,
                    last_counters: v1_1.last_counters,
                },
                trace: v1_2.trace,
            },
            last_profile: t
                .last_profile
                .map_or(std::ptr::null(), |f| f as *const c_void),
            peaks: t.peaks.map_or(std::ptr::null(), |f| f as *const c_void),
        }
    })
}

/// The entry point (ABI v1 symbol), with the `wrong-abi`, `v1.0`, `v1.1`, `v1.2`, `v1.3`,
/// `probe-badjson` and `entry-*` twists.
#[no_mangle]
pub extern "C" fn driftbench_plugin_v1() -> *const PluginV1 {
    match mode().as_str() {
        "wrong-abi" => return &WRONG_ABI as *const PluginHeader as *const PluginV1,
        "entry-segfault" => {
            // SAFETY: deliberately not safe; this mode exists to crash.
            unsafe { std::ptr::write_volatile(std::ptr::null_mut::<u32>(), 1) };
            unreachable!()
        }
        "entry-exit" => std::process::exit(0),
        "entry-hang" => sleep_forever(),
        _ => {}
    }
    fn make() -> Box<dyn Backend> {
        Box::new(TestBackend::default())
    }
    let table = std::panic::catch_unwind(|| {
        driftbench_plugin_abi::__export(make, env!("CARGO_PKG_VERSION"))
    })
    .unwrap_or(std::ptr::null());
    if table.is_null() {
        return table;
    }
    match mode().as_str() {
        // SAFETY: `table` points to the registry's static table.
        "v1.0" => v1_0_table(unsafe { &*table }) as *const TableV1_0 as *const PluginV1,
        // SAFETY: as above.
        "v1.1" => v1_1_table(unsafe { &*table }) as *const TableV1_1 as *const PluginV1,
        // SAFETY: as above.
        "v1.2" => v1_2_table(unsafe { &*table }) as *const TableV1_2 as *const PluginV1,
        // SAFETY: as above.
        "v1.3" => v1_3_table(unsafe { &*table }) as *const TableV1_3 as *const PluginV1,
        // SAFETY: as above.
        "probe-badjson" => bad_json_table(unsafe { &*table }),
        _ => table,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_lines() {
        let mut b = [0u8; 24];
        let n = decimal_line(0, &mut b);
        assert_eq!(&b[..n], b"0\n");
        let n = decimal_line(1234567, &mut b);
        assert_eq!(&b[..n], b"1234567\n");
        let n = decimal_line(u64::MAX, &mut b);
        assert_eq!(&b[..n], format!("{}\n", u64::MAX).as_bytes());
    }

    #[test]
    fn bad_json_probe_answers_ok_with_non_json() {
        let (storage, mut buf) = DbBuf::host(64);
        // SAFETY: `buf` is a valid host buffer backed by `storage`.
        let code = unsafe { bad_json_probe(&mut buf) };
        assert_eq!(code, status::OK);
        let text = buf.text(&storage);
        assert_eq!(text, BAD_JSON);
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
    }
}
