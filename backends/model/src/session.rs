//! A loaded [`Llama`] as a `driftbench_core::Session`: what every burn plugin hands the host.

use crate::{
    gguf_load, synthetic, HostWeights, Llama, LlamaArch, ModelError, Precision, StepClock,
};
use burn_tensor::{backend::Backend, DType, Tensor};
use driftbench_core::route::Route;
use driftbench_core::trace::LayerTrace;
use driftbench_core::{
    BackendError, Dtype, KvLayout, ModelCost, ModelSpec, Peaks, RunProfile, Session, SessionInfo,
};
use std::time::Instant;

/// Dequantize or generate the f32 host weights of `spec` (once per session).
pub fn load_host(spec: &ModelSpec) -> Result<HostWeights, ModelError> {
    match spec {
        ModelSpec::Synthetic(m) => synthetic::build(m),
        ModelSpec::Gguf { path } => gguf_load::load(path),
    }
}

/// A model loaded on one burn backend, device and dtype.
pub struct BurnSession<B: Backend> {
    model: Llama<B>,
    info: SessionInfo,
    device: B::Device,
    /// Profile of the last successful route.
    last: RunProfile,
}

/// What a model of `arch` held in `prec` costs to run (see `driftbench_core::roofline`).
pub fn model_cost(arch: &LlamaArch, prec: Precision) -> ModelCost {
    let (h, f) = (arch.hidden as u64, arch.ffn as u64);
    let q = (arch.heads * arch.head_dim) as u64;
    let kv = (arch.kv_heads * arch.head_dim) as u64;
    // Q, K, V, O, gate, up, down per layer, then the output projection (tied or not, it is
    // a product over vocab × hidden weights).
    let per_layer = h * (q + 2 * kv) + q * h + 3 * h * f;
    let product_params = arch.layers as u64 * per_layer + arch.vocab as u64 * h;
    let weight = prec.weight();
    ModelCost {
        layers: arch.layers,
        q_dim: q as usize,
        kv_dim: kv as usize,
        product_params,
        weight_bytes: product_params * weight.size() as u64,
        weight_dtype: crate::precision::dtype_name(weight).to_string(),
        kv_value_bytes: prec.act().size() as u64,
    }
}

/// Waits for the device at the end of every decode step and keeps each step's seconds:
/// what token-by-token serving pays (burn-flex computes eagerly; its sync is free).
struct SyncClock<'a, B: Backend> {
    device: &'a B::Device,
    steps: Vec<f64>,
    t: Instant,
    error: Option<String>,
}

impl<B: Backend> SyncClock<'_, B> {
    fn sync(&mut self) {
        if self.error.is_none() {
            if let Err(e) = B::sync(self.device) {
                self.error = Some(format!("device sync: {e:?}"));
            }
        }
    }
}

impl<B: Backend> StepClock for SyncClock<'_, B> {
    fn start(&mut self) {
        self.sync();
        self.t = Instant::now();
    }
    fn step_done(&mut self, _: usize) {
        self.sync();
        let now = Instant::now();
        self.steps.push((now - self.t).as_secs_f64());
        self.t = now;
    }
}

impl<B: Backend> BurnSession<B> {
    /// Load `spec` in `prec` on `device` (named `device_name` in reports).
    pub fn open(
        spec: &ModelSpec,
        prec: Precision,
        device: &B::Device,
        device_name: &str,
    ) -> Result<Self, BackendError> {
        let host = load_host(spec).map_err(|e| BackendError::Load(e.to_string()))?;
        let session = Self::from_host(&host, prec, device, device_name);
        // Uploads are queued asynchronously on GPU backends: wait for them, so the load time
        // holds them and the first run's clock does not.
        B::sync(device).map_err(|e| BackendError::Load(format!("device sync: {e:?}")))?;
        Ok(session)
    }

    /// Convert and upload already loaded host weights.
    pub fn from_host(
        host: &HostWeights,
        prec: Precision,
        device: &B::Device,
        device_name: &str,
    ) -> Self {
        let model = Llama::new(host, prec, device);
        let info = SessionInfo {
            vocab: host.arch.vocab,
            max_span: host.arch.context,
            device: device_name.to_string(),
            model: host.description.clone(),
        };
        BurnSession {
            model,
            info,
            device: device.clone(),
            last: RunProfile::default(),
        }
    }

    /// The model.
    pub fn model(&self) -> &Llama<B> {
        &self.model
    }

    fn check_tokens(&self, tokens: &[u32]) -> Result<(), BackendError> {
        self.info.check_tokens(tokens)
    }
}

/// A host type logits are read back as: f32 (widened or rounded on the device), or f64 for
/// an f64 session's f64 routes.
pub trait ReadBack: burn_tensor::Element + Copy {
    /// burn's dtype of it.
    const DTYPE: DType;
}

impl ReadBack for f32 {
    const DTYPE: DType = DType::F32;
}

impl ReadBack for f64 {
    const DTYPE: DType = DType::F64;
}

/// Read logits back once, cast to `T` on the device; returns the seconds it took.
fn timed_read_back<B: Backend, T: ReadBack>(
    logits: Tensor<B, 2>,
    out: &mut [T],
) -> Result<f64, BackendError> {
    let t0 = Instant::now();
    read_back(logits, out)?;
    Ok(t0.elapsed().as_secs_f64())
}

/// Read logits back once, cast to `T` on the device.
fn read_back<B: Backend, T: ReadBack>(
    logits: Tensor<B, 2>,
    out: &mut [T],
) -> Result<(), BackendError> {
    let data = logits.cast(T::DTYPE).into_data();
    let values = data
        .as_slice::<T>()
        .map_err(|e| BackendError::Run(format!("reading logits back: {e:?}")))?;
    if values.len() != out.len() {
        return Err(BackendError::Run(format!(
            "backend returned {} logits, expected {}",
            values.len(),
            out.len()
        )));
    }
    out.copy_from_slice(values);
    Ok(())
}

impl<B: Backend> BurnSession<B> {
    /// The prefill route, its logits read back as `T`.
    fn prefill_as<T: ReadBack>(
        &mut self,
        tokens: &[u32],
        out: &mut [T],
    ) -> Result<(), BackendError> {
        self.info.check_request(tokens, out.len())?;
        self.last = RunProfile::default();
        let logits = self.model.prefill(tokens);
        // Waited for before the read-back's clock starts, so it times the copy alone.
        B::sync(&self.device).map_err(|e| BackendError::Run(format!("device sync: {e:?}")))?;
        self.last.readback_s = Some(timed_read_back(logits, out)?);
        Ok(())
    }

    /// The decode route, its logits read back as `T`.
    fn decode_as<T: ReadBack>(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [T],
    ) -> Result<(), BackendError> {
        self.info.check_request(tokens, out.len())?;
        layout.check()?;
        self.last = RunProfile::default();
        let mut clock = SyncClock::<B> {
            device: &self.device,
            steps: Vec::with_capacity(tokens.len()),
            t: Instant::now(),
            error: None,
        };
        let logits = self.model.decode_clocked(tokens, layout, &mut clock);
        if let Some(e) = clock.error {
            return Err(BackendError::Run(e));
        }
        let steps = clock.steps;
        let readback_s = timed_read_back(logits, out)?;
        self.last = RunProfile {
            step_s: steps,
            readback_s: Some(readback_s),
            peak_rss_bytes: None,
        };
        Ok(())
    }
}

impl<B: Backend> Session for BurnSession<B> {
    fn info(&self) -> SessionInfo {
        self.info.clone()
    }

    fn prefill(&mut self, tokens: &[u32], out: &mut [f32]) -> Result<(), BackendError> {
        self.prefill_as(tokens, out)
    }

    fn decode(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f32],
    ) -> Result<(), BackendError> {
        self.decode_as(tokens, layout, out)
    }

    /// In f64 the logits are read back as f64: nothing is rounded to f32.
    fn logits_f64(&self) -> bool {
        self.model.precision().dtype == Dtype::F64
    }

    fn prefill_f64(&mut self, tokens: &[u32], out: &mut [f64]) -> Result<(), BackendError> {
        if !self.logits_f64() {
            return driftbench_core::backend::widen_f32_route(out, |o| self.prefill(tokens, o));
        }
        self.prefill_as(tokens, out)
    }

    fn decode_f64(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f64],
    ) -> Result<(), BackendError> {
        if !self.logits_f64() {
            return driftbench_core::backend::widen_f32_route(out, |o| {
                self.decode(tokens, layout, o)
            });
        }
        self.decode_as(tokens, layout, out)
    }

    fn last_profile(&self) -> RunProfile {
        self.last.clone()
    }

    fn cost(&self) -> Option<ModelCost> {
        Some(model_cost(self.model.arch(), self.model.precision()))
    }

    fn peaks(&mut self) -> Result<Peaks, BackendError> {
        crate::peaks::measure::<B>(self.model.precision(), &self.device).map_err(BackendError::Run)
    }

    fn trace(
        &mut self,
        route: Route,
        tokens: &[u32],
        layout: KvLayout,
    ) -> Result<LayerTrace, BackendError> {
        self.check_tokens(tokens)?;
        // The logits are computed (same route, same kernels) but not read back.
        let (_, states) = match route {
            Route::Prefill => self.model.prefill_traced(tokens),
            Route::Decode => {
                layout.check()?;
                self.model.decode_traced(tokens, layout)
            }
        };
        let points = self.model.trace_points();
        let hidden = self.model.arch().hidden;
        let mut data = vec![0f32; points.len() * tokens.len() * hidden];
        read_back3(states, &mut data)?;
        Ok(LayerTrace {
            points,
            positions: tokens.len(),
            hidden,
            data,
        })
    }
}

/// [`read_back`] for a trace's `[points, positions, hidden]` states.
fn read_back3<B: Backend>(states: Tensor<B, 3>, out: &mut [f32]) -> Result<(), BackendError> {
    let [p, t, h] = states.dims();
    read_back(states.reshape([p * t, h]), out)
}
