//! The two routes a prompt's logits are computed by; every run, trace and journal record
//! names one.

use serde::{Deserialize, Serialize};

/// A route: how the logits of a prompt are produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    /// All tokens in one forward with a causal mask.
    Prefill,
    /// One token per step through the KV cache.
    Decode,
}

impl Route {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Prefill => "prefill",
            Route::Decode => "decode",
        }
    }
}
