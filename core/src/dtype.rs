//! The dtype a whole model computes in.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The dtype the whole model computes in (weights, activations, KV cache).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// IEEE single precision.
    F32,
    /// IEEE half precision (`fp16` is accepted as an alias).
    #[serde(alias = "fp16")]
    F16,
    /// bfloat16.
    Bf16,
    /// IEEE double precision, where a backend offers it, as a reference.
    F64,
}

impl Dtype {
    /// Every dtype, in a stable order.
    pub const ALL: [Dtype; 4] = [Dtype::F32, Dtype::F16, Dtype::Bf16, Dtype::F64];

    /// Canonical name, as used in configs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F16 => "f16",
            Dtype::Bf16 => "bf16",
            Dtype::F64 => "f64",
        }
    }

    /// Integer code used on the plugin C ABI.
    pub fn code(self) -> u32 {
        match self {
            Dtype::F32 => 0,
            Dtype::F16 => 1,
            Dtype::Bf16 => 2,
            Dtype::F64 => 3,
        }
    }

    /// Inverse of [`Dtype::code`].
    pub fn from_code(code: u32) -> Option<Dtype> {
        Dtype::ALL.into_iter().find(|d| d.code() == code)
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dtype {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "fp32" => Ok(Dtype::F32),
            "f16" | "fp16" => Ok(Dtype::F16),
            "bf16" => Ok(Dtype::Bf16),
            "f64" | "fp64" => Ok(Dtype::F64),
            _ => Err(format!(
                "unknown dtype `{s}`: expected one of f32, f16 (fp16), bf16, f64"
            )),
        }
    }
}
