//! The `cuda` backend: burn-cuda (cubecl, NVRTC-compiled kernels) exported as a driftbench
//! plugin.
//!
//! cudarc loads the driver (`libcuda`) and NVRTC at run time and panics when either is
//! missing, at the first tensor operation. So the probe asks cudarc whether each library can
//! be loaded *before* calling anything in it (opening NVRTC from the CUDA toolkit's folders
//! when the loader's path lacks it), and the plugin refuses to open a session when the probe
//! says no: a machine without a driver gets `SKIPPED: no CUDA driver`, never a panic.

// Unsafe code here is FFI; every unsafe operation is explicit and says why it holds.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod nvrtc;
mod probe;

use burn_cubecl::CubeBackend;
use burn_cuda::{Cuda, CudaDevice};
use cubecl::cuda::CudaRuntime;
use driftbench_core::{
    Backend, BackendError, BackendSetup, Configured, Dtype, ModelSpec, Probe, Session,
};
use driftbench_cubecl::{chosen_first, device_for, runtime_config, CubeOptions, MeteredSession};
use driftbench_model::{BurnSession, Precision};

/// burn version this plugin is built against.
pub const BURN_VERSION: &str = "0.21.0";

/// burn-cuda without burn-fusion (`fusion = false`).
type CudaUnfused = CubeBackend<CudaRuntime, f32, i32, u8>;

/// What f32 products run in on CUDA, from cubek-matmul 0.2's source (`adjust_dtypes`): its
/// tensor-core kernels stage f32 operands as tf32. burn-cuda 0.21 has no switch for it.
const F32_MATMUL: &str = "f32 operands of the tensor-core (cmma/mma) matmul kernels are \
    staged as tf32 (10-bit mantissa) on devices that have tf32 (compute capability 8.0+); \
    autotune picks per shape between those and full-f32 kernels, so which products round \
    to tf32 depends on the shape. burn-cuda 0.21 offers no switch";

/// The burn-cuda backend, with the options it was configured with.
#[derive(Debug, Default, Clone)]
pub struct CudaBackend {
    options: CubeOptions,
}

/// The probe with every device in ordinal order.
fn probe_all() -> Probe {
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
        kv_unsupported: Vec::new(),
        kv_padding: None,
        traces: true,
    }
}

impl Backend for CudaBackend {
    fn name(&self) -> &str {
        "cuda"
    }

    fn probe(&self) -> Probe {
        chosen_first(probe_all(), self.options.device)
    }

    fn configure(&mut self, setup: &BackendSetup) -> Result<Configured, BackendError> {
        let (options, in_force) =
            CubeOptions::from_options(&setup.options, probe_all().devices.len())?;
        let mut details = runtime_config::apply(&options, setup.cache_dir.as_deref(), true)?;
        details.push(("f32 matmul".into(), F32_MATMUL.into()));
        self.options = options;
        Ok(Configured {
            options: in_force,
            details,
        })
    }

    fn open(&self, model: &ModelSpec, dtype: Dtype) -> Result<Box<dyn Session>, BackendError> {
        let name = device_for(&self.probe(), dtype)?;
        let device = CudaDevice {
            index: self.options.device,
        };
        let prec = Precision::native(dtype);
        let session: Box<dyn Session> = if self.options.fusion {
            Box::new(BurnSession::<Cuda>::open(model, prec, &device, &name)?)
        } else {
            Box::new(BurnSession::<CudaUnfused>::open(
                model, prec, &device, &name,
            )?)
        };
        Ok(Box::new(MeteredSession::new(session)))
    }
}

driftbench_plugin_abi::export_plugin!(CudaBackend);
