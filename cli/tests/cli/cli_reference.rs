//! `book/src/cli.md` is every command's `--help` as the binary prints it, and every option
//! in those helps has a description. After changing the CLI, rewrite the page with
//! `DRIFTBENCH_BLESS=1 cargo test -p driftbench --test cli cli_reference`.

use crate::common;
use common::{driftbench, root, text};

fn help(args: &[&str]) -> String {
    let o = driftbench(args).output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// The subcommands `driftbench --help` lists (without `help`).
fn subcommands(top: &str) -> Vec<String> {
    let start = top.find("Commands:\n").expect("a command list") + "Commands:\n".len();
    top[start..]
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// The page the helps make.
fn page() -> String {
    let top = help(&["--help"]);
    let mut md = String::from(
        "# CLI reference\n\n\
         Every command's `--help`, exactly as this version prints it. A test checks that this \
         page and the binary agree; after changing the CLI, rewrite the page with \
         `DRIFTBENCH_BLESS=1 cargo test -p driftbench --test cli cli_reference`. Exit codes and \
         environment variables are at the end of the first section.\n",
    );
    let mut section = |name: &str, body: &str| {
        md.push_str(&format!(
            "\n## `{name}`\n\n```text\n{}\n```\n",
            body.trim_end()
        ));
    };
    section("driftbench", &top);
    for c in subcommands(&top) {
        section(&format!("driftbench {c}"), &help(&[c.as_str(), "--help"]));
    }
    md
}

#[test]
fn the_cli_reference_is_the_binarys_help() {
    let want = page();
    let path = root().join("book/src/cli.md");
    if std::env::var_os("DRIFTBENCH_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let first = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(have.lines().count().min(want.lines().count()));
        panic!(
            "book/src/cli.md differs from the binary's help from line {}:\n  book: {:?}\n  help: {:?}\n\
             rewrite it with DRIFTBENCH_BLESS=1 cargo test -p driftbench --test cli cli_reference",
            first + 1,
            have.lines().nth(first),
            want.lines().nth(first)
        );
    }
}

#[test]
fn every_option_and_argument_is_described() {
    let top = help(&["--help"]);
    let mut bare = Vec::new();
    for c in subcommands(&top) {
        let h = help(&[c.as_str(), "--help"]);
        let lines: Vec<&str> = h.lines().collect();
        let mut in_list = false;
        for (i, line) in lines.iter().enumerate() {
            if *line == "Options:" || *line == "Arguments:" {
                in_list = true;
                continue;
            }
            if !line.starts_with(' ') && !line.is_empty() {
                in_list = false;
            }
            // An entry starts with its flag or argument; its description follows after two
            // or more spaces on the same line, or (clap's long layout) on the next line,
            // indented further.
            let entry = line.trim_start();
            let indent = line.len() - entry.len();
            // Entries sit at indent 2 (`-h`, `<ARG>`) or 6 (`--long`); deeper lines are
            // descriptions, possible values and defaults.
            if in_list && (2..=6).contains(&indent) && entry.starts_with(['-', '<', '[']) {
                let inline = entry
                    .split_once("  ")
                    .is_some_and(|(_, rest)| !rest.trim().is_empty());
                let below = lines.get(i + 1).is_some_and(|next| {
                    let t = next.trim_start();
                    !t.is_empty() && next.len() - t.len() > indent && !t.starts_with('-')
                });
                if !inline && !below {
                    bare.push(format!("driftbench {c}: {entry}"));
                }
            }
        }
    }
    assert!(
        bare.is_empty(),
        "options without a description:\n{}",
        bare.join("\n")
    );
}
