//! Architecture hyper-parameters of a LLaMA-style decoder.

use crate::ModelError;

/// Architecture hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaArch {
    /// Decoder blocks.
    pub layers: usize,
    /// Hidden width.
    pub hidden: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (grouped-query attention).
    pub kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// SwiGLU width.
    pub ffn: usize,
    /// Vocabulary size.
    pub vocab: usize,
    /// RoPE base frequency.
    pub rope_base: f64,
    /// RMSNorm epsilon.
    pub norm_eps: f64,
    /// Longest context the model accepts.
    pub context: usize,
}

impl LlamaArch {
    /// Check the shapes fit together.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::Arch(m));
        if self.layers == 0 || self.hidden == 0 || self.vocab == 0 || self.ffn == 0 {
            return bad(format!("zero-sized dimension in {self:?}"));
        }
        if self.heads == 0 || self.kv_heads == 0 || !self.heads.is_multiple_of(self.kv_heads) {
            return bad(format!(
                "heads ({}) must be a positive multiple of kv_heads ({})",
                self.heads, self.kv_heads
            ));
        }
        if self.head_dim == 0 || !self.head_dim.is_multiple_of(2) {
            return bad(format!(
                "head_dim {} must be even and positive",
                self.head_dim
            ));
        }
        Ok(())
    }

    /// Query heads per key/value head.
    pub fn group(&self) -> usize {
        self.heads / self.kv_heads
    }

    /// Parameter count (output projection counted once when tied).
    pub fn params(&self, tied: bool) -> usize {
        let q = self.heads * self.head_dim;
        let kv = self.kv_heads * self.head_dim;
        let per_layer = 2 * self.hidden
            + self.hidden * (q + 2 * kv)
            + q * self.hidden
            + 3 * self.hidden * self.ffn;
        let head = if tied { 0 } else { self.vocab * self.hidden };
        self.vocab * self.hidden + self.layers * per_layer + self.hidden + head
    }
}
