//! What a session says about the model it loaded, checked before anything is sized by it.

use crate::dtype::Dtype;
use crate::roofline::ModelCost;
use serde::{Deserialize, Serialize};

/// What a session says about the model it loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Vocabulary size: the width of a logits row.
    pub vocab: usize,
    /// Longest prompt the session accepts (context length).
    pub max_span: usize,
    /// Device the session runs on.
    pub device: String,
    /// Human-readable model description (architecture, parameter count).
    pub model: String,
}

/// A session's [`SessionInfo`] as `open` answers it across the plugin ABI: the info's fields,
/// from ABI v1.3 the session's [`ModelCost`], and from v1.4 the width its logits cross in
/// (an older host ignores the extra members, an older plugin sends none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenedInfo {
    /// The info.
    #[serde(flatten)]
    pub info: SessionInfo,
    /// What the model costs to run ([`Session::cost`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<ModelCost>,
    /// `Some(Dtype::F64)` (`"logits": "f64"`) when the session's `prefill_f64` and
    /// `decode_f64` hand over logits computed in f64 ([`Session::logits_f64`], ABI v1.4);
    /// absent (or `"f32"`): its logits cross as f32.
    ///
    /// [`Session::logits_f64`]: crate::Session::logits_f64
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logits: Option<Dtype>,
}

impl OpenedInfo {
    /// Whether the session said its f64 routes hand over f64 logits.
    pub fn logits_f64(&self) -> bool {
        self.logits == Some(Dtype::F64)
    }
}

/// Largest vocabulary a session may report (a logits row of 16 MiB).
pub const MAX_VOCAB: usize = 1 << 22;

impl SessionInfo {
    /// Check what a plugin said before anything is sized by it: a vocab of 0 or 2^62 would
    /// otherwise panic the prompt generator or abort an allocation in driftbench itself.
    pub fn check(&self) -> Result<(), String> {
        if self.vocab == 0 || self.vocab > MAX_VOCAB {
            return Err(format!(
                "the backend reported vocab {}, expected 1 to {MAX_VOCAB}",
                self.vocab
            ));
        }
        if self.max_span == 0 {
            return Err("the backend reported max_span 0".into());
        }
        Ok(())
    }
}
