//! Stable replay of the fuzz corpora, run by `cargo test --workspace`: the harness each crate's
//! replay test includes with `#[path]`, beside the one-input function of its target
//! (`fuzz/targets/<target>.rs`, shared with `fuzz/fuzz_targets/`): `gguf` in `gguf/tests/`,
//! `config` and `bundle` in `sweep/tests/`, `protocol` in `plugins/host/tests/`, `journal` and
//! `diff` in `report/tests/`. For the target:
//!
//! 1. every file of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` is run once;
//! 2. then mutations of those files (bit flips, byte inserts and deletes, splices, interesting
//!    integers such as 0, 0xFFFFFFFF and u64::MAX written over length fields, text tokens; for
//!    the JSON targets mostly JSON values, keys and whole lines swapped in) are run for
//!    `DRIFTBENCH_FUZZ_SECONDS` seconds (default 10) per target. The mutations come from a
//!    deterministic RNG: input `i` is a function of the seed (`DRIFTBENCH_FUZZ_SEED`, default
//!    fixed), `i` and the corpus files, so a failure can be reproduced.
//!
//! Every input runs under `catch_unwind`; one that panics, or that makes a single allocation
//! larger than [`SOFT_LIMIT`] (a length field trusted before it was checked against the input),
//! fails the test, with the target, seed, iteration and a temp file holding the input in the
//! message. Keep such a file in `fuzz/regressions/<target>/` once the bug is fixed.
//!
//! `cargo test --workspace fuzz_ -- --nocapture` shows how many inputs were tried.

// Each including test uses part of the harness (the seed check serves only some).
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

/// The cargo-fuzz project (`corpus/`, `regressions/`, `targets/`): the `fuzz` folder beside
/// the including crate or above it.
pub fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("fuzz"))
        .find(|d| d.join("corpus").is_dir())
        .expect("the fuzz folder with corpus/ above the crate")
}
/// Seconds of mutation per target unless `DRIFTBENCH_FUZZ_SECONDS` says otherwise.
const DEFAULT_SECONDS: f64 = 10.0;
/// Seed unless `DRIFTBENCH_FUZZ_SEED` (decimal or 0x-hex) says otherwise.
const DEFAULT_SEED: u64 = 0x6472_6966_7462_656e;
/// Largest mutated input.
const MAX_INPUT: usize = 1 << 20;
/// One allocation larger than this while a (small) input runs is a failure.
const SOFT_LIMIT: usize = 256 << 20;
/// Allocations larger than this are refused outright: the process then aborts, after
/// [`dump_current`] saved the input.
const HARD_LIMIT: usize = 4 << 30;

// ---------------------------------------------------------------------------------------------
// Allocation guard: remembers the largest allocation of the running input, and saves the input
// before an allocation too large to survive.

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static CURRENT: Cell<(*const u8, usize)> = const { Cell::new((std::ptr::null(), 0)) };
    static IN_TARGET: Cell<bool> = const { Cell::new(false) };
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

struct Guard;

#[global_allocator]
static GUARD: Guard = Guard;

/// Records an allocation of `size` bytes; false when it must be refused.
fn note_allocation(size: usize) -> bool {
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
    if size > HARD_LIMIT {
        dump_current();
        return false;
    }
    true
}

/// Writes the running input to a fixed temp file and says so on stderr. Only std: the
/// including crates need no dependency for it (a short path is made a C string on the stack,
/// `File` and stderr write unbuffered, so nothing allocates here; a small allocation would be
/// allowed anyway, only the oversized one is refused).
fn dump_current() {
    use std::io::Write;
    const PATH: &str = "/tmp/driftbench-fuzz-oversized.bin";
    const MSG: &[u8] =
        b"fuzz_replay: an input asked for an allocation over 4 GiB (a trusted length \
field?); the process aborts, the input is in /tmp/driftbench-fuzz-oversized.bin\n";
    let Ok((ptr, len)) = CURRENT.try_with(Cell::get) else {
        return;
    };
    if ptr.is_null() {
        return;
    }
    // SAFETY: `ptr`/`len` describe the input slice `run_one` is running, alive until it resets
    // CURRENT.
    let input = unsafe { std::slice::from_raw_parts(ptr, len) };
    if let Ok(mut file) = std::fs::File::create(PATH) {
        let _ = file.write_all(input);
    }
    let _ = std::io::stderr().write_all(MSG);
}

// SAFETY: every call is forwarded to `System` with the same arguments, or refused with null.
unsafe impl GlobalAlloc for Guard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !note_allocation(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !note_allocation(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !note_allocation(new_size) {
            return std::ptr::null_mut();
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

// ---------------------------------------------------------------------------------------------
// Running one input.

/// Panics inside a target are recorded for the report instead of printed; the harness's own
/// panics (failed assertions) print as usual.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if IN_TARGET.with(Cell::get) {
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".to_string());
                let location = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                PANIC.with(|p| *p.borrow_mut() = Some(format!("{message}{location}")));
            } else {
                default(info);
            }
        }));
    });
}

/// Runs `target` on `data`: `Err` with the panic message, or the oversized allocation.
fn run_one(target: fn(&[u8]), data: &[u8]) -> Result<(), String> {
    LARGEST.with(|l| l.set(0));
    CURRENT.with(|c| c.set((data.as_ptr(), data.len())));
    IN_TARGET.with(|t| t.set(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| target(data)));
    IN_TARGET.with(|t| t.set(false));
    CURRENT.with(|c| c.set((std::ptr::null(), 0)));
    let largest = LARGEST.with(Cell::get);
    match outcome {
        Err(_) => Err(format!(
            "panicked: {}",
            PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| "(no message)".to_string())
        )),
        Ok(()) if largest > SOFT_LIMIT => Err(format!(
            "made one allocation of {largest} bytes for an input of {} bytes",
            data.len()
        )),
        Ok(()) => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Mutation.

/// SplitMix64: tiny, seedable, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `0..n`; 0 when `n` is 0.
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Values that break length and count fields.
const INTERESTING: [u64; 16] = [
    0,
    1,
    2,
    0x7F,
    0x80,
    0xFF,
    0x7FFF,
    0xFFFF,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    0x1_0000_0000,
    1 << 40,
    i64::MAX as u64,
    1 << 63,
    u64::MAX,
];

/// Tokens of TOML and JSON that make text mutations reach further than random bytes.
const TOKENS: [&str; 34] = [
    "=",
    "[",
    "]",
    "{",
    "}",
    "[[",
    "]]",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    ",",
    ":",
    "\n",
    ".",
    "-1",
    "0",
    "1e300",
    "-1e300",
    "nan",
    "inf",
    "-inf",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "4294967296",
    "true",
    "null",
    "\\u0000",
    "\\ud800",
    "1979-05-27T07:32:00Z",
    "[backends.x]",
    "[tolerances.f16]",
    "{\"op\":\"decode\",\"tokens\":[],\"layout\":\"Aligned\"}",
];

/// One random edit of `data`; `pool` supplies splice partners.
fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, pool: &[Vec<u8>]) {
    let len = data.len();
    match rng.below(10) {
        // Flip one bit.
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        // Overwrite one byte.
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = rng.next() as u8;
        }
        // Insert random bytes.
        2 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            data.splice(at..at, bytes);
        }
        // Delete a range.
        3 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(32));
            data.drain(at..at + n);
        }
        // Splice: a prefix of this input and a suffix of another.
        4 => {
            let other = &pool[rng.below(pool.len())];
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        // An interesting integer, 1 to 8 bytes little-endian, often 4-aligned.
        5 | 6 => {
            let value = INTERESTING[rng.below(INTERESTING.len())];
            let width = [1, 2, 4, 8][rng.below(4)];
            let mut at = rng.below(len + 1);
            if rng.below(2) == 0 {
                at &= !3;
            }
            let bytes = &value.to_le_bytes()[..width];
            let end = (at + width).min(len);
            data.splice(at..end, bytes.iter().copied());
        }
        // Duplicate a chunk somewhere else.
        7 if len > 0 => {
            let from = rng.below(len);
            let n = 1 + rng.below((len - from).min(64));
            let chunk = data[from..from + n].to_vec();
            let at = rng.below(len + 1);
            data.splice(at..at, chunk);
        }
        // Insert or overwrite with a text token.
        8 => {
            let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
            let at = rng.below(len + 1);
            let end = if rng.below(2) == 0 {
                at
            } else {
                (at + token.len()).min(len)
            };
            data.splice(at..end, token.iter().copied());
        }
        // Truncate.
        _ => data.truncate(rng.below(len + 1)),
    }
}

/// Targets whose inputs are JSON text (a journal's lines, a bundle, two reports): most of their
/// edits replace one JSON scalar, rename a key or move whole lines, so the mutant still parses
/// and reaches the checks behind the parser.
const JSON_TARGETS: [&str; 3] = ["journal", "bundle", "diff"];

/// JSON values written over a scalar of a JSON input: extreme numbers, the non-finite
/// strings driftbench's floats take, other types, and names these files use.
const JSON_VALUES: [&str; 48] = [
    "0",
    "1",
    "-1",
    "0.5",
    "-0.0",
    "5e-324",
    "1e300",
    "-1e300",
    "1.7976931348623157e308",
    "1e999",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "\"NaN\"",
    "\"nan\"",
    "\"inf\"",
    "\"-inf\"",
    "\"Infinity\"",
    "null",
    "true",
    "false",
    "\"\"",
    "[]",
    "{}",
    "[0]",
    "\"f32\"",
    "\"f16\"",
    "\"bf16\"",
    "\"f64\"",
    "\"PASS_EQUIV\"",
    "\"FAIL_EQUIV\"",
    "\"EXPECTED_DRIFT\"",
    "\"FAIL_DRIFT\"",
    "\"INCOMPLETE\"",
    "\"SKIPPED\"",
    "\"PASS\"",
    "\"FAIL\"",
    "\"prefill\"",
    "\"decode\"",
    "\"noise_floor\"",
    "\"both\"",
    "\"a\\nb|c<d>&`e`\"",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"../x\"",
];

/// The scalars of JSON text (strings, numbers, `true`, `false`, `null`): byte range, and
/// whether it is an object key (a string followed by `:`). A rough scan, not a parser.
fn json_scalars(data: &[u8]) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let start = i;
        match data[i] {
            b'"' => {
                i += 1;
                while i < data.len() && data[i] != b'"' {
                    i += if data[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(data.len());
                let key = data[i..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b':');
                out.push((start, i, key));
            }
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                while i < data.len()
                    && matches!(data[i], b'-' | b'+' | b'.' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
                {
                    i += 1;
                }
                out.push((start, i, false));
            }
            _ => i += 1,
        }
    }
    out
}

/// The lines of `data`, each with its `\n`.
fn lines_of(data: &[u8]) -> Vec<Vec<u8>> {
    data.split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// One edit of JSON text that keeps it JSON more often than not; `pool` supplies values and
/// lines from other inputs.
fn mutate_json(rng: &mut Rng, data: &mut Vec<u8>, pool: &[Vec<u8>]) {
    let scalars = json_scalars(data);
    let pick = |rng: &mut Rng, keys: bool| {
        let of_kind: Vec<_> = scalars.iter().filter(|s| s.2 == keys).collect();
        (!of_kind.is_empty()).then(|| *of_kind[rng.below(of_kind.len())])
    };
    match rng.below(8) {
        // A value replaced by a hostile one.
        0..=2 => {
            let Some((a, b, _)) = pick(rng, false) else {
                return mutate_once(rng, data, pool);
            };
            let value = JSON_VALUES[rng.below(JSON_VALUES.len())].as_bytes();
            data.splice(a..b, value.iter().copied());
        }
        // A value (or key) replaced by one of another input, or of this one: real names,
        // tags and numbers in the wrong places, keys twice in one object.
        3..=5 => {
            let keys = rng.below(3) == 0;
            let Some((a, b, _)) = pick(rng, keys) else {
                return mutate_once(rng, data, pool);
            };
            let other = &pool[rng.below(pool.len())];
            let theirs: Vec<_> = json_scalars(other)
                .into_iter()
                .filter(|s| s.2 == keys)
                .collect();
            if theirs.is_empty() {
                return mutate_once(rng, data, pool);
            }
            let (c, d, _) = theirs[rng.below(theirs.len())];
            let value = other[c..d].to_vec();
            data.splice(a..b, value);
        }
        // Whole lines: one repeated, dropped, taken from another input, or two swapped.
        _ => {
            let mut lines = lines_of(data);
            if lines.is_empty() {
                return mutate_once(rng, data, pool);
            }
            let i = rng.below(lines.len());
            match rng.below(4) {
                0 => {
                    let line = lines[i].clone();
                    let at = rng.below(lines.len() + 1);
                    lines.insert(at, line);
                }
                1 => {
                    lines.remove(i);
                }
                2 => {
                    let theirs = lines_of(&pool[rng.below(pool.len())]);
                    if !theirs.is_empty() {
                        let line = theirs[rng.below(theirs.len())].clone();
                        lines.insert(rng.below(lines.len() + 1), line);
                    }
                }
                _ => {
                    let j = rng.below(lines.len());
                    lines.swap(i, j);
                }
            }
            // A line moved to the end may lack its `\n`: give every line but the last one.
            let n = lines.len();
            for line in lines.iter_mut().take(n.saturating_sub(1)) {
                if line.last() != Some(&b'\n') {
                    line.push(b'\n');
                }
            }
            *data = lines.concat();
        }
    }
}

/// The frames of a protocol stream (a trailing partial frame is dropped).
fn split_frames(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    while data.len() >= 4 {
        let n = u32::from_le_bytes(data[..4].try_into().unwrap()) as usize;
        if data.len() - 4 < n {
            break;
        }
        frames.push(data[4..4 + n].to_vec());
        data = &data[4 + n..];
    }
    frames
}

fn join_frames(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(frame);
    }
    out
}

/// Mutated input number `iteration` of `target` for `seed`: a pure function of these and `pool`.
fn mutant(target: &str, seed: u64, iteration: u64, pool: &[Vec<u8>]) -> Vec<u8> {
    let target_hash = target.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01B3)
    });
    let mut rng = Rng(seed ^ target_hash ^ iteration.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut data = pool[rng.below(pool.len())].clone();
    let max_edits = if rng.below(4) == 0 { 16 } else { 4 };
    let edits = 1 + rng.below(max_edits);
    // The protocol's JSON sits inside length-prefixed frames: half the time, edit one frame's
    // payload and fix the lengths up, so the decoders see mutated JSON rather than misframing.
    let frames = split_frames(&data);
    if target == "protocol" && !frames.is_empty() && rng.below(2) == 0 {
        let mut frames = frames;
        let pick = rng.below(frames.len());
        for _ in 0..edits {
            mutate_once(&mut rng, &mut frames[pick], pool);
        }
        data = join_frames(&frames);
    } else if JSON_TARGETS.contains(&target) {
        // Mostly structure-keeping edits, some raw ones.
        for _ in 0..edits {
            if rng.below(4) == 0 {
                mutate_once(&mut rng, &mut data, pool);
            } else {
                mutate_json(&mut rng, &mut data, pool);
            }
        }
    } else {
        for _ in 0..edits {
            mutate_once(&mut rng, &mut data, pool);
        }
    }
    data.truncate(MAX_INPUT);
    data
}

// ---------------------------------------------------------------------------------------------
// The harness.

/// The files of `dir` (none if it does not exist), sorted; dot files are skipped.
fn files_in(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.expect("read fuzz folder").path())
        .filter(|p| p.is_file())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}

fn env_seconds() -> f64 {
    match std::env::var("DRIFTBENCH_FUZZ_SECONDS") {
        Ok(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .unwrap_or_else(|| panic!("DRIFTBENCH_FUZZ_SECONDS={s:?}: expected seconds ≥ 0")),
        Err(_) => DEFAULT_SECONDS,
    }
}

fn env_seed() -> u64 {
    match std::env::var("DRIFTBENCH_FUZZ_SEED") {
        Ok(s) => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => s.parse().ok(),
            };
            parsed.unwrap_or_else(|| panic!("DRIFTBENCH_FUZZ_SEED={s:?}: expected a u64"))
        }
        Err(_) => DEFAULT_SEED,
    }
}

pub fn fuzz(target_name: &str, target: fn(&[u8])) {
    install_panic_hook();
    let fuzz_dir = fuzz_dir();
    let corpus = files_in(&fuzz_dir.join("corpus").join(target_name));
    let regressions = files_in(&fuzz_dir.join("regressions").join(target_name));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target_name}/ has no seed files"
    );

    // 1. Replay.
    let failures: Vec<String> = corpus
        .iter()
        .chain(&regressions)
        .filter_map(|(path, bytes)| {
            run_one(target, bytes)
                .err()
                .map(|e| format!("{}: {e}", path.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "fuzz target `{target_name}` failed on {} stored input(s):\n{}",
        failures.len(),
        failures.join("\n")
    );

    // 2. Mutate for a bounded time.
    let seed = env_seed();
    let budget = Duration::from_secs_f64(env_seconds());
    let pool: Vec<Vec<u8>> = corpus
        .into_iter()
        .chain(regressions.iter().cloned())
        .map(|(_, b)| b)
        .collect();
    let start = Instant::now();
    let mut tried = 0u64;
    while start.elapsed() < budget {
        let input = mutant(target_name, seed, tried, &pool);
        if let Err(e) = run_one(target, &input) {
            let file = std::env::temp_dir().join(format!(
                "driftbench-fuzz-{target_name}-seed{seed:x}-iter{tried}.bin"
            ));
            let saved = match std::fs::write(&file, &input) {
                Ok(()) => format!("input written to {}", file.display()),
                Err(err) => format!("could not write the input to {}: {err}", file.display()),
            };
            panic!(
                "fuzz target `{target_name}` {e}\n  on mutated input: DRIFTBENCH_FUZZ_SEED={seed:#x}, \
                 iteration {tried} ({} bytes); {saved}\n  reproduce: `cargo +nightly fuzz run \
                 {target_name} FILE` in fuzz/, and keep the file in fuzz/regressions/{target_name}/ \
                 once fixed",
                input.len()
            );
        }
        tried += 1;
    }
    println!(
        "fuzz_replay {target_name}: replayed {} corpus + {} regression files, then {tried} mutated \
         inputs in {:.1} s (seed {seed:#x}), no failure",
        pool.len() - regressions.len(),
        regressions.len(),
        start.elapsed().as_secs_f64()
    );
}

/// Check that `fuzz/corpus/<target>/<name>` holds `bytes` (the seeds are what this code makes:
/// a format change that leaves them stale fails); `DRIFTBENCH_WRITE_FUZZ_SEEDS=1` rewrites
/// the file instead.
pub fn check_seed(target: &str, name: &str, bytes: &[u8]) {
    let path = fuzz_dir().join("corpus").join(target).join(name);
    if std::env::var_os("DRIFTBENCH_WRITE_FUZZ_SEEDS").is_some() {
        std::fs::write(&path, bytes).unwrap();
    } else {
        let on_disk = std::fs::read(&path).unwrap_or_default();
        assert!(
            on_disk == bytes,
            "{} is stale: rerun with DRIFTBENCH_WRITE_FUZZ_SEEDS=1",
            path.display()
        );
    }
}
