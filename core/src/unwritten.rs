//! The unwritten-logit sentinel: every buffer a backend writes into is filled with
//! [`UNWRITTEN`] before the call, so a backend that reports success without writing every
//! logit is caught (its stale or unwritten values would otherwise compare as equal to the
//! other route). The C ABI names the same bits `DB_POISON_BITS`. (A *poisoned session* is
//! another thing: one whose plugin panicked, see the plugin ABI.)

/// A signalling NaN with a payload no arithmetic produces (computed NaNs are quiet, and
/// carry canonical or propagated payloads); copies keep its bits.
pub const UNWRITTEN_BITS: u32 = 0x7FA5_5A5A;

/// [`UNWRITTEN_BITS`] as an `f32`.
pub const UNWRITTEN: f32 = f32::from_bits(UNWRITTEN_BITS);

/// Fill `out` with [`UNWRITTEN`].
pub fn fill(out: &mut [f32]) {
    out.fill(UNWRITTEN);
}

/// Where logits were left unwritten: the first one and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unwritten {
    /// Index of the first unwritten value.
    pub first: usize,
    /// Number of unwritten values.
    pub count: usize,
}

/// The sentinel values left in `out`, if any.
pub fn find(out: &[f32]) -> Option<Unwritten> {
    let first = out.iter().position(|v| v.to_bits() == UNWRITTEN_BITS)?;
    let count = out[first..]
        .iter()
        .filter(|v| v.to_bits() == UNWRITTEN_BITS)
        .count();
    Some(Unwritten { first, count })
}

impl Unwritten {
    /// "left 44 of 55 logits unwritten (first: position 1, vocab index 0)".
    pub fn describe(&self, total: usize, vocab: usize) -> String {
        let vocab = vocab.max(1);
        format!(
            "the backend reported success but left {} of {total} logits unwritten (first: position {}, vocab index {})",
            self.count,
            self.first / vocab,
            self.first % vocab
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinel_survives_copies_and_is_not_a_computed_nan() {
        let mut v = [1.0f32; 6];
        fill(&mut v[2..]);
        let copied: Vec<f32> = v
            .iter()
            .map(|x| f32::from_le_bytes(x.to_le_bytes()))
            .collect();
        assert_eq!(find(&copied), Some(Unwritten { first: 2, count: 4 }));
        let zero = std::hint::black_box(0.0f32);
        let computed = [f32::NAN, zero / zero, f32::INFINITY - f32::INFINITY];
        assert_eq!(find(&computed), None);
        assert!(Unwritten { first: 7, count: 4 }
            .describe(10, 3)
            .contains("position 2, vocab index 1"));
    }
}
