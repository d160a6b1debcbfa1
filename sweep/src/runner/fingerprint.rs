//! The fingerprint of a run's logits ([`Fingerprint`]): the sha256 of their exact bits and
//! their top-k form, computed while the logits are still in memory.

use crate::records::Fingerprint;
use driftbench_core::compact::{compact, TOP_K};
use driftbench_core::logits::LogitsRef;
use sha2::{Digest, Sha256};

/// Values hashed per update: the bytes go through a small buffer, not a copy of the matrix.
const CHUNK: usize = 16 * 1024;

/// The fingerprint of `logits` (`[positions][vocab]`).
pub fn fingerprint(logits: LogitsRef<'_>, vocab: usize) -> Fingerprint {
    Fingerprint {
        sha256: sha256(logits),
        top_k: compact(logits, vocab, TOP_K),
    }
}

/// sha256 of the values as little-endian bytes of their own width, hex.
pub fn sha256(logits: LogitsRef<'_>) -> String {
    let mut hasher = Sha256::new();
    let mut bytes = Vec::with_capacity(CHUNK * 8);
    match logits {
        LogitsRef::F32(v) => {
            for chunk in v.chunks(CHUNK) {
                bytes.clear();
                chunk.iter().for_each(|x| bytes.extend(x.to_le_bytes()));
                hasher.update(&bytes);
            }
        }
        LogitsRef::F64(v) => {
            for chunk in v.chunks(CHUNK) {
                bytes.clear();
                chunk.iter().for_each(|x| bytes.extend(x.to_le_bytes()));
                hasher.update(&bytes);
            }
        }
    }
    crate::digest::hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_of_the_exact_bits() {
        let a = [1.0f32, -0.0, 3.5];
        let b = [1.0f32, 0.0, 3.5];
        assert_ne!(sha256(LogitsRef::F32(&a)), sha256(LogitsRef::F32(&b)));
        let le: Vec<u8> = a.iter().flat_map(|x| x.to_le_bytes()).collect();
        let want = crate::digest::sha256_hex(&le);
        assert_eq!(sha256(LogitsRef::F32(&a)), want);
        let wide = [1.0f64, -0.0, 3.5];
        assert_ne!(
            sha256(LogitsRef::F64(&wide)),
            want,
            "f64 bits are their own"
        );
        let f = fingerprint(LogitsRef::F32(&a), 3);
        assert_eq!(f.top_k.ids[0], 2);
    }
}
