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
//! - `no-bf16`: the probe offers no bf16.
//!
//! Its library name (`libdriftbench_test_plugin`) does not match the discovery rule
//! `libdriftbench_backend_*`, so only an explicit `--plugin PATH` loads it.

use driftbench_core::{
    Backend, BackendError, DeviceInfo, Dtype, KvLayout, ModelSpec, Probe, Session, SessionInfo,
};
use driftbench_plugin_abi::{PluginHeader, PluginV1, MAGIC};

/// Environment variable selecting the behaviour.
pub const MODE_ENV: &str = "DRIFTBENCH_TEST_PLUGIN_MODE";

fn mode() -> String {
    std::env::var(MODE_ENV).unwrap_or_else(|_| "ok".into())
}

const VOCAB: usize = 11;

/// The fake backend.
#[derive(Debug, Default)]
pub struct TestBackend;

struct FakeSession;

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
    fn open(&self, _model: &ModelSpec, _dtype: Dtype) -> Result<Box<dyn Session>, BackendError> {
        Ok(Box::new(FakeSession))
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
        for t in 0..tokens.len() {
            row(&tokens[..=t], &mut out[t * VOCAB..(t + 1) * VOCAB]);
        }
        Ok(())
    }
    fn decode(
        &mut self,
        tokens: &[u32],
        _layout: KvLayout,
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
            "slow" => {
                std::thread::sleep(std::time::Duration::from_millis(150));
                self.prefill(tokens, out)
            }
            "nan" => {
                self.prefill(tokens, out)?;
                let n = out.len();
                out[n - 1] = f32::NAN;
                Ok(())
            }
            _ => self.prefill(tokens, out),
        }
    }
}

/// A header claiming ABI v2, for the `wrong-abi` mode: the host reads only the header first.
static WRONG_ABI: PluginHeader = PluginHeader {
    magic: MAGIC,
    abi_major: 2,
    abi_minor: 0,
    struct_size: std::mem::size_of::<PluginV1>() as u32,
};

/// The entry point (ABI v1 symbol), with the `wrong-abi` twist.
#[no_mangle]
pub extern "C" fn driftbench_plugin_v1() -> *const PluginV1 {
    if mode() == "wrong-abi" {
        return &WRONG_ABI as *const PluginHeader as *const PluginV1;
    }
    fn make() -> Box<dyn Backend> {
        Box::new(TestBackend)
    }
    std::panic::catch_unwind(|| driftbench_plugin_abi::__export(make, env!("CARGO_PKG_VERSION")))
        .unwrap_or(std::ptr::null())
}
