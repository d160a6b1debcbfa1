//! `driftbench plugins`: what was found and what each probe says. Each plugin is started
//! in a worker (or, with `--in-process`, here): a plugin whose entry point crashes, exits
//! or hangs is listed with the reason, and the others still are.

use crate::args::PluginArgs;
use crate::backends::{self, Isolation};
use crate::text::terminal;
use anyhow::Result;
use comfy_table::{ContentArrangement, Table};
use driftbench_core::probe::Probe;
use driftbench_plugin_host::PluginCandidate;
use std::io::IsTerminal;

/// Width of the table when standard output is not a terminal and `COLUMNS` is not set.
const PIPED_WIDTH: u16 = 80;

/// What one plugin file gave: its name, ABI and probe, or why it did not load.
struct Listed {
    name: String,
    candidate: PluginCandidate,
    abi: Option<String>,
    probe: Result<Probe, String>,
}

/// Print the plugin table (or, with `json`, every probe as one JSON document). Exit 2 when
/// no plugin loaded.
pub fn run(plugins: &PluginArgs, json: bool) -> Result<i32> {
    let found = backends::find(&plugins.plugins)?;
    for w in &found.warnings {
        eprintln!("warning: {}", terminal(w));
    }
    let isolation = Isolation::new(plugins.in_process, plugins.open_timeout, None);
    let listed: Vec<Listed> = found
        .candidates
        .iter()
        .map(|c| start(c, &isolation))
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&to_json(&listed))?);
    } else {
        println!("{}", table(&listed, width()));
        for l in &listed {
            println!(
                "{}: {} ({})",
                terminal(&l.name),
                l.candidate.path.display(),
                l.candidate.origin
            );
        }
        println!("searched: --plugin paths, {}", found.searched_text());
    }
    let usable = listed.iter().filter(|l| l.probe.is_ok()).count();
    Ok(if usable == 0 { 2 } else { 0 })
}

/// Start `c` and keep what its probe said (the backend itself is dropped: its worker ends).
fn start(c: &PluginCandidate, isolation: &Isolation) -> Listed {
    let s = backends::start(c, isolation);
    let name = c
        .name_hint
        .clone()
        .or_else(|| s.reported.clone())
        .unwrap_or_else(|| "?".into());
    Listed {
        name,
        candidate: c.clone(),
        abi: s.abi,
        probe: s.result.map(|(_, probe)| probe),
    }
}

/// The terminal's width: `COLUMNS` where set (shells export it), else the terminal's own
/// width through comfy-table, else [`PIPED_WIDTH`].
fn width() -> u16 {
    if let Some(w) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<u16>().ok())
        .filter(|w| *w >= 20)
    {
        return w;
    }
    if std::io::stdout().is_terminal() {
        if let Some(w) = Table::new().width() {
            return w;
        }
    }
    PIPED_WIDTH
}

/// The table, wrapped to `width` columns. The plugin files are listed under it, one line
/// each: as a column, the longest cell, they would widen or wrap every row.
fn table(listed: &[Listed], width: u16) -> Table {
    let mut t = Table::new();
    t.set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width)
        .set_header(vec![
            "backend", "version", "device", "dtypes", "traces", "status",
        ]);
    for l in listed {
        let name = terminal(&l.name);
        let probe = match &l.probe {
            Ok(p) => p,
            Err(why) => {
                let cells = ["—", "—", "—", "—"].map(String::from);
                let mut row = vec![name];
                row.extend(cells);
                row.push(terminal(&format!("not loaded: {why}")));
                t.add_row(row);
                continue;
            }
        };
        let version = version(probe, l.abi.as_deref());
        let status = match &probe.unavailable {
            Some(why) => terminal(&format!("not available: {why}")),
            None => "available".into(),
        };
        let traces = if probe.traces { "yes" } else { "no" }.to_string();
        if probe.devices.is_empty() {
            t.add_row(vec![
                name.clone(),
                version.clone(),
                "—".into(),
                dtypes_cell(probe),
                traces.clone(),
                status.clone(),
            ]);
        }
        for d in &probe.devices {
            let mut dtypes: Vec<String> = d.dtypes.iter().map(|x| x.to_string()).collect();
            dtypes.extend(
                d.unsupported
                    .iter()
                    .map(|(x, why)| format!("no {x}: {}", terminal(why))),
            );
            // KV layouts the backend cannot express: their pairs are SKIPPED with this reason.
            dtypes.extend(
                probe
                    .kv_unsupported
                    .iter()
                    .map(|(kv, why)| format!("no kv_aligned={}: {}", kv.flag(), terminal(why))),
            );
            let driver = d
                .driver
                .as_deref()
                .map(|v| format!("\ndriver {}", terminal(v)))
                .unwrap_or_default();
            t.add_row(vec![
                name.clone(),
                version.clone(),
                format!("{} [{}]{driver}", terminal(&d.name), terminal(&d.kind)),
                dtypes.join("\n"),
                traces.clone(),
                status.clone(),
            ]);
        }
    }
    t
}

/// `0.1.0, burn 0.20, ABI v1.4`.
fn version(p: &Probe, abi: Option<&str>) -> String {
    let burn = p
        .burn_version
        .as_deref()
        .map(|v| format!(", burn {v}"))
        .unwrap_or_default();
    terminal(&format!("{}{burn}, ABI v{}", p.version, abi.unwrap_or("?")))
}

fn dtypes_cell(p: &Probe) -> String {
    if p.backend_dtypes.is_empty() {
        "none here".to_string()
    } else {
        let all: Vec<String> = p.backend_dtypes.iter().map(|x| x.to_string()).collect();
        format!("none here\n(backend: {})", all.join(", "))
    }
}

/// `{"plugins": [{"backend", "plugin", "origin", "abi", "probe" | "error"}]}`: the probe
/// exactly as the plugin gave it (the probe schema), so scripts need no table parsing.
fn to_json(listed: &[Listed]) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = listed
        .iter()
        .map(|l| {
            let mut row = serde_json::json!({
                "backend": l.name,
                "plugin": l.candidate.path,
                "origin": l.candidate.origin,
                "abi": l.abi,
            });
            match &l.probe {
                Ok(p) => row["probe"] = serde_json::to_value(p).unwrap_or_default(),
                Err(why) => row["error"] = serde_json::Value::String(why.clone()),
            }
            row
        })
        .collect();
    serde_json::json!({ "plugins": rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftbench_core::dtype::Dtype;
    use driftbench_core::probe::DeviceInfo;

    fn listed(why: &str) -> Listed {
        Listed {
            name: "mine".into(),
            candidate: PluginCandidate {
                path: "/plugins/a/very/long/folder/name/libdriftbench_backend_mine.so".into(),
                name_hint: Some("mine".into()),
                origin: "--plugin",
            },
            abi: Some("1.4".into()),
            probe: Ok(Probe {
                backend: "mine".into(),
                version: "0.1.0".into(),
                burn_version: None,
                unavailable: None,
                devices: vec![DeviceInfo {
                    name: "cpu".into(),
                    kind: "cpu".into(),
                    driver: None,
                    dtypes: vec![Dtype::F32],
                    unsupported: vec![(Dtype::F16, why.into())],
                    details: vec![],
                }],
                backend_dtypes: vec![Dtype::F32],
                kv_unsupported: vec![],
                kv_padding: None,
                traces: true,
            }),
        }
    }

    #[test]
    fn the_table_fits_the_width_it_is_given() {
        let long = "no f16 kernels because this reason is long enough to need wrapping twice over";
        for width in [80u16, 120] {
            let text = table(&[listed(long)], width).to_string();
            let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
            assert!(widest <= width as usize, "{widest} > {width}:\n{text}");
            assert!(text.contains("yes"), "traces column: {text}");
        }
    }

    #[test]
    fn json_carries_the_probe_as_data() {
        let v = to_json(&[listed("no f16")]);
        let p = &v["plugins"][0];
        assert_eq!(p["backend"], "mine");
        assert_eq!(p["abi"], "1.4");
        assert_eq!(p["probe"]["traces"], true);
        assert_eq!(p["probe"]["devices"][0]["unsupported"][0][1], "no f16");
        let back: Probe = serde_json::from_value(p["probe"].clone()).unwrap();
        assert_eq!(back, listed("no f16").probe.unwrap());
    }
}
