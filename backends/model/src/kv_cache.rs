//! The decode route's KV cache, in both `kv_aligned` layouts.
//!
//! One preallocated `[kv_heads, capacity, head_dim]` buffer per layer for keys and one for
//! values, written in place one position per step (the buffer is uniquely owned between
//! steps, so `slice_assign` does not copy it). What a step attends over is the layout's
//! business:
//! - aligned (`kv_aligned = 1`): capacity = span, step `t` attends over the first `t + 1`
//!   slots, exactly the keys row `t` of the prefill sees;
//! - padded (`kv_aligned = 0`): capacity = span rounded up to the block size, every step
//!   attends over the whole capacity and the unused tail is masked with −inf before the
//!   softmax — the layout of paged serving engines, with a different reduction shape.

use burn_tensor::{backend::Backend, DType, Tensor, TensorData};
use driftbench_core::KvLayout;

/// Per-layer key and value buffers.
pub struct KvCache<B: Backend> {
    // `Option` so a buffer can be taken out, written while uniquely owned, and put back.
    keys: Vec<Option<Tensor<B, 3>>>,
    values: Vec<Option<Tensor<B, 3>>>,
    layout: KvLayout,
    capacity: usize,
    /// Padded layout: every step's mask, `[capacity, capacity]` (row `pos` is step `pos`'s),
    /// uploaded once per run so a step uploads nothing but its token.
    masks: Option<Tensor<B, 2>>,
}

impl<B: Backend> KvCache<B> {
    /// Zeroed buffers for `layers` layers and a prompt of `span` tokens. Zeros, not
    /// uninitialised memory: masked slots are multiplied by 0 after the softmax, and
    /// 0 × NaN would poison the result.
    pub fn new(
        layers: usize,
        kv_heads: usize,
        head_dim: usize,
        span: usize,
        layout: KvLayout,
        dtype: DType,
        device: &B::Device,
    ) -> Self {
        let capacity = match layout {
            KvLayout::Aligned => span,
            KvLayout::Padded { block } => span.div_ceil(block.max(1)) * block.max(1),
        };
        let zeros = || {
            Some(Tensor::<B, 3>::zeros(
                [kv_heads, capacity, head_dim],
                (device, dtype),
            ))
        };
        let masks = match layout {
            KvLayout::Aligned => None,
            KvLayout::Padded { .. } => {
                let m: Vec<f32> = (0..capacity * capacity)
                    .map(|i| {
                        if i % capacity <= i / capacity {
                            0.0
                        } else {
                            f32::NEG_INFINITY
                        }
                    })
                    .collect();
                Some(Tensor::from_data(
                    TensorData::new(m, [capacity, capacity]),
                    (device, DType::F32),
                ))
            }
        };
        KvCache {
            keys: (0..layers).map(|_| zeros()).collect(),
            values: (0..layers).map(|_| zeros()).collect(),
            layout,
            capacity,
            masks,
        }
    }

    /// Slots in each buffer.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Write the key and value of position `pos` (`[kv_heads, 1, head_dim]` each) of `layer`
    /// and return the keys and values step `pos` attends over.
    pub fn write_and_view(
        &mut self,
        layer: usize,
        pos: usize,
        k: Tensor<B, 3>,
        v: Tensor<B, 3>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let [kvh, _, hd] = k.dims();
        let range = [0..kvh, pos..pos + 1, 0..hd];
        // Take the buffer out so it is uniquely owned while written: in place, no copy.
        // The views returned below are dropped by the caller before the next step.
        let kb = self.keys[layer].take().expect("key buffer present");
        let kb = kb.slice_assign(range.clone(), k);
        let vb = self.values[layer].take().expect("value buffer present");
        let vb = vb.slice_assign(range, v);
        let len = self.attended(pos);
        let view = (
            kb.clone().slice([0..kvh, 0..len, 0..hd]),
            vb.clone().slice([0..kvh, 0..len, 0..hd]),
        );
        self.keys[layer] = Some(kb);
        self.values[layer] = Some(vb);
        view
    }

    /// Number of slots step `pos` attends over.
    pub fn attended(&self, pos: usize) -> usize {
        match self.layout {
            KvLayout::Aligned => pos + 1,
            KvLayout::Padded { .. } => self.capacity,
        }
    }

    /// Additive mask for step `pos` (`[1, 1, attended]`, f32: 0 for live slots, −inf for the
    /// padded tail), or `None` when nothing is masked. A view of the run's mask matrix: no
    /// upload.
    pub fn mask(&self, pos: usize) -> Option<Tensor<B, 3>> {
        self.masks
            .as_ref()
            .map(|m| m.clone().narrow(0, pos, 1).reshape([1, 1, self.capacity]))
    }
}
