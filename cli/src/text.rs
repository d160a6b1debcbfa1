//! Text from plugins and configs on its way to the terminal: control characters (ANSI
//! escapes, carriage returns) are replaced, so a plugin cannot rewrite what the user sees.

/// `s` with every control character but newline and tab shown as `�`.
pub fn terminal(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// `s` on one terminal line (an error message): a line break inside a name or a value is
/// shown as `\n`, every other control character as `�`.
pub fn one_line(s: &str) -> String {
    terminal(s).replace('\n', "\\n").replace('\t', " ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_do_not_reach_the_terminal() {
        assert_eq!(
            super::terminal("a\x1b[31mb\rc\nd"),
            "a\u{FFFD}[31mb\u{FFFD}c\nd"
        );
        assert_eq!(super::one_line("x\ny\x1b[31m"), "x\\ny\u{FFFD}[31m");
    }
}
