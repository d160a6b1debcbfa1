//! A GGUF model loaded in llama.cpp, as a `driftbench_core::Session`: prefill is the prompt
//! in one batch (or `batch`-sized calls) with logits for every position, decode one token per
//! `llama_decode` through llama.cpp's KV cache.

use crate::ffi::{Batch, Context, ContextSpec, EvalHook, Model};
use crate::options::Options;
use crate::trace::Collector;
use driftbench_core::profile::{peak_rss_bytes, RunProfile};
use driftbench_core::route::Route;
use driftbench_core::trace::LayerTrace;
use driftbench_core::{BackendError, KvLayout, Session, SessionInfo};
use llama_cpp_sys_2 as sys;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// Why `kv_aligned = 1` cannot run on llama.cpp (the probe says the same).
pub const ALIGNED_WHY: &str = "llama.cpp attends over its KV cache padded to 256 cells with \
     the unused cells masked, in prefill and decode alike; a cache of exactly the t+1 keys of \
     step t (kv_aligned=1) cannot be asked for";

/// A model and the contexts made for it, one per prompt length.
pub struct LlamaSession {
    // Field order is drop order: contexts before the model they use.
    contexts: HashMap<usize, Context>,
    model: Arc<Model>,
    info: SessionInfo,
    opts: Options,
    kv_type: sys::ggml_type,
    last: RunProfile,
}

impl LlamaSession {
    /// A session on `model` with the KV cache in `kv_type`.
    pub fn new(model: Model, opts: Options, kv_type: sys::ggml_type, device: String) -> Self {
        let info = SessionInfo {
            vocab: model.vocab(),
            max_span: model.n_ctx_train(),
            device,
            model: format!("{} (llama.cpp)", model.describe()),
        };
        LlamaSession {
            contexts: HashMap::new(),
            model: Arc::new(model),
            info,
            opts,
            kv_type,
            last: RunProfile::default(),
        }
    }

    /// What a context for prompts of `span` tokens is made with.
    fn spec(&self, span: usize) -> ContextSpec {
        ContextSpec {
            n_ctx: span as u32,
            n_batch: self.opts.batch.min(span).max(1) as u32,
            n_ubatch: self.opts.ubatch.min(self.opts.batch).min(span).max(1) as u32,
            threads: self.opts.threads as i32,
            flash_attn: self.opts.flash_attn_type(),
            kv_type: self.kv_type,
        }
    }

    /// The context for prompts of `span` tokens (made once, emptied before each route).
    fn context(&mut self, span: usize) -> Result<&mut Context, BackendError> {
        let spec = self.spec(span);
        let ctx = match self.contexts.entry(span) {
            Entry::Occupied(e) => e.into_mut(),
            // SAFETY: no hook.
            Entry::Vacant(e) => e.insert(
                unsafe { Context::new(&self.model, &spec, None) }.map_err(BackendError::Run)?,
            ),
        };
        ctx.clear();
        Ok(ctx)
    }
}

/// Prefill `tokens` on `ctx` in calls of at most `batch` tokens, each row's logits into `out`.
fn prefill_on(
    ctx: &mut Context,
    tokens: &[u32],
    batch: usize,
    vocab: usize,
    out: &mut [f32],
) -> Result<(), BackendError> {
    let mut b = Batch::new(batch.min(tokens.len()));
    for (c, chunk) in tokens.chunks(batch).enumerate() {
        let first = c * batch;
        b.set(chunk, first, true);
        ctx.decode(&b).map_err(BackendError::Run)?;
        for i in 0..chunk.len() {
            let row = ctx.logits(i as i32, vocab).map_err(BackendError::Run)?;
            out[(first + i) * vocab..(first + i + 1) * vocab].copy_from_slice(row);
        }
    }
    Ok(())
}

/// Decode `tokens` on `ctx` one `llama_decode` each, each step's logits into `out`; calls
/// `step` after each.
fn decode_on(
    ctx: &mut Context,
    tokens: &[u32],
    vocab: usize,
    out: &mut [f32],
    mut step: impl FnMut(),
) -> Result<(), BackendError> {
    let mut b = Batch::new(1);
    for (t, tok) in tokens.iter().enumerate() {
        b.set(std::slice::from_ref(tok), t, true);
        ctx.decode(&b).map_err(BackendError::Run)?;
        let row = ctx.logits(0, vocab).map_err(BackendError::Run)?;
        out[t * vocab..(t + 1) * vocab].copy_from_slice(row);
        step();
    }
    Ok(())
}

/// kv_aligned=1 cannot be expressed; padded layouts run on llama.cpp's own padding.
fn check_layout(layout: KvLayout) -> Result<(), BackendError> {
    layout.check()?;
    match layout {
        KvLayout::Aligned => Err(BackendError::Unavailable(ALIGNED_WHY.into())),
        KvLayout::Padded { .. } => Ok(()),
    }
}

impl Session for LlamaSession {
    fn info(&self) -> SessionInfo {
        self.info.clone()
    }

    fn prefill(&mut self, tokens: &[u32], out: &mut [f32]) -> Result<(), BackendError> {
        self.info.check_request(tokens, out.len())?;
        let (batch, vocab) = (self.opts.batch, self.info.vocab);
        let ctx = self.context(tokens.len())?;
        prefill_on(ctx, tokens, batch, vocab, out)?;
        self.last = RunProfile {
            // The logits are copied out of llama.cpp's buffer as each batch ends.
            readback_s: None,
            peak_rss_bytes: peak_rss_bytes(),
            ..RunProfile::default()
        };
        Ok(())
    }

    fn decode(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f32],
    ) -> Result<(), BackendError> {
        self.info.check_request(tokens, out.len())?;
        check_layout(layout)?;
        let vocab = self.info.vocab;
        let mut steps = Vec::with_capacity(tokens.len());
        let ctx = self.context(tokens.len())?;
        let mut last = Instant::now();
        decode_on(ctx, tokens, vocab, out, || {
            let now = Instant::now();
            steps.push((now - last).as_secs_f64());
            last = now;
        })?;
        self.last = RunProfile {
            step_s: steps,
            readback_s: None,
            peak_rss_bytes: peak_rss_bytes(),
        };
        Ok(())
    }

    fn last_profile(&self) -> RunProfile {
        self.last.clone()
    }

    /// The residual stream at every trace point, from a context made for this trace with
    /// the eval callback (llama.cpp then computes node by node, so only the values, not the
    /// speed, stand for the untraced route).
    fn trace(
        &mut self,
        route: Route,
        tokens: &[u32],
        layout: KvLayout,
    ) -> Result<LayerTrace, BackendError> {
        self.info
            .check_request(tokens, tokens.len() * self.info.vocab)?;
        if route == Route::Decode {
            check_layout(layout)?;
        }
        let mut collector = Collector::new(self.model.layers(), self.model.hidden());
        let spec = self.spec(tokens.len());
        let hook: *mut dyn EvalHook = &mut collector;
        // SAFETY: `collector` outlives the context, which is dropped at the end of this block
        // before `collector` is read again; nothing else touches it meanwhile.
        {
            let mut ctx = unsafe { Context::new(&self.model, &spec, Some(hook)) }
                .map_err(BackendError::Run)?;
            let vocab = self.info.vocab;
            let mut logits = vec![0f32; tokens.len() * vocab];
            match route {
                Route::Prefill => {
                    prefill_on(&mut ctx, tokens, self.opts.batch, vocab, &mut logits)?
                }
                Route::Decode => decode_on(&mut ctx, tokens, vocab, &mut logits, || {})?,
            }
        }
        collector.finish(tokens.len()).map_err(BackendError::Run)
    }
}
