//! The KV cache of the decode route: its layout as a session receives it ([`KvLayout`]) and
//! the `kv_aligned` flag of a pair ([`KvMode`]), which also decides the envelope (equivalence
//! or drift) its verdict is judged by. `KvMode` is serialized as the flag, `0` or `1`, in
//! configs, journals and reports alike (the book's Concepts chapter says what each means).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// How the decode route lays out its KV cache (see `kv_aligned` in the book's Concepts chapter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvLayout {
    /// `kv_aligned = 1`: step `t` attends over exactly the `t + 1` cached keys.
    Aligned,
    /// `kv_aligned = 0`: a preallocated buffer of `round_up(span, block)` slots; every step
    /// attends over the whole capacity with the unused tail masked.
    Padded {
        /// Block size the capacity is rounded up to.
        block: usize,
    },
}

/// The `kv_aligned` flag of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KvMode {
    /// `kv_aligned = 0`: block-padded cache, judged by the drift envelope.
    Padded,
    /// `kv_aligned = 1`: exact-length cache, judged by the equivalence envelope.
    Aligned,
}

impl KvMode {
    /// Both modes, in flag order.
    pub const ALL: [KvMode; 2] = [KvMode::Padded, KvMode::Aligned];

    /// The mode of flag value `v` (0 or 1).
    pub fn from_flag(v: i64) -> Option<KvMode> {
        match v {
            0 => Some(KvMode::Padded),
            1 => Some(KvMode::Aligned),
            _ => None,
        }
    }

    /// The flag value, 0 or 1.
    pub fn flag(self) -> u8 {
        match self {
            KvMode::Padded => 0,
            KvMode::Aligned => 1,
        }
    }

    /// Whether pairs of this mode are judged by the equivalence envelope.
    pub fn is_aligned(self) -> bool {
        self == KvMode::Aligned
    }

    /// The decode route's cache layout, with the sweep's block size for padded caches.
    pub fn layout(self, block: usize) -> KvLayout {
        match self {
            KvMode::Aligned => KvLayout::Aligned,
            KvMode::Padded => KvLayout::Padded { block },
        }
    }
}

impl fmt::Display for KvMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.flag())
    }
}

impl Serialize for KvMode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.flag())
    }
}

impl<'de> Deserialize<'de> for KvMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<KvMode, D::Error> {
        let v = i64::deserialize(d)?;
        KvMode::from_flag(v)
            .ok_or_else(|| serde::de::Error::custom(format!("kv_aligned {v}: expected 0 or 1")))
    }
}

impl From<KvLayout> for KvMode {
    fn from(l: KvLayout) -> KvMode {
        match l {
            KvLayout::Aligned => KvMode::Aligned,
            KvLayout::Padded { .. } => KvMode::Padded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialized_as_the_flag() {
        assert_eq!(serde_json::to_string(&KvMode::Aligned).unwrap(), "1");
        assert_eq!(serde_json::from_str::<KvMode>("0").unwrap(), KvMode::Padded);
        assert!(serde_json::from_str::<KvMode>("2").is_err());
        assert_eq!(KvMode::Padded.layout(8), KvLayout::Padded { block: 8 });
        assert_eq!(KvMode::from(KvLayout::Aligned), KvMode::Aligned);
    }
}
