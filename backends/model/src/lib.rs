//! A LLaMA-style decoder generic over burn's `Backend`, shared by every driftbench backend
//! plugin: embedding, RMSNorm, RoPE (adjacent pairs, as GGUF llama files expect), grouped-query
//! attention, SwiGLU and a tied or separate output projection, with a KV cache that implements
//! both `kv_aligned` layouts.
//!
//! Weights come from a seeded synthetic config ([`synthetic`]) or a GGUF file ([`gguf_load`]),
//! are dequantized once on the host ([`HostWeights`]) and converted and uploaded once per
//! session ([`Llama::new`]). [`BurnSession`] wraps a loaded model as a `driftbench_core::Session`
//! so a plugin crate only has to pick its burn backend and device.
//!
//! Numerics follow the common eager reference (transformers): RMSNorm statistics and the
//! softmax are computed in f32 (f64 in f64, which computes in f64 throughout) and rounded back
//! to the compute dtype; everything else runs in the compute dtype.

#![forbid(unsafe_code)]

pub mod arch;
pub mod errors;
pub mod gguf_load;
pub mod host_weights;
pub mod kv_cache;
pub mod llama;
pub mod peaks;
pub mod precision;
pub mod rope;
pub mod session;
pub mod synthetic;

pub use arch::LlamaArch;
pub use errors::ModelError;
pub use host_weights::{HostLayer, HostWeights};
pub use llama::{Llama, StepClock};
pub use precision::{LinearMode, Precision};
pub use session::BurnSession;
