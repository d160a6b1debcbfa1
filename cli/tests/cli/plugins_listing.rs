//! `driftbench plugins`: a table that fits the terminal (`COLUMNS`, 80 when piped) with a
//! traces column, and `--json`, every probe as data.

use crate::common::{driftbench, text};

/// A line of the table (borders and rows), not of the file list under it.
fn is_table_line(l: &str) -> bool {
    l.starts_with(['+', '|', '┌', '│', '├', '╞', '└', '╭', '╰'])
}

#[test]
fn the_plugins_table_fits_columns_and_says_which_backends_trace() {
    for columns in ["80", "120"] {
        let o = driftbench(&["plugins"])
            .env("COLUMNS", columns)
            .output()
            .unwrap();
        let t = String::from_utf8_lossy(&o.stdout).to_string();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let width: usize = columns.parse().unwrap();
        for l in t.lines().filter(|l| is_table_line(l)) {
            assert!(l.chars().count() <= width, "{columns}: {l}");
        }
        assert!(t.contains("traces"), "{t}");
    }
    // Piped without COLUMNS: 80.
    let o = driftbench(&["plugins"])
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(t
        .lines()
        .filter(|l| is_table_line(l))
        .all(|l| l.chars().count() <= 80));
    // The plugin files, too long for a column, are listed under the table.
    assert!(
        t.lines()
            .any(|l| l.starts_with("cpu: ") && l.contains("driftbench_backend_cpu")),
        "{t}"
    );
}

#[test]
fn plugins_json_gives_each_probe_as_data() {
    let o = driftbench(&["plugins", "--json"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON");
    let plugins = v["plugins"].as_array().unwrap();
    let cpu = plugins
        .iter()
        .find(|p| p["backend"] == "cpu")
        .unwrap_or_else(|| panic!("no cpu plugin: {v}"));
    assert_eq!(cpu["probe"]["traces"], true, "{cpu}");
    assert!(cpu["probe"]["devices"][0]["dtypes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d == "f64"));
    assert!(cpu["plugin"]
        .as_str()
        .unwrap()
        .contains("driftbench_backend_cpu"));
    let flex = plugins.iter().find(|p| p["backend"] == "flex").unwrap();
    assert_eq!(flex["probe"]["traces"], true, "{flex}");
}
