//! Layer traces: the hidden state (residual stream) of every position at fixed points of the
//! forward pass, and their comparison against a reference trace (an f64 run), so a report can
//! say at which layer a route's error enters.
//!
//! Points, in order: `embed` (after the embedding lookup), for each layer `i` `L{i}.attn`
//! (after the attention residual add) and `L{i}.mlp` (after the MLP residual add), and
//! `final_norm` (after the final RMSNorm).

use crate::float_serde;
use serde::{Deserialize, Serialize};

/// First bytes of the binary form of a [`LayerTrace`] ([`LayerTrace::to_bytes`]).
pub const TRACE_MAGIC: &[u8; 8] = b"DBTRACE1";

/// Longest point name the binary form accepts.
pub const MAX_POINT_NAME: usize = 256;

/// Hidden states of one route at every trace point and position, widened to f32.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerTrace {
    /// Names of the points, in capture order.
    pub points: Vec<String>,
    /// Positions (prompt tokens) per point.
    pub positions: usize,
    /// Width of a hidden state.
    pub hidden: usize,
    /// `[points, positions, hidden]`, row-major.
    pub data: Vec<f32>,
}

/// Names of the trace points of a model with `layers` layers, in capture order.
pub fn point_names(layers: usize) -> Vec<String> {
    let mut names = Vec::with_capacity(2 * layers + 2);
    names.push("embed".to_string());
    for i in 0..layers {
        names.push(format!("L{i}.attn"));
        names.push(format!("L{i}.mlp"));
    }
    names.push("final_norm".to_string());
    names
}

impl LayerTrace {
    /// Values per point (`positions × hidden`), or `None` on overflow.
    fn per_point(&self) -> Option<usize> {
        self.positions.checked_mul(self.hidden)
    }

    /// Check that `data` holds exactly `points × positions × hidden` values.
    pub fn check(&self) -> Result<(), String> {
        let want = self
            .per_point()
            .and_then(|n| n.checked_mul(self.points.len()))
            .ok_or("trace shape overflows")?;
        if self.data.len() != want {
            return Err(format!(
                "trace holds {} values, its shape {} × {} × {} needs {want}",
                self.data.len(),
                self.points.len(),
                self.positions,
                self.hidden
            ));
        }
        Ok(())
    }

    /// The `[positions, hidden]` values of point `i` (empty when out of range or misshapen).
    pub fn point(&self, i: usize) -> &[f32] {
        let Some(n) = self.per_point() else {
            return &[];
        };
        self.data.get(i * n..(i + 1) * n).unwrap_or(&[])
    }

    /// Size in bytes of [`LayerTrace::to_bytes`].
    pub fn byte_len(&self) -> usize {
        let names: usize = self.points.iter().map(|p| 4 + p.len()).sum();
        8 + 12 + names + 4 * self.data.len()
    }

    /// The binary form, all integers little-endian: [`TRACE_MAGIC`]; `u32` points, `u32`
    /// positions, `u32` hidden; per point a `u32` byte length and that many UTF-8 bytes of its
    /// name; then `points × positions × hidden` `f32` values, row-major. Compact (no JSON
    /// floats) and bounded: every length is checked against the buffer when read back.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.byte_len());
        out.extend_from_slice(TRACE_MAGIC);
        for n in [self.points.len(), self.positions, self.hidden] {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        for p in &self.points {
            out.extend_from_slice(&(p.len() as u32).to_le_bytes());
            out.extend_from_slice(p.as_bytes());
        }
        for v in &self.data {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Read the binary form back; any inconsistency is an error, never a panic or an
    /// allocation larger than `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<LayerTrace, String> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(8)? != TRACE_MAGIC {
            return Err("not a layer trace (bad magic)".into());
        }
        let (points, positions, hidden) = (r.u32()?, r.u32()?, r.u32()?);
        // Each name needs at least its 4-byte length: bounds the Vec before it is allocated.
        if points > bytes.len() / 4 {
            return Err(format!(
                "trace announces {points} points in {} bytes",
                bytes.len()
            ));
        }
        let mut names = Vec::with_capacity(points);
        for _ in 0..points {
            let len = r.u32()?;
            if len > MAX_POINT_NAME {
                return Err(format!("trace point name of {len} bytes"));
            }
            let name = std::str::from_utf8(r.take(len)?)
                .map_err(|_| "trace point name is not UTF-8".to_string())?;
            names.push(name.to_string());
        }
        let count = points
            .checked_mul(positions)
            .and_then(|n| n.checked_mul(hidden))
            .ok_or("trace shape overflows")?;
        let rest = &bytes[r.at..];
        if Some(rest.len()) != count.checked_mul(4) {
            return Err(format!(
                "trace of shape {points} × {positions} × {hidden} carries {} data bytes",
                rest.len()
            ));
        }
        let data = rest
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(LayerTrace {
            points: names,
            positions,
            hidden,
            data,
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or("layer trace is truncated")?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<usize, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
}

/// How far one trace point of a candidate is from the reference's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointError {
    /// Point name.
    pub point: String,
    /// Largest |candidate − reference| over the values finite on both sides.
    #[serde(with = "float_serde")]
    pub max_abs: f64,
    /// Mean |candidate − reference| over the values finite on both sides.
    #[serde(with = "float_serde")]
    pub mean_abs: f64,
    /// Largest |reference| at this point (the scale the error is measured against).
    #[serde(with = "float_serde")]
    pub reference_max: f64,
    /// `max_abs / reference_max`; `None` when the reference is all zero.
    pub relative: Option<f64>,
    /// Per-position relative error ‖e_t‖₂ / ‖ref_t‖₂ over the hidden width (values finite on
    /// both sides), its largest value over positions; `None` when no position's reference
    /// is nonzero. A norm per position, not a max over every value, so a few huge residual
    /// channels neither hide an error nor make one.
    #[serde(default)]
    pub rel_max: Option<f64>,
    /// The median over positions of the same per-position relative error.
    #[serde(default)]
    pub rel_median: Option<f64>,
    /// NaN and ±Inf values of the candidate at this point.
    pub nonfinite_candidate: u64,
    /// NaN and ±Inf values of the reference at this point.
    pub nonfinite_reference: u64,
}

impl PointError {
    /// No NaN or Inf on either side: `max_abs` is the whole story.
    pub fn all_finite(&self) -> bool {
        self.nonfinite_candidate == 0 && self.nonfinite_reference == 0
    }
}

/// Compare `candidate` with `reference` point by point (same points, positions and width),
/// accumulating in f64. Non-finite values are counted on each side and left out of the
/// max and mean, so a caller must look at the counts: a NaN never hides inside a max.
pub fn compare_traces(
    candidate: &LayerTrace,
    reference: &LayerTrace,
) -> Result<Vec<PointError>, String> {
    candidate.check().map_err(|e| format!("candidate: {e}"))?;
    reference.check().map_err(|e| format!("reference: {e}"))?;
    if candidate.points.len() == reference.points.len() && candidate.points != reference.points {
        let (i, (c, r)) = candidate
            .points
            .iter()
            .zip(&reference.points)
            .enumerate()
            .find(|(_, (c, r))| c != r)
            .expect("the lists differ");
        return Err(format!(
            "traces name their points differently: point {i} is `{}` against `{}`",
            c.escape_debug(),
            r.escape_debug()
        ));
    }
    if candidate.points.len() != reference.points.len()
        || candidate.positions != reference.positions
        || candidate.hidden != reference.hidden
    {
        return Err(format!(
            "traces differ in shape: {} points × {} × {} against {} points × {} × {}",
            candidate.points.len(),
            candidate.positions,
            candidate.hidden,
            reference.points.len(),
            reference.positions,
            reference.hidden
        ));
    }
    Ok(candidate
        .points
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (c, r) = (candidate.point(i), reference.point(i));
            let (mut max_abs, mut sum, mut n, mut reference_max) = (0f64, 0f64, 0u64, 0f64);
            let (mut nf_c, mut nf_r) = (0u64, 0u64);
            let mut per_position = Vec::with_capacity(candidate.positions);
            let width = candidate.hidden.max(1);
            for (cp, rp) in c.chunks(width).zip(r.chunks(width)) {
                let (mut err2, mut ref2) = (0f64, 0f64);
                for (&a, &b) in cp.iter().zip(rp) {
                    nf_c += u64::from(!a.is_finite());
                    nf_r += u64::from(!b.is_finite());
                    if a.is_finite() && b.is_finite() {
                        let (a, b) = (f64::from(a), f64::from(b));
                        let d = (a - b).abs();
                        max_abs = max_abs.max(d);
                        sum += d;
                        n += 1;
                        reference_max = reference_max.max(b.abs());
                        err2 += d * d;
                        ref2 += b * b;
                    }
                }
                if ref2 > 0.0 {
                    per_position.push((err2 / ref2).sqrt());
                }
            }
            let (rel_max, rel_median) = max_and_median(&mut per_position);
            PointError {
                point: name.clone(),
                max_abs,
                mean_abs: if n == 0 { 0.0 } else { sum / n as f64 },
                reference_max,
                relative: (reference_max > 0.0).then(|| max_abs / reference_max),
                rel_max,
                rel_median,
                nonfinite_candidate: nf_c,
                nonfinite_reference: nf_r,
            }
        })
        .collect())
}

/// Largest value and median (the mean of the middle two for an even count) of `v`, which
/// holds no NaN; `(None, None)` when empty. Sorts `v`.
fn max_and_median(v: &mut [f64]) -> (Option<f64>, Option<f64>) {
    if v.is_empty() {
        return (None, None);
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let median = if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    };
    (v.last().copied(), Some(median))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(data: Vec<f32>) -> LayerTrace {
        LayerTrace {
            points: point_names(1),
            positions: 1,
            hidden: 2,
            data,
        }
    }

    #[test]
    fn binary_form_round_trips_and_rejects_garbage() {
        let t = trace(vec![1.0, -2.0, 0.5, f32::NAN, 3.0, 4.0, 5.0, 6.0]);
        let b = t.to_bytes();
        assert_eq!(b.len(), t.byte_len());
        let back = LayerTrace::from_bytes(&b).unwrap();
        assert_eq!(back.points, t.points);
        assert_eq!(back.data[..3], t.data[..3]);
        assert!(back.data[3].is_nan());
        for cut in 0..b.len() {
            assert!(LayerTrace::from_bytes(&b[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = b.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(LayerTrace::from_bytes(&huge).is_err());
    }

    #[test]
    fn points_named_differently_are_not_called_a_shape_mismatch() {
        let r = trace(vec![0.0; 8]);
        let mut c = trace(vec![0.0; 8]);
        c.points[2] = "L0.ffn".into();
        let e = compare_traces(&c, &r).unwrap_err();
        assert_eq!(
            e,
            "traces name their points differently: point 2 is `L0.ffn` against `L0.mlp`"
        );
        c.points.pop();
        c.data.truncate(6);
        let e = compare_traces(&c, &r).unwrap_err();
        assert!(e.starts_with("traces differ in shape: 3 points"), "{e}");
    }

    #[test]
    fn relative_errors_are_per_position_norms_with_max_and_median() {
        // Three positions of width 2. Position 0: a huge channel (1000) carries a large
        // absolute error (1) that is small relative to the position (1e-3); positions 1
        // and 2: small values with a relative error of 0.5 and 0.1.
        let points = vec!["embed".to_string()];
        let reference = LayerTrace {
            points: points.clone(),
            positions: 3,
            hidden: 2,
            data: vec![1000.0, 0.0, 2.0, 0.0, 0.0, 10.0],
        };
        let candidate = LayerTrace {
            data: vec![1001.0, 0.0, 3.0, 0.0, 0.0, 11.0],
            ..reference.clone()
        };
        let e = &compare_traces(&candidate, &reference).unwrap()[0];
        assert_eq!(e.max_abs, 1.0);
        assert_eq!(e.relative, Some(1e-3), "max over max hides position 1");
        assert_eq!(e.rel_max, Some(0.5));
        assert_eq!(e.rel_median, Some(0.1));
        let mut even = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(max_and_median(&mut even), (Some(4.0), Some(2.5)));
    }

    #[test]
    fn nonfinite_values_are_counted_not_maxed() {
        let r = trace(vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 0.0, 0.0]);
        let c = trace(vec![1.0, 2.5, f32::NAN, 2.0, 1.0, 2.0, 0.0, 0.0]);
        let e = compare_traces(&c, &r).unwrap();
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].max_abs, 0.5);
        assert_eq!(e[0].relative, Some(0.25));
        assert_eq!(e[1].nonfinite_candidate, 1);
        assert!(!e[1].all_finite());
        assert_eq!(e[3].relative, None);
        assert_eq!(e[3].rel_max, None);
        // Point 0: one position, error (0, 0.5) against (1, 2): 0.5 / √5.
        let want = 0.5 / 5f64.sqrt();
        assert!((e[0].rel_max.unwrap() - want).abs() < 1e-15);
        assert_eq!(e[0].rel_max, e[0].rel_median);
        let other = LayerTrace {
            hidden: 1,
            data: vec![0.0; 4],
            ..r.clone()
        };
        assert!(compare_traces(&other, &r).is_err());
    }
}
