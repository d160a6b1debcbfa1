//! `driftbench plugins`: what was found and what each probe says. Each plugin is started
//! in a worker (or, with `--in-process`, here): a plugin whose entry point crashes, exits
//! or hangs is listed with the reason, and the others still are.

use crate::args::PluginArgs;
use crate::backends::{self, Isolation};
use crate::text::terminal;
use anyhow::Result;
use comfy_table::Table;
use driftbench_core::probe::Probe;

fn dtypes_cell(p: &Probe) -> String {
    if p.backend_dtypes.is_empty() {
        "none here".to_string()
    } else {
        let all: Vec<String> = p.backend_dtypes.iter().map(|x| x.to_string()).collect();
        format!("none here\n(backend: {})", all.join(", "))
    }
}

/// Print the plugin table.
pub fn run(plugins: &PluginArgs) -> Result<i32> {
    let found = backends::find(&plugins.plugins)?;
    for w in &found.warnings {
        eprintln!("warning: {}", terminal(w));
    }
    let isolation = Isolation::new(plugins.in_process, plugins.open_timeout, None);
    let mut t = Table::new();
    t.set_header(vec![
        "backend", "plugin", "version", "device", "dtypes", "status",
    ]);
    let mut usable = 0;
    for c in &found.candidates {
        let s = backends::start(c, &isolation);
        let name = c
            .name_hint
            .clone()
            .or_else(|| s.reported.clone())
            .unwrap_or_else(|| "?".into());
        let file = format!("{}\n({})", c.path.display(), c.origin);
        let probe = match &s.result {
            Ok((_, probe)) => probe,
            Err(why) => {
                t.add_row(vec![
                    terminal(&name),
                    file,
                    "—".into(),
                    "—".into(),
                    "—".into(),
                    terminal(&format!("not loaded: {why}")),
                ]);
                continue;
            }
        };
        usable += 1;
        let status = match &probe.unavailable {
            Some(why) => format!("not available: {why}"),
            None => "available".into(),
        };
        let burn = probe
            .burn_version
            .as_deref()
            .map(|v| format!(", burn {v}"))
            .unwrap_or_default();
        let abi = s.abi.as_deref().unwrap_or("?");
        let version = format!("{}{burn}, ABI v{abi}", probe.version);
        if probe.devices.is_empty() {
            t.add_row(vec![
                terminal(&name),
                file.clone(),
                terminal(&version),
                "—".into(),
                dtypes_cell(probe),
                terminal(&status),
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
                terminal(&name),
                file.clone(),
                terminal(&version),
                format!("{} [{}]{driver}", terminal(&d.name), terminal(&d.kind)),
                dtypes.join("\n"),
                terminal(&status),
            ]);
        }
    }
    println!("{t}");
    println!("searched: --plugin paths, {}", found.searched_text());
    Ok(if usable == 0 { 2 } else { 0 })
}
