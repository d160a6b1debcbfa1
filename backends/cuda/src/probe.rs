//! Driver-level probe: which CUDA devices exist and what they can compute in.
//!
//! Every cudarc call here is preceded by cudarc's own "can this library be loaded" check,
//! because its loaders panic (inside a `OnceLock`, poisoning it) when the library is absent.

use cudarc::driver::{result, sys};
use driftbench_core::{DeviceInfo, Dtype};

/// Lowest compute capability (major×10 + minor) with f16 arithmetic.
const F16_MIN_CC: i32 = 53;
/// Lowest compute capability with native bf16 arithmetic (Ampere).
const BF16_MIN_CC: i32 = 80;

/// The CUDA devices, or why there are none to use.
pub(crate) fn devices() -> Result<Vec<DeviceInfo>, String> {
    let nvrtc = find_nvrtc();
    // SAFETY: only tries to dlopen the candidate names; nothing is called yet.
    if !unsafe { sys::is_culib_present() } {
        return Err("no CUDA driver (libcuda could not be loaded)".into());
    }
    // Kernels are compiled at run time: without NVRTC the first tensor op panics.
    let Some(nvrtc) = nvrtc else {
        return Err(
            "CUDA driver found but NVRTC (libnvrtc) could not be loaded: not on the loader's \
             path nor in a CUDA toolkit folder ($CUDA_HOME, /usr/local/cuda*); install the \
             CUDA runtime compiler or set CUDA_HOME"
                .into(),
        );
    };
    result::init().map_err(|e| format!("cuInit failed: {e:?}"))?;
    let driver = driver_version();
    let count = result::device::get_count().map_err(|e| format!("cuDeviceGetCount: {e:?}"))?;
    (0..count)
        .map(|i| {
            let mut d = device(i, driver.as_deref())?;
            d.details.push(("nvrtc".into(), nvrtc.clone()));
            Ok(d)
        })
        .collect::<Result<Vec<_>, _>>()
}

/// Where NVRTC comes from: the loader's path, or a toolkit folder opened by full path.
fn find_nvrtc() -> Option<String> {
    static FOUND: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| {
            // SAFETY: only tries to dlopen the candidate names.
            if unsafe { cudarc::nvrtc::sys::is_culib_present() } {
                return Some("on the loader's search path".into());
            }
            let path = crate::nvrtc::preload()?;
            // SAFETY: as above; now answered by the library just loaded.
            unsafe { cudarc::nvrtc::sys::is_culib_present() }
                .then(|| format!("{} (CUDA toolkit)", path.display()))
        })
        .clone()
}

fn driver_version() -> Option<String> {
    let mut v: std::ffi::c_int = 0;
    // SAFETY: the driver library is loaded (checked above) and `v` outlives the call.
    let r = unsafe { sys::cuDriverGetVersion(&mut v) };
    (r == sys::CUresult::CUDA_SUCCESS)
        .then(|| format!("CUDA driver API {}.{}", v / 1000, (v % 1000) / 10))
}

fn attribute(dev: sys::CUdevice, attr: sys::CUdevice_attribute) -> Result<i32, String> {
    // SAFETY: `dev` came from cuDeviceGet after a successful cuInit.
    unsafe { result::device::get_attribute(dev, attr) }.map_err(|e| format!("{attr:?}: {e:?}"))
}

fn device(ordinal: i32, driver: Option<&str>) -> Result<DeviceInfo, String> {
    use sys::CUdevice_attribute as A;
    let dev = result::device::get(ordinal).map_err(|e| format!("cuDeviceGet({ordinal}): {e:?}"))?;
    let name = result::device::get_name(dev).map_err(|e| format!("cuDeviceGetName: {e:?}"))?;
    let major = attribute(dev, A::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?;
    let minor = attribute(dev, A::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?;
    let integrated = attribute(dev, A::CU_DEVICE_ATTRIBUTE_INTEGRATED).unwrap_or(0) != 0;
    // SAFETY: as in `attribute`.
    let memory = unsafe { result::device::total_mem(dev) }.ok();
    let cc = major * 10 + minor;
    let cc_text = format!("{major}.{minor}");
    let mut dtypes = vec![Dtype::F32];
    let mut unsupported = vec![(
        Dtype::F64,
        "cuda: burn-cuda 0.21 registers no f64 tensors".to_string(),
    )];
    for (dtype, min) in [(Dtype::F16, F16_MIN_CC), (Dtype::Bf16, BF16_MIN_CC)] {
        if cc >= min {
            dtypes.push(dtype);
        } else {
            unsupported.push((
                dtype,
                format!(
                    "cuda: {name} (compute capability {cc_text}) has no native {dtype}; needs {}.{}",
                    min / 10,
                    min % 10
                ),
            ));
        }
    }
    let mut details = vec![
        ("ordinal".into(), ordinal.to_string()),
        ("compute capability".into(), cc_text),
    ];
    if let Some(bytes) = memory {
        details.push((
            "memory".into(),
            format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64),
        ));
    }
    Ok(DeviceInfo {
        name,
        kind: if integrated { "integrated" } else { "discrete" }.into(),
        driver: driver.map(str::to_string),
        dtypes,
        unsupported,
        details,
    })
}
