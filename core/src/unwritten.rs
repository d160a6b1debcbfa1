//! The unwritten-logit sentinel: every buffer a backend writes into is filled with
//! [`UNWRITTEN`] before the call, so a backend that reports success without writing every
//! logit is caught (its stale or unwritten values would otherwise compare as equal to the
//! other route). The C ABI names the same bits `DB_POISON_BITS`. f64 logits (ABI v1.4) have
//! their own sentinel, [`UNWRITTEN64`] (`DB_POISON_BITS_F64`), with the same properties. (A
//! *poisoned session* is another thing: one whose plugin panicked, see the plugin ABI.)

/// A signalling NaN with a payload no arithmetic produces (computed NaNs are quiet, and
/// carry canonical or propagated payloads); copies keep its bits.
pub const UNWRITTEN_BITS: u32 = 0x7FA5_5A5A;

/// [`UNWRITTEN_BITS`] as an `f32`.
pub const UNWRITTEN: f32 = f32::from_bits(UNWRITTEN_BITS);

/// Fill `out` with [`UNWRITTEN`].
pub fn fill(out: &mut [f32]) {
    out.fill(UNWRITTEN);
}

/// The f64 sentinel: a signalling NaN (quiet bit 51 clear) with a payload no arithmetic
/// produces, for logits that cross as f64 (ABI v1.4). Not the f32 sentinel widened: a
/// conversion quiets a signalling NaN, so neither can be mistaken for the other.
pub const UNWRITTEN64_BITS: u64 = 0x7FF5_A55A_5A5A_A55A;

/// [`UNWRITTEN64_BITS`] as an `f64`.
pub const UNWRITTEN64: f64 = f64::from_bits(UNWRITTEN64_BITS);

/// Fill `out` with [`UNWRITTEN64`].
pub fn fill64(out: &mut [f64]) {
    out.fill(UNWRITTEN64);
}

/// The f64 sentinel values left in `out`, if any.
pub fn find64(out: &[f64]) -> Option<Unwritten> {
    let first = out.iter().position(|v| v.to_bits() == UNWRITTEN64_BITS)?;
    let count = out[first..]
        .iter()
        .filter(|v| v.to_bits() == UNWRITTEN64_BITS)
        .count();
    Some(Unwritten { first, count })
}

/// `narrow` (f32 logits a route wrote into a buffer filled with [`UNWRITTEN`]) widened into
/// `wide`, each f32 sentinel becoming the f64 one, so a logit left unwritten on the f32 side
/// is still caught on the f64 side.
pub fn widen(narrow: &[f32], wide: &mut [f64]) {
    for (w, n) in wide.iter_mut().zip(narrow) {
        *w = if n.to_bits() == UNWRITTEN_BITS {
            UNWRITTEN64
        } else {
            f64::from(*n)
        };
    }
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

    #[test]
    fn the_f64_sentinel_is_signalling_survives_copies_and_widening_keeps_it() {
        // Exponent all ones, quiet bit (51) clear, payload not zero: a signalling NaN.
        assert_eq!(UNWRITTEN64_BITS >> 52, 0x7FF);
        assert_eq!(UNWRITTEN64_BITS & (1 << 51), 0);
        assert!(UNWRITTEN64.is_nan());
        let mut v = [2.0f64; 5];
        fill64(&mut v[1..3]);
        let copied: Vec<f64> = v
            .iter()
            .map(|x| f64::from_le_bytes(x.to_le_bytes()))
            .collect();
        assert_eq!(find64(&copied), Some(Unwritten { first: 1, count: 2 }));
        let zero = std::hint::black_box(0.0f64);
        assert_eq!(find64(&[f64::NAN, zero / zero]), None);
        // A computed conversion of the f32 sentinel is not the f64 sentinel...
        let converted = f64::from(std::hint::black_box(UNWRITTEN));
        assert_eq!(find64(&[converted]), None);
        // ...so widening maps it explicitly.
        let narrow = [1.5f32, UNWRITTEN, -0.0];
        let mut wide = [0f64; 3];
        widen(&narrow, &mut wide);
        assert_eq!(find64(&wide), Some(Unwritten { first: 1, count: 1 }));
        assert_eq!((wide[0], wide[2].to_bits()), (1.5, (-0.0f64).to_bits()));
    }
}
