//! Build [`HostWeights`] from a llama GGUF file: metadata keys `llama.*`, tensors
//! `token_embd`, `blk.N.{attn_norm,attn_q,attn_k,attn_v,attn_output,ffn_norm,ffn_gate,ffn_up,ffn_down}`,
//! `output_norm` and an optional `output` (absent = tied to the embedding).
//! Every tensor is dequantized to f32 once, here.

use crate::{HostLayer, HostWeights, LlamaArch, ModelError};
use driftbench_gguf::Gguf;
use std::path::Path;

/// Load the llama model in `path`.
pub fn load(path: &Path) -> Result<HostWeights, ModelError> {
    let file = path.display().to_string();
    let g = Gguf::open(path)?;
    let unsupported = |message: String| ModelError::Unsupported {
        file: file.clone(),
        message,
    };
    let arch_name = g.get_str("general.architecture")?;
    if arch_name != "llama" {
        return Err(unsupported(format!(
            "architecture `{arch_name}` is not supported: expected `llama`"
        )));
    }
    let u = |k: &str| -> Result<usize, ModelError> { Ok(g.get_u64(k)? as usize) };
    let hidden = u("llama.embedding_length")?;
    let heads = u("llama.attention.head_count")?;
    let kv_heads = match g.get_u64("llama.attention.head_count_kv") {
        Ok(v) => v as usize,
        Err(_) => heads,
    };
    let embd = g
        .tensor("token_embd.weight")
        .ok_or_else(|| unsupported("tensor `token_embd.weight` is missing".into()))?;
    let vocab = embd.dims().get(1).copied().unwrap_or(0) as usize;
    let arch = LlamaArch {
        layers: u("llama.block_count")?,
        hidden,
        heads,
        kv_heads,
        head_dim: hidden.checked_div(heads).unwrap_or(0),
        ffn: u("llama.feed_forward_length")?,
        vocab,
        rope_base: g
            .get_f32("llama.rope.freq_base")
            .map(f64::from)
            .unwrap_or(10000.0),
        norm_eps: g
            .get_f32("llama.attention.layer_norm_rms_epsilon")
            .map(f64::from)
            .unwrap_or(1e-5),
        context: u("llama.context_length").unwrap_or(2048),
    };
    arch.validate()
        .map_err(|e| unsupported(format!("metadata describes an unusable model: {e}")))?;
    let t = |name: String| -> Result<Vec<f32>, ModelError> {
        if g.tensor(&name).is_none() {
            return Err(unsupported(format!("tensor `{name}` is missing")));
        }
        Ok(g.dequantize(&name)?)
    };
    let mut layers = Vec::with_capacity(arch.layers);
    for i in 0..arch.layers {
        let n = |s: &str| format!("blk.{i}.{s}.weight");
        layers.push(HostLayer {
            attn_norm: t(n("attn_norm"))?,
            wq: t(n("attn_q"))?,
            wk: t(n("attn_k"))?,
            wv: t(n("attn_v"))?,
            wo: t(n("attn_output"))?,
            ffn_norm: t(n("ffn_norm"))?,
            w_gate: t(n("ffn_gate"))?,
            w_up: t(n("ffn_up"))?,
            w_down: t(n("ffn_down"))?,
        });
    }
    let output = match g.tensor("output.weight") {
        Some(_) => Some(t("output.weight".into())?),
        None => None,
    };
    let name = g.get_str("general.name").unwrap_or("unnamed").to_string();
    let description = format!(
        "{name} (gguf llama: {} layers, hidden {}, {} heads / {} kv, ffn {}, vocab {}, {:.1}M params{})",
        arch.layers,
        arch.hidden,
        arch.heads,
        arch.kv_heads,
        arch.ffn,
        arch.vocab,
        arch.params(output.is_none()) as f64 / 1e6,
        if output.is_none() { ", tied output" } else { "" }
    );
    let w = HostWeights {
        arch,
        embed: t("token_embd.weight".into())?,
        layers,
        final_norm: t("output_norm.weight".into())?,
        output,
        description,
    };
    w.check_shapes()
        .map_err(|e| unsupported(format!("tensor shapes do not match the metadata: {e}")))?;
    Ok(w)
}
