//! The `[backends.llamacpp]` options: read by name (unknown keys and wrong types refused),
//! answered with every option in force.

use driftbench_core::machine::cpu_threads;
use driftbench_core::options::OptionReader;
use driftbench_core::{BackendError, BackendOptions, Dtype};
use llama_cpp_sys_2 as sys;

/// How a session runs llama.cpp.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Threads of every computation (`n_threads` and `n_threads_batch`).
    pub threads: usize,
    /// `auto`, `on` or `off` (llama.cpp's `flash_attn_type`).
    pub flash_attn: &'static str,
    /// Most prompt tokens one `llama_decode` of the prefill takes (`n_batch`); a longer
    /// prompt is sent in several calls.
    pub batch: usize,
    /// Most tokens one graph computes (`n_ubatch`): a batch above it is computed in chunks.
    pub ubatch: usize,
    /// KV cache type: `dtype` (the sweep's dtype) or a fixed ggml type for every dtype.
    pub kv_type: &'static str,
    /// Layers offloaded to a GPU (a GPU build only; 0 on the CPU).
    pub gpu_layers: usize,
    /// llama.cpp's info lines on stderr too (else warnings and errors only).
    pub verbose: bool,
}

/// KV cache types a user may name, by ggml type.
const KV_TYPES: [(&str, sys::ggml_type); 5] = [
    ("f32", sys::GGML_TYPE_F32),
    ("f16", sys::GGML_TYPE_F16),
    ("bf16", sys::GGML_TYPE_BF16),
    ("q8_0", sys::GGML_TYPE_Q8_0),
    ("q4_0", sys::GGML_TYPE_Q4_0),
];

/// "All layers" for `gpu_layers` (more than any model has).
const ALL_LAYERS: usize = 999;

impl Options {
    /// Read `options` (`gpu`: whether this build can offload at all); with every option in
    /// force, defaults included.
    pub fn read(
        options: &BackendOptions,
        gpu: bool,
    ) -> Result<(Options, BackendOptions), BackendError> {
        let mut r = OptionReader::new(options);
        let threads = r.index("threads", cpu_threads(), 1024)?;
        let flash_attn = r.choice("flash_attn", &["auto", "on", "off"], "auto")?;
        let batch = r.index("batch", 2048, 1 << 20)?;
        let ubatch = r.index("ubatch", 512, 1 << 20)?;
        let kv_type = r.choice(
            "kv_type",
            &["dtype", "f32", "f16", "bf16", "q8_0", "q4_0"],
            "dtype",
        )?;
        let gpu_layers = r.index("gpu_layers", if gpu { ALL_LAYERS } else { 0 }, ALL_LAYERS)?;
        let verbose = r.bool("verbose", false)?;
        let in_force = r.finish()?;
        let o = Options {
            threads,
            flash_attn,
            batch,
            ubatch,
            kv_type,
            gpu_layers,
            verbose,
        };
        o.check(gpu)?;
        Ok((o, in_force))
    }

    /// Values the reader's ranges let through but llama.cpp cannot take.
    fn check(&self, gpu: bool) -> Result<(), BackendError> {
        let at_least_one = |key: &str, v: usize| {
            if v == 0 {
                return Err(BackendError::Invalid(format!(
                    "option `{key}`: invalid value 0: expected at least 1"
                )));
            }
            Ok(())
        };
        at_least_one("threads", self.threads)?;
        at_least_one("batch", self.batch)?;
        at_least_one("ubatch", self.ubatch)?;
        if self.gpu_layers > 0 && !gpu {
            return Err(BackendError::Invalid(format!(
                "option `gpu_layers`: invalid value {}: this llamacpp plugin was built without \
                 a GPU backend (build it with `--features cuda`), so 0 is the only value",
                self.gpu_layers
            )));
        }
        Ok(())
    }

    /// The KV cache type of a session in `dtype`, with its name; `None` for a dtype llama.cpp
    /// has no cache type for (f64).
    pub fn kv_type_for(&self, dtype: Dtype) -> Option<(&'static str, sys::ggml_type)> {
        let name = match (self.kv_type, dtype) {
            ("dtype", Dtype::F32) => "f32",
            ("dtype", Dtype::F16) => "f16",
            ("dtype", Dtype::Bf16) => "bf16",
            ("dtype", _) => return None,
            (fixed, _) => fixed,
        };
        KV_TYPES.iter().find(|(n, _)| *n == name).copied()
    }

    /// llama.cpp's flash-attention setting.
    pub fn flash_attn_type(&self) -> sys::llama_flash_attn_type {
        match self.flash_attn {
            "on" => sys::LLAMA_FLASH_ATTN_TYPE_ENABLED,
            "off" => sys::LLAMA_FLASH_ATTN_TYPE_DISABLED,
            _ => sys::LLAMA_FLASH_ATTN_TYPE_AUTO,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::read(&BackendOptions::new(), crate::ffi::gpu_offload())
            .expect("the defaults are valid")
            .0
    }
}
