//! The `cuda` backend: burn-cuda (cubecl, NVRTC-compiled kernels) exported as a driftbench
//! plugin.
//!
//! cudarc loads the driver (`libcuda`) and NVRTC at run time and panics when either is
//! missing, at the first tensor operation. So the probe asks cudarc whether each library can
//! be loaded *before* calling anything in it, and the plugin refuses to open a session when
//! the probe says no: a machine without a driver gets `SKIPPED: no CUDA driver`, never a
//! panic.

mod probe;

use burn_cuda::{Cuda, CudaDevice};
use driftbench_core::{Backend, BackendError, Dtype, ModelSpec, Probe, Session};
use driftbench_model::{BurnSession, Precision};

/// burn version this plugin is built against.
pub const BURN_VERSION: &str = "0.21.0";

/// The burn-cuda backend on device 0.
#[derive(Debug, Default, Clone, Copy)]
pub struct CudaBackend;

impl Backend for CudaBackend {
    fn name(&self) -> &str {
        "cuda"
    }

    fn probe(&self) -> Probe {
        let (devices, unavailable) = match std::panic::catch_unwind(probe::devices) {
            Ok(Ok(list)) if list.is_empty() => (vec![], Some("no CUDA device found".into())),
            Ok(Ok(list)) => (list, None),
            Ok(Err(why)) => (vec![], Some(why)),
            Err(_) => (vec![], Some("CUDA probe panicked".into())),
        };
        Probe {
            backend: "cuda".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            burn_version: Some(BURN_VERSION.into()),
            unavailable,
            devices,
            backend_dtypes: vec![Dtype::F32, Dtype::F16, Dtype::Bf16],
        }
    }

    fn open(&self, model: &ModelSpec, dtype: Dtype) -> Result<Box<dyn Session>, BackendError> {
        let probe = self.probe();
        if let Some(why) = probe.dtype_unavailable(dtype) {
            return Err(BackendError::Unavailable(why));
        }
        let dev = &probe.devices[0];
        let name = format!("{} [{}]", dev.name, dev.kind);
        let device = CudaDevice { index: 0 };
        Ok(Box::new(BurnSession::<Cuda>::open(
            model,
            Precision::native(dtype),
            &device,
            &name,
        )?))
    }
}

driftbench_plugin_abi::export_plugin!(CudaBackend);
