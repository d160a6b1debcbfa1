//! The `cpu` backend: the LLaMA-style model of `driftbench_model` on driftbench's own CPU
//! kernels, exported as a driftbench plugin.
//!
//! Where `flex` runs burn-flex as burn ships it (and so shows burn-flex's own numerics), this
//! backend owns its hot products to run as fast as the machine allows:
//! - weights are kept from load in the layout the products want (`[out, in]` rows, q/k/v and
//!   gate/up stacked) and in the compute dtype, so 16-bit decode streams 2 bytes a weight;
//! - decode's one-row products are split across every core (AVX2/FMA/F16C kernels chosen at
//!   run time), prefill's many-row products go to the `gemm` crate;
//! - grouped-query attention reads each kv head in place (no expanded copies), the KV cache
//!   is written in place, no mask is built per step;
//! - every product accumulates in f32 and rounds its result to the compute dtype once, as
//!   PyTorch's CPU kernels do. f16 and bf16 are emulated exactly: activations are f32
//!   buffers holding dtype values, every op rounds its result. f64 (the noise-floor
//!   reference dtype) computes in f64 throughout.
//!
//! Layer traces (`--trace-layers`) run the routes' own code with a tap on ([`trace`]): the
//! traced logits are the untraced ones bit for bit.

pub mod attention;
pub mod bf16_gemm;
pub mod dot;
pub mod elem;
pub mod exp_f32;
pub mod kv_cache;
pub mod matrix;
pub mod model;
pub mod peaks;
pub mod products;
pub mod rope;
pub mod round;
pub mod session;
pub mod trace;

use driftbench_core::machine::{cpu_model, cpu_threads};
use driftbench_core::{Backend, BackendError, DeviceInfo, Dtype, ModelSpec, Probe, Session};
pub use model::CpuModel;
pub use session::CpuSession;

/// The `cpu` backend.
#[derive(Debug, Default, Clone, Copy)]
pub struct CpuBackend;

/// What the products run on, for the probe and the report.
fn kernels() -> String {
    let simd = if cfg!(target_arch = "x86_64") && dot_simd() {
        "AVX2/FMA/F16C one-row kernels"
    } else {
        "portable one-row kernels"
    };
    format!(
        "{simd} on {} threads; prefill GEMM: gemm crate; f32 accumulation",
        rayon::current_num_threads()
    )
}

#[cfg(target_arch = "x86_64")]
fn dot_simd() -> bool {
    is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c")
}
#[cfg(not(target_arch = "x86_64"))]
fn dot_simd() -> bool {
    false
}

impl Backend for CpuBackend {
    fn name(&self) -> &str {
        "cpu"
    }

    fn probe(&self) -> Probe {
        let dtypes = vec![Dtype::F32, Dtype::F16, Dtype::Bf16, Dtype::F64];
        Probe {
            backend: "cpu".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            burn_version: None,
            unavailable: None,
            devices: vec![DeviceInfo {
                name: format!("cpu ({})", cpu_model()),
                kind: "cpu".into(),
                driver: None,
                dtypes: dtypes.clone(),
                unsupported: vec![],
                details: vec![
                    ("threads".into(), cpu_threads().to_string()),
                    ("kernels".into(), kernels()),
                ],
            }],
            backend_dtypes: dtypes,
            kv_unsupported: Vec::new(),
            kv_padding: None,
            // Both routes trace (`Session::trace`, see `trace`).
            traces: true,
        }
    }

    fn open(&self, model: &ModelSpec, dtype: Dtype) -> Result<Box<dyn Session>, BackendError> {
        let name = format!("cpu ({}), {} threads", cpu_model(), cpu_threads());
        Ok(Box::new(CpuSession::open(model, dtype, &name)?))
    }
}

driftbench_plugin_abi::export_plugin!(CpuBackend);
