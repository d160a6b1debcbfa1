//! The `[prompt]` table: where the pairs' prompts come from ([`crate::prompt`]).
//!
//! ```toml
//! [prompt]                      # optional; default: kind = "random"
//! kind = "text"                 # "random", "text" or "tokens"
//! path = "../prompts/pride-and-prejudice.txt"   # text and tokens only; relative: against
//!                               #   the config's folder
//! ```
//!
//! The file is read, hashed and tokenized when the config loads, so a file that cannot serve
//! every span (too short, an id beyond the model's vocabulary, a text the model cannot
//! tokenize) is a config error at `prompt.path` before anything runs.

use crate::config::checker::Checker;
use crate::config::error::ConfigError;
use crate::prompt::{Prompt, PromptSource};
use driftbench_core::model_spec::ModelSpec;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `[prompt]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrompt {
    kind: String,
    path: Option<PathBuf>,
}

/// The `[prompt]` table, its file read and checked against `model` and the longest of
/// `spans`; random ids when absent. A relative path resolves against `file`'s folder.
pub(super) fn check_prompt(
    c: &Checker<'_>,
    raw: Option<RawPrompt>,
    file: &Path,
    model: &ModelSpec,
    spans: &[usize],
) -> Result<Prompt, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Prompt::Random);
    };
    let source = source_of(c, raw, file)?;
    let longest = spans.iter().copied().max().unwrap_or(0);
    Prompt::load(&source, model, longest).map_err(|e| {
        let path = match &source {
            PromptSource::Text(p) | PromptSource::Tokens(p) => p.display().to_string(),
            PromptSource::Random => String::new(),
        };
        c.invalid("prompt.path", path, e.expected())
    })
}

/// The source `raw` names: a kind, and a path exactly where the kind reads a file.
fn source_of(c: &Checker<'_>, raw: RawPrompt, file: &Path) -> Result<PromptSource, ConfigError> {
    let path = match (raw.kind.as_str(), raw.path) {
        ("random", None) => return Ok(PromptSource::Random),
        ("random", Some(p)) => {
            return Err(c.invalid(
                "prompt.path",
                p.display().to_string(),
                "no path with kind = \"random\" (its prompts are drawn from the seed)",
            ))
        }
        ("text" | "tokens", None) => {
            return Err(ConfigError::Parse {
                file: c.file.to_string(),
                message: format!(
                    "key `prompt.path`: missing field `path` (kind = \"{}\" reads a file)",
                    raw.kind
                ),
            })
        }
        ("text" | "tokens", Some(p)) if p.as_os_str().is_empty() => {
            return Err(c.invalid("prompt.path", "", "a path to the prompt file"))
        }
        ("text" | "tokens", Some(p)) => match file.parent() {
            Some(dir) if p.is_relative() && !dir.as_os_str().is_empty() => dir.join(p),
            _ => p,
        },
        (other, _) => {
            return Err(c.invalid(
                "prompt.kind",
                other,
                "one of \"random\", \"text\" (a UTF-8 text, tokenized with the model's \
                 vocabulary), \"tokens\" (a file of token ids)",
            ))
        }
    };
    Ok(if raw.kind == "text" {
        PromptSource::Text(path)
    } else {
        PromptSource::Tokens(path)
    })
}

#[cfg(test)]
mod tests;
