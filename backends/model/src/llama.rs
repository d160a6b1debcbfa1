//! The decoder on a burn backend: both routes, prefill and decode.

use crate::kv_cache::KvCache;
use crate::{rope, HostWeights, LlamaArch, Precision};
use burn_tensor::activation::{silu, softmax};
use burn_tensor::{backend::Backend, DType, Int, Tensor, TensorData};
use driftbench_core::KvLayout;

struct Layer<B: Backend> {
    attn_norm: Tensor<B, 1>,
    wq: Tensor<B, 2>,
    wk: Tensor<B, 2>,
    wv: Tensor<B, 2>,
    wo: Tensor<B, 2>,
    ffn_norm: Tensor<B, 1>,
    w_gate: Tensor<B, 2>,
    w_up: Tensor<B, 2>,
    w_down: Tensor<B, 2>,
}

/// Where a route leaves the hidden states it passes at the trace points: `None` on the
/// measured (untraced) route, which then does no extra work. One code path either way, so a
/// trace shows what the untraced route computes.
struct Tap<'a, B: Backend>(Option<&'a mut Vec<Tensor<B, 2>>>);

impl<B: Backend> Tap<'_, B> {
    /// Keep a handle on `x` (a reference-counted clone: no copy, no kernel).
    fn at(&mut self, x: &Tensor<B, 2>) {
        if let Some(states) = self.0.as_mut() {
            states.push(x.clone());
        }
    }
}

/// Told when the decode route's steps end, to time them (see [`Llama::decode_clocked`]).
/// `()` is the clock that does nothing: the untimed and traced routes use it, so every
/// route runs the same code.
pub trait StepClock {
    /// The per-run setup (RoPE tables, KV cache, embeddings) is queued; step 0 starts.
    fn start(&mut self);
    /// Step `pos` is queued: its logits row exists (on the device).
    fn step_done(&mut self, pos: usize);
}

impl StepClock for () {
    fn start(&mut self) {}
    fn step_done(&mut self, _: usize) {}
}

/// A model converted to one dtype and uploaded to one device, once.
pub struct Llama<B: Backend> {
    arch: LlamaArch,
    prec: Precision,
    device: B::Device,
    embed: Tensor<B, 2>,
    layers: Vec<Layer<B>>,
    final_norm: Tensor<B, 1>,
    /// `[hidden, vocab]`, contiguous, so decode's one-row product streams it in order.
    lm_head: Tensor<B, 2>,
}

/// Host `[out, in]` row-major → device `[in, out]` in `dtype` (rounded to bf16 first when
/// bf16 products are widened, so the f32 weights hold exactly bf16 values).
fn weight_t<B: Backend>(
    w: &[f32],
    out: usize,
    inp: usize,
    prec: &Precision,
    device: &B::Device,
) -> Tensor<B, 2> {
    let mut t = vec![0f32; w.len()];
    for o in 0..out {
        for i in 0..inp {
            t[i * out + o] = w[o * inp + i];
        }
    }
    if prec.widened() {
        for v in &mut t {
            *v = half::bf16::from_f32(*v).to_f32();
        }
    }
    Tensor::from_data(TensorData::new(t, [inp, out]), (device, prec.weight()))
}

fn vector<B: Backend>(v: &[f32], dtype: DType, device: &B::Device) -> Tensor<B, 1> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), (device, dtype))
}

impl<B: Backend> Llama<B> {
    /// Convert `w` to `prec` and upload it to `device`.
    pub fn new(w: &HostWeights, prec: Precision, device: &B::Device) -> Self {
        let a = &w.arch;
        let (h, q, kv, f) = (
            a.hidden,
            a.heads * a.head_dim,
            a.kv_heads * a.head_dim,
            a.ffn,
        );
        let act = prec.act();
        let layers = w
            .layers
            .iter()
            .map(|l| Layer {
                attn_norm: vector(&l.attn_norm, act, device),
                wq: weight_t(&l.wq, q, h, &prec, device),
                wk: weight_t(&l.wk, kv, h, &prec, device),
                wv: weight_t(&l.wv, kv, h, &prec, device),
                wo: weight_t(&l.wo, h, q, &prec, device),
                ffn_norm: vector(&l.ffn_norm, act, device),
                w_gate: weight_t(&l.w_gate, f, h, &prec, device),
                w_up: weight_t(&l.w_up, f, h, &prec, device),
                w_down: weight_t(&l.w_down, h, f, &prec, device),
            })
            .collect();
        let out = w.output.as_ref().unwrap_or(&w.embed);
        Llama {
            arch: a.clone(),
            prec,
            device: device.clone(),
            embed: Tensor::from_data(
                TensorData::new(w.embed.clone(), [a.vocab, h]),
                (device, act),
            ),
            layers,
            final_norm: vector(&w.final_norm, act, device),
            lm_head: weight_t(out, a.vocab, h, &prec, device),
        }
    }

    /// Architecture.
    pub fn arch(&self) -> &LlamaArch {
        &self.arch
    }

    /// Precision.
    pub fn precision(&self) -> Precision {
        self.prec
    }

    fn linear(&self, x: Tensor<B, 2>, w: &Tensor<B, 2>) -> Tensor<B, 2> {
        if self.prec.widened() {
            x.cast(DType::F32).matmul(w.clone()).cast(DType::BF16)
        } else {
            x.matmul(w.clone())
        }
    }

    /// The dtype of RMSNorm statistics and the softmax: f32, and f64 in f64 (the reference
    /// dtype computes in f64 throughout, as the cpu backend and the template do: f32
    /// statistics would put its two routes an f32 rounding apart wherever their sums round
    /// differently).
    fn stats(&self) -> DType {
        if self.prec.act() == DType::F64 {
            DType::F64
        } else {
            DType::F32
        }
    }

    /// RMSNorm with f32 statistics (f64 in f64); the weight multiplies in the compute dtype.
    fn rms_norm(&self, x: Tensor<B, 2>, w: &Tensor<B, 1>) -> Tensor<B, 2> {
        let x32 = x.cast(self.stats());
        let ms = x32.clone().powi_scalar(2).mean_dim(1);
        let y = x32 * (ms + self.arch.norm_eps).sqrt().recip();
        y.cast(self.prec.act()) * w.clone().unsqueeze::<2>()
    }

    fn ffn(&self, l: &Layer<B>, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let gate = silu(self.linear(x.clone(), &l.w_gate));
        let up = self.linear(x, &l.w_up);
        self.linear(gate * up, &l.w_down)
    }

    /// Softmax over the last dim in f32 (f64 in f64; after an optional additive mask of 0
    /// and −inf, exact in either), back to the compute dtype.
    fn attn_probs(&self, scores: Tensor<B, 3>, mask: Option<Tensor<B, 3>>) -> Tensor<B, 3> {
        let stats = self.stats();
        let mut s = scores.cast(stats);
        if let Some(m) = mask {
            s = s + m.cast(stats);
        }
        softmax(s, 2).cast(self.prec.act())
    }

    fn embed_tokens(&self, tokens: &[u32]) -> Tensor<B, 2> {
        let ids: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
        let ids =
            Tensor::<B, 1, Int>::from_data(TensorData::new(ids, [tokens.len()]), &self.device);
        self.embed.clone().select(0, ids)
    }

    fn logits(&self, x: Tensor<B, 2>, tap: &mut Tap<B>) -> Tensor<B, 2> {
        let x = self.rms_norm(x, &self.final_norm);
        tap.at(&x);
        self.linear(x, &self.lm_head)
    }

    /// Names of the trace points, in the order [`Llama::prefill_traced`] stacks them.
    pub fn trace_points(&self) -> Vec<String> {
        driftbench_core::trace::point_names(self.arch.layers)
    }

    /// Prefill route: logits `[tokens.len(), vocab]` in the compute dtype, causal mask.
    pub fn prefill(&self, tokens: &[u32]) -> Tensor<B, 2> {
        self.prefill_with(tokens, &mut Tap(None))
    }

    /// The prefill route as [`Llama::prefill`] runs it, plus the hidden states at every trace
    /// point: `[points, tokens.len(), hidden]` in the compute dtype.
    pub fn prefill_traced(&self, tokens: &[u32]) -> (Tensor<B, 2>, Tensor<B, 3>) {
        let mut states = Vec::new();
        let logits = self.prefill_with(tokens, &mut Tap(Some(&mut states)));
        let points = states.len();
        let h = self.arch.hidden;
        // Captured point by point, each `[t, hidden]`.
        let trace = Tensor::cat(states, 0).reshape([points, tokens.len(), h]);
        (logits, trace)
    }

    fn prefill_with(&self, tokens: &[u32], tap: &mut Tap<B>) -> Tensor<B, 2> {
        let a = &self.arch;
        let t = tokens.len();
        let (hd, kvh, g) = (a.head_dim, a.kv_heads, a.group());
        let scale = 1.0 / (hd as f64).sqrt();
        let (cos, sin) = rope::tables::<B>(0, t, hd, a.rope_base, self.prec.act(), &self.device);
        let causal: Vec<f32> = (0..t * t)
            .map(|i| {
                if i % t > i / t {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        let causal = Tensor::<B, 3>::from_data(
            TensorData::new(causal, [1, t, t]),
            (&self.device, self.stats()),
        );
        let mut x = self.embed_tokens(tokens);
        tap.at(&x);
        for l in &self.layers {
            let h = self.rms_norm(x.clone(), &l.attn_norm);
            let q = self
                .linear(h.clone(), &l.wq)
                .reshape([t, a.heads, hd])
                .swap_dims(0, 1);
            let k = self
                .linear(h.clone(), &l.wk)
                .reshape([t, kvh, hd])
                .swap_dims(0, 1);
            let v = self.linear(h, &l.wv).reshape([t, kvh, hd]).swap_dims(0, 1);
            let q = rope::apply(q, &cos, &sin);
            let k = rope::apply(k, &cos, &sin);
            // Heads h = kv·g + j share kv head kv: fold the group into the row dim.
            let scores = q.reshape([kvh, g * t, hd]).matmul(k.swap_dims(1, 2)) * scale;
            let probs = self.attn_probs(scores.reshape([a.heads, t, t]), Some(causal.clone()));
            let ctx = probs.reshape([kvh, g * t, t]).matmul(v);
            let ctx = ctx
                .reshape([a.heads, t, hd])
                .swap_dims(0, 1)
                .reshape([t, a.heads * hd]);
            x = x + self.linear(ctx, &l.wo);
            tap.at(&x);
            let h = self.rms_norm(x.clone(), &l.ffn_norm);
            x = x.clone() + self.ffn(l, h);
            tap.at(&x);
        }
        self.logits(x, tap)
    }

    /// Decode route: one token per step through a fresh KV cache in `layout`; logits of
    /// every step, `[tokens.len(), vocab]` in the compute dtype, kept on the device until
    /// the caller reads them back once.
    pub fn decode(&self, tokens: &[u32], layout: KvLayout) -> Tensor<B, 2> {
        self.decode_with(tokens, layout, &mut Tap(None), &mut ())
    }

    /// [`Llama::decode`] telling `clock` when its setup and each step are queued (a clock
    /// that waits for the device there times every step).
    pub fn decode_clocked(
        &self,
        tokens: &[u32],
        layout: KvLayout,
        clock: &mut dyn StepClock,
    ) -> Tensor<B, 2> {
        self.decode_with(tokens, layout, &mut Tap(None), clock)
    }

    /// The decode route as [`Llama::decode`] runs it, plus the hidden states at every trace
    /// point, each step contributing its position: `[points, tokens.len(), hidden]` in the
    /// compute dtype.
    pub fn decode_traced(&self, tokens: &[u32], layout: KvLayout) -> (Tensor<B, 2>, Tensor<B, 3>) {
        let mut states = Vec::new();
        let logits = self.decode_with(tokens, layout, &mut Tap(Some(&mut states)), &mut ());
        let span = tokens.len();
        let points = states.len() / span.max(1);
        let h = self.arch.hidden;
        // Captured step by step, each step every point as `[1, hidden]`.
        let trace = Tensor::cat(states, 0)
            .reshape([span, points, h])
            .swap_dims(0, 1);
        (logits, trace)
    }

    fn decode_with(
        &self,
        tokens: &[u32],
        layout: KvLayout,
        tap: &mut Tap<B>,
        clock: &mut dyn StepClock,
    ) -> Tensor<B, 2> {
        let a = &self.arch;
        let span = tokens.len();
        let (hd, kvh, g) = (a.head_dim, a.kv_heads, a.group());
        let scale = 1.0 / (hd as f64).sqrt();
        let act = self.prec.act();
        let (cos, sin) = rope::tables::<B>(0, span, hd, a.rope_base, act, &self.device);
        let mut cache = KvCache::<B>::new(a.layers, kvh, hd, span, layout, act, &self.device);
        let embedded = self.embed_tokens(tokens);
        // One row per step, joined once at the end: no per-step write into a [span, vocab]
        // buffer (which a backend may copy whole when it cannot prove unique ownership).
        let mut rows = Vec::with_capacity(span);
        clock.start();
        for pos in 0..span {
            let c = cos.clone().narrow(0, pos, 1);
            let s = sin.clone().narrow(0, pos, 1);
            let mask = cache.mask(pos);
            let mut x = embedded.clone().narrow(0, pos, 1);
            tap.at(&x);
            for (li, l) in self.layers.iter().enumerate() {
                let h = self.rms_norm(x.clone(), &l.attn_norm);
                let q = self.linear(h.clone(), &l.wq).reshape([a.heads, 1, hd]);
                let k = self.linear(h.clone(), &l.wk).reshape([kvh, 1, hd]);
                let v = self.linear(h, &l.wv).reshape([kvh, 1, hd]);
                let q = rope::apply(q, &c, &s);
                let k = rope::apply(k, &c, &s);
                let (keys, values) = cache.write_and_view(li, pos, k, v);
                let scores = q.reshape([kvh, g, hd]).matmul(keys.swap_dims(1, 2)) * scale;
                let probs = self.attn_probs(scores, mask.clone());
                let ctx = probs.matmul(values).reshape([1, a.heads * hd]);
                x = x + self.linear(ctx, &l.wo);
                tap.at(&x);
                let h = self.rms_norm(x.clone(), &l.ffn_norm);
                x = x.clone() + self.ffn(l, h);
                tap.at(&x);
            }
            rows.push(self.logits(x, tap));
            clock.step_done(pos);
        }
        Tensor::cat(rows, 0)
    }
}
