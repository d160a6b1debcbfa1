//! How much work a route does, from the model's architecture: the FLOPs and the bytes each
//! route must move, so a measured time becomes a GFLOP/s and a GB/s to set against the
//! device's [`crate::profile::Peaks`].
//!
//! The formulas (one product of an `a×b` by a `b×c` matrix counts `2·a·b·c` FLOPs):
//! - `P` = weights multiplied per token: every linear layer (Q, K, V, O, gate, up, down) and
//!   the output projection; embedding look-ups and norms are not counted.
//! - prefill of `s` tokens: FLOPs = `2·P·s + 4·layers·q_dim·s²` (the attention scores `QKᵀ`
//!   and the product with `V` over the whole `s×s` matrix, which the causal mask does not
//!   shrink); bytes ≥ the weights once + K and V of every position once:
//!   `W + 2·layers·kv_dim·s·e`.
//! - decode step `t` attending over `k(t)` keys (`t + 1` with an aligned cache, the whole
//!   block-padded capacity with a padded one): FLOPs = `2·P + 4·layers·q_dim·k(t)`; bytes =
//!   the weights again + the cached K and V read: `W + 2·layers·kv_dim·k(t)·e`.
//!
//! `W` is the bytes of the `P` weights as the session holds them (bf16 weights widened to
//! f32 count 4 bytes each) and `e` the bytes of one KV-cache value.

use crate::kv::KvMode;
use serde::{Deserialize, Serialize};

/// What a loaded model costs to run, for the roofline figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCost {
    /// Decoder blocks.
    pub layers: usize,
    /// Query width: heads × head dimension.
    pub q_dim: usize,
    /// Key/value width: kv heads × head dimension.
    pub kv_dim: usize,
    /// Weights multiplied per token (`P`): every linear layer and the output projection.
    pub product_params: u64,
    /// Bytes of those weights as the session holds and streams them (`W`).
    pub weight_bytes: u64,
    /// The dtype the weights are held in (`f32` where bf16 products are widened).
    pub weight_dtype: String,
    /// Bytes of one KV-cache value (`e`).
    pub kv_value_bytes: u64,
}

impl ModelCost {
    /// Bytes per weight actually streamed: `W / P`.
    pub fn bytes_per_weight(&self) -> f64 {
        self.weight_bytes as f64 / self.product_params.max(1) as f64
    }

    /// FLOPs of a prefill of `span` tokens.
    pub fn prefill_flops(&self, span: usize) -> f64 {
        let s = span as f64;
        2.0 * self.product_params as f64 * s + 4.0 * self.layers as f64 * self.q_dim as f64 * s * s
    }

    /// Bytes a prefill of `span` tokens moves at least.
    pub fn prefill_bytes(&self, span: usize) -> f64 {
        self.weight_bytes as f64 + self.kv_bytes(span)
    }

    /// FLOPs of one decode step attending over `keys` cached keys.
    pub fn decode_step_flops(&self, keys: usize) -> f64 {
        2.0 * self.product_params as f64
            + 4.0 * self.layers as f64 * self.q_dim as f64 * keys as f64
    }

    /// Bytes one decode step attending over `keys` cached keys reads.
    pub fn decode_step_bytes(&self, keys: usize) -> f64 {
        self.weight_bytes as f64 + self.kv_bytes(keys)
    }

    /// FLOPs and bytes of a whole decode of `span` tokens in layout `kv` (block size `block`
    /// for a padded cache), summed over its steps.
    pub fn decode_totals(&self, span: usize, kv: KvMode, block: usize) -> (f64, f64) {
        (0..span)
            .map(|t| decode_keys(t, span, kv, block))
            .fold((0.0, 0.0), |(f, b), k| {
                (f + self.decode_step_flops(k), b + self.decode_step_bytes(k))
            })
    }

    fn kv_bytes(&self, keys: usize) -> f64 {
        2.0 * self.layers as f64 * self.kv_dim as f64 * keys as f64 * self.kv_value_bytes as f64
    }
}

/// Keys decode step `step` of a `span`-token prompt attends over: `step + 1` with an aligned
/// cache, the capacity (`span` rounded up to `block`) with a padded one.
pub fn decode_keys(step: usize, span: usize, kv: KvMode, block: usize) -> usize {
    if kv.is_aligned() {
        step + 1
    } else {
        let b = block.max(1);
        span.div_ceil(b) * b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost() -> ModelCost {
        ModelCost {
            layers: 2,
            q_dim: 8,
            kv_dim: 4,
            product_params: 1000,
            weight_bytes: 4000,
            weight_dtype: "f32".into(),
            kv_value_bytes: 2,
        }
    }

    #[test]
    fn formulas_add_up() {
        let c = cost();
        // 2·1000·3 + 4·2·8·9
        assert_eq!(c.prefill_flops(3), 6000.0 + 576.0);
        // 4000 + 2·2·4·3·2
        assert_eq!(c.prefill_bytes(3), 4000.0 + 96.0);
        assert_eq!(c.decode_step_flops(1), 2000.0 + 64.0);
        assert_eq!(c.bytes_per_weight(), 4.0);
        let (aligned, padded) = (KvMode::Aligned, KvMode::Padded);
        // Aligned: keys 1, 2, 3.
        let (f, b) = c.decode_totals(3, aligned, 16);
        assert_eq!(f, 3.0 * 2000.0 + 64.0 * 6.0);
        assert_eq!(b, 3.0 * 4000.0 + 32.0 * 6.0);
        // Padded to 16: every step attends over 16 keys.
        assert_eq!(decode_keys(0, 3, padded, 16), 16);
        let (f, _) = c.decode_totals(3, padded, 16);
        assert_eq!(f, 3.0 * (2000.0 + 64.0 * 16.0));
    }
}
