//! The tokenizer of a GGUF file's own vocabulary (feature `tokenizer`), giving the token ids
//! llama.cpp gives the same text with `add_special = false, parse_special = false`.
//!
//! Built in memory with the `tokenizers` crate from the file's metadata:
//! - `tokenizer.ggml.model` must be `gpt2` (byte-level BPE); `tokenizer.ggml.tokens` is the
//!   vocabulary (a token's id is its index) and `tokenizer.ggml.merges` the merges, `"a b"`
//!   each, ranked in file order;
//! - `tokenizer.ggml.pre` must name one of llama.cpp's pre-tokenizers that split digits one
//!   by one and then apply GPT-2's regex ([`DIGIT_SPLIT_PRE`], SmolLM2's `smollm` among
//!   them): here `Digits(individual)` then `ByteLevel` (GPT-2's regex, no prefix space);
//! - no normalizer, no BOS or EOS added, and no special tokens: `<|im_start|>` in the text
//!   is plain text, split and merged like any other, never the control token's id.
//!
//! Decoding maps ids back through the byte-level alphabet; the ids of a whole text decode
//! to that text.

use std::path::{Path, PathBuf};

use thiserror::Error;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::Tokenizer;

use crate::reader::Gguf;

/// Values of `tokenizer.ggml.pre` whose llama.cpp pre-tokenizer is exactly "each digit
/// alone, then GPT-2's regex" (llama.cpp's `LLAMA_VOCAB_PRE_TYPE_SMOLLM` group).
pub const DIGIT_SPLIT_PRE: [&str; 7] = [
    "smollm",
    "starcoder",
    "refact",
    "command-r",
    "codeshell",
    "exaone",
    "minerva-7b",
];

/// A GGUF file whose tokenizer cannot be built, or a text or ids it cannot handle. One line,
/// naming the file.
#[derive(Debug, Error)]
#[error("{}: {why}", path.display())]
pub struct TokenizerError {
    /// The GGUF file.
    pub path: PathBuf,
    /// What is wrong.
    pub why: String,
}

/// The byte-level BPE tokenizer of a GGUF file's vocabulary.
pub struct GgufTokenizer {
    inner: Tokenizer,
    vocab: usize,
    path: PathBuf,
}

impl std::fmt::Debug for GgufTokenizer {
    /// The file and the vocabulary's size; not the whole vocabulary.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufTokenizer")
            .field("path", &self.path)
            .field("vocab", &self.vocab)
            .finish()
    }
}

impl GgufTokenizer {
    /// The tokenizer of `gguf`'s metadata (see the [module documentation](self)); the
    /// header is enough ([`Gguf::open_header`]).
    pub fn from_gguf(gguf: &Gguf) -> Result<GgufTokenizer, TokenizerError> {
        let path = gguf.path().to_path_buf();
        let fail = |why: String| TokenizerError {
            path: path.clone(),
            why,
        };
        let model = gguf
            .get_str("tokenizer.ggml.model")
            .map_err(|e| fail(without_path(&e, &path)))?;
        if model != "gpt2" {
            return Err(fail(format!(
                "tokenizer.ggml.model is \"{model}\": only \"gpt2\" (byte-level BPE) is supported"
            )));
        }
        let pre = gguf
            .get_str("tokenizer.ggml.pre")
            .map_err(|e| fail(without_path(&e, &path)))?;
        if !DIGIT_SPLIT_PRE.contains(&pre) {
            return Err(fail(format!(
                "tokenizer.ggml.pre is \"{pre}\": supported are {}",
                DIGIT_SPLIT_PRE.join(", ")
            )));
        }
        let tokens = gguf
            .get_str_array("tokenizer.ggml.tokens")
            .map_err(|e| fail(without_path(&e, &path)))?;
        let merges = gguf
            .get_str_array("tokenizer.ggml.merges")
            .map_err(|e| fail(without_path(&e, &path)))?;
        let vocab = tokens.len();
        if u32::try_from(vocab).is_err() {
            return Err(fail(format!("{vocab} tokens do not fit u32 ids")));
        }
        // A repeated token string keeps its last id, as llama.cpp's text-to-id map does.
        let ids: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(id, t)| (t.to_string(), id as u32))
            .collect();
        let merges = merges
            .iter()
            .enumerate()
            .map(|(i, m)| match m.split_once(' ') {
                Some((a, b)) => Ok((a.to_string(), b.to_string())),
                None => Err(fail(format!(
                    "tokenizer.ggml.merges[{i}] is \"{m}\": expected two tokens separated by a space"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let bpe = BPE::builder()
            .vocab_and_merges(ids, merges)
            .build()
            .map_err(|e| fail(format!("cannot build its BPE tokenizer: {e}")))?;
        let mut inner = Tokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(Sequence::new(vec![
            Digits::new(true).into(),
            ByteLevel::new(false, true, true).into(),
        ])));
        inner.with_decoder(Some(ByteLevelDecoder::default()));
        Ok(GgufTokenizer { inner, vocab, path })
    }

    /// The tokenizer of the GGUF file at `path`, whose header (at most `max_header_bytes`) is
    /// read, never its tensor data.
    pub fn open(path: &Path, max_header_bytes: u64) -> Result<GgufTokenizer, TokenizerError> {
        let gguf = Gguf::open_header(path, max_header_bytes).map_err(|e| TokenizerError {
            path: path.to_path_buf(),
            why: without_path(&e, path),
        })?;
        GgufTokenizer::from_gguf(&gguf)
    }

    /// Number of tokens in the vocabulary: every id is below it.
    pub fn vocab(&self) -> usize {
        self.vocab
    }

    /// The ids of `text`: no BOS, no special tokens (their strings are plain text).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        let encoding = self.inner.encode(text, false).map_err(|e| TokenizerError {
            path: self.path.clone(),
            why: format!("cannot tokenize: {e}"),
        })?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The text of `ids` (bytes that are not UTF-8, as a window cut inside a character
    /// leaves, become U+FFFD); an id beyond the vocabulary is an error.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        if let Some(bad) = ids.iter().find(|&&id| id as usize >= self.vocab) {
            return Err(TokenizerError {
                path: self.path.clone(),
                why: format!("token id {bad} is not below the vocab {}", self.vocab),
            });
        }
        self.inner.decode(ids, false).map_err(|e| TokenizerError {
            path: self.path.clone(),
            why: format!("cannot decode: {e}"),
        })
    }
}

/// A GGUF error's message without its leading `<path>: `, which the tokenizer error adds.
fn without_path(e: &crate::errors::GgufError, path: &Path) -> String {
    let whole = e.to_string();
    whole
        .strip_prefix(&format!("{}: ", path.display()))
        .map(str::to_string)
        .unwrap_or(whole)
}

#[cfg(test)]
mod tests;
