//! Hostile plugins (issue 8): a plugin that lies about its output, its vocab or its probe,
//! crashes or hangs in its entry point, open or probe, floods or corrupts its pipes, forks a
//! child holding them, or writes markdown and ANSI escapes, costs only its own pairs (with an
//! honest INCOMPLETE and its reason), never fools the verdict, and leaves no process behind.
//!
//! Each test copies the test plugin into a fresh temporary folder: every process that loads it
//! (workers, their forked children) names that folder on its command line, so a process left
//! over after driftbench exits is found by scanning `/proc/*/cmdline` (and killed, by pid, so a
//! failing test leaves nothing behind either).

#![cfg(target_os = "linux")]

use crate::common;
use common::{artifacts, driftbench, journal, library, pairs, plugin_sweep, root, text};
use serde_json::Value;
use std::ffi::c_long;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// How long any one driftbench command may take before the test kills it and fails.
const GUARD: Duration = Duration::from_secs(120);

/// `struct rusage` of Linux (two `timeval`s, then 14 `long`s starting with `ru_maxrss`).
#[repr(C)]
#[derive(Default)]
struct Rusage {
    ru_utime: [c_long; 2],
    ru_stime: [c_long; 2],
    ru_maxrss: c_long,
    rest: [c_long; 13],
}

extern "C" {
    fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut Rusage) -> i32;
}

const WNOHANG: i32 = 1;

/// A finished (or killed) driftbench command.
struct Ran {
    out: Output,
    /// It ran past its limit and was killed.
    timed_out: bool,
    /// Wall time.
    wall: Duration,
    /// Peak resident set (KiB) of driftbench and every descendant it reaped (its workers):
    /// `wait4`'s rusage of this one child, the number `getrusage(RUSAGE_CHILDREN)` would
    /// give if this test binary ran nothing else.
    maxrss_kib: c_long,
}

impl Ran {
    fn code(&self) -> Option<i32> {
        self.out.status.code()
    }
    /// The output and how the command ended, for failure messages.
    fn ctx(&self) -> String {
        format!(
            "status {:?}{}, {:.1}s; output:\n{}",
            self.out.status,
            if self.timed_out {
                " (killed by the test: ran too long)"
            } else {
                ""
            },
            self.wall.as_secs_f64(),
            text(&self.out)
        )
    }
}

/// A file's bytes, the middle cut out when it is large (a flood of stderr).
fn read_capped(p: &Path) -> Vec<u8> {
    const KEEP: usize = 1 << 20;
    let b = std::fs::read(p).unwrap_or_default();
    if b.len() <= 2 * KEEP {
        return b;
    }
    let mut v = b[..KEEP].to_vec();
    v.extend_from_slice(format!("\n[... {} bytes cut ...]\n", b.len() - 2 * KEEP).as_bytes());
    v.extend_from_slice(&b[b.len() - KEEP..]);
    v
}

/// Run `cmd` with stdout and stderr in files of `dir`; kill it after `limit`.
fn run_guarded(mut cmd: Command, dir: &Path, limit: Duration) -> Ran {
    let so = dir.join("cmd-stdout.txt");
    let se = dir.join("cmd-stderr.txt");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&so).unwrap())
        .stderr(std::fs::File::create(&se).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let start = Instant::now();
    let mut status = 0i32;
    let mut usage = Rusage::default();
    let mut timed_out = false;
    loop {
        // SAFETY: `status` and `usage` are live and of the C layout wait4 expects; `pid` is
        // our own child, reaped only here.
        let r = unsafe { wait4(pid, &mut status, WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4: {}", std::io::Error::last_os_error());
        if start.elapsed() > limit {
            timed_out = true;
            kill(pid as u32);
            // SAFETY: as above, blocking this time.
            let r = unsafe { wait4(pid, &mut status, 0, &mut usage) };
            assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = start.elapsed();
    drop(child);
    Ran {
        out: Output {
            status: ExitStatus::from_raw(status),
            stdout: read_capped(&so),
            stderr: read_capped(&se),
        },
        timed_out,
        wall,
        maxrss_kib: usage.ru_maxrss,
    }
}

fn kill(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Live (non-zombie) processes whose command line mentions `needle`, with that line.
fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
    let me = std::process::id();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()) {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me || is_gone(pid) {
            continue;
        }
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(needle) {
            found.push((pid, cmd));
        }
    }
    found
}

/// `/proc/PID` is absent, or the process is a zombie (state `Z`: exited, not reaped yet).
fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .map(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X'))
            .unwrap_or(false),
    }
}

/// No process mentioning `dir` may remain (after `grace`); whatever does is killed, then the
/// test fails with `ctx`.
fn assert_no_leftovers(dir: &Path, grace: Duration, ctx: &str) {
    let needle = dir.to_str().unwrap();
    let deadline = Instant::now() + grace;
    loop {
        let left = processes_mentioning(needle);
        if left.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            for (pid, _) in &left {
                kill(*pid);
            }
            panic!("processes left behind (killed now): {left:?}\n{ctx}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A fresh folder with a copy of the test plugin named `file`.
fn plugin_copy(file: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join(file);
    std::fs::copy(library("driftbench_test_plugin"), &lib).unwrap();
    (dir, lib)
}

fn dll(stem: &str) -> String {
    format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// `configs/ci.toml` with `extra` lines added to its `[sweep]` table, written in `dir`.
fn ci_config(dir: &Path, extra: &str) -> PathBuf {
    let ci = std::fs::read_to_string(root().join("configs/ci.toml")).unwrap();
    assert!(ci.contains("\n[sweep]\n"));
    let text = ci.replacen("\n[sweep]\n", &format!("\n[sweep]\n{extra}\n"), 1);
    common::write_config(dir, "hostile.toml", &text)
}

/// `driftbench ARGS` with the test plugin's variables cleared, `mode` set.
fn cmd(args: &[&str], mode: &str) -> Command {
    let mut c = driftbench(args);
    c.env_remove("DRIFTBENCH_TEST_PLUGIN_PIDFILE")
        .env_remove("DRIFTBENCH_TEST_PLUGIN_NAME")
        .env("DRIFTBENCH_TEST_PLUGIN_MODE", mode);
    c
}

/// What a sweep left.
struct Swept {
    ran: Ran,
    recs: Vec<Value>,
    md: Option<String>,
    json: bool,
    ctx: String,
}

/// `sweep CONFIG --plugin LIB --backend testplugin,flex [extra]` in `dir`, the plugin in
/// `mode`; checks that no process is left behind.
fn sweep_with(
    dir: &Path,
    lib: &Path,
    mode: &str,
    config: &Path,
    extra: &[&str],
    limit: Duration,
) -> Swept {
    let out = dir.join("out");
    let mut c = plugin_sweep(config, lib, &out);
    c.args(extra)
        .env_remove("DRIFTBENCH_TEST_PLUGIN_PIDFILE")
        .env_remove("DRIFTBENCH_TEST_PLUGIN_NAME")
        .env("DRIFTBENCH_TEST_PLUGIN_MODE", mode);
    let ran = run_guarded(c, dir, limit);
    finish(dir, &out, ran)
}

fn finish(dir: &Path, out: &Path, ran: Ran) -> Swept {
    let ctx = ran.ctx();
    assert_no_leftovers(dir, Duration::from_secs(1), &ctx);
    assert!(!ran.timed_out, "{ctx}");
    let recs = journal(out, &ctx);
    let md = std::fs::read_to_string(out.join("report.md")).ok();
    let json = out.join("report.json").is_file();
    Swept {
        ran,
        recs,
        md,
        json,
        ctx,
    }
}

/// The test plugin in `mode` on `configs/ci.toml` (plus `extra_config` under `[sweep]`).
fn sweep_mode(mode: &str, extra_config: &str, extra_args: &[&str]) -> Swept {
    let (dir, lib) = plugin_copy(&dll("driftbench_test_plugin"));
    let cfg = ci_config(dir.path(), extra_config);
    sweep_with(dir.path(), &lib, mode, &cfg, extra_args, GUARD)
}

/// Every pair of `backend` (12 in ci.toml) is INCOMPLETE with `needle` in its reason.
fn assert_incomplete(s: &Swept, backend: &str, needle: &[&str]) {
    let t = pairs(&s.recs, backend);
    assert_eq!(
        t.len(),
        12,
        "every pair of {backend} is recorded\n{}",
        s.ctx
    );
    for p in &t {
        assert_eq!(p["verdict"], "INCOMPLETE", "{p}\n{}", s.ctx);
        let why = p["reason"].as_str().unwrap_or_default();
        assert!(
            needle.iter().any(|n| why.contains(n)),
            "none of {needle:?} in `{why}`\n{}",
            s.ctx
        );
    }
}

/// flex's 12 pairs are all there and pass.
fn assert_flex_intact(recs: &[Value], ctx: &str) {
    let f = pairs(recs, "flex");
    assert_eq!(f.len(), 12, "flex pairs recorded\n{ctx}");
    assert!(
        f.iter()
            .all(|p| p["verdict"] == "PASS_EQUIV" || p["verdict"] == "EXPECTED_DRIFT"),
        "flex results intact: {f:?}\n{ctx}"
    );
}

// ---- False verdicts: output the plugin never wrote ----

fn check_unwritten(mode: &str, in_process: bool) {
    let extra: &[&str] = if in_process { &["--in-process"] } else { &[] };
    let s = sweep_mode(mode, "", extra);
    assert_eq!(s.ran.code(), Some(3), "INCOMPLETE exits 3\n{}", s.ctx);
    assert_incomplete(&s, "testplugin", &["unwritten"]);
    assert_flex_intact(&s.recs, &s.ctx);
    assert!(s.md.is_some(), "report.md written\n{}", s.ctx);
}

#[test]
fn unwritten_decode_is_incomplete() {
    check_unwritten("unwritten-decode", false);
}

#[test]
fn unwritten_decode_is_incomplete_in_process() {
    check_unwritten("unwritten-decode", true);
}

#[test]
fn partial_decode_is_incomplete() {
    check_unwritten("partial-decode", false);
}

#[test]
fn partial_decode_is_incomplete_in_process() {
    check_unwritten("partial-decode", true);
}

// ---- A session's vocab ----

fn check_vocab(mode: &str, in_process: bool) {
    let extra: &[&str] = if in_process { &["--in-process"] } else { &[] };
    let s = sweep_mode(mode, "", extra);
    assert_eq!(s.ran.code(), Some(3), "INCOMPLETE exits 3\n{}", s.ctx);
    assert_incomplete(&s, "testplugin", &["vocab"]);
    assert_flex_intact(&s.recs, &s.ctx);
    assert!(
        s.md.is_some() && s.json,
        "report.md and report.json\n{}",
        s.ctx
    );
}

#[test]
fn vocab_zero_costs_only_its_pairs() {
    check_vocab("vocab-zero", false);
}

#[test]
fn vocab_huge_costs_only_its_pairs() {
    check_vocab("vocab-huge", false);
}

#[test]
fn vocab_giant_costs_only_its_pairs() {
    check_vocab("vocab-giant", false);
}

#[test]
fn vocab_giant_costs_only_its_pairs_in_process() {
    check_vocab("vocab-giant", true);
}

// ---- Entry points that crash, exit or hang ----

/// A folder holding the test plugin as the discoverable `evil` backend.
fn evil() -> (tempfile::TempDir, PathBuf) {
    plugin_copy(&dll("driftbench_backend_evil"))
}

/// `sweep CONFIG --backend BACKENDS` with `dir` (holding `evil`) on the plugin path.
fn sweep_discovered(dir: &Path, config: &Path, backends: &str, mode: &str) -> Swept {
    let out = dir.join("out");
    let args = [
        "sweep",
        config.to_str().unwrap(),
        "--backend",
        backends,
        "--out",
        out.to_str().unwrap(),
    ];
    let mut c = cmd(&args, mode);
    c.env("DRIFTBENCH_PLUGIN_PATH", dir);
    finish(dir, &out, run_guarded(c, dir, GUARD))
}

/// The entry point misbehaves in a discovered plugin nobody selected: the sweep and
/// `driftbench plugins` are unharmed, and the table says what happened to `evil`.
fn check_entry_unselected(mode: &str, reason: &[&str]) {
    let (dir, _lib) = evil();
    let s = sweep_discovered(dir.path(), &root().join("configs/ci.toml"), "flex", mode);
    assert_eq!(s.ran.code(), Some(0), "flex alone passes\n{}", s.ctx);
    assert_flex_intact(&s.recs, &s.ctx);

    let mut args = vec!["plugins"];
    if mode == "entry-hang" {
        args.extend(["--open-timeout", "3"]);
    }
    let mut c = cmd(&args, mode);
    c.env("DRIFTBENCH_PLUGIN_PATH", dir.path());
    let ran = run_guarded(c, dir.path(), GUARD);
    let ctx = ran.ctx();
    assert_no_leftovers(dir.path(), Duration::from_secs(1), &ctx);
    assert!(!ran.timed_out, "{ctx}");
    assert_eq!(ran.code(), Some(0), "{ctx}");
    let t = text(&ran.out);
    assert!(t.contains("flex"), "flex listed\n{ctx}");
    let evil_lines: Vec<&str> = t.lines().filter(|l| l.contains("evil")).collect();
    assert!(!evil_lines.is_empty(), "evil listed\n{ctx}");
    assert!(
        t.to_lowercase().contains("not loaded") || t.to_lowercase().contains("fail"),
        "evil listed as not loaded\n{ctx}"
    );
    assert!(
        reason.iter().any(|r| t.contains(r)),
        "none of {reason:?} in the table\n{ctx}"
    );
}

/// The same plugin selected: its pairs are INCOMPLETE with the reason, flex's are intact.
fn check_entry_selected(mode: &str, reason: &[&str]) {
    let (dir, _lib) = evil();
    let cfg = ci_config(dir.path(), "open_timeout_s = 3");
    let s = sweep_discovered(dir.path(), &cfg, "evil,flex", mode);
    assert_eq!(s.ran.code(), Some(3), "INCOMPLETE exits 3\n{}", s.ctx);
    assert_incomplete(&s, "evil", reason);
    assert_flex_intact(&s.recs, &s.ctx);
}

const SEGV: &[&str] = &["signal 11", "SIGSEGV"];
const EXITED: &[&str] = &["exited"];
const TIMED_OUT: &[&str] = &["timed out"];

#[test]
fn entry_segfault_unselected_harms_nothing() {
    check_entry_unselected("entry-segfault", SEGV);
}

#[test]
fn entry_exit_unselected_harms_nothing() {
    check_entry_unselected("entry-exit", EXITED);
}

#[test]
fn entry_hang_unselected_harms_nothing() {
    check_entry_unselected("entry-hang", TIMED_OUT);
}

#[test]
fn entry_segfault_selected_is_incomplete() {
    check_entry_selected("entry-segfault", SEGV);
}

#[test]
fn entry_exit_selected_is_incomplete() {
    check_entry_selected("entry-exit", EXITED);
}

#[test]
fn entry_hang_selected_times_out() {
    check_entry_selected("entry-hang", TIMED_OUT);
}

// ---- Open and probe ----

fn check_hang(mode: &str) {
    let s = sweep_mode(mode, "open_timeout_s = 3", &[]);
    assert_eq!(s.ran.code(), Some(3), "INCOMPLETE exits 3\n{}", s.ctx);
    assert_incomplete(&s, "testplugin", TIMED_OUT);
    assert_flex_intact(&s.recs, &s.ctx);
}

#[test]
fn open_hang_times_out() {
    check_hang("open-hang");
}

#[test]
fn probe_hang_times_out() {
    check_hang("probe-hang");
}

fn check_bad_probe(mode: &str) {
    let s = sweep_mode(mode, "", &[]);
    assert_eq!(
        s.ran.code(),
        Some(3),
        "a broken probe is INCOMPLETE (exit 3), not SKIPPED\n{}",
        s.ctx
    );
    assert_incomplete(&s, "testplugin", &["probe"]);
    assert_flex_intact(&s.recs, &s.ctx);
}

#[test]
fn probe_panic_is_incomplete_not_skipped() {
    check_bad_probe("probe-panic");
}

#[test]
fn probe_bad_json_is_incomplete_not_skipped() {
    check_bad_probe("probe-badjson");
}

// ---- stderr ----

fn assert_all_ran(s: &Swept) {
    let t = pairs(&s.recs, "testplugin");
    assert_eq!(t.len(), 12, "{}", s.ctx);
    assert!(
        t.iter().all(|p| p["verdict"] != "INCOMPLETE"),
        "no testplugin pair INCOMPLETE: {t:?}\n{}",
        s.ctx
    );
    assert_eq!(s.ran.code(), Some(0), "{}", s.ctx);
}

#[test]
fn binary_stderr_costs_nothing() {
    let s = sweep_mode("stderr-binary", "", &[]);
    assert_all_ran(&s);
    assert_flex_intact(&s.recs, &s.ctx);
}

#[test]
fn endless_stderr_line_costs_bounded_memory() {
    let s = sweep_mode("stderr-endless", "", &[]);
    assert_all_ran(&s);
    assert_flex_intact(&s.recs, &s.ctx);
    // The worker writes 512 MiB without a newline. The old host read stderr line by line
    // and buffered that whole line (over 512 MiB of host memory, 4.2 GB for 2 GiB written);
    // a host that bounds line length and the retained tail stays far below. The plugin
    // writes from one 64 KiB buffer, so the worker itself stays small too.
    let limit_kib: c_long = 256 * 1024;
    assert!(
        s.ran.maxrss_kib > 0 && s.ran.maxrss_kib < limit_kib,
        "peak RSS of driftbench and its workers {} KiB, limit {limit_kib} KiB\n{}",
        s.ran.maxrss_kib,
        s.ctx
    );
}

// ---- The protocol channel ----

#[test]
fn garbage_frame_is_a_protocol_error() {
    // No timeout_s: the host must reject the frame, not wait for 4 GiB that never come.
    let s = sweep_mode("garbage-frame", "", &[]);
    assert_eq!(s.ran.code(), Some(3), "INCOMPLETE exits 3\n{}", s.ctx);
    assert_incomplete(&s, "testplugin", &["frame"]);
    assert_flex_intact(&s.recs, &s.ctx);
}

#[test]
fn a_forked_child_holding_the_pipes_does_not_hide_the_exit() {
    let (dir, lib) = plugin_copy(&dll("driftbench_test_plugin"));
    let pidfile = dir.path().join("children.pid");
    let cfg = ci_config(dir.path(), "");
    let out = dir.path().join("out");
    let mut c = plugin_sweep(&cfg, &lib, &out);
    c.env_remove("DRIFTBENCH_TEST_PLUGIN_NAME")
        .env("DRIFTBENCH_TEST_PLUGIN_MODE", "fork-hold")
        .env("DRIFTBENCH_TEST_PLUGIN_PIDFILE", &pidfile);
    // Each child sleeps 60 s: a sweep that waits for the pipes to close takes at least that
    // long per worker. 45 s is a hang check, not a speed check.
    let ran = run_guarded(c, dir.path(), Duration::from_secs(45));
    let ctx = ran.ctx();
    let pids: Vec<u32> = std::fs::read_to_string(&pidfile)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    // The forked children are gone once driftbench is: killed with their worker's group.
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut alive: Vec<u32> = pids.clone();
    while !alive.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        alive.retain(|p| !is_gone(*p));
    }
    for p in &alive {
        kill(*p);
    }
    assert_no_leftovers(dir.path(), Duration::from_secs(1), &ctx);
    assert!(
        alive.is_empty(),
        "forked children {alive:?} outlived driftbench (killed now)\n{ctx}"
    );
    assert!(!ran.timed_out, "the sweep waited for the children\n{ctx}");
    assert!(
        !pids.is_empty(),
        "the plugin forked (no pid written)\n{ctx}"
    );
    let s = finish(dir.path(), &out, ran);
    assert_eq!(s.ran.code(), Some(3), "INCOMPLETE exits 3\n{}", s.ctx);
    assert_incomplete(&s, "testplugin", &["exited with code 3"]);
    assert_flex_intact(&s.recs, &s.ctx);
}

// ---- Text from plugins ----

#[test]
fn markdown_and_ansi_from_a_plugin_are_escaped() {
    let s = sweep_mode("markdown", "", &[]);
    let md =
        s.md.clone()
            .unwrap_or_else(|| panic!("no report.md\n{}", s.ctx));
    assert!(
        !md.lines().any(|l| l.starts_with("# Fake heading")),
        "a plugin's text made a heading in report.md:\n{md}\n{}",
        s.ctx
    );
    assert!(!md.contains('\x1b'), "ANSI escape in report.md:\n{md:?}");
    assert!(
        !s.ran.out.stdout.contains(&0x1b) && !s.ran.out.stderr.contains(&0x1b),
        "ANSI escape on the terminal:\n{:?}",
        s.ctx
    );
}

// ---- Shadowing ----

/// `text` names `p` (as given, or canonical).
fn names(text: &str, p: &Path) -> bool {
    text.contains(p.to_str().unwrap())
        || p.canonicalize()
            .is_ok_and(|c| text.contains(c.to_str().unwrap()))
}

#[test]
fn a_plugin_shadowing_another_is_a_warning_naming_both() {
    let flex_file = dll("driftbench_backend_flex");
    let (dir, copy) = plugin_copy(&flex_file);
    let real = artifacts().join(&flex_file);
    assert!(real.is_file(), "{} not built", real.display());
    let is_warning =
        |t: &str| t.to_lowercase().contains("warning") && names(t, &copy) && names(t, &real);

    let mut c = cmd(&["plugins"], "ok");
    c.env("DRIFTBENCH_PLUGIN_PATH", dir.path())
        .env("DRIFTBENCH_TEST_PLUGIN_NAME", "flex");
    let ran = run_guarded(c, dir.path(), GUARD);
    let ctx = ran.ctx();
    assert_no_leftovers(dir.path(), Duration::from_secs(1), &ctx);
    assert!(!ran.timed_out, "{ctx}");
    assert!(
        is_warning(&text(&ran.out)),
        "`plugins` warns, naming {} and {}\n{ctx}",
        copy.display(),
        real.display()
    );

    let out = dir.path().join("out");
    let cfg = root().join("configs/ci.toml");
    let mut c = cmd(
        &[
            "sweep",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        "ok",
    );
    c.env("DRIFTBENCH_PLUGIN_PATH", dir.path())
        .env("DRIFTBENCH_TEST_PLUGIN_NAME", "flex");
    let ran = run_guarded(c, dir.path(), GUARD);
    let ctx = ran.ctx();
    assert_no_leftovers(dir.path(), Duration::from_secs(1), &ctx);
    assert!(!ran.timed_out, "{ctx}");
    assert!(
        is_warning(&String::from_utf8_lossy(&ran.out.stderr)),
        "`sweep` warns on stderr, naming {} and {}\n{ctx}",
        copy.display(),
        real.display()
    );
}
