//! The cuda probe never panics: without a driver it says why and `open` refuses with
//! `Unavailable` before cudarc is touched; with one it describes every device.

use driftbench_backend_cuda::CudaBackend;
use driftbench_core::model_spec::SyntheticModel;
use driftbench_core::{Backend, BackendError, Dtype, ModelSpec};

fn tiny() -> ModelSpec {
    ModelSpec::Synthetic(SyntheticModel {
        layers: 1,
        hidden: 16,
        heads: 2,
        kv_heads: 1,
        ffn: 32,
        vocab: 32,
        rope_base: 10000.0,
        norm_eps: 1e-5,
        weight_seed: 0,
    })
}

#[test]
fn probe_explains_or_describes_devices() {
    let p = CudaBackend::default().probe();
    assert_eq!(p.backend, "cuda");
    assert!(p.backend_dtypes.contains(&Dtype::Bf16));
    match &p.unavailable {
        Some(why) => {
            assert!(p.devices.is_empty());
            assert!(why.contains("CUDA") || why.contains("NVRTC"), "{why}");
            for dtype in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
                match CudaBackend::default().open(&tiny(), dtype) {
                    Err(BackendError::Unavailable(m)) => assert!(m.contains(why.as_str()), "{m}"),
                    Err(e) => panic!("expected Unavailable, got {e}"),
                    Ok(_) => panic!("a session opened although the probe said: {why}"),
                }
            }
            eprintln!("device checks skipped: {why}");
        }
        None => {
            assert!(!p.devices.is_empty());
            for d in &p.devices {
                assert!(d.dtypes.contains(&Dtype::F32), "{d:?}");
                assert!(
                    d.details.iter().any(|(k, _)| k == "compute capability"),
                    "{d:?}"
                );
                assert!(d.driver.is_some(), "{d:?}");
            }
            eprintln!("CUDA devices: {:?}", p.devices);
        }
    }
}
