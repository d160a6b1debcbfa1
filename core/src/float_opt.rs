//! Serialize `Option<f64>` so that NaN and ±Inf survive JSON, like [`crate::float_serde`]
//! (plain serde would write `null` and read it back as `None`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
struct F(#[serde(with = "crate::float_serde")] f64);

/// Serialize an optional float; non-finite values become strings, `None` becomes null.
pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    v.map(F).serialize(s)
}

/// Deserialize what [`serialize`] wrote.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(Option::<F>::deserialize(d)?.map(|f| f.0))
}
