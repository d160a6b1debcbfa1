//! The `flex` backend: burn-flex on the CPU, exported as a driftbench plugin.
//!
//! f32, f16 (native) and bf16; bf16 weight products are widened to f32 (see
//! `driftbench_model::LinearMode::WidenBf16`) because burn-flex converts a whole bf16 weight
//! to f32 on every product, which makes one-row decode steps crawl. f64 is offered as a
//! reference dtype.

#![forbid(unsafe_code)]

use burn_flex::{Flex, FlexDevice};
use driftbench_core::machine::{cpu_model, cpu_threads};
use driftbench_core::{Backend, BackendError, DeviceInfo, Dtype, ModelSpec, Probe, Session};
use driftbench_model::{BurnSession, LinearMode, Precision};

/// burn version this plugin is built against.
pub const BURN_VERSION: &str = "0.21.0";

/// The burn-flex backend.
#[derive(Debug, Default, Clone, Copy)]
pub struct FlexBackend;

impl Backend for FlexBackend {
    fn name(&self) -> &str {
        "flex"
    }

    fn probe(&self) -> Probe {
        Probe {
            backend: "flex".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            burn_version: Some(BURN_VERSION.into()),
            unavailable: None,
            devices: vec![DeviceInfo {
                name: format!("cpu ({})", cpu_model()),
                kind: "cpu".into(),
                driver: None,
                dtypes: vec![Dtype::F32, Dtype::F16, Dtype::Bf16, Dtype::F64],
                unsupported: vec![],
                details: vec![
                    ("threads".into(), cpu_threads().to_string()),
                    (
                        "bf16 products".into(),
                        "weights rounded to bf16, product in f32, result rounded to bf16".into(),
                    ),
                ],
            }],
            backend_dtypes: vec![Dtype::F32, Dtype::F16, Dtype::Bf16, Dtype::F64],
            kv_unsupported: Vec::new(),
            kv_padding: None,
            traces: true,
        }
    }

    fn open(&self, model: &ModelSpec, dtype: Dtype) -> Result<Box<dyn Session>, BackendError> {
        let prec = Precision {
            dtype,
            linear: LinearMode::WidenBf16,
        };
        let device = FlexDevice;
        let name = format!("cpu ({}), {} threads", cpu_model(), cpu_threads());
        Ok(Box::new(BurnSession::<Flex>::open(
            model, prec, &device, &name,
        )?))
    }
}

driftbench_plugin_abi::export_plugin!(FlexBackend);
