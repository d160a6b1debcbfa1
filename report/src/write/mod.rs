//! Writing the report files atomically: `plots/*.svg`, `report.html`, `report.json`,
//! `pairs.csv`, `performance.csv` and `report.md`.

mod atomic;

use crate::model::Report;
use crate::render::csv::{pairs_csv, performance_csv, PAIRS_CSV, PERFORMANCE_CSV};
use crate::render::html::html_from_markdown;
use crate::render::markdown::markdown_with_plots;
use crate::render::plots::report_plots;
use atomic::write_atomic;
use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

/// Write `plots/*.svg`, `report.html`, `report.json`, `pairs.csv`, `performance.csv` and
/// `report.md` into `dir`, each through a temporary file in its folder renamed over the
/// target, so a reader never sees a half-written file. Plots go first, so the pages that
/// show them never point at a missing one; SVG files of an earlier report that this one no
/// longer has are removed.
pub fn write_reports(dir: &Path, r: &Report) -> io::Result<()> {
    let plots = report_plots(r);
    let plot_dir = dir.join("plots");
    if !plots.is_empty() {
        std::fs::create_dir_all(&plot_dir)?;
    }
    for p in &plots {
        write_atomic(&plot_dir, &p.file, p.svg.as_bytes())?;
    }
    remove_stale_plots(&plot_dir, plots.iter().map(|p| p.file.as_str()).collect())?;
    // One markdown rendering and one set of plots serve report.md and report.html.
    let md = markdown_with_plots(r, &plots);
    write_atomic(
        dir,
        "report.html",
        html_from_markdown(r, &md, &plots).as_bytes(),
    )?;
    let json = serde_json::to_string_pretty(r).map_err(io::Error::other)?;
    write_atomic(dir, "report.json", json.as_bytes())?;
    write_csv(dir, r)?;
    write_atomic(dir, "report.md", md.as_bytes())
}

/// Write `pairs.csv` and `performance.csv` into `dir` atomically; returns their paths.
pub fn write_csv(dir: &Path, r: &Report) -> io::Result<[PathBuf; 2]> {
    write_atomic(dir, PAIRS_CSV, pairs_csv(r).as_bytes())?;
    write_atomic(dir, PERFORMANCE_CSV, performance_csv(r).as_bytes())?;
    Ok([dir.join(PAIRS_CSV), dir.join(PERFORMANCE_CSV)])
}

/// Folder of the BMF documents, one `<machine>.json` per testbed.
pub const BMF_DIR: &str = "bmf";

/// Write the BMF documents of `r`, built from `records`, into `dir/bmf/` (see
/// [`crate::render::bmf`]); returns the files and the values left out.
pub fn write_bmf(
    dir: &Path,
    r: &Report,
    records: &[driftbench_sweep::records::Record],
) -> io::Result<(Vec<PathBuf>, Vec<String>)> {
    let doc = crate::render::bmf::bmf(r, records);
    let folder = dir.join(BMF_DIR);
    std::fs::create_dir_all(&folder)?;
    let mut files = Vec::new();
    for (machine, value) in &doc.testbeds {
        let name = format!("{machine}.json");
        let mut text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        text.push('\n');
        write_atomic(&folder, &name, text.as_bytes())?;
        files.push(folder.join(name));
    }
    Ok((files, doc.left_out))
}

/// Remove the `.svg` files of `plot_dir` not in `keep` (a report rewritten from a journal
/// that has fewer backends or dtypes than before), and the folder when that empties it.
/// Other files are left alone.
fn remove_stale_plots(plot_dir: &Path, keep: BTreeSet<&str>) -> io::Result<()> {
    let entries = match std::fs::read_dir(plot_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in entries {
        let e = e?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(".svg") && !keep.contains(name) && e.file_type()?.is_file() {
            std::fs::remove_file(e.path())?;
        }
    }
    if keep.is_empty() {
        // Fails harmlessly when something else lives there.
        let _ = std::fs::remove_dir(plot_dir);
    }
    Ok(())
}
