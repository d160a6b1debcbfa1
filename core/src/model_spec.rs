//! Which model a session loads: a seeded synthetic config or a GGUF file.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Architecture of a LLaMA-style decoder with seeded random weights.
/// Small enough for every test on every backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticModel {
    /// Number of decoder blocks.
    pub layers: usize,
    /// Hidden (embedding) width.
    pub hidden: usize,
    /// Attention heads.
    pub heads: usize,
    /// Key/value heads (grouped-query attention); divides `heads`.
    pub kv_heads: usize,
    /// Width of the SwiGLU feed-forward layer.
    pub ffn: usize,
    /// Vocabulary size.
    pub vocab: usize,
    /// RoPE base frequency.
    #[serde(default = "default_rope_base")]
    pub rope_base: f64,
    /// RMSNorm epsilon.
    #[serde(default = "default_norm_eps")]
    pub norm_eps: f64,
    /// Seed of the weights (the prompt has its own seed, from the sweep).
    #[serde(default)]
    pub weight_seed: u64,
}

fn default_rope_base() -> f64 {
    10000.0
}
fn default_norm_eps() -> f64 {
    1e-5
}

/// The model a session loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ModelSpec {
    /// Seeded synthetic weights.
    Synthetic(SyntheticModel),
    /// A GGUF file (llama architecture).
    Gguf {
        /// Path of the `.gguf` file.
        path: PathBuf,
    },
}

impl ModelSpec {
    /// Short human-readable description for reports.
    pub fn describe(&self) -> String {
        match self {
            ModelSpec::Synthetic(s) => format!(
                "synthetic (layers {}, hidden {}, heads {}/{} kv, ffn {}, vocab {}, weight_seed {})",
                s.layers, s.hidden, s.heads, s.kv_heads, s.ffn, s.vocab, s.weight_seed
            ),
            ModelSpec::Gguf { path } => format!("gguf {}", path.display()),
        }
    }
}
