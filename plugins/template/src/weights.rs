//! The model's weights in f64, from either source a sweep can name: the seeded synthetic
//! model (driftbench's SplitMix64 stream, the same tensors in the same order as
//! `driftbench_model::synthetic`) or a llama GGUF file (dequantized by `driftbench_gguf`).
//! Matrices are `[out, in]` row-major: output `o` is the dot product of row `o` and the input.

use driftbench_core::rng::SplitMix64;
use driftbench_core::{BackendError, ModelSpec, SyntheticModel};
use driftbench_gguf::Gguf;

/// One decoder layer.
pub struct Layer {
    /// RMSNorm weight before attention, `[hidden]`.
    pub attn_norm: Vec<f64>,
    /// Query projection, `[heads·head_dim, hidden]`.
    pub wq: Vec<f64>,
    /// Key projection, `[kv_heads·head_dim, hidden]`.
    pub wk: Vec<f64>,
    /// Value projection, `[kv_heads·head_dim, hidden]`.
    pub wv: Vec<f64>,
    /// Output projection, `[hidden, heads·head_dim]`.
    pub wo: Vec<f64>,
    /// RMSNorm weight before the MLP, `[hidden]`.
    pub ffn_norm: Vec<f64>,
    /// SwiGLU gate, `[ffn, hidden]`.
    pub w_gate: Vec<f64>,
    /// SwiGLU up, `[ffn, hidden]`.
    pub w_up: Vec<f64>,
    /// Down projection, `[hidden, ffn]`.
    pub w_down: Vec<f64>,
}

/// A whole model.
pub struct Weights {
    /// Decoder layers.
    pub layers: Vec<Layer>,
    /// Hidden size.
    pub hidden: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `heads`).
    pub kv_heads: usize,
    /// Values per head.
    pub head_dim: usize,
    /// MLP width.
    pub ffn: usize,
    /// Vocabulary size.
    pub vocab: usize,
    /// Longest prompt.
    pub context: usize,
    /// RoPE base.
    pub rope_base: f64,
    /// RMSNorm epsilon.
    pub norm_eps: f64,
    /// Token embedding, `[vocab, hidden]`.
    pub embed: Vec<f64>,
    /// Final RMSNorm weight.
    pub final_norm: Vec<f64>,
    /// Output projection `[vocab, hidden]`; `None`: tied to the embedding.
    pub output: Option<Vec<f64>>,
    /// One line for the report.
    pub description: String,
}

impl Weights {
    /// Load `spec`.
    pub fn load(spec: &ModelSpec) -> Result<Weights, BackendError> {
        match spec {
            ModelSpec::Synthetic(m) => synthetic(m),
            ModelSpec::Gguf { path } => gguf(path),
        }
    }

    /// The output projection.
    pub fn lm_head(&self) -> &[f64] {
        self.output.as_deref().unwrap_or(&self.embed)
    }
}

fn widen(v: Vec<f32>) -> Vec<f64> {
    v.into_iter().map(f64::from).collect()
}

/// Context length of synthetic models (as `driftbench_model::synthetic`).
const SYNTHETIC_CONTEXT: usize = 4096;

/// The head size, when `heads` divides `hidden` and `kv_heads` divides `heads`.
fn head_dim(hidden: usize, heads: usize, kv_heads: usize) -> Result<usize, String> {
    let fits =
        heads > 0 && kv_heads > 0 && hidden.is_multiple_of(heads) && heads.is_multiple_of(kv_heads);
    if fits {
        Ok(hidden / heads)
    } else {
        Err(format!(
            "unusable heads: {heads} query heads, {kv_heads} kv heads, hidden {hidden}"
        ))
    }
}

fn synthetic(m: &SyntheticModel) -> Result<Weights, BackendError> {
    let head_dim = head_dim(m.hidden, m.heads, m.kv_heads)
        .map_err(|e| BackendError::Load(format!("synthetic model: {e}")))?;
    let (h, q, kv, f) = (m.hidden, m.heads * head_dim, m.kv_heads * head_dim, m.ffn);
    let mut rng = SplitMix64::new(m.weight_seed);
    // Uniform values drawn as f32, exactly as the synthetic model defines them.
    let mut fill = |n: usize, lo: f32, hi: f32| -> Vec<f64> {
        (0..n).map(|_| f64::from(rng.uniform(lo, hi))).collect()
    };
    let bound = |inp: usize| 1.0 / (inp as f32).sqrt();
    let embed = fill(m.vocab * h, -1.0, 1.0);
    let mut layers = Vec::with_capacity(m.layers);
    for _ in 0..m.layers {
        layers.push(Layer {
            attn_norm: fill(h, 0.9, 1.1),
            wq: fill(q * h, -bound(h), bound(h)),
            wk: fill(kv * h, -bound(h), bound(h)),
            wv: fill(kv * h, -bound(h), bound(h)),
            wo: fill(h * q, -bound(q), bound(q)),
            ffn_norm: fill(h, 0.9, 1.1),
            w_gate: fill(f * h, -bound(h), bound(h)),
            w_up: fill(f * h, -bound(h), bound(h)),
            w_down: fill(h * f, -bound(f), bound(f)),
        });
    }
    let final_norm = fill(h, 0.9, 1.1);
    Ok(Weights {
        layers,
        hidden: h,
        heads: m.heads,
        kv_heads: m.kv_heads,
        head_dim,
        ffn: f,
        vocab: m.vocab,
        context: SYNTHETIC_CONTEXT,
        rope_base: m.rope_base,
        norm_eps: m.norm_eps,
        embed,
        final_norm,
        output: None,
        description: format!(
            "synthetic llama in f64: {} layers, hidden {h}, {} heads / {} kv, ffn {f}, vocab {}",
            m.layers, m.heads, m.kv_heads, m.vocab
        ),
    })
}

fn gguf(path: &std::path::Path) -> Result<Weights, BackendError> {
    let load = |e: String| BackendError::Load(format!("{}: {e}", path.display()));
    let g = Gguf::open(path).map_err(|e| load(e.to_string()))?;
    let arch = g
        .get_str("general.architecture")
        .map_err(|e| load(e.to_string()))?;
    if arch != "llama" {
        return Err(load(format!("architecture `{arch}`, expected `llama`")));
    }
    let n = |k: &str| {
        g.get_u64(k)
            .map(|v| v as usize)
            .map_err(|e| load(e.to_string()))
    };
    let hidden = n("llama.embedding_length")?;
    let heads = n("llama.attention.head_count")?;
    let kv_heads = n("llama.attention.head_count_kv").unwrap_or(heads);
    let t = |name: &str| -> Result<Vec<f64>, BackendError> {
        g.dequantize(name)
            .map(widen)
            .map_err(|e| load(e.to_string()))
    };
    let embed = t("token_embd.weight")?;
    let layers = (0..n("llama.block_count")?)
        .map(|i| {
            let w = |s: &str| t(&format!("blk.{i}.{s}.weight"));
            Ok(Layer {
                attn_norm: w("attn_norm")?,
                wq: w("attn_q")?,
                wk: w("attn_k")?,
                wv: w("attn_v")?,
                wo: w("attn_output")?,
                ffn_norm: w("ffn_norm")?,
                w_gate: w("ffn_gate")?,
                w_up: w("ffn_up")?,
                w_down: w("ffn_down")?,
            })
        })
        .collect::<Result<Vec<_>, BackendError>>()?;
    let head_dim = head_dim(hidden, heads, kv_heads).map_err(load)?;
    let vocab = embed.len() / hidden.max(1);
    let output = match g.tensor("output.weight") {
        Some(_) => Some(t("output.weight")?),
        None => None,
    };
    Ok(Weights {
        hidden,
        heads,
        kv_heads,
        head_dim,
        ffn: n("llama.feed_forward_length")?,
        vocab,
        context: n("llama.context_length").unwrap_or(2048),
        rope_base: g
            .get_f32("llama.rope.freq_base")
            .map(f64::from)
            .unwrap_or(10000.0),
        norm_eps: g
            .get_f32("llama.attention.layer_norm_rms_epsilon")
            .map(f64::from)
            .unwrap_or(1e-5),
        description: format!(
            "{} in f64 ({} layers, hidden {hidden}, vocab {vocab})",
            g.get_str("general.name").unwrap_or("gguf llama"),
            layers.len()
        ),
        layers,
        embed,
        final_norm: t("output_norm.weight")?,
        output,
    })
}
