//! Reading a prompt file: its bytes (hashed), then its tokens, checked against the spans
//! and the model's vocabulary before any run.

use super::{check_vocab, Prompt, PromptCorpus, PromptFile, PromptKind, PromptSource};
use crate::input_file::{self, FileError, Size};
use driftbench_core::model_spec::ModelSpec;
use driftbench_gguf::{Gguf, GgufTokenizer};

use std::sync::Arc;

/// The most a prompt file (text or token ids) may hold: 64 MiB.
pub const MAX_PROMPT_FILE_BYTES: u64 = 64 << 20;

/// Why a prompt file cannot give a sweep its prompts. Each message is one line naming the
/// file.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// Not a readable regular file, too large, or (a text) not UTF-8.
    #[error("{0}")]
    Read(FileError),
    /// A text that the model cannot tokenize: a synthetic model, or a GGUF file without a
    /// tokenizer this driftbench builds.
    #[error("{path}: cannot be tokenized: {why}")]
    Tokenizer {
        /// The prompt file.
        path: String,
        /// Why.
        why: String,
    },
    /// A token file with something other than an id in it.
    #[error(
        "{path}: line {line}: `{word}` is not a token id (expected decimal ids separated by \
         whitespace or commas)"
    )]
    Parse {
        /// The prompt file.
        path: String,
        /// Line of the offending word, from 1.
        line: usize,
        /// The word (at most 24 characters of it, escaped).
        word: String,
    },
    /// Fewer tokens than a span: no window of the span fits.
    #[error("{path}: {tokens} tokens, fewer than the span {span}")]
    Short {
        /// The prompt file.
        path: String,
        /// Its token count.
        tokens: usize,
        /// The span.
        span: usize,
    },
    /// A token id the model does not have.
    #[error("{path}: token id {id} is not below the vocab {vocab}")]
    BeyondVocab {
        /// The prompt file.
        path: String,
        /// The id.
        id: u32,
        /// The model's vocabulary size.
        vocab: usize,
    },
}

impl PromptError {
    /// What a config's `prompt.path` should have been, with what this file is instead: the
    /// `expected` clause of its [`crate::config::error::ConfigError::Invalid`].
    pub fn expected(&self) -> String {
        match self {
            PromptError::Read(e) => format!("a readable prompt file ({})", e.why()),
            PromptError::Tokenizer { why, .. } => {
                format!("a text the model can tokenize ({why})")
            }
            PromptError::Parse { line, word, .. } => format!(
                "decimal token ids separated by whitespace or commas (line {line} holds `{word}`)"
            ),
            PromptError::Short { tokens, span, .. } => format!(
                "a prompt of at least {span} tokens, the longest span (it has {tokens} tokens)"
            ),
            PromptError::BeyondVocab { id, vocab, .. } => {
                format!("token ids below the model's vocab {vocab} (it holds {id})")
            }
        }
    }
}

impl Prompt {
    /// The prompts of `source` for `model`: a file is read, hashed and tokenized (a text with
    /// the model's own vocabulary), and must hold at least `longest` tokens (the longest
    /// span) with every id below the model's vocabulary where it is known before the model
    /// loads (a synthetic model's, a GGUF file's `tokenizer.ggml.tokens`).
    pub fn load(
        source: &PromptSource,
        model: &ModelSpec,
        longest: usize,
    ) -> Result<Prompt, PromptError> {
        let (kind, path) = match source {
            PromptSource::Random => return Ok(Prompt::Random),
            PromptSource::Text(p) => (PromptKind::Text, p),
            PromptSource::Tokens(p) => (PromptKind::Tokens, p),
        };
        let name = path.display().to_string();
        let bytes = input_file::read_bytes(path, Size::AtMost(MAX_PROMPT_FILE_BYTES))
            .map_err(PromptError::Read)?;
        let sha256 = crate::digest::sha256_hex(&bytes);
        let text = String::from_utf8(bytes).map_err(|e| {
            PromptError::Read(FileError::NotText {
                path: path.clone(),
                error: e.utf8_error(),
            })
        })?;
        let (tokens, vocab) = match kind {
            PromptKind::Text => {
                let tokenizer = tokenizer_of(model).map_err(|why| PromptError::Tokenizer {
                    path: name.clone(),
                    why,
                })?;
                let tokens = tokenizer
                    .encode(&text)
                    .map_err(|e| PromptError::Tokenizer {
                        path: name.clone(),
                        why: e.to_string(),
                    })?;
                (tokens, Some(tokenizer.vocab()))
            }
            PromptKind::Tokens => (parse_token_ids(&text, &name)?, vocab_of(model)),
        };
        if tokens.len() < longest {
            return Err(PromptError::Short {
                path: name,
                tokens: tokens.len(),
                span: longest,
            });
        }
        if let Some(vocab) = vocab {
            check_vocab(&tokens, vocab, &name)?;
        }
        Ok(Prompt::File(Arc::new(PromptCorpus {
            file: PromptFile {
                kind,
                path: name,
                sha256,
                tokens: tokens.len(),
            },
            tokens,
        })))
    }
}

/// The tokenizer of `model`'s vocabulary: a GGUF file's; a synthetic model has none.
fn tokenizer_of(model: &ModelSpec) -> Result<GgufTokenizer, String> {
    match model {
        ModelSpec::Gguf { path } => {
            GgufTokenizer::open(path, driftbench_gguf::MAX_HEADER_BYTES).map_err(|e| e.to_string())
        }
        ModelSpec::Synthetic(_) => Err("a synthetic model has no text vocabulary: \
             use a gguf model, or a file of token ids"
            .into()),
    }
}

/// `model`'s vocabulary size when it is known without loading the model: a synthetic
/// model's `vocab`, a readable GGUF header's `tokenizer.ggml.tokens` count. Otherwise the
/// ids are checked against the backend's vocabulary when the pair runs.
fn vocab_of(model: &ModelSpec) -> Option<usize> {
    match model {
        ModelSpec::Synthetic(m) => Some(m.vocab),
        ModelSpec::Gguf { path } => Gguf::open_header(path, driftbench_gguf::MAX_HEADER_BYTES)
            .ok()?
            .get_array_len("tokenizer.ggml.tokens")
            .ok(),
    }
}

/// The ids of a token file's `text` (`path` names it in errors): decimal ids separated by
/// whitespace and/or commas, optionally inside one pair of brackets (a JSON array of
/// integers is such a file); a line whose first non-blank character is `#` is a comment.
pub fn parse_token_ids(text: &str, path: &str) -> Result<Vec<u32>, PromptError> {
    let separator = |c: char| c == ',' || c.is_whitespace();
    // (line from 1, word) of every word outside comments.
    let mut words: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with('#'))
        .flat_map(|(n, l)| l.split(separator).map(move |w| (n + 1, w)))
        .filter(|(_, w)| !w.is_empty())
        .collect();
    // A JSON array: the first word opens it and the last closes it (else the bracket is
    // reported as part of its word).
    let opens = words.first().is_some_and(|(_, w)| w.starts_with('['));
    let closes = words
        .last()
        .is_some_and(|(_, w)| w.len() > 1 && w.ends_with(']'))
        || (words.len() > 1 && words.last().is_some_and(|(_, w)| *w == "]"));
    if opens && closes {
        let last = words.len() - 1;
        words[last].1 = &words[last].1[..words[last].1.len() - 1];
        words[0].1 = &words[0].1[1..];
    }
    let mut ids = Vec::with_capacity(words.len());
    for (line, word) in words.into_iter().filter(|(_, w)| !w.is_empty()) {
        match word.parse::<u32>() {
            Ok(id) if word.bytes().all(|b| b.is_ascii_digit()) => ids.push(id),
            _ => {
                return Err(PromptError::Parse {
                    path: path.to_string(),
                    line,
                    word: shown(word),
                })
            }
        }
    }
    Ok(ids)
}

/// At most 24 characters of `word`, control characters escaped, for a one-line message.
fn shown(word: &str) -> String {
    let cut: String = word.chars().take(24).collect();
    let escaped: String = cut.chars().flat_map(char::escape_debug).collect();
    if cut.len() < word.len() {
        format!("{escaped}…")
    } else {
        escaped
    }
}
