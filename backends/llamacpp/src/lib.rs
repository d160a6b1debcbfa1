//! The `llamacpp` backend: llama.cpp, an engine driftbench did not write, as a driftbench
//! plugin (through the `llama-cpp-2` crates, which vendor and build its sources).
//!
//! What the sweep's axes mean here:
//! - **Weights** stay in the GGUF file's own types (Q4_1 for SmolLM2) and llama.cpp computes
//!   as it does for its users: quantized products take their activations quantized too
//!   (Q8_1 blocks for Q4_1 weights), everything else in f32.
//! - **dtype** is what llama.cpp lets a user choose: the KV cache type (f32, f16, bf16; the
//!   `kv_type` option fixes one for every dtype). f64 does not exist in llama.cpp.
//! - **Prefill** is the prompt in one `llama_decode` (up to `batch` tokens a call, computed in
//!   `ubatch`-token chunks) with logits for every position; **decode** one token per
//!   `llama_decode` through the KV cache.
//! - **kv_aligned**: llama.cpp pads its cache to 256 cells and masks the unused ones in both
//!   routes, so kv_aligned=1 cannot be asked for (the probe says so; those pairs are SKIPPED)
//!   and kv_aligned=0 runs on llama.cpp's own padding, not the sweep's block size.
//!
//! Isolation: `llama_backend_init` runs once per process (each worker process is one), and
//! the process's end frees it; built without OpenMP, ggml's threads are made and joined inside
//! each `llama_decode`, so none outlives a call; llama.cpp's log goes to stderr.

pub mod cpu_features;
pub mod ffi;
pub mod log;
pub mod options;
pub mod session;
pub mod trace;

use driftbench_core::machine::cpu_model;
use driftbench_core::options::{BackendSetup, Configured};
use driftbench_core::{
    Backend, BackendError, DeviceInfo, Dtype, KvMode, ModelSpec, Probe, Session,
};
use llama_cpp_2::llama_backend::LlamaBackend;
use options::Options;
pub use session::{LlamaSession, ALIGNED_WHY};
use std::sync::OnceLock;

/// Version of the llama.cpp bindings (and so of llama.cpp's sources) this plugin is built on.
pub const LLAMA_CPP_SYS_VERSION: &str = "llama-cpp-sys-2 0.1.161";

/// How llama.cpp lays out the cache of a kv_aligned=0 pair.
const PADDING: &str = "llama.cpp's own padding: 256 cells, the unused ones masked (the sweep's \
     block size does not apply)";

/// Why f64 cannot run.
const F64_WHY: &str = "llama.cpp computes in f32 at most (KV cache types f32, f16, bf16)";

/// llama.cpp's process-wide state: initialised at the first session, never freed before the
/// process ends (the safe wrapper refuses a second init in one process).
static LLAMA: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();

fn llama_backend() -> Result<&'static LlamaBackend, BackendError> {
    LLAMA
        .get_or_init(|| LlamaBackend::init().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| BackendError::Run(format!("llama_backend_init: {e}")))
}

/// The `llamacpp` backend.
#[derive(Debug, Default, Clone)]
pub struct LlamaCppBackend {
    opts: Option<Options>,
}

impl LlamaCppBackend {
    fn opts(&self) -> Options {
        self.opts.clone().unwrap_or_default()
    }
}

/// What each dtype maps to, for the probe and the report.
fn dtype_mapping(opts: &Options) -> String {
    [Dtype::F32, Dtype::F16, Dtype::Bf16]
        .iter()
        .filter_map(|d| {
            opts.kv_type_for(*d)
                .map(|(kv, _)| format!("{d} → KV cache {kv}"))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Backend for LlamaCppBackend {
    fn name(&self) -> &str {
        "llamacpp"
    }

    fn probe(&self) -> Probe {
        let opts = self.opts();
        let dtypes = vec![Dtype::F32, Dtype::F16, Dtype::Bf16];
        let system = ffi::system_info();
        let devices = ffi::devices()
            .into_iter()
            .map(|d| DeviceInfo {
                name: if d.kind == "cpu" {
                    format!("cpu ({})", cpu_model())
                } else {
                    format!("{} ({})", d.description, d.name)
                },
                kind: d.kind.into(),
                driver: Some(LLAMA_CPP_SYS_VERSION.into()),
                dtypes: dtypes.clone(),
                unsupported: vec![(Dtype::F64, F64_WHY.into())],
                details: vec![
                    ("threads".into(), opts.threads.to_string()),
                    ("llama.cpp system info".into(), system.clone()),
                    ("CPU features".into(), cpu_features::summary(&system)),
                    ("dtype mapping".into(), dtype_mapping(&opts)),
                    (
                        "weights".into(),
                        "the GGUF file's own types; quantized products quantize their \
                         activations (Q8_1 for Q4_1/Q4_0 weights)"
                            .into(),
                    ),
                ],
            })
            .collect();
        Probe {
            backend: "llamacpp".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            burn_version: None,
            unavailable: None,
            devices,
            backend_dtypes: dtypes,
            kv_unsupported: vec![(KvMode::Aligned, ALIGNED_WHY.into())],
            kv_padding: Some(PADDING.into()),
            traces: true,
        }
    }

    fn configure(&mut self, setup: &BackendSetup) -> Result<Configured, BackendError> {
        let (opts, in_force) = Options::read(&setup.options, ffi::gpu_offload())?;
        let details = vec![
            ("llama.cpp".into(), LLAMA_CPP_SYS_VERSION.into()),
            ("dtype mapping".into(), dtype_mapping(&opts)),
            (
                "prefill".into(),
                format!(
                    "one llama_decode per {} prompt tokens, computed in ubatches of {}",
                    opts.batch, opts.ubatch
                ),
            ),
            (
                "OpenMP".into(),
                "off (ggml's own threads, joined in each call)".into(),
            ),
        ];
        log::to_stderr(opts.verbose);
        self.opts = Some(opts);
        Ok(Configured {
            options: in_force,
            details,
        })
    }

    fn open(&self, model: &ModelSpec, dtype: Dtype) -> Result<Box<dyn Session>, BackendError> {
        let opts = self.opts();
        let ModelSpec::Gguf { path } = model else {
            return Err(BackendError::Unavailable(
                "llama.cpp runs GGUF files only, not the synthetic model".into(),
            ));
        };
        let Some((kv_name, kv_type)) = opts.kv_type_for(dtype) else {
            return Err(BackendError::Unavailable(F64_WHY.into()));
        };
        log::to_stderr(opts.verbose);
        llama_backend()?;
        let loaded = ffi::Model::load(path, opts.gpu_layers as i32).map_err(BackendError::Load)?;
        let device = format!(
            "llama.cpp on {} ({} threads, KV cache {kv_name}, flash attention {})",
            if opts.gpu_layers > 0 {
                "GPU".to_string()
            } else {
                format!("cpu ({})", cpu_model())
            },
            opts.threads,
            opts.flash_attn
        );
        Ok(Box::new(LlamaSession::new(loaded, opts, kv_type, device)))
    }
}

driftbench_plugin_abi::export_plugin!(LlamaCppBackend);
