//! `driftbench plugins`: what was found and what each probe says.

use crate::args::PluginArgs;
use crate::backends;
use anyhow::Result;
use comfy_table::Table;
use driftbench_core::Backend;

/// Print the plugin table.
pub fn run(plugins: &PluginArgs) -> Result<i32> {
    let found = backends::find(&plugins.plugins)?;
    let mut t = Table::new();
    t.set_header(vec![
        "backend", "plugin", "version", "device", "dtypes", "status",
    ]);
    for (b, origin) in &found.loaded {
        let p = b.probe();
        let file = b.plugin().path.display().to_string();
        let status = match &p.unavailable {
            Some(why) => format!("not available: {why}"),
            None => "available".into(),
        };
        let burn = p
            .burn_version
            .as_deref()
            .map(|v| format!(", burn {v}"))
            .unwrap_or_default();
        let version = format!("{}{burn}, ABI v{}", p.version, b.plugin().abi);
        if p.devices.is_empty() {
            let dtypes = if p.backend_dtypes.is_empty() {
                "none here".to_string()
            } else {
                let all: Vec<String> = p.backend_dtypes.iter().map(|x| x.to_string()).collect();
                format!("none here\n(backend: {})", all.join(", "))
            };
            t.add_row(vec![
                p.backend.clone(),
                format!("{file}\n({origin})"),
                version.clone(),
                "—".into(),
                dtypes,
                status.clone(),
            ]);
        }
        for d in &p.devices {
            let mut dtypes: Vec<String> = d.dtypes.iter().map(|x| x.to_string()).collect();
            dtypes.extend(
                d.unsupported
                    .iter()
                    .map(|(x, why)| format!("no {x}: {why}")),
            );
            let driver = d
                .driver
                .as_deref()
                .map(|v| format!("\ndriver {v}"))
                .unwrap_or_default();
            t.add_row(vec![
                p.backend.clone(),
                format!("{file}\n({origin})"),
                version.clone(),
                format!("{} [{}]{driver}", d.name, d.kind),
                dtypes.join("\n"),
                status.clone(),
            ]);
        }
    }
    for (name, path, e) in &found.failed {
        t.add_row(vec![
            name.clone().unwrap_or_else(|| "?".into()),
            path.display().to_string(),
            "—".into(),
            "—".into(),
            "—".into(),
            format!("not loaded: {e}"),
        ]);
    }
    println!("{t}");
    let dirs: Vec<String> = found
        .searched
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    println!(
        "searched: --plugin paths, {}",
        if dirs.is_empty() {
            "nothing else".into()
        } else {
            dirs.join(", ")
        }
    );
    Ok(if found.loaded.is_empty() { 2 } else { 0 })
}
