//! Number and cell formatting shared by the markdown and terminal renderers.

/// Placeholder for a metric that does not exist (SKIPPED, INCOMPLETE).
pub const NONE: &str = "—";

/// Non-finite values by name, so NaN/Inf are never printed as something else.
fn nonfinite(x: f64) -> Option<&'static str> {
    if x.is_nan() {
        Some("NaN")
    } else if x == f64::INFINITY {
        Some("inf")
    } else if x == f64::NEG_INFINITY {
        Some("-inf")
    } else {
        None
    }
}

/// A diff metric: 6 decimals, as the reference report.
pub fn diff(x: f64) -> String {
    fixed(x, 6)
}

/// A small difference in 3 significant digits (`5.86e-3`), exact zero as `0`: cross-backend
/// agreement spans many orders of magnitude.
pub fn sci(x: f64) -> String {
    match nonfinite(x) {
        Some(s) => s.to_string(),
        None if x == 0.0 => "0".to_string(),
        None => format!("{x:.2e}"),
    }
}

/// An optional [`sci`] value, `—` when the journal did not record it.
pub fn opt_sci(x: Option<f64>) -> String {
    x.map_or_else(|| NONE.to_string(), sci)
}

/// Two significant digits, plain from 1e-3 up (`0.56`, `0.020`, `28`), scientific below:
/// short enough for a sentence, exact enough to compare two errors.
pub fn sig2(x: f64) -> String {
    match nonfinite(x) {
        Some(s) => s.to_string(),
        None if x == 0.0 => "0".to_string(),
        None if x.abs() < 1e-3 => format!("{x:.1e}"),
        None => {
            let decimals = (1 - x.abs().log10().floor() as i32).max(0) as usize;
            format!("{x:.decimals$}")
        }
    }
}

/// A multiple such as `2.1×` (`28×` from 10 up); `—` when there is nothing to compare.
pub fn times(x: Option<f64>) -> String {
    match x {
        None => NONE.to_string(),
        Some(x) => match nonfinite(x) {
            Some(s) => format!("{s}×"),
            None if x.abs() >= 10.0 => format!("{x:.0}×"),
            None => format!("{x:.1}×"),
        },
    }
}

/// A top-1 agreement: 4 decimals.
pub fn top1(x: f64) -> String {
    fixed(x, 4)
}

/// `x` with `decimals` decimals, or its non-finite name.
pub fn fixed(x: f64, decimals: usize) -> String {
    match nonfinite(x) {
        Some(s) => s.to_string(),
        None => format!("{x:.decimals$}"),
    }
}

/// A duration: `55.67s` from one second up (as the reference), milliseconds below.
pub fn secs(x: f64) -> String {
    if let Some(s) = nonfinite(x) {
        return s.to_string();
    }
    if x.abs() >= 1.0 {
        format!("{x:.2}s")
    } else if x.abs() >= 1e-3 {
        format!("{:.2}ms", x * 1e3)
    } else {
        format!("{:.2}µs", x * 1e6)
    }
}

/// An optional duration, `—` when absent.
pub fn opt_secs(x: Option<f64>) -> String {
    x.map_or_else(|| NONE.to_string(), secs)
}

/// A ratio such as `×1.25`.
pub fn ratio(x: f64) -> String {
    format!("×{}", fixed(x, 2))
}

/// A count rounded to an integer with thousands separators: `19,726,091`.
pub fn thousands(x: f64) -> String {
    if let Some(s) = nonfinite(x) {
        return s.to_string();
    }
    let n = x.round().abs() as u128;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if x.round() < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// A tolerance bound: `0 (bitwise)` for zero, scientific when tiny, plain otherwise.
pub fn bound(x: f64) -> String {
    if let Some(s) = nonfinite(x) {
        s.to_string()
    } else if x == 0.0 {
        "0 (bitwise)".to_string()
    } else if x.abs() < 1e-3 {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// Text from a plugin, a config or a journal made safe for one markdown line: it reads as
/// the same text wherever the markdown is rendered (GitHub's cmark-gfm, GitLab, mdBook's and
/// this report's pulldown-cmark) and can open nothing: no heading, list, table row, raw HTML,
/// emphasis, code, link, image or autolink. What is done to it:
///
/// - control characters (line breaks, ANSI escapes) become spaces, so it stays one line;
/// - `<` before a letter, `/`, `!` or `?` becomes `\<`: no raw HTML, no `<scheme:...>`
///   autolink (a `<` before a space or a digit opens neither, and a `>` inside a line opens
///   nothing, so `0.79 > 0.25` and `0.93 < 0.95` stay as they are); `>` at the start becomes
///   `\>`, which would open a block quote;
/// - `\`, `` ` ``, `*`, `[`, `]`, `~`, `$`, `#`, `{`, `}` get a backslash, and so do `_`
///   unless it stands between two letters or digits (`max_abs_diff` stays as it is:
///   CommonMark never reads such an `_` as emphasis) and `&` before a letter, a digit or `#`
///   (an entity): no link, image, footnote, emphasis, code span, strike-through, math,
///   closing `#` or heading attributes (mdBook's `{.class}`, whose `}` pulldown-cmark only
///   sees escaped);
/// - bare URLs, which GFM links without any markup, are broken where the parser looks for
///   them: the `:` of `://` becomes `\:` (`http\://host`) and the `.` after `www` becomes
///   `\.`; cmark-gfm and comrak match both while parsing inlines, where a backslash escape
///   hides them;
/// - an e-mail address (`a@b.co`), which cmark-gfm and comrak link after merging adjacent text
///   nodes (so a backslash does not hide it), gets its `@` as a code span: `` a`@`b.co ``;
/// - at the start, a `-` or `+` list marker, a thematic break (`---`) or an ordered list
///   marker (`1.` before a space) is escaped, for text that starts a list item's content.
///
/// Every escape is a CommonMark backslash escape of ASCII punctuation or an entity, so the
/// rendered text is the original one; only the `@` of an e-mail address looks different
/// (as code).
pub fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    escape_markdown(s, &mut out, false);
    out
}

/// Text made safe for one markdown table cell: [`inline`] without the rules for the start of
/// a line (a cell is never one), and `|` escaped, so it cannot end the cell.
pub fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    escape_markdown(s, &mut out, true);
    out
}

/// [`inline`] (`in_cell` false) or [`cell`] into `out`, in one pass over `s`.
fn escape_markdown(s: &str, out: &mut String, in_cell: bool) {
    let lead = if in_cell { None } else { block_marker(s) };
    let mut prev: Option<char> = None;
    for (i, c) in s.char_indices() {
        let rest = &s[i + c.len_utf8()..];
        let next = rest.chars().next();
        match c {
            '<' if next.is_some_and(|n| n.is_ascii_alphabetic() || "/!?".contains(n)) => {
                out.push_str("\\<")
            }
            c if c.is_control() => out.push(' '),
            '\\' | '`' | '*' | '[' | ']' | '~' | '$' | '#' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '|' if in_cell => out.push_str("\\|"),
            '_' if !(prev.is_some_and(char::is_alphanumeric)
                && next.is_some_and(char::is_alphanumeric)) =>
            {
                out.push_str("\\_")
            }
            '&' if next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '#') => {
                out.push_str("\\&")
            }
            ':' if rest.starts_with("//") => out.push_str("\\:"),
            '.' if i >= 3 && s.as_bytes()[i - 3..i].eq_ignore_ascii_case(b"www") => {
                out.push_str("\\.")
            }
            '@' if prev.is_some_and(|p| p.is_ascii_alphanumeric() || ".+-_:".contains(p))
                && next.is_some_and(|n| n.is_ascii_alphanumeric() || ".-_/".contains(n)) =>
            {
                out.push_str("`@`")
            }
            c if Some(i) == lead => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        prev = Some(c);
    }
}

/// Where `s`, put at the start of a list item's content, would open a block: the byte index
/// of the character to escape (a `>` block quote, a `-` or `+` list marker or thematic
/// break, the `.` or `)` of an ordered list marker), if any.
fn block_marker(s: &str) -> Option<usize> {
    let start = s.len() - s.trim_start_matches([' ', '\t']).len();
    let rest = &s[start..];
    let blank_after = |after: &str| after.is_empty() || after.starts_with([' ', '\t']);
    match rest.chars().next()? {
        '>' => Some(start),
        '-' if blank_after(&rest[1..]) || rest[1..].starts_with('-') => Some(start),
        '+' if blank_after(&rest[1..]) => Some(start),
        '0'..='9' => {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let after = &rest[digits..];
            (digits <= 9 && after.starts_with(['.', ')']) && blank_after(&after[1..]))
                .then_some(start + digits)
        }
        _ => None,
    }
}

/// Names of [`metric_cells`], in order, as [`metrics_line`] labels them.
const METRIC_NAMES: [&str; 7] = [
    "max_abs_diff",
    "p99_abs_diff",
    "mean_abs_diff",
    "KL mean",
    "KL max",
    "NMSE",
    "top1_agreement",
];

/// A pair's distance metrics in the formats of the report's comparison table: max_abs,
/// p99, mean_abs, KL mean, KL max, NMSE, top-1 agreement.
pub fn metric_cells(m: &driftbench_core::metrics::Metrics) -> [String; 7] {
    [
        diff(m.max_abs_diff),
        diff(m.p99_abs_diff),
        diff(m.mean_abs_diff),
        opt_sci(m.kl_mean),
        opt_sci(m.kl_max),
        opt_sci(m.nmse),
        top1(m.top1_agreement),
    ]
}

/// A pair's metrics on one line, as `run` and `compare` print them, in the formats of the
/// report's comparison table.
pub fn metrics_line(m: &driftbench_core::metrics::Metrics) -> String {
    let mut line: Vec<String> = METRIC_NAMES
        .iter()
        .zip(metric_cells(m))
        .map(|(name, value)| format!("{name} {value}"))
        .collect();
    line.push(format!(
        "nonfinite {}/{}",
        m.nonfinite_prefill, m.nonfinite_decode
    ));
    line.join(" ")
}

/// The first top-1 flip in words, the two sides named `a` and `b` (`prefill`, `decode`):
/// `pos 23: prefill token 30 (margin 0), decode token 824 (margin 0.016)`.
pub fn first_flip(m: &driftbench_core::metrics::Metrics, a: &str, b: &str) -> String {
    m.first_flip.as_ref().map_or_else(
        || "none (top-1 agrees at every position)".to_string(),
        |f| {
            format!(
                "pos {}: {a} token {} (margin {}), {b} token {} (margin {})",
                f.position,
                f.prefill_token,
                sig2(f.prefill_margin),
                f.decode_token,
                sig2(f.decode_margin)
            )
        },
    )
}

/// Bytes as MiB with one decimal.
pub fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(diff(0.0), "0.000000");
        assert_eq!(diff(f64::NAN), "NaN");
        assert_eq!(diff(f64::INFINITY), "inf");
        assert_eq!(top1(1.0), "1.0000");
        assert_eq!(thousands(19_726_091.0), "19,726,091");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(secs(55.666), "55.67s");
        assert_eq!(secs(0.0125), "12.50ms");
        assert_eq!(bound(0.0), "0 (bitwise)");
        assert_eq!(bound(1e-9), "1e-9");
        assert_eq!(bound(0.25), "0.25");
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(cell("-0.5"), "-0.5");
        assert_eq!(sig2(0.56), "0.56");
        assert_eq!(sig2(0.02), "0.020");
        assert_eq!(sig2(28.4), "28");
        assert_eq!(sig2(1.5e-5), "1.5e-5");
        assert_eq!(sig2(f64::NAN), "NaN");
        assert_eq!(times(Some(2.06)), "2.1×");
        assert_eq!(times(Some(28.0)), "28×");
        assert_eq!(times(None), NONE);
        assert_eq!(opt_sci(None), NONE);
    }

    #[test]
    fn verdict_reasons_read_in_report_md_as_written() {
        // driftbench's own text: no entity, no backslash.
        let reason =
            "max_abs_diff 0.7890625 > 0.25 (f16 equiv); top1_agreement 0.9375 < 0.95 (f16 equiv)";
        assert_eq!(cell(reason), reason);
        assert_eq!(inline(reason), reason);
        // A plugin's text that could open HTML gets a backslash escape, never an entity.
        assert_eq!(cell("<script>"), "\\<script>");
    }

    #[test]
    fn markdown_escapes() {
        let cases = [
            ("[x](//h)", "\\[x\\](//h)"),
            ("![](http://e/p.png)", "!\\[\\](http\\://e/p.png)"),
            ("<http://e>", "\\<http\\://e>"),
            ("<!-- c --> </b> <?x", "\\<!-- c --> \\</b> \\<?x"),
            (
                "0.79 > 0.25; 0.93 < 0.95; a<1",
                "0.79 > 0.25; 0.93 < 0.95; a<1",
            ),
            (
                "see www.e.com or WWW.E.COM",
                "see www\\.e.com or WWW\\.E.COM",
            ),
            ("mail a@b.co now", "mail a`@`b.co now"),
            ("@user and a @ b", "@user and a @ b"),
            ("max_abs_diff _x_ a_ é_é", "max_abs_diff \\_x\\_ a\\_ é_é"),
            (
                "*a* `c` ~s~ $m$ \\ # {#i}",
                "\\*a\\* \\`c\\` \\~s\\~ \\$m\\$ \\\\ \\# \\{\\#i\\}",
            ),
            ("R&D &amp; &#91; & x", "R\\&D \\&amp; \\&\\#91; & x"),
            ("a|b", "a|b"),
            ("0.1.0", "0.1.0"),
            ("-0.5", "-0.5"),
        ];
        for (text, md) in cases {
            assert_eq!(inline(text), md, "{text}");
        }
        for (text, md) in [
            ("- x", "\\- x"),
            ("> quote", "\\> quote"),
            ("  + x", "  \\+ x"),
            ("---", "\\---"),
            ("12. x", "12\\. x"),
            ("3) x", "3\\) x"),
            ("3)x", "3)x"),
            ("-", "\\-"),
        ] {
            assert_eq!(inline(text), md, "{text}");
            assert_eq!(cell(text), text.replace('|', "\\|"), "{text}");
        }
        assert_eq!(cell("a|b [c]"), "a\\|b \\[c\\]");
    }
}
