//! Dequantized f32 weights on the host, in one place before conversion to a compute dtype.

use crate::LlamaArch;

/// Weights of one decoder block, row-major `[out, in]` matrices (the GGUF/PyTorch layout).
#[derive(Debug, Clone)]
pub struct HostLayer {
    /// RMSNorm before attention, `[hidden]`.
    pub attn_norm: Vec<f32>,
    /// Query projection, `[heads·head_dim, hidden]`.
    pub wq: Vec<f32>,
    /// Key projection, `[kv_heads·head_dim, hidden]`.
    pub wk: Vec<f32>,
    /// Value projection, `[kv_heads·head_dim, hidden]`.
    pub wv: Vec<f32>,
    /// Attention output projection, `[hidden, heads·head_dim]`.
    pub wo: Vec<f32>,
    /// RMSNorm before the feed-forward, `[hidden]`.
    pub ffn_norm: Vec<f32>,
    /// SwiGLU gate, `[ffn, hidden]`.
    pub w_gate: Vec<f32>,
    /// SwiGLU up, `[ffn, hidden]`.
    pub w_up: Vec<f32>,
    /// SwiGLU down, `[hidden, ffn]`.
    pub w_down: Vec<f32>,
}

/// A whole model's weights in f32 on the host.
#[derive(Debug, Clone)]
pub struct HostWeights {
    /// Architecture.
    pub arch: LlamaArch,
    /// Token embedding, `[vocab, hidden]`.
    pub embed: Vec<f32>,
    /// Decoder blocks.
    pub layers: Vec<HostLayer>,
    /// Final RMSNorm, `[hidden]`.
    pub final_norm: Vec<f32>,
    /// Output projection `[vocab, hidden]`; `None` when tied to the embedding.
    pub output: Option<Vec<f32>>,
    /// Where the weights came from, for reports.
    pub description: String,
}

impl HostWeights {
    /// Check every tensor has the size the architecture implies.
    pub fn check_shapes(&self) -> Result<(), crate::ModelError> {
        let a = &self.arch;
        let (h, q, kv, f) = (
            a.hidden,
            a.heads * a.head_dim,
            a.kv_heads * a.head_dim,
            a.ffn,
        );
        let mut want: Vec<(String, usize, usize)> = vec![
            ("embed".into(), self.embed.len(), a.vocab * h),
            ("final_norm".into(), self.final_norm.len(), h),
        ];
        if let Some(o) = &self.output {
            want.push(("output".into(), o.len(), a.vocab * h));
        }
        for (i, l) in self.layers.iter().enumerate() {
            for (n, got, exp) in [
                ("attn_norm", l.attn_norm.len(), h),
                ("wq", l.wq.len(), q * h),
                ("wk", l.wk.len(), kv * h),
                ("wv", l.wv.len(), kv * h),
                ("wo", l.wo.len(), h * q),
                ("ffn_norm", l.ffn_norm.len(), h),
                ("w_gate", l.w_gate.len(), f * h),
                ("w_up", l.w_up.len(), f * h),
                ("w_down", l.w_down.len(), h * f),
            ] {
                want.push((format!("layer {i} {n}"), got, exp));
            }
        }
        if self.layers.len() != a.layers {
            return Err(crate::ModelError::Arch(format!(
                "{} layers of weights for an architecture of {}",
                self.layers.len(),
                a.layers
            )));
        }
        for (name, got, exp) in want {
            if got != exp {
                return Err(crate::ModelError::Arch(format!(
                    "{name}: {got} values, expected {exp}"
                )));
            }
        }
        Ok(())
    }
}
