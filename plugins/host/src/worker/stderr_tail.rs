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

/// What Rust prints after a first panic when it then aborts: never the cause.
const SECONDARY_PANICS: [&str; 3] = [
    "panic in a function that cannot unwind",
    "panic in a destructor during cleanup",
    "panic while processing panic",
];

#[derive(Default)]
struct Tail {
    lines: VecDeque<String>,
    /// The last panic's message and location (`boom (panicked at src/lib.rs:1:1)`), kept
    /// apart from the tail: a backtrace after it would scroll it out.
    panic: Option<String>,
    /// The location of a panic whose message is the next line.
    panic_at: Option<String>,
    /// The stream ended: every byte the worker wrote has been seen.
    ended: bool,
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
        self.note_panic(&line);
        if self.lines.len() == TAIL_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
}

impl Tail {
    /// Rust writes a panic as `thread 'NAME' panicked at FILE:LINE:COL:` and the message on
    /// the next line. A secondary panic (the abort that follows a panic where unwinding is
    /// not allowed) does not replace the panic that caused it.
    fn note_panic(&mut self, line: &str) {
        if let Some(at) = self.panic_at.take() {
            let secondary = SECONDARY_PANICS.iter().any(|s| line.starts_with(s));
            if !(secondary && self.panic.is_some()) {
                self.panic = Some(format!("{line} (panicked at {at})"));
            }
            return;
        }
        // `thread 'main' panicked at …`, or with the thread id: `thread 'x' (12) panicked at …`.
        if let Some(rest) = line.strip_prefix("thread '") {
            if let Some((_, at)) = rest.split_once(" panicked at ") {
                self.panic_at = Some(at.trim_end_matches(':').to_string());
            }
        }
    }
}

/// Lines Rust adds around a panic that say nothing about its cause: the backtrace hints, the
/// backtrace itself, and the abort notice.
fn is_boilerplate(line: &str) -> bool {
    let t = line.trim_start();
    (t.starts_with("note: ") && t.contains("RUST_BACKTRACE"))
        || t == "stack backtrace:"
        || t.starts_with("at ")
        || t.split_once(": ")
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        || t.starts_with("thread caused non-unwinding panic")
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
            tail.lock().unwrap_or_else(|p| p.into_inner()).ended = true;
        });
        t
    }

    /// Wait until the stream has ended (a dead worker's last words are read), at most
    /// `limit`: a child the worker left behind may hold the pipe open.
    pub(crate) fn wait_for_end(&self, limit: std::time::Duration) {
        let t0 = std::time::Instant::now();
        while t0.elapsed() < limit {
            if self.tail.lock().unwrap_or_else(|p| p.into_inner()).ended {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// What explains a failure: the last panic's message (with where it panicked), else the
    /// last line that says something — not blank, not Rust's backtrace hints, the backtrace
    /// or its abort notice.
    pub(crate) fn last_meaningful_line(&self) -> Option<String> {
        let t = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = &t.panic {
            return Some(p.clone());
        }
        let partial = (!t.current.is_empty()).then(|| clean(&String::from_utf8_lossy(&t.current)));
        t.lines
            .iter()
            .cloned()
            .chain(partial)
            .rev()
            .find(|l| !l.is_empty() && !is_boilerplate(l))
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
        assert_eq!(
            s.last_meaningful_line().as_deref(),
            Some("boom (panicked at src/lib.rs:1:1)")
        );
    }

    /// What a panic where unwinding is not allowed prints with `RUST_BACKTRACE=1`: the panic,
    /// a second one, a long backtrace and the abort notice.
    #[test]
    fn a_panic_that_aborts_is_the_reason_not_the_backtrace_or_its_notes() {
        let mut stderr = String::from(
            "thread '<unnamed>' (4242) panicked at plugins/testing/src/lib.rs:10:5:\n\
             test plugin panics where it cannot unwind\n\
             stack backtrace:\n",
        );
        for i in 0..40 {
            stderr.push_str(&format!(
                "  {i:>2}: some::frame\n             at ./src/lib.rs:{i}:1\n"
            ));
        }
        stderr.push_str(
            "note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.\n\
             thread '<unnamed>' panicked at library/core/src/panicking.rs:225:5:\n\
             panic in a function that cannot unwind\n\
             stack backtrace:\n   0: frame\n\
             thread caused non-unwinding panic. aborting.\n",
        );
        let s = StderrTail::default();
        s.tail.lock().unwrap().feed(stderr.as_bytes());
        assert_eq!(
            s.last_meaningful_line().as_deref(),
            Some(
                "test plugin panics where it cannot unwind \
                 (panicked at plugins/testing/src/lib.rs:10:5)"
            )
        );
        // Without a panic, the backtrace's own lines are skipped as well.
        let s = StderrTail::default();
        s.tail
            .lock()
            .unwrap()
            .feed(b"fatal: out of device memory\nstack backtrace:\n   0: frame\n             at x.rs:1:1\nnote: run with `RUST_BACKTRACE=full`\n");
        assert_eq!(
            s.last_meaningful_line().as_deref(),
            Some("fatal: out of device memory")
        );
    }

    #[test]
    fn escapes_are_stripped() {
        assert_eq!(clean("\x1b[31mred\x1b[0m"), "[31mred [0m");
    }
}
