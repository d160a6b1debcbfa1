//! The decode route's KV cache in both `kv_aligned` layouts (see
//! `driftbench_model::kv_cache` for the contract): per layer one `[kv_heads, capacity,
//! head_dim]` buffer of keys and one of values, written in place one position per step.
//! Aligned: capacity = span, step `t` attends over `t + 1` slots. Padded: capacity = span
//! rounded up to the block, every step attends over all of it with the tail masked.

use crate::elem::Elem;
use driftbench_core::KvLayout;

/// Per-layer key and value buffers, zeroed (a masked slot's value is multiplied by 0, and
/// 0 × NaN would poison the context).
pub struct KvCache<T> {
    keys: Vec<Vec<T>>,
    values: Vec<Vec<T>>,
    kv_heads: usize,
    head_dim: usize,
    capacity: usize,
    layout: KvLayout,
}

impl<T: Elem> KvCache<T> {
    /// Buffers for `layers` layers and a prompt of `span` tokens.
    pub fn new(
        layers: usize,
        kv_heads: usize,
        head_dim: usize,
        span: usize,
        layout: KvLayout,
    ) -> Self {
        let capacity = match layout {
            KvLayout::Aligned => span,
            KvLayout::Padded { block } => span.div_ceil(block.max(1)) * block.max(1),
        };
        let zeros = || vec![T::ZERO; kv_heads * capacity * head_dim];
        KvCache {
            keys: (0..layers).map(|_| zeros()).collect(),
            values: (0..layers).map(|_| zeros()).collect(),
            kv_heads,
            head_dim,
            capacity,
            layout,
        }
    }

    /// Slots per kv head.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Slots step `pos` attends over.
    pub fn attended(&self, pos: usize) -> usize {
        match self.layout {
            KvLayout::Aligned => pos + 1,
            KvLayout::Padded { .. } => self.capacity,
        }
    }

    /// Store position `pos`'s keys and values (`[kv_heads · head_dim]` each) of `layer`.
    pub fn write(&mut self, layer: usize, pos: usize, k: &[T], v: &[T]) {
        let hd = self.head_dim;
        for kv in 0..self.kv_heads {
            let at = (kv * self.capacity + pos) * hd;
            self.keys[layer][at..at + hd].copy_from_slice(&k[kv * hd..(kv + 1) * hd]);
            self.values[layer][at..at + hd].copy_from_slice(&v[kv * hd..(kv + 1) * hd]);
        }
    }

    /// One layer's key and value buffers.
    pub fn layer(&self, layer: usize) -> (&[T], &[T]) {
        (&self.keys[layer], &self.values[layer])
    }
}
