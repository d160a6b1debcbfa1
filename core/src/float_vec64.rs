//! Serialize `Vec<f64>` so that NaN and ±Inf survive JSON, like [`crate::float_serde`]:
//! finite values are numbers, the others the strings "NaN", "inf" and "-inf".

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
struct F(#[serde(with = "crate::float_serde")] f64);

/// Serialize a list of floats; non-finite values become strings.
pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|&x| F(x)))
}

/// Deserialize what [`serialize`] wrote.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    Ok(Vec::<F>::deserialize(d)?.into_iter().map(|f| f.0).collect())
}
