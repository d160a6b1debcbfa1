//! A worker's stderr, drained as bytes for as long as the worker lives: a pipe nobody reads
//! fills up and blocks (or, closed, kills with EPIPE) a worker that only wanted to print.
//! Only a bounded tail is kept, each line cut to a bounded length, as lossy UTF-8 text.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex};

/// Lines kept for failure reasons.
const TAIL_LINES: usize = 8;
/// Bytes kept of one line; the rest of a longer line is counted, not stored.
const LINE_BYTES: usize = 1024;

#[derive(Default)]
struct Tail {
    lines: VecDeque<String>,
    /// The line being read: its first bytes and how many were dropped.
    current: Vec<u8>,
    dropped: u64,
}

impl Tail {
    fn feed(&mut self, bytes: &[u8]) {
        for chunk in bytes.split_inclusive(|b| *b == b'\n') {
            let (body, ends) = match chunk.strip_suffix(b"\n") {
                Some(b) => (b, true),
                None => (chunk, false),
            };
            let room = LINE_BYTES.saturating_sub(self.current.len());
            let take = room.min(body.len());
            self.current.extend_from_slice(&body[..take]);
            self.dropped += (body.len() - take) as u64;
            if ends {
                self.end_line();
            }
        }
    }

    fn end_line(&mut self) {
        let mut line = clean(&String::from_utf8_lossy(&self.current));
        if self.dropped > 0 {
            line.push_str(&format!(" … ({} more bytes)", self.dropped));
        }
        self.current.clear();
        self.dropped = 0;
        if self.lines.len() == TAIL_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
}

/// Control characters (ANSI escapes included) become spaces: the text ends up in terminals
/// and reports.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// The drained stderr of one worker.
#[derive(Clone, Default)]
pub(crate) struct StderrTail {
    tail: Arc<Mutex<Tail>>,
}

impl StderrTail {
    /// Drain `stream` on a thread of its own until it ends.
    pub(crate) fn drain(mut stream: impl Read + Send + 'static) -> StderrTail {
        let t = StderrTail::default();
        let tail = Arc::clone(&t.tail);
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match stream.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => tail
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .feed(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
        });
        t
    }

    /// The last line that says something: not blank, and not Rust's "run with
    /// RUST_BACKTRACE=1" hint, which follows the panic message that explains the failure.
    pub(crate) fn last_meaningful_line(&self) -> Option<String> {
        let t = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        let partial = (!t.current.is_empty()).then(|| clean(&String::from_utf8_lossy(&t.current)));
        t.lines
            .iter()
            .cloned()
            .chain(partial)
            .rev()
            .find(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_and_endless_lines_stay_bounded() {
        let mut t = Tail::default();
        t.feed(b"\xff\xfe bad bytes\nsecond");
        t.feed(&vec![b'x'; 10 * LINE_BYTES]);
        t.feed(b"\n");
        assert_eq!(t.lines.len(), 2);
        assert!(t.lines[0].contains("bad bytes"));
        assert!(t.lines[1].len() < LINE_BYTES + 64, "{}", t.lines[1].len());
        assert!(t.lines[1].contains("more bytes"));
        for i in 0..100 {
            t.feed(format!("line {i}\n").as_bytes());
        }
        assert_eq!(t.lines.len(), TAIL_LINES);
    }

    #[test]
    fn the_backtrace_hint_is_not_the_reason() {
        let s = StderrTail::default();
        s.tail.lock().unwrap().feed(
            b"thread 'main' panicked at src/lib.rs:1:1:\nboom\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
        );
        assert_eq!(s.last_meaningful_line().as_deref(), Some("boom"));
    }

    #[test]
    fn escapes_are_stripped() {
        assert_eq!(clean("\x1b[31mred\x1b[0m"), "[31mred [0m");
    }
}
