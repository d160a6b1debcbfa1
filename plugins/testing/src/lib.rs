//! A test plugin whose behaviour is picked by the `DRIFTBENCH_TEST_PLUGIN_MODE` environment
//! variable, read at every call:
//! - `ok` (default): a fake model whose logits depend only on the prefix, identical on both
//!   routes (every pair passes);
//! - `nan`: the decode route returns a NaN in its last row;
//! - `panic`: decode panics (caught at the ABI boundary, the session is poisoned);
//! - `abort`: decode aborts the process (SIGABRT);
//! - `segfault`: decode writes through a null pointer (SIGSEGV);
//! - `hang`: decode never returns;
//! - `sigkill`: decode has the process killed with SIGKILL, as an OOM killer would;
//! - `slow`: like `ok`, but every decode takes 150 ms more (a window to kill the worker in);
//! - `wrong-abi`: the entry point reports ABI v2 (the host must refuse it);
//! - `no-bf16`: the probe offers no bf16;
//! - `v1.0`: the entry point hands out a v1.0 function table (no `configure`, no counters),
//!   as a plugin built against the first ABI release would.
//!
//! Options (`[backends.<name>]`, read by `configure`): `decode_shift` (a number, default 0)
//! is added to every decode logit, so two instances of this plugin differ by exactly that in
//! their decode route. Counters: `fake_compiles` is 1 for the first call of each (route,
//! KV layout, span), 0 after, like a backend compiling kernels per new shape.
//!
//! Its library name (`libdriftbench_test_plugin`) does not match the discovery rule
//! `libdriftbench_backend_*`, so only an explicit `--plugin PATH` loads it.

use driftbench_core::options::OptionReader;
use driftbench_core::{
    Backend, BackendError, BackendSetup, Configured, Counters, DeviceInfo, Dtype, KvLayout,
    ModelSpec, Probe, Session, SessionInfo,
};
use driftbench_plugin_abi::{PluginHeader, PluginV1, MAGIC, V1_0_TABLE_SIZE};
use std::ffi::{c_char, c_void};

/// Environment variable selecting the behaviour.
pub const MODE_ENV: &str = "DRIFTBENCH_TEST_PLUGIN_MODE";

fn mode() -> String {
    std::env::var(MODE_ENV).unwrap_or_else(|_| "ok".into())
}

const VOCAB: usize = 11;

/// The fake backend.
#[derive(Debug, Default)]
pub struct TestBackend {
    decode_shift: f32,
}

struct FakeSession {
    decode_shift: f32,
    seen: Vec<(Option<KvLayout>, usize)>,
    last: Counters,
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

impl Backend for TestBackend {
    fn name(&self) -> &str {
        "testplugin"
    }
    fn probe(&self) -> Probe {
        let mut dtypes = vec![Dtype::F32, Dtype::F16, Dtype::Bf16];
        let mut unsupported = vec![];
        if mode() == "no-bf16" {
            dtypes.pop();
            unsupported.push((Dtype::Bf16, "test adapter has no bf16".to_string()));
        }
        Probe {
            backend: "testplugin".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            burn_version: None,
            unavailable: None,
            devices: vec![DeviceInfo {
                name: "fake device".into(),
                kind: "software".into(),
                driver: None,
                dtypes,
                unsupported,
                details: vec![],
            }],
            backend_dtypes: vec![],
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
    fn open(&self, _model: &ModelSpec, _dtype: Dtype) -> Result<Box<dyn Session>, BackendError> {
        Ok(Box::new(FakeSession {
            decode_shift: self.decode_shift,
            seen: Vec::new(),
            last: Counters::new(),
        }))
    }
}

impl Session for FakeSession {
    fn info(&self) -> SessionInfo {
        SessionInfo {
            vocab: VOCAB,
            max_span: 1 << 20,
            device: "fake device".into(),
            model: "fake prefix-hash model".into(),
        }
    }
    fn prefill(&mut self, tokens: &[u32], out: &mut [f32]) -> Result<(), BackendError> {
        self.count(None, tokens.len());
        fill(tokens, out);
        Ok(())
    }
    fn last_counters(&self) -> Counters {
        self.last.clone()
    }
    fn decode(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f32],
    ) -> Result<(), BackendError> {
        match mode().as_str() {
            "panic" => panic!("test plugin asked to panic in decode"),
            "abort" => std::process::abort(),
            "segfault" => {
                // SAFETY: deliberately not safe; this mode exists to crash.
                unsafe { std::ptr::write_volatile(std::ptr::null_mut::<u32>(), 1) };
                unreachable!()
            }
            "hang" => loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
            "sigkill" => {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &std::process::id().to_string()])
                    .status();
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
            "slow" => std::thread::sleep(std::time::Duration::from_millis(150)),
            _ => {}
        }
        self.count(Some(layout), tokens.len());
        fill(tokens, out);
        for o in out.iter_mut() {
            *o += self.decode_shift;
        }
        if mode() == "nan" {
            let n = out.len();
            out[n - 1] = f32::NAN;
        }
        Ok(())
    }
}

/// Logits of every position of `tokens`.
fn fill(tokens: &[u32], out: &mut [f32]) {
    for t in 0..tokens.len() {
        row(&tokens[..=t], &mut out[t * VOCAB..(t + 1) * VOCAB]);
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

// Read-only after creation; the pointers are to static functions and strings.
unsafe impl Sync for TableV1_0 {}
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

/// The entry point (ABI v1 symbol), with the `wrong-abi` and `v1.0` twists.
#[no_mangle]
pub extern "C" fn driftbench_plugin_v1() -> *const PluginV1 {
    if mode() == "wrong-abi" {
        return &WRONG_ABI as *const PluginHeader as *const PluginV1;
    }
    fn make() -> Box<dyn Backend> {
        Box::new(TestBackend::default())
    }
    let table = std::panic::catch_unwind(|| {
        driftbench_plugin_abi::__export(make, env!("CARGO_PKG_VERSION"))
    })
    .unwrap_or(std::ptr::null());
    if mode() == "v1.0" && !table.is_null() {
        // SAFETY: `table` points to the registry's static table.
        return v1_0_table(unsafe { &*table }) as *const TableV1_0 as *const PluginV1;
    }
    table
}
