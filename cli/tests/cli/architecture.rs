//! The direction of the house, from `cargo metadata` and the sources (the book's Architecture
//! chapter draws it): plugins and backends depend on the contract (`driftbench-core`) only,
//! never on the sweep or the report; the contract needs no config, table or file crates; the
//! sweep never depends on the report (the runner renders nothing); the report reads the
//! sweep's records, verdicts and noise-floor types and never the runner, a backend or the
//! plugin host; and inside the three crates no module imports through its crate root.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `cargo metadata --no-deps` of the workspace (or of another manifest, e.g. the template's).
fn metadata(manifest: &Path) -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(manifest)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata {}: {}",
        manifest.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A package: its name, manifest folder relative to the repository, and every dependency
/// (normal, dev and build) as (name, kind).
struct Package {
    name: String,
    dir: String,
    deps: Vec<(String, String)>,
}

fn packages() -> Vec<Package> {
    let root = root();
    let mut out = Vec::new();
    for manifest in [
        root.join("Cargo.toml"),
        root.join("plugins/template/Cargo.toml"),
    ] {
        let meta = metadata(&manifest);
        for p in meta["packages"].as_array().unwrap() {
            let dir = Path::new(p["manifest_path"].as_str().unwrap())
                .parent()
                .unwrap()
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    let kind = d["kind"].as_str().unwrap_or("normal").to_string();
                    (d["name"].as_str().unwrap().to_string(), kind)
                })
                .collect();
            out.push(Package {
                name: p["name"].as_str().unwrap().to_string(),
                dir,
                deps,
            });
        }
    }
    out
}

fn package<'a>(all: &'a [Package], name: &str) -> &'a Package {
    all.iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no package {name}"))
}

#[test]
fn plugins_and_backends_depend_on_the_contract_only() {
    let all = packages();
    let plugin_side: Vec<&Package> = all
        .iter()
        .filter(|p| p.dir.starts_with("backends/") || p.dir.starts_with("plugins/"))
        .collect();
    // Every backend, the ABI, the host, the test plugin and the template are here.
    for expected in [
        "driftbench-backend-cpu",
        "driftbench-backend-flex",
        "driftbench-plugin-abi",
        "driftbench-plugin-host",
        "driftbench-conformance",
        "driftbench-backend-template",
        "driftbench-test-plugin",
    ] {
        assert!(
            plugin_side.iter().any(|p| p.name == expected),
            "{expected} not found under backends/ or plugins/"
        );
    }
    for p in plugin_side {
        for (dep, kind) in &p.deps {
            assert!(
                dep != "driftbench-sweep" && dep != "driftbench-report",
                "{} ({}) depends on {dep} ({kind}): plugins and backends may depend on the \
                 contract (driftbench-core) only",
                p.name,
                p.dir
            );
        }
    }
}

/// The conformance kit is compiled into every plugin's tests: of its normal dependencies,
/// the contract is the only driftbench crate (never the sweep, the report, the host, the ABI
/// or a backend) and serde_json the only other; and it is only ever a dev-dependency, so no
/// plugin or tool ships it.
#[test]
fn the_conformance_kit_depends_on_the_contract_only() {
    let all = packages();
    let kit = package(&all, "driftbench-conformance");
    for (dep, kind) in &kit.deps {
        assert!(
            kind != "normal" || ["driftbench-core", "serde_json"].contains(&dep.as_str()),
            "driftbench-conformance depends on {dep}: the kit may depend on the contract \
             (driftbench-core) and serde_json only"
        );
    }
    let users: Vec<(&str, &str)> = all
        .iter()
        .flat_map(|p| {
            p.deps
                .iter()
                .filter(|(d, _)| d == "driftbench-conformance")
                .map(|(_, k)| (p.name.as_str(), k.as_str()))
        })
        .collect();
    for (user, kind) in &users {
        assert_eq!(
            *kind, "dev",
            "{user} depends on driftbench-conformance as a {kind} dependency: the kit is for tests"
        );
    }
    // Not vacuous: the template and the C plugin's test run it.
    for user in ["driftbench-backend-template", "driftbench"] {
        assert!(
            users.iter().any(|(u, _)| *u == user),
            "{user} no longer runs the conformance kit"
        );
    }
}

#[test]
fn the_contract_stays_small() {
    let all = packages();
    let core = package(&all, "driftbench-core");
    let normal: BTreeSet<&str> = core
        .deps
        .iter()
        .filter(|(_, k)| k == "normal")
        .map(|(n, _)| n.as_str())
        .collect();
    for banned in ["toml", "csv", "comfy-table", "tempfile"] {
        assert!(
            !normal.contains(banned),
            "driftbench-core depends on {banned}"
        );
    }
    assert!(
        normal.iter().all(|d| !d.starts_with("driftbench-")),
        "driftbench-core depends on another driftbench crate: {normal:?}"
    );
}

#[test]
fn the_sweep_never_renders_and_the_report_never_runs() {
    let all = packages();
    let sweep = package(&all, "driftbench-sweep");
    for (dep, kind) in &sweep.deps {
        assert!(
            !["driftbench-report", "comfy-table", "csv"].contains(&dep.as_str()),
            "driftbench-sweep depends on {dep} ({kind}): the runner renders nothing"
        );
    }
    let report = package(&all, "driftbench-report");
    let ours: BTreeSet<&str> = report
        .deps
        .iter()
        .filter(|(n, _)| n.starts_with("driftbench-"))
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(
        ours,
        BTreeSet::from(["driftbench-core", "driftbench-sweep"]),
        "driftbench-report reads records: it depends on the contract and the sweep's types only"
    );
    // Of the sweep crate, the report names only the record, verdict and noise-floor types,
    // the run identity, and the audit every journal reader derives its verdicts through.
    let allowed = ["records", "verdict", "noise_floor", "identity", "audit"];
    for (file, text) in sources(&root().join("report/src")) {
        for (at, _) in text.match_indices("driftbench_sweep::") {
            let module: String = text[at + "driftbench_sweep::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                allowed.contains(&module.as_str()),
                "{file} uses driftbench_sweep::{module}: the report reads only {allowed:?}"
            );
        }
    }
}

/// Every `.rs` file under `dir`, with its path relative to the repository.
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p
                    .strip_prefix(root())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    assert!(!out.is_empty(), "no sources under {}", dir.display());
    out
}

/// Inside core, sweep and report a module names the module it imports (`crate::kv::KvMode`),
/// never the crate root's re-exports (`crate::KvMode`, `crate::{…}`), which would hide a
/// cycle between modules.
#[test]
fn no_module_imports_through_its_crate_root() {
    for krate in ["core", "sweep", "report"] {
        for (file, text) in sources(&root().join(krate).join("src")) {
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                let through_root = code.contains("crate::{")
                    || code.match_indices("crate::").any(|(at, _)| {
                        let before = &code[..at];
                        let after = &code[at + "crate::".len()..];
                        !before.ends_with('_')
                            && !before.ends_with(|c: char| c.is_ascii_alphanumeric())
                            && after.starts_with(|c: char| c.is_ascii_uppercase())
                    });
                assert!(
                    !through_root,
                    "{file}:{}: imports through the crate root: {}",
                    n + 1,
                    line.trim()
                );
            }
        }
    }
}
