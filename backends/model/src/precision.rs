//! How a compute dtype maps onto burn, and how linear layers multiply.

use burn_tensor::DType;
use driftbench_core::Dtype;

/// How the weight products (linear layers and the output projection) are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinearMode {
    /// In the compute dtype, by the backend's own matmul.
    Native,
    /// bf16 only: weights held as f32 values that are exactly bf16 (rounded once at load),
    /// the activation widened to f32, one f32 product, the result rounded to bf16. The same
    /// numbers a bf16 matmul with f32 accumulation gives, without the backend's slow
    /// one-row bf16 path (burn-flex converts the whole weight to f32 on every call).
    WidenBf16,
}

/// The dtype a session computes in and how its products run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Precision {
    /// Compute dtype of weights, activations and the KV cache.
    pub dtype: Dtype,
    /// How linear layers multiply.
    pub linear: LinearMode,
}

impl Precision {
    /// `dtype` with native products everywhere.
    pub fn native(dtype: Dtype) -> Self {
        Precision {
            dtype,
            linear: LinearMode::Native,
        }
    }

    /// burn's dtype for activations.
    pub fn act(&self) -> DType {
        burn_dtype(self.dtype)
    }

    /// burn's dtype for linear weights.
    pub fn weight(&self) -> DType {
        if self.widened() {
            DType::F32
        } else {
            self.act()
        }
    }

    /// True when bf16 products are widened to f32.
    pub fn widened(&self) -> bool {
        self.dtype == Dtype::Bf16 && self.linear == LinearMode::WidenBf16
    }
}

/// The name of a burn float dtype (`f32`, `f16`, `bf16`, `f64`).
pub fn dtype_name(d: DType) -> &'static str {
    match d {
        DType::F64 => "f64",
        DType::F32 | DType::Flex32 => "f32",
        DType::F16 => "f16",
        DType::BF16 => "bf16",
        _ => "other",
    }
}

/// burn's dtype for a driftbench dtype.
pub fn burn_dtype(d: Dtype) -> DType {
    match d {
        Dtype::F32 => DType::F32,
        Dtype::F16 => DType::F16,
        Dtype::Bf16 => DType::BF16,
        Dtype::F64 => DType::F64,
    }
}
