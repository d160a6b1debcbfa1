//! `report.html` opened in a real headless Chromium: it renders, has the report's tables and
//! one inline `<svg>` per plot file, and the browser logs no console message (a script
//! error, a blocked or missing resource) while loading it.
//!
//! Without a Chromium the browser half is skipped with "skipped: no chromium: why", unless
//! `DRIFTBENCH_REQUIRE_BROWSER=1` (CI) makes that a failure. `DRIFTBENCH_CHROMIUM` names
//! the browser binary when it is not `chromium` (or `chromium-browser`, `google-chrome`) on
//! `PATH`.

use crate::common;
use common::{library, plugin_sweep, root, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one browser launch may take before it is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

/// The Chromium to use, or why there is none.
fn browser() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("DRIFTBENCH_CHROMIUM") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("DRIFTBENCH_CHROMIUM={} is not a file", p.display()))
        };
    }
    let names = ["chromium", "chromium-browser", "google-chrome"];
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(format!(
        "none of {} on PATH (Debian: apt-get install -y chromium)",
        names.join(", ")
    ))
}

/// The browser, or `None` after printing why the browser checks are skipped; a failure
/// instead when `DRIFTBENCH_REQUIRE_BROWSER=1`.
fn browser_or_skip() -> Option<PathBuf> {
    match browser() {
        Ok(b) => Some(b),
        Err(why) if std::env::var("DRIFTBENCH_REQUIRE_BROWSER").as_deref() == Ok("1") => {
            panic!("DRIFTBENCH_REQUIRE_BROWSER=1 but no chromium: {why}")
        }
        Err(why) => {
            eprintln!("skipped: no chromium: {why}");
            None
        }
    }
}

/// What one headless load of a page produced.
struct Load {
    /// `--dump-dom`: the DOM after load, serialized.
    dom: String,
    /// Chromium's log (stderr).
    log: String,
}

impl Load {
    /// Console messages logged while loading. With `--enable-logging=stderr`, Chromium
    /// logs every console message of a page, whatever its level (`console.log`, `.error`,
    /// an uncaught exception, a resource blocked by the Content-Security-Policy), as
    /// `[pid:tid:time:INFO:CONSOLE:LINE] "message", source: URL (LINE)`; older versions write
    /// `CONSOLE(LINE)`. The level is not in the line, so any console message counts: the
    /// report has no script, and a clean load logs none. The browser's own log lines (D-Bus,
    /// GPU, sandbox warnings) are not console lines.
    fn console(&self) -> Vec<&str> {
        self.log
            .lines()
            .filter(|l| l.contains(":CONSOLE:") || l.contains(":CONSOLE("))
            .collect()
    }
}

/// Run headless Chromium on `page` with a fresh profile under `scratch`; `extra` adds
/// flags (e.g. `--dump-dom`, `--screenshot=`). Killed after [`BROWSER_TIMEOUT`].
fn chromium(browser: &Path, page: &Path, scratch: &Path, extra: &[String]) -> Load {
    let profile = tempfile::tempdir_in(scratch).unwrap();
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        // Root in a container has no user namespace for the sandbox.
        "--no-sandbox",
        "--disable-gpu",
        // Nothing may reach the network: the page must be self-contained anyway.
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(&url)
    // The profile, caches and config all inside the scratch folder, not the user's home.
    .env("HOME", profile.path())
    .env("XDG_CONFIG_HOME", profile.path())
    .env("XDG_CACHE_HOME", profile.path())
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start chromium");
    // Read both pipes on threads so a full pipe cannot stall the browser.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).ok();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).ok();
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > BROWSER_TIMEOUT {
            child.kill().ok();
            child.wait().ok();
            panic!(
                "chromium took over {BROWSER_TIMEOUT:?} on {url}; log:\n{}",
                err.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let load = Load {
        dom: out.join().unwrap(),
        log: err.join().unwrap(),
    };
    assert!(
        status.success(),
        "chromium failed ({status}) on {url}; log:\n{}",
        load.log
    );
    load
}

fn dump_dom() -> Vec<String> {
    vec!["--dump-dom".to_string()]
}

#[test]
fn the_console_detector_sees_script_errors_and_blocked_resources() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The same Content-Security-Policy as report.html: an external image is blocked, and
    // the block is a console message; scripts run here only because this page allows them.
    let page = dir.path().join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" \
         content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\
         <title>broken</title></head><body><p>broken on purpose</p>\
         <script>console.error('deliberate console error');</script>\
         <script>throw new Error('deliberate exception');</script>\
         <img src=\"https://example.invalid/x.png\"></body></html>",
    )
    .unwrap();
    let load = chromium(&browser, &page, dir.path(), &dump_dom());
    let console = load.console();
    let has = |needle: &str| console.iter().any(|l| l.contains(needle));
    assert!(
        has("deliberate console error"),
        "console.error not seen: {console:#?}\nlog:\n{}",
        load.log
    );
    assert!(has("Uncaught Error: deliberate exception"), "{console:#?}");
    assert!(
        has("example.invalid"),
        "blocked image not seen: {console:#?}"
    );
    assert!(load.dom.contains("broken on purpose"), "{}", load.dom);

    // And a clean page logs nothing.
    let clean = dir.path().join("clean.html");
    std::fs::write(&clean, "<!DOCTYPE html><title>ok</title><p>fine</p>").unwrap();
    let load = chromium(&browser, &clean, dir.path(), &dump_dom());
    assert!(load.console().is_empty(), "{:#?}", load.console());
}

#[test]
fn report_html_renders_with_tables_and_plots_in_chromium() {
    // Two backends, NaN logits on one of them: every kind of plot, NaN markers included.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cfg = root().join("configs/ci.toml");
    let lib = library("driftbench_test_plugin");
    let o = plugin_sweep(&cfg, &lib, &out)
        .env("DRIFTBENCH_TEST_PLUGIN_MODE", "nan")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "NaN fails the sweep:\n{}",
        text(&o)
    );

    // 2 backends × 3 dtypes drift plots, 2 latency plots, 2 cross-backend latency plots.
    let mut plots: Vec<String> = std::fs::read_dir(out.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    plots.sort();
    assert_eq!(plots.len(), 10, "{plots:?}");
    for d in ["f32", "f16", "bf16"] {
        for b in ["flex", "testplugin"] {
            assert!(plots.contains(&format!("drift-{b}-{d}.svg")), "{plots:?}");
        }
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for p in &plots {
        assert!(md.contains(&format!("](plots/{p})")), "report.md lacks {p}");
    }
    let html_path = out.join("report.html");
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(!html.contains("<script"), "no script needed");

    let Some(browser) = browser_or_skip() else {
        return;
    };
    let load = chromium(&browser, &html_path, dir.path(), &dump_dom());
    let console = load.console();
    assert!(console.is_empty(), "console messages: {console:#?}");
    let dom = &load.dom;
    assert_eq!(
        dom.matches("<svg").count(),
        plots.len(),
        "one inline svg per plot"
    );
    assert!(dom.matches("<table").count() >= 8, "tables missing");
    for heading in [
        "Global Verdict",
        "Comparison Results",
        "Drift Characterization",
        "Performance Profiling",
        "Cross-backend Summary",
        "Environment",
        "Plots",
    ] {
        assert!(dom.contains(heading), "the page lacks {heading}");
    }
    // The NaN of the test plugin shows in a table and as markers in its drift plots.
    assert!(dom.contains("<td class=\"bad\">NaN</td>"));
    assert!(dom.contains(">NaN/Inf</text>"));

    // Rendered to pixels: a real PNG of the page.
    let shot = dir.path().join("report.png");
    let load = chromium(
        &browser,
        &html_path,
        dir.path(),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400".to_string(),
        ],
    );
    assert!(load.console().is_empty(), "{:#?}", load.console());
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000,
        "{}",
        png.len()
    );
}

/// Text a plugin controls (its device name, its error messages) reaches report.html as text:
/// no script, no element with an event handler, no link out of the report, no remote image,
/// and the browser logs nothing (a blocked inline script or resource would be logged).
#[test]
fn html_and_links_from_a_plugin_stay_text_in_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cfg = root().join("configs/ci.toml");
    let lib = library("driftbench_test_plugin");
    let o = plugin_sweep(&cfg, &lib, &out)
        .env("DRIFTBENCH_TEST_PLUGIN_MODE", "html")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(3),
        "decode errors: INCOMPLETE\n{}",
        text(&o)
    );
    let html_path = out.join("report.html");
    let html = std::fs::read_to_string(&html_path).unwrap();
    let check = |page: &str, what: &str| {
        for live in [
            "<script",
            "<svg onload",
            "href=\"javascript",
            "href=\"//",
            "href=\"http",
            "<img",
        ] {
            assert!(!page.contains(live), "{what} holds `{live}`");
        }
        for shown in ["alert(1)", "alert(2)", "elsewhere"] {
            assert!(page.contains(shown), "{what} lacks the text `{shown}`");
        }
    };
    check(&html, "report.html");
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let load = chromium(&browser, &html_path, dir.path(), &dump_dom());
    assert!(load.console().is_empty(), "{:#?}", load.console());
    check(&load.dom, "the page's DOM");
}
