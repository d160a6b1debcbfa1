//! `report.html` opened in a real headless Chromium: it renders, has the report's tables and
//! one inline `<svg>` per plot file, and the browser logs no console message (a script
//! error, a blocked or missing resource) while loading it. At 1400 px it leads with the
//! verdict grid, its comparison tables show verdict and reason without scrolling, FAIL cells
//! carry a class, the section anchors exist and each plot follows its section; screenshots
//! of it are kept under the target folder's `tmp/html_report/` and their paths printed.
//!
//! The page allows no script, so positions are measured in a test-only copy: the
//! Content-Security-Policy removed and a script added that writes its measurements into the
//! DOM, which `--dump-dom` returns.
//!
//! Without a Chromium the browser half is skipped with "skipped: no chromium: why", unless
//! `DRIFTBENCH_REQUIRE_BROWSER=1` (CI) makes that a failure. `DRIFTBENCH_CHROMIUM` names
//! the browser binary when it is not `chromium` (or `chromium-browser`, `google-chrome`) on
//! `PATH`.

use crate::common;
use common::{library, plugin_sweep, root, text};
use serde_json::Value;
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
    assert!(dom.contains("<td class=\"nonfinite\">NaN</td>"));
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

/// The width the layout checks and screenshots use: a laptop's browser window.
const WIDTH: u32 = 1400;

/// The page's Content-Security-Policy, as strict as it must stay: nothing loads, nothing
/// runs, only the inline stylesheet applies.
const CSP: &str = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
                   style-src 'unsafe-inline'\">\n";

/// The measuring script of the test-only copy: boxes of the verdict grid and of the
/// comparison tables' verdict and reason columns (each also clipped by the boxes that
/// scroll it), the order of headings and figures, FAIL cells' classes and in-page links,
/// as JSON in `<pre id="measurements">`.
const MEASURE: &str = r##"<script>
(() => {
  const box = e => { const r = e.getBoundingClientRect();
    return { left: r.left, top: r.top, right: r.right, bottom: r.bottom }; };
  const shown = e => { const b = box(e);
    for (let a = e.parentElement; a; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') { const c = box(a);
        b.left = Math.max(b.left, c.left); b.right = Math.min(b.right, c.right); } }
    return b; };
  const m = { width: innerWidth, height: innerHeight,
    scroll_width: document.documentElement.scrollWidth, order: [], columns: [], fails: [],
    links: [], grid: null };
  for (const e of document.querySelectorAll('h1,h2,h3,h4,figure'))
    m.order.push({ tag: e.tagName.toLowerCase(), id: e.id });
  for (const h of document.querySelectorAll('h3[id$="-comparison-results"]')) {
    let t = h.nextElementSibling;
    while (t && !/^H[1-4]$/.test(t.tagName) && !t.querySelector('table')) t = t.nextElementSibling;
    const table = t && t.querySelector('table');
    if (!table) continue;
    const heads = [...table.querySelectorAll('thead th')].map(th => th.textContent.trim());
    const first = table.querySelector('tbody tr');
    for (const name of ['verdict', 'reason']) {
      const k = heads.indexOf(name);
      if (k < 0) { m.columns.push({ section: h.id, name, missing: true }); continue; }
      for (const cell of [table.querySelectorAll('thead th')[k], first && first.children[k]])
        if (cell) m.columns.push({ section: h.id, name, box: box(cell), shown: shown(cell) });
    }
  }
  for (const td of document.querySelectorAll('td'))
    if (/^FAIL/.test(td.textContent.trim()))
      m.fails.push({ text: td.textContent.trim(), class: td.className });
  for (const a of document.querySelectorAll('a[href^="#"]')) {
    const id = a.getAttribute('href').slice(1);
    m.links.push({ id, found: document.getElementById(id) !== null });
  }
  const g = document.querySelector('#verdict-summary table');
  if (g) m.grid = { box: box(g), shown: shown(g),
    fail_cells: g.querySelectorAll('td.verdict-fail').length };
  const pre = document.createElement('pre');
  pre.id = 'measurements';
  pre.textContent = JSON.stringify(m);
  document.body.appendChild(pre);
})();
</script>"##;

/// A test-only copy of `page` (the Content-Security-Policy removed, `script` added at the
/// end of the body) written beside it as `name`.
fn scripted_copy(page: &Path, name: &str, script: &str) -> PathBuf {
    let html = std::fs::read_to_string(page).unwrap();
    assert!(html.contains(CSP), "the page's strict CSP is gone");
    let copy = html
        .replacen(CSP, "", 1)
        .replacen("</body>", &format!("{script}\n</body>"), 1);
    let path = page.with_file_name(name);
    std::fs::write(&path, copy).unwrap();
    path
}

/// A script that removes what comes before the section `id`, so a screenshot (which does
/// not follow a `#fragment`) shows that section at the top, laid out as on the page.
fn from_section(id: &str) -> String {
    format!(
        "<script>(() => {{ const t = document.getElementById('{id}'); \
         while (t && t.previousElementSibling) t.previousElementSibling.remove(); }})();\
         </script>"
    )
}

/// The JSON the measuring script left in `dom`.
fn measurements(dom: &str) -> Value {
    let start = dom
        .find("<pre id=\"measurements\">")
        .expect("no measurements: script failed");
    let json = &dom[start..];
    let json = &json[json.find('>').unwrap() + 1..json.find("</pre>").unwrap()];
    let json = json
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("no number {key} in {v}"))
}

/// Whether the box `b` is inside its visible part `shown` and the viewport `width` × `height`.
fn fully_visible(b: &Value, shown: &Value, width: f64, height: f64) -> bool {
    let eps = 0.5;
    num(b, "left") >= num(shown, "left") - eps
        && num(b, "right") <= num(shown, "right") + eps
        && num(b, "left") >= -eps
        && num(b, "right") <= width + eps
        && num(b, "top") >= -eps
        && num(b, "bottom") <= height + eps
}

/// The screenshot of `page` at [`WIDTH`] × 900 as `out/name`: a PNG that wide.
fn screenshot(browser: &Path, page: &Path, scratch: &Path, out: &Path, name: &str) -> PathBuf {
    let shot = out.join(name);
    let _ = std::fs::remove_file(&shot);
    let load = chromium(
        browser,
        page,
        scratch,
        &[
            format!("--screenshot={}", shot.display()),
            format!("--window-size={WIDTH},900"),
        ],
    );
    assert!(load.console().is_empty(), "{:#?}", load.console());
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 8_000,
        "{}",
        png.len()
    );
    // IHDR: width at bytes 16..20, big-endian.
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, WIDTH, "{}", shot.display());
    println!("screenshot: {}", shot.display());
    shot
}

/// The section a plot file illustrates, by its name: a backend's drift or latency plot,
/// or the cross-backend latency plots.
fn section_of(plot: &str) -> String {
    let stem = plot.trim_start_matches("plot-");
    if stem.starts_with("latency-backends-") {
        return "cross-backend-summary-mean-wall-time-per-backend".to_string();
    }
    if let Some(rest) = stem.strip_prefix("drift-") {
        let backend = &rest[..rest.rfind('-').unwrap()];
        return format!("backend-{backend}-drift-characterization-kv-aligned-0");
    }
    let backend = stem.strip_prefix("latency-").expect("a known plot");
    format!("backend-{backend}-performance-profiling")
}

#[test]
fn report_html_leads_with_the_answer_at_1400_px() {
    // NaN logits on the test plugin: FAIL pairs, every kind of plot.
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
    let page = out.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(CSP) && !html.contains("<script"),
        "a strict CSP, no script"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        !md.contains("class=") && !md.contains("verdict-fail"),
        "classes are HTML only"
    );

    let Some(browser) = browser_or_skip() else {
        return;
    };
    let measure = scripted_copy(&page, "measure.html", MEASURE);
    let load = chromium(
        &browser,
        &measure,
        dir.path(),
        &[
            format!("--window-size={WIDTH},900"),
            "--dump-dom".to_string(),
        ],
    );
    assert!(load.console().is_empty(), "{:#?}", load.console());
    let m = measurements(&load.dom);
    let (width, height) = (num(&m, "width"), num(&m, "height"));
    assert_eq!(width, f64::from(WIDTH), "{m}");
    assert!(
        num(&m, "scroll_width") <= width,
        "the page scrolls sideways: {m}"
    );

    // The verdict grid is on the first screen, whole, with a coloured FAIL.
    let grid = &m["grid"];
    assert!(
        fully_visible(&grid["box"], &grid["shown"], width, height),
        "the grid is not on the first screen: {grid}"
    );
    assert!(grid["fail_cells"].as_u64().unwrap() > 0, "{grid}");

    // Verdict and reason, header and first row, of every comparison table: on screen
    // horizontally, not behind the table's scroll.
    let columns = m["columns"].as_array().unwrap();
    assert_eq!(
        columns.len(),
        2 * 2 * 2,
        "2 backends × 2 columns × (header, row): {m}"
    );
    for c in columns {
        assert!(c["missing"].is_null(), "{c}");
        let mut b = c["box"].clone();
        // Only the horizontal position matters here: the table is further down the page.
        b["top"] = 0.into();
        b["bottom"] = 0.into();
        assert!(fully_visible(&b, &c["shown"], width, height), "hidden: {c}");
    }

    // FAIL cells carry the class.
    let fails = m["fails"].as_array().unwrap();
    assert!(!fails.is_empty(), "no FAIL cell: {m}");
    for f in fails {
        assert_eq!(f["class"], "verdict-fail", "{f}");
    }

    // Readable anchors, every in-page link resolving.
    let order = m["order"].as_array().unwrap();
    let ids: Vec<&str> = order.iter().map(|e| e["id"].as_str().unwrap()).collect();
    for id in [
        "global-verdict",
        "backend-flex",
        "backend-flex-comparison-results",
        "backend-testplugin-comparison-results",
        "backend-testplugin-drift-characterization-kv-aligned-0",
        "cross-backend-summary",
        "plots",
    ] {
        assert!(ids.contains(&id), "no #{id}: {ids:?}");
    }
    for l in m["links"].as_array().unwrap() {
        assert_eq!(l["found"], true, "a link without target: {l}");
    }

    // Each plot follows its section's heading, before any other heading.
    let mut heading = "";
    let mut figures = 0;
    for e in order {
        let id = e["id"].as_str().unwrap();
        if e["tag"] == "figure" {
            assert_eq!(heading, section_of(id), "{id} is not after its section");
            figures += 1;
        } else {
            heading = id;
        }
    }
    assert_eq!(figures, 10, "every plot, once: {ids:?}");

    // Screenshots to look at: the top, a comparison table, a drift section with its plots.
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html_report");
    std::fs::create_dir_all(&shots).unwrap();
    screenshot(&browser, &page, dir.path(), &shots, "report-top-1400.png");
    for (id, name) in [
        (
            "backend-testplugin-comparison-results",
            "report-comparison-1400.png",
        ),
        (
            "backend-testplugin-drift-characterization-kv-aligned-0",
            "report-drift-1400.png",
        ),
    ] {
        let copy = scripted_copy(&page, &format!("{id}.html"), &from_section(id));
        screenshot(&browser, &copy, dir.path(), &shots, name);
    }
}
