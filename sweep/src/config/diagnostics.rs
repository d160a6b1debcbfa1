//! One-line TOML error messages that name the key.
//!
//! toml's own messages say what went wrong ("invalid type: string \"32\", expected a
//! sequence") and where (a byte span), but not under which key. To name the key, the text is
//! parsed a second time into a tree of spans, and the innermost value whose span holds the
//! error's span gives the dotted key.

use serde::Deserialize;

/// Position, key and message of a toml error, on one line.
pub(super) fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = normalize_message(err.message());
    let mut parts = Vec::new();
    if let Some(span) = err.span() {
        let (line, column) = line_col(text, span.start);
        parts.push(format!("line {line}, column {column}"));
    }
    let mut path = match err.span() {
        Some(span) => header_path(text, &span, &message)
            .or_else(|| key_path(text, &span))
            .unwrap_or_default(),
        None => Vec::new(),
    };
    // "unknown field `x`" points at the key itself (or at its table), "missing field `x`" at
    // the table: the field is not part of the path found from the span.
    if let Some(field) = named_field(&message) {
        path.push(field);
    } else if let Some(key) = entry_with_value(text, &path, err.message()) {
        path.push(key);
    }
    if !path.is_empty() {
        parts.push(format!("key `{}`", path.join(".")));
    }
    parts.push(message);
    parts.join(": ")
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

/// The field of "unknown field `x`", "missing field `x`" or "duplicate field `x`".
fn named_field(message: &str) -> Option<String> {
    ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| {
            let rest = &message[message.find(prefix)? + prefix.len()..];
            Some(rest[..rest.find('`')?].to_string())
        })
}

/// For an unknown key in a table header (`[sweep.x]`), the tables the header names before it.
/// (The span of such a key lies outside the span of its parent table.)
fn header_path(text: &str, span: &std::ops::Range<usize>, message: &str) -> Option<Vec<String>> {
    if !message.contains("unknown field `") {
        return None;
    }
    let before = text.get(..span.start)?;
    let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    let header = line.trim_start().strip_prefix('[')?;
    let header = header.strip_prefix('[').unwrap_or(header);
    let mut parts: Vec<String> = header
        .split('.')
        .map(|p| p.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
        .collect();
    parts.pop(); // the text right before the unknown key
    Some(parts)
}

/// Errors inside a table serde had to buffer (the `kind`-tagged `[model]`) carry the span of
/// the whole table. When the message quotes the unexpected value (`integer `-1``,
/// `string "2"`) and exactly one entry of that table holds it, that entry is the key.
fn entry_with_value(text: &str, path: &[String], message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))?;
    let unexpected = rest.split(", expected").next()?;
    let root: toml::Table = toml::from_str(text).ok()?;
    let mut table = &root;
    for key in path {
        table = table.get(key)?.as_table()?;
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

/// Dotted key of the innermost table entry whose value holds `span`.
fn key_path(text: &str, span: &std::ops::Range<usize>) -> Option<Vec<String>> {
    let root: SpanNode = toml::from_str(text).ok()?;
    let mut path = Vec::new();
    find_path(&root, span, &mut path);
    Some(path)
}

fn find_path(node: &SpanNode, span: &std::ops::Range<usize>, path: &mut Vec<String>) -> bool {
    let SpanKind::Table(entries) = &node.kind else {
        return false;
    };
    for (key, child) in entries {
        let holds = match &child.span {
            Some(s) if span.is_empty() => s.start < span.start && span.start < s.end,
            Some(s) => s.start <= span.start && span.end <= s.end,
            // Implicit tables (`tolerances` of `[tolerances.f16]`) have no span of their own.
            None => true,
        };
        if !holds {
            continue;
        }
        path.push(key.clone());
        if find_path(child, span, path) || child.span.is_some() {
            return true;
        }
        path.pop();
    }
    false
}

/// A TOML value reduced to its span and, for tables, its entries.
struct SpanNode {
    span: Option<std::ops::Range<usize>>,
    kind: SpanKind,
}

enum SpanKind {
    Table(Vec<(String, SpanNode)>),
    Other,
}

// serde_spanned's protocol (what `toml::Spanned` asks for): toml answers a struct request with
// these names by a map of start, end and value. Unlike `toml::Spanned`, `SpanNode` also accepts
// values toml has no span for (implicit tables).
const SPANNED_NAME: &str = "$__serde_spanned_private_Spanned";
const SPANNED_START: &str = "$__serde_spanned_private_start";
const SPANNED_END: &str = "$__serde_spanned_private_end";
const SPANNED_VALUE: &str = "$__serde_spanned_private_value";
const SPANNED_FIELDS: &[&str] = &[SPANNED_START, SPANNED_END, SPANNED_VALUE];

impl<'de> Deserialize<'de> for SpanNode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct(SPANNED_NAME, SPANNED_FIELDS, SpanNodeVisitor)
    }
}

/// The value inside a span: deserialized without asking for a span again.
struct BareNode(SpanNode);

impl<'de> Deserialize<'de> for BareNode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SpanNodeVisitor).map(BareNode)
    }
}

struct SpanNodeVisitor;

impl SpanNodeVisitor {
    fn leaf<E>(self) -> Result<SpanNode, E> {
        Ok(SpanNode {
            span: None,
            kind: SpanKind::Other,
        })
    }
}

impl<'de> serde::de::Visitor<'de> for SpanNodeVisitor {
    type Value = SpanNode;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any TOML value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<SpanNode, E> {
        self.leaf()
    }
    fn visit_i64<E>(self, _: i64) -> Result<SpanNode, E> {
        self.leaf()
    }
    fn visit_u64<E>(self, _: u64) -> Result<SpanNode, E> {
        self.leaf()
    }
    fn visit_f64<E>(self, _: f64) -> Result<SpanNode, E> {
        self.leaf()
    }
    fn visit_str<E>(self, _: &str) -> Result<SpanNode, E> {
        self.leaf()
    }
    fn visit_unit<E>(self) -> Result<SpanNode, E> {
        self.leaf()
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<SpanNode, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        self.leaf()
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<SpanNode, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return Ok(SpanNode {
                span: None,
                kind: SpanKind::Table(Vec::new()),
            });
        };
        if first == SPANNED_START {
            let start: usize = map.next_value()?;
            let mut end = start;
            let mut inner = None;
            while let Some(key) = map.next_key::<String>()? {
                if key == SPANNED_END {
                    end = map.next_value()?;
                } else {
                    inner = Some(map.next_value::<BareNode>()?.0);
                }
            }
            let mut node = inner.unwrap_or(SpanNode {
                span: None,
                kind: SpanKind::Other,
            });
            node.span = Some(start..end);
            return Ok(node);
        }
        let mut entries = vec![(first, map.next_value::<SpanNode>()?)];
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<SpanNode>()?;
            entries.push((key, value));
        }
        Ok(SpanNode {
            span: None,
            kind: SpanKind::Table(entries),
        })
    }
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

    #[test]
    fn key_path_finds_nested_keys() {
        let text = "[sweep]\nspans = [1,\n  2]\n[tolerances.f16]\nequiv = { max_abs = 'x' }\n";
        let at = text.find("'x'").unwrap();
        assert_eq!(
            key_path(text, &(at..at + 3)).unwrap(),
            ["tolerances", "f16", "equiv", "max_abs"]
        );
        let at = text.find('2').unwrap();
        assert_eq!(key_path(text, &(at..at + 1)).unwrap(), ["sweep", "spans"]);
        assert!(key_path(text, &(0..0)).unwrap().is_empty());
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("a\nbc", 3), (2, 2));
        assert_eq!(line_col("a", 0), (1, 1));
    }
}
