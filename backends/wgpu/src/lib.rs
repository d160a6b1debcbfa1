//! The `wgpu` backend: burn-wgpu (cubecl) on whatever adapter wgpu picks, exported as a
//! driftbench plugin.
//!
//! The probe asks wgpu itself for the adapter cubecl will pick (Vulkan, high performance;
//! Metal on macOS), without creating a device or touching cubecl, and names the adapter, its
//! type and driver so a software rasterizer (lavapipe,
//! llvmpipe) is never mistaken for a GPU. f16 is offered where the adapter has `SHADER_F16`;
//! bf16 never is: cubecl-wgpu panics in a worker thread on it ("bf16 is not a valid
//! WgpuElement"), so the host must see `SKIPPED` before any tensor exists.

#![forbid(unsafe_code)]

use burn_wgpu::{CubeBackend, Wgpu, WgpuDevice, WgpuRuntime};
use driftbench_core::{
    Backend, BackendError, BackendSetup, Configured, DeviceInfo, Dtype, ModelSpec, Probe, Session,
};
use driftbench_cubecl::{chosen_first, device_for, runtime_config, CubeOptions, MeteredSession};
use driftbench_model::{BurnSession, Precision};

/// burn version this plugin is built against.
pub const BURN_VERSION: &str = "0.21.0";

/// burn-wgpu without burn-fusion (`fusion = false`).
type WgpuUnfused = CubeBackend<WgpuRuntime, f32, i32, u32>;

/// The burn-wgpu backend, with the options it was configured with.
#[derive(Debug, Default, Clone)]
pub struct WgpuBackend {
    options: CubeOptions,
}

fn kind(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete",
        wgpu::DeviceType::IntegratedGpu => "integrated",
        wgpu::DeviceType::VirtualGpu => "virtual",
        wgpu::DeviceType::Cpu => "software (CPU)",
        wgpu::DeviceType::Other => "other",
    }
}

/// The graphics API cubecl-wgpu computes through by default (`AutoGraphicsApi`).
fn compute_api() -> wgpu::Backend {
    if cfg!(target_os = "macos") {
        wgpu::Backend::Metal
    } else {
        wgpu::Backend::Vulkan
    }
}

fn instance(backends: wgpu::Backends) -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    })
}

/// The adapter burn's `WgpuDevice::DefaultDevice` gets (cubecl asks the compute API for its
/// high-performance adapter), then the other adapters of that API; or why there is none.
fn adapters() -> Result<Vec<wgpu::Adapter>, String> {
    let api = compute_api();
    let inst = instance(api.into());
    let chosen =
        futures_lite::future::block_on(inst.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
        }));
    let Ok(chosen) = chosen else {
        // Say what wgpu does see, so "no adapter" is not mistaken for "no GPU at all".
        let all = futures_lite::future::block_on(
            instance(wgpu::Backends::all()).enumerate_adapters(wgpu::Backends::all()),
        );
        let seen: Vec<String> = all
            .iter()
            .map(|a| {
                let i = a.get_info();
                format!("{} [{:?}]", i.name, i.backend)
            })
            .collect();
        return Err(if seen.is_empty() {
            "no wgpu adapter found".to_string()
        } else {
            format!(
                "no {api:?} adapter found (cubecl-wgpu computes through {api:?}); wgpu sees only {}",
                seen.join(", ")
            )
        });
    };
    let first = chosen.get_info();
    let mut list = vec![chosen];
    for a in futures_lite::future::block_on(inst.enumerate_adapters(api.into())) {
        let i = a.get_info();
        if (i.vendor, i.device, &i.name) != (first.vendor, first.device, &first.name) {
            list.push(a);
        }
    }
    Ok(list)
}

fn device_info(a: &wgpu::Adapter) -> DeviceInfo {
    let info = a.get_info();
    let mut dtypes = vec![Dtype::F32];
    let mut unsupported = vec![(
        Dtype::Bf16,
        "bf16 is not supported by cubecl-wgpu".to_string(),
    )];
    if a.features().contains(wgpu::Features::SHADER_F16) {
        dtypes.push(Dtype::F16);
    } else {
        unsupported.push((
            Dtype::F16,
            format!("adapter {} has no SHADER_F16", info.name),
        ));
    }
    unsupported.push((Dtype::F64, "no f64 in WGSL".to_string()));
    let driver = format!("{:?}: {} {}", info.backend, info.driver, info.driver_info)
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
        chosen_first(probe_all(), self.options.device)
    }

    fn configure(&mut self, setup: &BackendSetup) -> Result<Configured, BackendError> {
        let (options, in_force) =
            CubeOptions::from_options(&setup.options, probe_all().devices.len())?;
        // cubecl-wgpu keeps compiled kernels on disk only on its SPIR-V path; this build
        // compiles through WGSL.
        let details = runtime_config::apply(&options, setup.cache_dir.as_deref(), false)?;
        self.options = options;
        Ok(Configured {
            options: in_force,
            details,
        })
    }

    fn open(&self, model: &ModelSpec, dtype: Dtype) -> Result<Box<dyn Session>, BackendError> {
        let name = device_for(&self.probe(), dtype)?;
        let device = wgpu_device(self.options.device)?;
        let prec = Precision::native(dtype);
        let session: Box<dyn Session> = if self.options.fusion {
            Box::new(BurnSession::<Wgpu>::open(model, prec, &device, &name)?)
        } else {
            Box::new(BurnSession::<WgpuUnfused>::open(
                model, prec, &device, &name,
            )?)
        };
        Ok(Box::new(MeteredSession::new(session)))
    }
}

/// The probe with every adapter in cubecl's order (its pick first).
fn probe_all() -> Probe {
    let (devices, unavailable) = match std::panic::catch_unwind(adapters) {
        Ok(Ok(list)) => (list.iter().map(device_info).collect(), None),
        Ok(Err(why)) => (vec![], Some(why)),
        Err(_) => (vec![], Some("adapter enumeration panicked".to_string())),
    };
    Probe {
        backend: "wgpu".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        burn_version: Some(BURN_VERSION.into()),
        unavailable,
        devices,
        backend_dtypes: vec![Dtype::F32, Dtype::F16],
        kv_unsupported: Vec::new(),
        kv_padding: None,
        traces: true,
    }
}

/// The cubecl device of the probe's device `index`: cubecl's own pick for 0, else the
/// adapter's place among the adapters of its type, in enumeration order (how cubecl-wgpu
/// counts `DiscreteGpu(n)` and the like).
fn wgpu_device(index: usize) -> Result<WgpuDevice, BackendError> {
    if index == 0 {
        return Ok(WgpuDevice::DefaultDevice);
    }
    let list = adapters().map_err(BackendError::Unavailable)?;
    let want = list
        .get(index)
        .ok_or_else(|| BackendError::Invalid(format!("no wgpu device {index}")))?
        .get_info();
    let api = compute_api();
    let all = futures_lite::future::block_on(instance(api.into()).enumerate_adapters(api.into()));
    let nth = all
        .iter()
        .map(|a| a.get_info())
        .filter(|i| i.device_type == want.device_type)
        .position(|i| (i.vendor, i.device, &i.name) == (want.vendor, want.device, &want.name))
        .unwrap_or(0);
    Ok(match want.device_type {
        wgpu::DeviceType::DiscreteGpu => WgpuDevice::DiscreteGpu(nth),
        wgpu::DeviceType::IntegratedGpu => WgpuDevice::IntegratedGpu(nth),
        wgpu::DeviceType::VirtualGpu => WgpuDevice::VirtualGpu(nth),
        wgpu::DeviceType::Cpu => WgpuDevice::Cpu,
        wgpu::DeviceType::Other => WgpuDevice::DefaultDevice,
    })
}

driftbench_plugin_abi::export_plugin!(WgpuBackend);
