//! Where a pair's prompt comes from: seeded random token ids (the default), or a window of a
//! real text or of a file of token ids.
//!
//! - **Random** ([`PromptSource::Random`]): `span` ids drawn from the seed,
//!   [`driftbench_core::rng::prompt_tokens`]`(seed, span, vocab)`.
//! - **Text** ([`PromptSource::Text`]): a UTF-8 file tokenized once with the model's own
//!   vocabulary (a GGUF model's `tokenizer.ggml.*`, see [`driftbench_gguf::tokenizer`]: the
//!   ids llama.cpp gives with `add_special = false, parse_special = false`; no BOS, and
//!   special-token strings such as `<|im_start|>` stay plain text).
//! - **Tokens** ([`PromptSource::Tokens`]): a file of token ids ([`parse_token_ids`]).
//!
//! From a file's `n` tokens, the pair of span `s` and seed `seed` takes the `s` tokens from
//! [`window_start`]: `SplitMix64::new(seed ^ PROMPT_SALT).below(n - s + 1)` (the prompt
//! stream's generator and salt, one draw in practice), so every window lies inside the file
//! and every seed picks its own place in it. A file shorter than a span is an error naming
//! the file, its token count and the span; an id not below the vocabulary is an error naming
//! the file, the id and the vocabulary.
//!
//! A file is recorded as a [`PromptFile`] (kind, path, sha256 of its bytes, token count) in
//! the sweep's plan (so `--resume` refuses a journal whose prompt file has changed since),
//! and so in the journal's header, and in every replay bundle, whose `tokens` are the pair's
//! window (`replay` checks the file against the sha256 before it runs them).

mod load;

pub use load::{parse_token_ids, PromptError, MAX_PROMPT_FILE_BYTES};

use driftbench_core::rng::{prompt_tokens, SplitMix64, PROMPT_SALT};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// Where prompts come from, as the config's `[prompt]` table or `run --prompt-text` and
/// `--prompt-tokens` name it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PromptSource {
    /// Seeded random token ids.
    #[default]
    Random,
    /// A UTF-8 text, tokenized with the model's own vocabulary.
    Text(PathBuf),
    /// A file of token ids ([`parse_token_ids`]).
    Tokens(PathBuf),
}

/// What kind of file a prompt was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PromptKind {
    /// A text, tokenized with the model's vocabulary.
    Text,
    /// Token ids.
    Tokens,
}

impl PromptKind {
    /// `text` or `tokens`, as the config's `prompt.kind` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            PromptKind::Text => "text",
            PromptKind::Tokens => "tokens",
        }
    }
}

/// A prompt file as the plan, the journal's header and replay bundles record it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptFile {
    /// Text or token ids.
    pub kind: PromptKind,
    /// The file (a config's relative path resolved against the config's folder).
    pub path: String,
    /// sha256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// Its length in tokens.
    pub tokens: usize,
}

impl PromptFile {
    /// One line for messages: `text prompts/p.txt (1155 tokens, sha256 0a1b…)`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} ({} tokens, sha256 {})",
            self.kind.as_str(),
            self.path,
            self.tokens,
            self.sha256
        )
    }
}

/// A prompt file read and tokenized: its record and its tokens.
#[derive(Clone, PartialEq)]
pub struct PromptCorpus {
    /// What the plan records of it.
    pub file: PromptFile,
    /// Its tokens, whole.
    pub tokens: Vec<u32>,
}

impl std::fmt::Debug for PromptCorpus {
    /// The record; the tokens are counted in it, not printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.file.fmt(f)
    }
}

/// The prompts of a sweep or a run, ready to give each pair its tokens.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Prompt {
    /// Seeded random token ids.
    #[default]
    Random,
    /// Windows of a file's tokens, placed by the seed.
    File(Arc<PromptCorpus>),
    /// Exactly these tokens, whatever the seed: a replay bundle's.
    Fixed(Arc<[u32]>),
}

impl Prompt {
    /// The file the prompts come from, when they come from one.
    pub fn file(&self) -> Option<&PromptFile> {
        match self {
            Prompt::File(c) => Some(&c.file),
            Prompt::Random | Prompt::Fixed(_) => None,
        }
    }

    /// The prompt of the pair with `seed` and `span` on a model of `vocab` tokens, or why
    /// there is none (a file shorter than `span`, an id not below `vocab`).
    pub fn tokens(&self, seed: u64, span: usize, vocab: usize) -> Result<Vec<u32>, PromptError> {
        let (tokens, path) = match self {
            Prompt::Random => return Ok(prompt_tokens(seed, span, vocab)),
            Prompt::File(c) => {
                let Some(start) = window_start(seed, span, c.tokens.len()) else {
                    return Err(PromptError::Short {
                        path: c.file.path.clone(),
                        tokens: c.tokens.len(),
                        span,
                    });
                };
                (&c.tokens[start..start + span], c.file.path.as_str())
            }
            Prompt::Fixed(t) if t.len() != span => {
                return Err(PromptError::Short {
                    path: "the bundle's tokens".into(),
                    tokens: t.len(),
                    span,
                })
            }
            Prompt::Fixed(t) => (&t[..], "the bundle's tokens"),
        };
        check_vocab(tokens, vocab, path)?;
        Ok(tokens.to_vec())
    }

    /// One line for messages: `random token ids`, or the file ([`PromptFile::describe`]).
    pub fn describe(&self) -> String {
        match self {
            Prompt::Random => "random token ids".into(),
            Prompt::File(c) => c.file.describe(),
            Prompt::Fixed(t) => format!("{} fixed token ids", t.len()),
        }
    }
}

/// Where the window of `span` tokens of a `len`-token file starts for `seed`:
/// `SplitMix64::new(seed ^ PROMPT_SALT).below(len - span + 1)`; `None` when the file is
/// shorter than `span`.
pub fn window_start(seed: u64, span: usize, len: usize) -> Option<usize> {
    let room = len.checked_sub(span)?;
    let mut rng = SplitMix64::new(seed ^ PROMPT_SALT);
    Some(rng.below(room as u64 + 1) as usize)
}

/// An error naming `path` unless every id of `tokens` is below `vocab`.
fn check_vocab(tokens: &[u32], vocab: usize, path: &str) -> Result<(), PromptError> {
    match tokens.iter().find(|&&id| id as usize >= vocab) {
        Some(&id) => Err(PromptError::BeyondVocab {
            path: path.to_string(),
            id,
            vocab,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
