//! driftbench backend plugin `template`: the LLaMA-style decoder of driftbench, written out
//! in plain Rust and computed in f64, with no dependency beyond driftbench's ABI, core types
//! and GGUF reader.
//!
//! It is two things at once:
//! - the starting point for a new backend: copy this crate, rename the backend, replace
//!   [`model`] with calls into your stack (see `book/src/plugins.md`);
//! - an independent reference: its f64 logits are the model's exact logits to about 1e-12,
//!   so the burn backends and `cpu` can be checked against it (CI does, against flex f32).
//!
//! Layout: [`weights`] builds the model's weights from a synthetic spec or a GGUF file,
//! [`model`] runs the two routes, this file is the backend and its session.

pub mod model;
pub mod weights;

use driftbench_core::{
    Backend, BackendError, DeviceInfo, Dtype, KvLayout, ModelSpec, Probe, Session, SessionInfo,
};
use std::time::Instant;

/// The backend: stateless; everything lives in the session.
#[derive(Debug, Default)]
pub struct Template;

/// The reason every dtype but f64 is missing, as the probe and `open` say it.
const F64_ONLY: &str = "the template computes in f64 only";

impl Backend for Template {
    fn name(&self) -> &str {
        "template"
    }

    fn probe(&self) -> Probe {
        Probe {
            backend: "template".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            burn_version: None,
            unavailable: None,
            devices: vec![DeviceInfo {
                name: "cpu".into(),
                kind: "cpu".into(),
                driver: None,
                dtypes: vec![Dtype::F64],
                unsupported: [Dtype::F32, Dtype::F16, Dtype::Bf16]
                    .into_iter()
                    .map(|d| (d, F64_ONLY.to_string()))
                    .collect(),
                details: vec![("threads".into(), "1".into())],
            }],
            backend_dtypes: vec![Dtype::F64],
            kv_unsupported: Vec::new(),
            kv_padding: None,
            traces: false,
        }
    }

    fn open(&self, spec: &ModelSpec, dtype: Dtype) -> Result<Box<dyn Session>, BackendError> {
        if dtype != Dtype::F64 {
            return Err(BackendError::Unavailable(format!(
                "{F64_ONLY} (asked for {dtype})"
            )));
        }
        let w = weights::Weights::load(spec)?;
        Ok(Box::new(TemplateSession {
            info: SessionInfo {
                vocab: w.vocab,
                max_span: w.context,
                device: "cpu (plain Rust, f64)".into(),
                model: w.description.clone(),
            },
            weights: w,
            last_wall_s: None,
        }))
    }
}

/// One loaded model.
pub struct TemplateSession {
    info: SessionInfo,
    weights: weights::Weights,
    last_wall_s: Option<f64>,
}

impl TemplateSession {
    /// Check the request, run `route`, write its f64 logits into `out` (rounded to f32 for
    /// the f32 routes, as they are for the f64 ones).
    fn run<T>(
        &mut self,
        tokens: &[u32],
        out: &mut [T],
        route: impl FnOnce(&weights::Weights, &[u32]) -> Vec<f64>,
        convert: impl Fn(f64) -> T,
    ) -> Result<(), BackendError> {
        self.info.check_request(tokens, out.len())?;
        let t0 = Instant::now();
        let logits = route(&self.weights, tokens);
        for (o, l) in out.iter_mut().zip(&logits) {
            *o = convert(*l);
        }
        self.last_wall_s = Some(t0.elapsed().as_secs_f64());
        Ok(())
    }
}

/// An f64 logit rounded to f32 (what a host asking the f32 routes gets).
fn to_f32(x: f64) -> f32 {
    x as f32
}

/// An f64 logit as it is (the f64 routes, ABI v1.4).
fn as_is(x: f64) -> f64 {
    x
}

impl Session for TemplateSession {
    fn info(&self) -> SessionInfo {
        self.info.clone()
    }

    fn prefill(&mut self, tokens: &[u32], out: &mut [f32]) -> Result<(), BackendError> {
        self.run(tokens, out, model::prefill, to_f32)
    }

    fn decode(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f32],
    ) -> Result<(), BackendError> {
        layout.check()?;
        self.run(tokens, out, |w, t| model::decode(w, t, layout), to_f32)
    }

    /// The logits cross as f64 (`prefill_f64`, `decode_f64` below): an f64 pair is judged at
    /// f64 precision. A backend computing in f64 should say so and implement both.
    fn logits_f64(&self) -> bool {
        true
    }

    fn prefill_f64(&mut self, tokens: &[u32], out: &mut [f64]) -> Result<(), BackendError> {
        self.run(tokens, out, model::prefill, as_is)
    }

    fn decode_f64(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f64],
    ) -> Result<(), BackendError> {
        layout.check()?;
        self.run(tokens, out, |w, t| model::decode(w, t, layout), as_is)
    }

    fn last_wall_s(&self) -> Option<f64> {
        self.last_wall_s
    }
}

driftbench_plugin_abi::export_plugin!(Template);
