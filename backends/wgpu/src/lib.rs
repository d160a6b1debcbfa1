//! The `wgpu` backend: burn-wgpu (cubecl) on whatever adapter wgpu picks, exported as a
//! driftbench plugin.
//!
//! The probe enumerates adapters through wgpu itself, without creating a device or touching
//! cubecl, and names the adapter, its type and driver so a software rasterizer (lavapipe,
//! llvmpipe) is never mistaken for a GPU. f16 is offered where the adapter has `SHADER_F16`;
//! bf16 never is: cubecl-wgpu panics in a worker thread on it ("bf16 is not a valid
//! WgpuElement"), so the host must see `SKIPPED` before any tensor exists.

use burn_wgpu::{Wgpu, WgpuDevice};
use driftbench_core::{Backend, BackendError, DeviceInfo, Dtype, ModelSpec, Probe, Session};
use driftbench_model::{BurnSession, Precision};

/// burn version this plugin is built against.
pub const BURN_VERSION: &str = "0.21.0";

/// The burn-wgpu backend.
#[derive(Debug, Default, Clone, Copy)]
pub struct WgpuBackend;

fn kind(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete",
        wgpu::DeviceType::IntegratedGpu => "integrated",
        wgpu::DeviceType::VirtualGpu => "virtual",
        wgpu::DeviceType::Cpu => "software (CPU)",
        wgpu::DeviceType::Other => "other",
    }
}

/// Adapters wgpu can see, best first (the order burn's default device uses).
fn adapters() -> Vec<wgpu::Adapter> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    futures_lite::future::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
}

fn device_info(a: &wgpu::Adapter) -> DeviceInfo {
    let info = a.get_info();
    let mut dtypes = vec![Dtype::F32];
    let mut unsupported = vec![(
        Dtype::Bf16,
        "wgpu: bf16 is not supported by cubecl-wgpu".to_string(),
    )];
    if a.features().contains(wgpu::Features::SHADER_F16) {
        dtypes.push(Dtype::F16);
    } else {
        unsupported.push((
            Dtype::F16,
            format!("wgpu: adapter {} has no SHADER_F16", info.name),
        ));
    }
    unsupported.push((Dtype::F64, "wgpu: no f64 in WGSL".to_string()));
    let driver = format!("{} {}", info.driver, info.driver_info)
        .trim()
        .to_string();
    DeviceInfo {
        name: info.name.clone(),
        kind: kind(info.device_type).to_string(),
        driver: (!driver.is_empty()).then_some(driver),
        dtypes,
        unsupported,
        details: vec![
            ("api".into(), format!("{:?}", info.backend)),
            ("vendor".into(), format!("{:#06x}", info.vendor)),
            ("device".into(), format!("{:#06x}", info.device)),
        ],
    }
}

impl Backend for WgpuBackend {
    fn name(&self) -> &str {
        "wgpu"
    }

    fn probe(&self) -> Probe {
        let found = std::panic::catch_unwind(adapters);
        let (devices, unavailable) = match found {
            Ok(list) if list.is_empty() => (vec![], Some("no wgpu adapter found".to_string())),
            Ok(list) => (list.iter().map(device_info).collect(), None),
            Err(_) => (vec![], Some("adapter enumeration panicked".to_string())),
        };
        Probe {
            backend: "wgpu".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            burn_version: Some(BURN_VERSION.into()),
            unavailable,
            devices,
        }
    }

    fn open(&self, model: &ModelSpec, dtype: Dtype) -> Result<Box<dyn Session>, BackendError> {
        let probe = self.probe();
        if let Some(why) = probe.dtype_unavailable(dtype) {
            return Err(BackendError::Unavailable(why));
        }
        let dev = &probe.devices[0];
        let name = format!("{} [{}]", dev.name, dev.kind);
        let device = WgpuDevice::DefaultDevice;
        Ok(Box::new(BurnSession::<Wgpu>::open(
            model,
            Precision::native(dtype),
            &device,
            &name,
        )?))
    }
}

driftbench_plugin_abi::export_plugin!(WgpuBackend);
