//! A loaded [`Llama`] as a `driftbench_core::Session`: what every burn plugin hands the host.

use crate::{gguf_load, synthetic, HostWeights, Llama, ModelError, Precision};
use burn_tensor::{backend::Backend, DType, Tensor};
use driftbench_core::records::Route;
use driftbench_core::trace::LayerTrace;
use driftbench_core::{BackendError, KvLayout, ModelSpec, Session, SessionInfo};

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
        BurnSession { model, info }
    }

    /// The model.
    pub fn model(&self) -> &Llama<B> {
        &self.model
    }

    fn check(&self, tokens: &[u32], out: &[f32]) -> Result<(), BackendError> {
        self.check_tokens(tokens)?;
        let vocab = self.info.vocab;
        if out.len() != tokens.len() * vocab {
            return Err(BackendError::Invalid(format!(
                "output buffer holds {} values, expected {} × {vocab}",
                out.len(),
                tokens.len()
            )));
        }
        Ok(())
    }

    fn check_tokens(&self, tokens: &[u32]) -> Result<(), BackendError> {
        let vocab = self.info.vocab;
        if tokens.is_empty() {
            return Err(BackendError::Invalid("empty prompt".into()));
        }
        if tokens.len() > self.info.max_span {
            return Err(BackendError::Invalid(format!(
                "span {} exceeds the model's context of {} tokens",
                tokens.len(),
                self.info.max_span
            )));
        }
        if let Some(t) = tokens.iter().find(|&&t| t as usize >= vocab) {
            return Err(BackendError::Invalid(format!(
                "token id {t} is outside the vocabulary of {vocab}"
            )));
        }
        Ok(())
    }
}

/// Read logits back once, widened to f32 on the device.
fn read_back<B: Backend>(logits: Tensor<B, 2>, out: &mut [f32]) -> Result<(), BackendError> {
    let data = logits.cast(DType::F32).into_data();
    let values = data
        .as_slice::<f32>()
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

impl<B: Backend> Session for BurnSession<B> {
    fn info(&self) -> SessionInfo {
        self.info.clone()
    }

    fn prefill(&mut self, tokens: &[u32], out: &mut [f32]) -> Result<(), BackendError> {
        self.check(tokens, out)?;
        read_back(self.model.prefill(tokens), out)
    }

    fn decode(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f32],
    ) -> Result<(), BackendError> {
        self.check(tokens, out)?;
        if let KvLayout::Padded { block: 0 } = layout {
            return Err(BackendError::Invalid(
                "KV block size must be at least 1".into(),
            ));
        }
        read_back(self.model.decode(tokens, layout), out)
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
                if let KvLayout::Padded { block: 0 } = layout {
                    return Err(BackendError::Invalid(
                        "KV block size must be at least 1".into(),
                    ));
                }
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
