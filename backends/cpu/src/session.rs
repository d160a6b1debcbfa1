//! A loaded [`CpuModel`] as a `driftbench_core::Session`.

use crate::elem::Elem;
use crate::model::CpuModel;
use driftbench_core::profile::{peak_rss_bytes, Peaks, RunProfile};
use driftbench_core::roofline::ModelCost;
use driftbench_core::route::Route;
use driftbench_core::trace::LayerTrace;
use driftbench_core::{BackendError, Dtype, KvLayout, ModelSpec, Session, SessionInfo};
use driftbench_model::{LlamaArch, Precision};
use std::time::Instant;

/// The model in its activation type.
enum Loaded {
    /// f32, f16, bf16.
    F32(CpuModel<f32>),
    /// f64 (the reference dtype).
    F64(CpuModel<f64>),
}

/// A model loaded in one dtype.
pub struct CpuSession {
    model: Loaded,
    info: SessionInfo,
    arch: LlamaArch,
    dtype: Dtype,
    /// What the last route measured.
    last: RunProfile,
}

impl CpuSession {
    /// Load `spec` in `dtype`.
    pub fn open(spec: &ModelSpec, dtype: Dtype, device: &str) -> Result<Self, BackendError> {
        let host = driftbench_model::session::load_host(spec)
            .map_err(|e| BackendError::Load(e.to_string()))?;
        let arch = host.arch.clone();
        let info = SessionInfo {
            vocab: host.arch.vocab,
            max_span: host.arch.context,
            device: device.to_string(),
            model: host.description.clone(),
        };
        let model = match dtype {
            Dtype::F64 => Loaded::F64(CpuModel::new(host, dtype)),
            _ => Loaded::F32(CpuModel::new(host, dtype)),
        };
        Ok(CpuSession {
            model,
            info,
            arch,
            dtype,
            last: RunProfile::default(),
        })
    }

    /// Seconds of each step of the last decode, in order.
    pub fn step_times(&self) -> &[f64] {
        &self.last.step_s
    }

    /// The profile of a prefill: the logits are computed straight into the caller's buffer,
    /// so there is no read-back.
    fn prefilled(&mut self) {
        self.last = RunProfile {
            readback_s: Some(0.0),
            peak_rss_bytes: peak_rss_bytes(),
            ..RunProfile::default()
        };
    }

    /// The profile of a decode whose steps took `steps` seconds.
    fn decoded(&mut self, steps: Vec<f64>) {
        self.last = RunProfile {
            step_s: steps,
            readback_s: Some(0.0),
            peak_rss_bytes: peak_rss_bytes(),
        };
    }

    /// Bytes of weights one decode step streams.
    pub fn weight_bytes(&self) -> usize {
        match &self.model {
            Loaded::F32(m) => m.weight_bytes(),
            Loaded::F64(m) => m.weight_bytes(),
        }
    }
}

/// Run an f64 route through an f64 buffer, rounded to f32 at the end (for a host that asks
/// the f32 route of an f64 session; the f64 routes hand the f64 values over as they are).
fn via_f64(out: &mut [f32], f: impl FnOnce(&mut [f64])) {
    let mut wide = vec![0f64; out.len()];
    f(&mut wide);
    out.iter_mut().zip(&wide).for_each(|(o, w)| *o = w.to_f32());
}

impl Session for CpuSession {
    fn info(&self) -> SessionInfo {
        self.info.clone()
    }

    fn prefill(&mut self, tokens: &[u32], out: &mut [f32]) -> Result<(), BackendError> {
        self.info.check_request(tokens, out.len())?;
        match &self.model {
            Loaded::F32(m) => m.prefill(tokens, out),
            Loaded::F64(m) => via_f64(out, |o| m.prefill(tokens, o)),
        }
        self.prefilled();
        Ok(())
    }

    fn decode(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f32],
    ) -> Result<(), BackendError> {
        self.info.check_request(tokens, out.len())?;
        layout.check()?;
        let mut steps = Vec::with_capacity(tokens.len());
        let mut last = Instant::now();
        let on_step = |_| {
            let now = Instant::now();
            steps.push((now - last).as_secs_f64());
            last = now;
        };
        match &self.model {
            Loaded::F32(m) => m.decode(tokens, layout, out, on_step),
            Loaded::F64(m) => via_f64(out, |o| m.decode(tokens, layout, o, on_step)),
        }
        self.decoded(steps);
        Ok(())
    }

    fn logits_f64(&self) -> bool {
        matches!(self.model, Loaded::F64(_))
    }

    /// In f64, the f64 logits as computed: nothing is rounded to f32.
    fn prefill_f64(&mut self, tokens: &[u32], out: &mut [f64]) -> Result<(), BackendError> {
        let Loaded::F64(m) = &self.model else {
            return driftbench_core::backend::widen_f32_route(out, |o| self.prefill(tokens, o));
        };
        self.info.check_request(tokens, out.len())?;
        m.prefill(tokens, out);
        self.prefilled();
        Ok(())
    }

    fn decode_f64(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f64],
    ) -> Result<(), BackendError> {
        let Loaded::F64(m) = &self.model else {
            return driftbench_core::backend::widen_f32_route(out, |o| {
                self.decode(tokens, layout, o)
            });
        };
        self.info.check_request(tokens, out.len())?;
        layout.check()?;
        let mut steps = Vec::with_capacity(tokens.len());
        let mut last = Instant::now();
        m.decode(tokens, layout, out, |_| {
            let now = Instant::now();
            steps.push((now - last).as_secs_f64());
            last = now;
        });
        self.decoded(steps);
        Ok(())
    }

    fn last_profile(&self) -> RunProfile {
        self.last.clone()
    }

    fn cost(&self) -> Option<ModelCost> {
        // Weights are held in the compute dtype (2 bytes a value in f16/bf16).
        Some(driftbench_model::session::model_cost(
            &self.arch,
            Precision::native(self.dtype),
        ))
    }

    /// The route's hidden states, by the kernels and threading of the untraced route; its
    /// logits are computed (the same run) and dropped. Not a measured run: the profile of the
    /// last route is kept.
    fn trace(
        &mut self,
        route: Route,
        tokens: &[u32],
        layout: KvLayout,
    ) -> Result<LayerTrace, BackendError> {
        self.info.check_tokens(tokens)?;
        if route == Route::Decode {
            layout.check()?;
        }
        let n = tokens.len() * self.info.vocab;
        Ok(match &self.model {
            Loaded::F32(m) => m.trace(route, tokens, layout, &mut vec![0f32; n]),
            Loaded::F64(m) => m.trace(route, tokens, layout, &mut vec![0f64; n]),
        })
    }

    fn peaks(&mut self) -> Result<Peaks, BackendError> {
        Ok(match self.model {
            Loaded::F32(_) => crate::peaks::measure::<f32>(self.dtype),
            Loaded::F64(_) => crate::peaks::measure::<f64>(self.dtype),
        })
    }
}
