//! The documented, platform-independent pseudo-random generator of driftbench.
//!
//! A seed must mean the same prompt tokens (and the same synthetic weights) on every platform,
//! in every backend and in every reimplementation, so the generator is specified here to the
//! bit, using only wrapping 64-bit integer arithmetic and IEEE-754 conversions:
//!
//! **SplitMix64** (Steele, Lea and Flood, 2014; the reference is Vigna's `splitmix64.c`).
//! The state is one `u64`, initialised to the seed. Each draw does, with wrapping arithmetic:
//!
//! ```text
//! state = state + 0x9E3779B97F4A7C15
//! z = state
//! z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
//! z = (z ^ (z >> 27)) * 0x94D049BB133111EB
//! return z ^ (z >> 31)
//! ```
//!
//! For seed 0 the first three outputs are `0xE220A8397B1DCDAF`, `0x6E789E6AA1B965F4` and
//! `0x06C45D188009454F`. Everything else ([`SplitMix64::next_f64`], [`SplitMix64::uniform`],
//! [`SplitMix64::below`], [`prompt_tokens`]) is derived from these outputs as documented on
//! each function, and each documents how many outputs it consumes.

/// Seed salt of the prompt stream: the ASCII bytes of `"prompt"` read as a big-endian integer.
pub const PROMPT_SALT: u64 = 0x7072_6F6D_7074;

/// The SplitMix64 generator (see the [module documentation](self) for the exact algorithm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The golden-ratio increment added to the state before each draw.
    pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

    /// A generator whose state is `seed` (no scrambling of the seed).
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64-bit output:
    /// `state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
    /// z = (z ^ (z >> 27)) * 0x94D049BB133111EB; z ^ (z >> 31)`, all wrapping.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(Self::GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float uniform in `[0, 1)` from one output: its top 53 bits times 2⁻⁵³,
    /// i.e. `(next_u64() >> 11) as f64 * 2^-53` (exact, no rounding).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A float uniform in `[lo, hi)` from one output (requires `lo < hi`, both finite;
    /// with `lo == hi` it returns `lo`).
    ///
    /// Computed in f64 and rounded once to f32 (round to nearest, ties to even):
    /// `u = next_f64(); x = (lo as f64 + (hi as f64 - lo as f64) * u) as f32`.
    /// If rounding gives `x >= hi`, the result is the largest f32 below `hi` instead.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let u = self.next_f64();
        let (lo64, hi64) = (f64::from(lo), f64::from(hi));
        let x = (lo64 + (hi64 - lo64) * u) as f32;
        if x >= hi && lo < hi {
            hi.next_down()
        } else {
            x
        }
    }

    /// An integer uniform in `[0, n)`, without modulo bias, by rejection sampling
    /// (requires `n >= 1`; panics on `n == 0`).
    ///
    /// Let `t = 2^64 mod n` (computed as `n.wrapping_neg() % n`). Draw `x = next_u64()`
    /// until `x >= t`, then return `x % n`. The accepted range `[t, 2^64)` holds a whole
    /// number of copies of `[0, n)`, so every result is equally likely. For `n` a power of
    /// two `t = 0` and exactly one output is consumed; in general the expected number of
    /// draws is below 2, and for `n` up to 2³² it is 1 except with probability < 2⁻³².
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n >= 1, "SplitMix64::below: n must be at least 1");
        let threshold = n.wrapping_neg() % n;
        loop {
            let x = self.next_u64();
            if x >= threshold {
                return x % n;
            }
        }
    }
}

/// The prompt of a pair: `span` token ids in `[0, vocab)`.
///
/// Exactly: `rng = SplitMix64::new(seed ^ 0x70726F6D7074)` (the salt is `"prompt"` in ASCII),
/// then token `i` is `rng.below(vocab)` for `i = 0, 1, ..., span - 1`, in order. The prompt of
/// a shorter span is therefore a prefix of the prompt of a longer span with the same seed.
/// Same seed, span and vocab → same tokens on every platform.
///
/// Panics if `vocab` is 0 or larger than `2^32` (token ids are `u32`).
pub fn prompt_tokens(seed: u64, span: usize, vocab: usize) -> Vec<u32> {
    assert!(vocab >= 1, "prompt_tokens: vocab must be at least 1");
    let vocab = vocab as u64;
    assert!(
        vocab <= 1u64 << 32,
        "prompt_tokens: vocab {vocab} does not fit u32 token ids"
    );
    let mut rng = SplitMix64::new(seed ^ PROMPT_SALT);
    (0..span).map(|_| rng.below(vocab) as u32).collect()
}
