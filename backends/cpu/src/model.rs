//! The LLaMA-style decoder on these kernels: both routes. Activations are buffers of `T`
//! holding compute-dtype values (f32 for f32/f16/bf16, see [`crate::round`]; f64 for f64);
//! RMSNorm statistics and the softmax are f32 (f64 in f64), as in `driftbench_model::Llama`,
//! whose op order this follows.

use crate::attention::Heads;
use crate::elem::Elem;
use crate::kv_cache::KvCache;
use crate::matrix::Matrix;
use crate::products::{gemv, matmul};
use crate::rope::Tables;
use crate::trace::{self, Tap};
use driftbench_core::route::Route;
use driftbench_core::trace::LayerTrace;
use driftbench_core::{Dtype, KvLayout};
use driftbench_model::{HostWeights, LlamaArch};
use rayon::prelude::*;

/// Values one task of a row-wise op takes: small ops over a prompt's rows are split across
/// the pool (one core would leave the other idle between the products); a single row (a
/// decode step) stays on the calling thread.
const ROWWISE_VALUES: usize = 1 << 14;

/// `f` on every `width`-wide row of `rows` (with the matching row of `other`), in parallel
/// when there is more than one row.
fn each_row<T: Elem, U: Sync>(
    rows: &mut [T],
    width: usize,
    other: &[U],
    other_width: usize,
    f: impl Fn(&mut [T], &[U]) + Sync,
) {
    if rows.len() <= width {
        rows.chunks_exact_mut(width)
            .zip(other.chunks_exact(other_width))
            .for_each(|(r, o)| f(r, o));
    } else {
        let per = (ROWWISE_VALUES / width.max(1)).max(1);
        rows.par_chunks_mut(width * per)
            .zip(other.par_chunks(other_width * per))
            .for_each(|(rs, os)| {
                rs.chunks_exact_mut(width)
                    .zip(os.chunks_exact(other_width))
                    .for_each(|(r, o)| f(r, o))
            });
    }
}

/// Round a buffer to the dtype, in parallel when it is large.
fn round_all<T: Elem>(dtype: Dtype, xs: &mut [T]) {
    if xs.len() <= ROWWISE_VALUES {
        T::round_to(dtype, xs);
    } else {
        xs.par_chunks_mut(ROWWISE_VALUES)
            .for_each(|c| T::round_to(dtype, c));
    }
}

struct Layer<T> {
    attn_norm: Vec<T>,
    /// q, k and v projections stacked: `[(heads + 2·kv_heads)·head_dim, hidden]`.
    qkv: Matrix<T>,
    wo: Matrix<T>,
    ffn_norm: Vec<T>,
    /// gate and up projections stacked: `[2·ffn, hidden]`.
    gate_up: Matrix<T>,
    down: Matrix<T>,
}

/// A model converted to one dtype, held in the layout the products want.
pub struct CpuModel<T> {
    arch: LlamaArch,
    dtype: Dtype,
    /// `[vocab, hidden]`; also the output projection when the model ties them.
    embed: Matrix<T>,
    /// A separate output projection, `[vocab, hidden]`.
    output: Option<Matrix<T>>,
    final_norm: Vec<T>,
    layers: Vec<Layer<T>>,
}

fn rounded<T: Elem>(v: Vec<f32>, dtype: Dtype) -> Vec<T> {
    let mut v = T::from_f32_vec(v);
    T::round_to(dtype, &mut v);
    v
}

impl<T: Elem> CpuModel<T> {
    /// Convert `w` to `dtype`, layer by layer, releasing each f32 layer as it goes so the
    /// load never holds two copies of the model.
    pub fn new(w: HostWeights, dtype: Dtype) -> Self {
        let a = w.arch.clone();
        let h = a.hidden;
        let layers = w
            .layers
            .into_iter()
            .map(|l| Layer {
                attn_norm: rounded(l.attn_norm, dtype),
                qkv: Matrix::stack(vec![l.wq, l.wk, l.wv], h, dtype),
                wo: Matrix::new(l.wo, h, a.heads * a.head_dim, dtype),
                ffn_norm: rounded(l.ffn_norm, dtype),
                gate_up: Matrix::stack(vec![l.w_gate, l.w_up], h, dtype),
                down: Matrix::new(l.w_down, h, a.ffn, dtype),
            })
            .collect();
        CpuModel {
            embed: Matrix::new(w.embed, a.vocab, h, dtype),
            output: w.output.map(|o| Matrix::new(o, a.vocab, h, dtype)),
            final_norm: rounded(w.final_norm, dtype),
            layers,
            arch: a,
            dtype,
        }
    }

    /// Architecture.
    pub fn arch(&self) -> &LlamaArch {
        &self.arch
    }

    /// Bytes of weights one decode step streams (every product's matrix once).
    pub fn weight_bytes(&self) -> usize {
        let layers: usize = self
            .layers
            .iter()
            .map(|l| l.qkv.bytes() + l.wo.bytes() + l.gate_up.bytes() + l.down.bytes())
            .sum();
        layers + self.lm_head().bytes()
    }

    fn lm_head(&self) -> &Matrix<T> {
        self.output.as_ref().unwrap_or(&self.embed)
    }

    fn heads(&self) -> Heads {
        Heads {
            heads: self.arch.heads,
            kv_heads: self.arch.kv_heads,
            head_dim: self.arch.head_dim,
            dtype: self.dtype,
        }
    }

    /// RMSNorm of every `hidden`-wide row of `x` into `out`: f32 statistics, rounded to
    /// the dtype, then times the weight (rounded).
    fn rms_norm(&self, x: &[T], w: &[T], out: &mut [T]) {
        let n = self.arch.hidden;
        let (len, eps) = (T::from_f64(n as f64), T::from_f64(self.arch.norm_eps));
        each_row(out, n, x, n, |o, row| {
            let ms = row.iter().map(|&v| v * v).sum::<T>() / len;
            let r = T::ONE / (ms + eps).sqrt();
            o.iter_mut().zip(row).for_each(|(y, &v)| *y = v * r);
            T::round_to(self.dtype, o);
            o.iter_mut().zip(w).for_each(|(y, &g)| *y *= g);
            T::round_to(self.dtype, o);
        });
    }

    /// `x += y`, rounded.
    fn residual(&self, x: &mut [T], y: &[T]) {
        let h = self.arch.hidden;
        each_row(x, h, y, h, |xr, yr| {
            xr.iter_mut().zip(yr).for_each(|(a, &b)| *a += b);
            T::round_to(self.dtype, xr);
        });
    }

    /// SwiGLU on `[rows, 2·ffn]` gate/up outputs into `[rows, ffn]`: silu(gate) rounded,
    /// times up, rounded.
    fn swiglu(&self, gu: &[T], out: &mut [T]) {
        let f = self.arch.ffn;
        each_row(out, f, gu, 2 * f, |o, row| {
            let (gate, up) = row.split_at(f);
            o.iter_mut().zip(gate).for_each(|(y, &g)| *y = -g);
            T::exp_in_place(o);
            o.iter_mut()
                .zip(gate)
                .for_each(|(y, &g)| *y = g / (T::ONE + *y));
            T::round_to(self.dtype, o);
            o.iter_mut().zip(up).for_each(|(y, &u)| *y *= u);
            T::round_to(self.dtype, o);
        });
    }

    fn embed_rows(&self, tokens: &[u32], x: &mut [T]) {
        let h = self.arch.hidden;
        for (t, row) in tokens.iter().zip(x.chunks_exact_mut(h)) {
            self.embed.rows_into(*t as usize, *t as usize + 1, row);
        }
    }

    /// Prefill route: logits of every position into `out` (`[tokens.len(), vocab]`).
    pub fn prefill(&self, tokens: &[u32], out: &mut [T]) {
        self.prefill_with(tokens, out, Tap::OFF);
    }

    /// Run `route` on `tokens` (decode through a fresh KV cache in `layout`; prefill ignores
    /// it) as [`CpuModel::prefill`] or [`CpuModel::decode`] does, its logits into `out`
    /// (`[tokens.len(), vocab]`), and return the hidden state of every position at every
    /// trace point. Tokens must be in the vocabulary (the session checks them).
    pub fn trace(
        &self,
        route: Route,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [T],
    ) -> LayerTrace {
        let mut trace = trace::blank(self.arch().layers, tokens.len(), self.arch().hidden);
        let tap = Tap::into(&mut trace);
        match route {
            Route::Prefill => self.prefill_with(tokens, out, tap),
            Route::Decode => self.decode_with(tokens, layout, out, |_| {}, tap),
        }
        trace
    }

    /// The prefill route, leaving its hidden states at the trace points in `tap`.
    pub(crate) fn prefill_with(&self, tokens: &[u32], out: &mut [T], mut tap: Tap) {
        let a = &self.arch;
        let (t, h, hd, d) = (tokens.len(), a.hidden, a.head_dim, self.dtype);
        let (qw, kvw) = (a.heads * hd, a.kv_heads * hd);
        let width = qw + 2 * kvw;
        let rope = Tables::new(t, hd, a.rope_base, d);
        let heads = self.heads();
        let mut x = vec![T::ZERO; t * h];
        let mut hn = vec![T::ZERO; t * h];
        let mut qkv = vec![T::ZERO; t * width];
        let mut ctx = vec![T::ZERO; t * qw];
        let mut proj = vec![T::ZERO; t * h];
        let mut gu = vec![T::ZERO; t * 2 * a.ffn];
        let mut act = vec![T::ZERO; t * a.ffn];
        self.embed_rows(tokens, &mut x);
        tap.embed(0, &x);
        for (li, l) in self.layers.iter().enumerate() {
            self.rms_norm(&x, &l.attn_norm, &mut hn);
            matmul(&l.qkv, &hn, t, &mut qkv);
            round_all(d, &mut qkv);
            qkv.par_chunks_mut(width)
                .enumerate()
                .for_each_init(Vec::new, |scratch, (pos, row)| {
                    // q and k heads (v is not rotated).
                    rope.apply(&mut row[..qw + kvw], pos, scratch)
                });
            heads.prefill(&qkv, t, &mut ctx);
            matmul(&l.wo, &ctx, t, &mut proj);
            round_all(d, &mut proj);
            self.residual(&mut x, &proj);
            tap.attn(li, 0, &x);
            self.rms_norm(&x, &l.ffn_norm, &mut hn);
            matmul(&l.gate_up, &hn, t, &mut gu);
            round_all(d, &mut gu);
            self.swiglu(&gu, &mut act);
            matmul(&l.down, &act, t, &mut proj);
            round_all(d, &mut proj);
            self.residual(&mut x, &proj);
            tap.mlp(li, 0, &x);
        }
        self.rms_norm(&x, &self.final_norm, &mut hn);
        tap.final_norm(0, &hn);
        matmul(self.lm_head(), &hn, t, out);
        round_all(d, out);
    }

    /// Decode route: one token per step through a fresh KV cache in `layout`; the logits of
    /// every step into `out`. `on_step` is called after each step (the session's clock).
    pub fn decode(
        &self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [T],
        on_step: impl FnMut(usize),
    ) {
        self.decode_with(tokens, layout, out, on_step, Tap::OFF);
    }

    /// The decode route, leaving its hidden states at the trace points in `tap`, each step
    /// at its position.
    pub(crate) fn decode_with(
        &self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [T],
        mut on_step: impl FnMut(usize),
        mut tap: Tap,
    ) {
        let a = &self.arch;
        let (span, h, hd, d) = (tokens.len(), a.hidden, a.head_dim, self.dtype);
        let (qw, kvw) = (a.heads * hd, a.kv_heads * hd);
        let rope = Tables::new(span, hd, a.rope_base, d);
        let heads = self.heads();
        let mut cache = KvCache::new(a.layers, a.kv_heads, hd, span, layout);
        let mut x = vec![T::ZERO; h];
        let mut hn = vec![T::ZERO; h];
        let mut qkv = vec![T::ZERO; qw + 2 * kvw];
        let mut ctx = vec![T::ZERO; qw];
        let mut proj = vec![T::ZERO; h];
        let mut gu = vec![T::ZERO; 2 * a.ffn];
        let mut act = vec![T::ZERO; a.ffn];
        let mut rope_scratch = Vec::new();
        let vocab = a.vocab;
        for (pos, tok) in tokens.iter().enumerate() {
            self.embed_rows(std::slice::from_ref(tok), &mut x);
            tap.embed(pos, &x);
            for (li, l) in self.layers.iter().enumerate() {
                self.rms_norm(&x, &l.attn_norm, &mut hn);
                gemv(&l.qkv, &hn, &mut qkv);
                T::round_to(d, &mut qkv);
                rope.apply(&mut qkv[..qw + kvw], pos, &mut rope_scratch);
                cache.write(li, pos, &qkv[qw..qw + kvw], &qkv[qw + kvw..]);
                let (keys, values) = cache.layer(li);
                heads.decode(
                    &qkv[..qw],
                    keys,
                    values,
                    cache.capacity(),
                    cache.attended(pos),
                    pos + 1,
                    &mut ctx,
                );
                gemv(&l.wo, &ctx, &mut proj);
                T::round_to(d, &mut proj);
                self.residual(&mut x, &proj);
                tap.attn(li, pos, &x);
                self.rms_norm(&x, &l.ffn_norm, &mut hn);
                gemv(&l.gate_up, &hn, &mut gu);
                T::round_to(d, &mut gu);
                self.swiglu(&gu, &mut act);
                gemv(&l.down, &act, &mut proj);
                T::round_to(d, &mut proj);
                self.residual(&mut x, &proj);
                tap.mlp(li, pos, &x);
            }
            self.rms_norm(&x, &self.final_norm, &mut hn);
            tap.final_norm(pos, &hn);
            let row = &mut out[pos * vocab..(pos + 1) * vocab];
            gemv(self.lm_head(), &hn, row);
            T::round_to(d, row);
            on_step(pos);
        }
    }
}
