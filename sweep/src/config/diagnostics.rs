//! One-line TOML error messages that name the key.
//!
//! toml's own messages say what went wrong ("invalid type: string \"32\", expected a
//! sequence") and where (a byte span), but not under which key. The config is therefore
//! deserialized through [`serde_path_to_error`], which records the key path of the value being
//! read when an error occurs (`sweep.spans[1]`); toml's error gives the message and, from its
//! span, the line and column.
//!
//! Two gaps of that path are filled from the message:
//! - "missing field `x`" is reported at the table that lacks the field, and "unknown field
//!   `x`" at the table when serde buffered it (below); the message names the field.
//! - the `kind`-tagged `[model]` table: serde buffers an internally tagged enum's entries
//!   before it knows the variant, so errors in its fields come back with the path `model`
//!   only; when the message quotes the value and one entry of the table holds it, that entry
//!   is the key.

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

/// `text` deserialized as a `T`, or the one-line description of why not (position, key and
/// message; see [`describe_error`]).
pub(super) fn from_toml<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_path_to_error::deserialize(toml::Deserializer::new(text))
        .map_err(|err| describe_error(text, &err))
}

/// Position, key and message of a toml error, on one line.
fn describe_error(text: &str, err: &serde_path_to_error::Error<toml::de::Error>) -> String {
    let inner = err.inner();
    let message = normalize_message(inner.message());
    let mut parts = Vec::new();
    if let Some(span) = inner.span() {
        let (line, column) = line_col(text, span.start);
        parts.push(format!("line {line}, column {column}"));
    }
    let mut path = key_path(err.path());
    match named_field(&message) {
        // A missing field is reported at the table that lacks it.
        Some((FieldIssue::Missing, field)) => path.push(Step::Key(field)),
        // An unknown field is reported at the field itself (its key is the path's last step
        // and the span is the key's), except in a table serde buffered (the path and the
        // span are the table's: `[model]...`, `{ ... }`).
        Some((FieldIssue::Unknown, field)) => {
            let at_table = inner
                .span()
                .and_then(|span| text.get(span))
                .is_some_and(|t| t.starts_with(['[', '{']));
            if at_table || path.last() != Some(&Step::Key(field.clone())) {
                path.push(Step::Key(field));
            }
        }
        None => {
            if let Some(key) = entry_with_value(text, &path, inner.message()) {
                path.push(Step::Key(key));
            }
        }
    }
    if !path.is_empty() {
        parts.push(format!("key `{}`", dotted(&path)));
    }
    parts.push(message);
    parts.join(": ")
}

/// One step of a key path: a table's key or an array's index.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// The steps of serde_path_to_error's path, up to the first key it could not name.
fn key_path(path: &serde_path_to_error::Path) -> Vec<Step> {
    path.iter()
        .map_while(|segment| match segment {
            Segment::Map { key } | Segment::Enum { variant: key } => Some(Step::Key(key.clone())),
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Unknown => None,
        })
        .collect()
}

/// The path as the user reads it: `tolerances.f16.equiv.max_abs`, `sweep.spans[1]`.
fn dotted(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

/// toml's message on one line, with serde's Rust type names replaced by TOML words.
fn normalize_message(message: &str) -> String {
    let one_line = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let mut out = one_line;
    for (rust, toml_word) in [
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected a table"),
        ("expected i64", "expected an integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected usize", "expected a non-negative integer"),
        ("expected f64", "expected a number"),
    ] {
        out = out.replace(rust, toml_word);
    }
    // "expected struct RawSweep", "expected internally tagged enum ModelSpec"...
    for marker in ["expected struct ", "expected internally tagged enum "] {
        while let Some(at) = out.find(marker) {
            let rest = &out[at + marker.len()..];
            let name_len = rest
                .find(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                .unwrap_or(rest.len());
            out.replace_range(at..at + marker.len() + name_len, "expected a table");
        }
    }
    out
}

/// What a message naming a field says about it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum FieldIssue {
    /// "missing field `x`"
    Missing,
    /// "unknown field `x`" or "duplicate field `x`": the field is in the file.
    Unknown,
}

/// The field of "unknown field `x`", "missing field `x`" or "duplicate field `x`".
fn named_field(message: &str) -> Option<(FieldIssue, String)> {
    [
        ("missing field `", FieldIssue::Missing),
        ("unknown field `", FieldIssue::Unknown),
        ("duplicate field `", FieldIssue::Unknown),
    ]
    .iter()
    .find_map(|&(prefix, issue)| {
        let rest = &message[message.find(prefix)? + prefix.len()..];
        Some((issue, rest[..rest.find('`')?].to_string()))
    })
}

/// Errors inside a table serde had to buffer (the `kind`-tagged `[model]`) come back with
/// the table's path (and span). When the message quotes the unexpected value (`integer `-1``,
/// `string "2"`) and exactly one entry of that table holds it, that entry is the key.
fn entry_with_value(text: &str, path: &[Step], message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))?;
    let unexpected = rest.split(", expected").next()?;
    let root: toml::Table = toml::from_str(text).ok()?;
    let mut table = &root;
    for step in path {
        let value = match step {
            Step::Key(key) => table.get(key)?,
            Step::Index(_) => return None,
        };
        table = value.as_table()?;
    }
    let mut hits = table.iter().filter(|(_, v)| unexpected_is(unexpected, v));
    let (key, _) = hits.next()?;
    if hits.next().is_some() {
        return None;
    }
    Some(key.clone())
}

/// Whether serde's description of an unexpected value (`serde::de::Unexpected`) is `value`.
fn unexpected_is(unexpected: &str, value: &toml::Value) -> bool {
    use toml::Value;
    match value {
        Value::Integer(i) => unexpected == format!("integer `{i}`"),
        Value::String(s) => unexpected == format!("string {s:?}"),
        Value::Boolean(b) => unexpected == format!("boolean `{b}`"),
        Value::Float(f) => unexpected
            .strip_prefix("floating point `")
            .and_then(|r| r.strip_suffix('`'))
            .and_then(|x| x.parse::<f64>().ok())
            .is_some_and(|x| x == *f || (x.is_nan() && f.is_nan())),
        Value::Array(_) => unexpected == "sequence",
        Value::Table(_) => unexpected == "map",
        Value::Datetime(_) => false,
    }
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_replaces_rust_names_and_joins_lines() {
        assert_eq!(
            normalize_message("invalid type: integer `3`, expected struct RawSweep"),
            "invalid type: integer `3`, expected a table"
        );
        assert_eq!(
            normalize_message("invalid array\nexpected `]`\n"),
            "invalid array; expected `]`"
        );
    }

    /// Tables of tables of numbers, to any depth the tests need.
    type Tables<T> = std::collections::BTreeMap<String, T>;

    fn error_of<T: DeserializeOwned + std::fmt::Debug>(text: &str) -> String {
        from_toml::<T>(text).expect_err("text should be rejected")
    }

    #[test]
    fn key_path_finds_nested_keys() {
        let text = "[sweep]\nspans = [1,\n  2]\n[tolerances.f16]\nequiv = { max_abs = 'x' }\n";
        let msg =
            error_of::<Tables<Tables<Tables<Tables<f64>>>>>(&text[text.find("[tol").unwrap()..]);
        assert_eq!(
            msg,
            "line 2, column 21: key `tolerances.f16.equiv.max_abs`: \
             invalid type: string \"x\", expected a number"
        );
        let msg = error_of::<Tables<Tables<Vec<bool>>>>(text);
        assert_eq!(
            msg,
            "line 2, column 10: key `sweep.spans[0]`: \
             invalid type: integer `1`, expected a boolean"
        );
        let msg = error_of::<Tables<Tables<Vec<bool>>>>("[sweep]\nspans = [true,\n  2]\n");
        assert!(
            msg.starts_with("line 3, column 3: key `sweep.spans[1]`: "),
            "{msg}"
        );
        // A syntax error has a position and no key.
        assert_eq!(
            error_of::<Tables<Vec<i64>>>("a = [1\n"),
            "line 2, column 1: invalid array; expected `]`"
        );
    }

    #[test]
    fn named_fields_complete_the_path_once() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Inner {
            a: i64,
        }
        let msg = error_of::<Tables<Inner>>("[t]\na = 1\nb = 2\n");
        assert!(msg.contains("key `t.b`: unknown field `b`"), "{msg}");
        let msg = error_of::<Tables<Inner>>("[t]\n");
        assert!(msg.contains("key `t.a`: missing field `a`"), "{msg}");
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("a\nbc", 3), (2, 2));
        assert_eq!(line_col("a", 0), (1, 1));
    }
}
