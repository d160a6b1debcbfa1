//! The cluster recipes in `examples/cluster/` (the book's "Running on a cluster") hold
//! together: the Kubernetes manifest runs one Indexed Job per GPU kind (a GPU each, a node
//! selector per kind, results on a shared claim) and a merge Job over exactly the folders the
//! shards write; the GitHub Actions workflow runs a matrix of self-hosted GPU runners that
//! upload their folders and a merge job that needs them and merges what it downloaded; and
//! every `driftbench` command line of these files and of the Slurm recipes, with its shell and
//! template variables replaced by sample values, parses with the CLI's own argument parser (a
//! failure names the file and the line).

use crate::common::root;
use clap::Parser;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use yaml_rust2::{Yaml, YamlLoader};

/// The CLI's own argument definitions, compiled into this test as they are into the binary
/// (the crate has no library). args.rs names only external crates, which this test can use
/// too; parts the test does not call are dead code here.
#[allow(dead_code)]
#[path = "../../src/args.rs"]
mod args;

use args::{Cli, Command};
use driftbench_sweep::shard::Shard;

/// A recipe file, relative to the repository root.
fn read(rel: &str) -> String {
    let p = root().join(rel);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{rel}: cannot read the cluster recipe ({e})"))
}

fn yaml(rel: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: not YAML: {e}"))
}

fn s(y: &Yaml) -> &str {
    y.as_str().unwrap_or("")
}

fn list(y: &Yaml) -> &[Yaml] {
    y.as_vec().map(Vec::as_slice).unwrap_or(&[])
}

/// A scalar as the text a template puts in its place (`0`, `h100`, `true`).
fn scalar(y: &Yaml) -> String {
    match y {
        Yaml::String(v) | Yaml::Real(v) => v.clone(),
        Yaml::Integer(v) => v.to_string(),
        Yaml::Boolean(v) => v.to_string(),
        _ => String::new(),
    }
}

// ---- Shell: variables, words, driftbench command lines ----------------------------------

/// What a variable stands for while a command line is read: the file's own assignments
/// (`NAME=value`, a container's `env`, a workflow's `env`), the engine's (sample values of
/// what Slurm, Kubernetes or a matrix sets), and `${{ expr }}` template expressions.
#[derive(Default, Clone)]
struct Vars {
    assigned: BTreeMap<String, String>,
    engine: BTreeMap<String, String>,
    expressions: BTreeMap<String, String>,
}

/// The value of a variable nothing names: a number, so that it reads as a count, an index or
/// a path alike.
const UNKNOWN: &str = "1";

impl Vars {
    fn get(&self, name: &str, resolving: &mut Vec<String>) -> Option<String> {
        // `X=${X:-default}`: inside its own assignment X is the environment's.
        if !resolving.iter().any(|r| r == name) {
            if let Some(raw) = self.assigned.get(name) {
                resolving.push(name.to_string());
                let v = self.expand_in(raw, resolving);
                resolving.pop();
                return Some(words(&v).into_iter().next().unwrap_or_default());
            }
        }
        self.engine.get(name).cloned()
    }

    fn expand(&self, text: &str) -> String {
        self.expand_in(text, &mut Vec::new())
    }

    /// `text` with `$NAME`, `${NAME}`, `${NAME:-word}` (and `-`, `=`, `?`, `+` forms),
    /// `$(command)` and `${{ expr }}` replaced; single-quoted text and `\$` stay as written.
    fn expand_in(&self, text: &str, resolving: &mut Vec<String>) -> String {
        let c: Vec<char> = text.chars().collect();
        let mut out = String::new();
        let (mut i, mut single, mut double) = (0, false, false);
        while i < c.len() {
            let ch = c[i];
            if single {
                single = ch != '\'';
                out.push(ch);
                i += 1;
                continue;
            }
            match ch {
                '\\' if i + 1 < c.len() => {
                    out.push(ch);
                    out.push(c[i + 1]);
                    i += 2;
                    continue;
                }
                '\'' if !double => single = true,
                '"' => double = !double,
                '$' if i + 1 < c.len() => {
                    let (value, next) = self.dollar(&c, i, resolving);
                    out.push_str(&value);
                    i = next;
                    continue;
                }
                _ => {}
            }
            out.push(ch);
            i += 1;
        }
        out
    }

    /// The expansion of the `$` at `c[i]`, and the index after it.
    fn dollar(&self, c: &[char], i: usize, resolving: &mut Vec<String>) -> (String, usize) {
        let rest: String = c[i..].iter().collect();
        if rest.starts_with("${{") {
            if let Some(end) = rest.find("}}") {
                let expr = rest[3..end].trim();
                let v = self.expressions.get(expr).cloned();
                return (
                    v.unwrap_or_else(|| UNKNOWN.into()),
                    i + rest[..end + 2].chars().count(),
                );
            }
        }
        let closing = |open: char, close: char| {
            let mut depth = 0;
            for (k, &ch) in c.iter().enumerate().skip(i + 1) {
                if ch == open {
                    depth += 1;
                } else if ch == close {
                    depth -= 1;
                    if depth == 0 {
                        return k;
                    }
                }
            }
            c.len() - 1
        };
        match c[i + 1] {
            // A command's output: any word will do.
            '(' => (UNKNOWN.into(), closing('(', ')') + 1),
            '{' => {
                let end = closing('{', '}');
                let inner: String = c[i + 2..end].iter().collect();
                (self.braced(&inner, resolving), end + 1)
            }
            ch if ch.is_ascii_alphabetic() || ch == '_' => {
                let mut end = i + 1;
                while end < c.len() && (c[end].is_ascii_alphanumeric() || c[end] == '_') {
                    end += 1;
                }
                let name: String = c[i + 1..end].iter().collect();
                let v = self.get(&name, resolving);
                (v.unwrap_or_else(|| UNKNOWN.into()), end)
            }
            ch if ch.is_ascii_digit() || "@*#?$!-".contains(ch) => (UNKNOWN.into(), i + 2),
            _ => ("$".into(), i + 1),
        }
    }

    /// `${inner}`.
    fn braced(&self, inner: &str, resolving: &mut Vec<String>) -> String {
        let name_len = inner
            .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
            .unwrap_or(inner.len());
        if name_len == 0 {
            return UNKNOWN.into(); // ${#NAME}, ${@}...
        }
        let (name, op) = inner.split_at(name_len);
        let value = if name.chars().all(|ch| ch.is_ascii_digit()) {
            None
        } else {
            self.get(name, resolving)
        };
        let colon = op.starts_with(':');
        let op = op.trim_start_matches(':');
        let unset = value.is_none() || (colon && value.as_deref() == Some(""));
        let word = op.get(1..).unwrap_or("");
        match op.chars().next() {
            Some('-' | '=') if unset => self.expand_in(word, resolving),
            Some('+') if unset => String::new(),
            Some('+') => self.expand_in(word, resolving),
            _ => value.unwrap_or_else(|| UNKNOWN.into()),
        }
    }
}

/// Shell tokens of an expanded line: words (quotes removed) and operators (`;`, `&&`, `|`,
/// `>`, `2>&1`, parentheses...). A `#` that starts a word starts a comment.
#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Op(String),
}

fn tokens(text: &str) -> Vec<Token> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        match ch {
            _ if ch.is_whitespace() => {
                out.extend(word.take().map(Token::Word));
            }
            '#' if word.is_none() => break,
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                i += 1;
                while i < c.len() && c[i] != '\'' {
                    w.push(c[i]);
                    i += 1;
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                i += 1;
                while i < c.len() && c[i] != '"' {
                    if c[i] == '\\' && i + 1 < c.len() && "\"\\$`".contains(c[i + 1]) {
                        i += 1;
                    }
                    w.push(c[i]);
                    i += 1;
                }
            }
            '\\' => {
                if i + 1 < c.len() {
                    word.get_or_insert_with(String::new).push(c[i + 1]);
                }
                i += 1;
            }
            ';' | '&' | '|' | '<' | '>' | '(' | ')' => {
                // `2>&1`: a file descriptor's number belongs to its redirection.
                let fd = word
                    .as_deref()
                    .is_some_and(|w| "<>".contains(ch) && w.chars().all(|d| d.is_ascii_digit()));
                let mut op = if fd {
                    word.take().unwrap()
                } else {
                    String::new()
                };
                out.extend(word.take().map(Token::Word));
                op.push(ch);
                while i + 1 < c.len() && ";&|<>".contains(c[i + 1]) {
                    i += 1;
                    op.push(c[i]);
                }
                out.push(Token::Op(op));
            }
            _ => word.get_or_insert_with(String::new).push(ch),
        }
        i += 1;
    }
    out.extend(word.map(Token::Word));
    out
}

/// The words of `text` up to its first operator.
fn words(text: &str) -> Vec<String> {
    tokens(text)
        .into_iter()
        .map_while(|t| match t {
            Token::Word(w) => Some(w),
            Token::Op(_) => None,
        })
        .collect()
}

/// Lines of a script as the shell reads them: `\`-newline joins lines, comment lines drop.
/// Each with its first physical line's index in `script`.
fn logical_lines(script: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, line) in script.lines().enumerate() {
        if current.is_none() && line.trim_start().starts_with('#') {
            continue;
        }
        let (start, mut text) = current.take().unwrap_or((n, String::new()));
        match line.strip_suffix('\\') {
            Some(head) => {
                text.push_str(head);
                text.push(' ');
                current = Some((start, text));
            }
            None => {
                text.push_str(line);
                out.push((start, text));
            }
        }
    }
    out.extend(current);
    out
}

/// `NAME=value` lines of a shell script (with `export`, `local`, `readonly`), raw.
fn assignments(script: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (_, line) in logical_lines(script) {
        let line = line.trim();
        let line = ["export ", "local ", "readonly ", "declare "]
            .iter()
            .find_map(|p| line.strip_prefix(p))
            .unwrap_or(line)
            .trim_start();
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let is_name = name.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_')
            && name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
        if is_name && !value.starts_with('=') {
            out.entry(name.to_string())
                .or_insert_with(|| value.to_string());
        }
    }
    out
}

/// Words that run the command after them (with their own options first).
const LAUNCHERS: &[&str] = &[
    "exec",
    "srun",
    "time",
    "env",
    "nohup",
    "command",
    "timeout",
    "nice",
    "stdbuf",
    "apptainer",
    "singularity",
];

/// Words that come before a command without being one.
const RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "do", "while", "until", "!", "{", "time",
];

/// One `driftbench` command line of a recipe.
#[derive(Debug, Clone)]
struct Invocation {
    /// `file:line`.
    at: String,
    /// The words after `driftbench`, variables replaced.
    words: Vec<String>,
}

impl Invocation {
    fn subcommand(&self) -> &str {
        self.words.first().map(String::as_str).unwrap_or("")
    }

    /// The value of `--flag V` or `--flag=V`.
    fn flag(&self, flag: &str) -> Option<&str> {
        let eq = format!("{flag}=");
        self.words.iter().enumerate().find_map(|(i, w)| {
            if w == flag {
                self.words.get(i + 1).map(String::as_str)
            } else {
                w.strip_prefix(&eq)
            }
        })
    }

    /// The positional words after the subcommand (no option nor option value).
    fn positional(&self, flags_with_values: &[&str]) -> Vec<&str> {
        let mut out = Vec::new();
        let mut skip = false;
        for w in self.words.iter().skip(1) {
            if skip {
                skip = false;
            } else if w.starts_with('-') {
                skip = flags_with_values.contains(&w.as_str());
            } else {
                out.push(w.as_str());
            }
        }
        out
    }

    /// Parse with the CLI's own parser; `--shard auto/N` takes its index from `engine`, as the
    /// binary takes it from the environment.
    fn parse(&self, engine: &BTreeMap<String, String>) -> Result<Command, String> {
        let mut argv = vec!["driftbench".to_string()];
        let mut shard_next = false;
        for w in &self.words {
            let resolve =
                |v: &str| Shard::from_flag(v, |k| engine.get(k).cloned()).map(|s| s.to_string());
            let w = if shard_next {
                resolve(w)?
            } else if let Some(v) = w.strip_prefix("--shard=") {
                format!("--shard={}", resolve(v)?)
            } else {
                w.clone()
            };
            shard_next = w == "--shard";
            argv.push(w);
        }
        Cli::try_parse_from(&argv)
            .map(|cli| cli.command)
            .map_err(|e| e.to_string().lines().next().unwrap_or("").to_string())
    }

    fn describe(&self) -> String {
        format!("{}: `driftbench {}`", self.at, self.words.join(" "))
    }
}

/// Every `driftbench` command line of `script`, with `vars` replaced. `file` and `line0` (the
/// script's first line in the file, 1-based) name where each is.
fn invocations(script: &str, vars: &Vars, file: &str, line0: usize) -> Vec<Invocation> {
    let mut out = Vec::new();
    for (n, line) in logical_lines(script) {
        let mut at_command = true;
        let mut launched = false;
        let mut current: Option<Vec<String>> = None;
        for token in tokens(&vars.expand(&line)) {
            let word = match token {
                Token::Op(_) => {
                    out.extend(current.take().map(|words| Invocation {
                        at: format!("{file}:{}", line0 + n),
                        words,
                    }));
                    (at_command, launched) = (true, false);
                    continue;
                }
                Token::Word(w) => w,
            };
            if let Some(words) = current.as_mut() {
                words.push(word);
                continue;
            }
            let base = word.rsplit('/').next().unwrap_or("");
            if (at_command || launched) && base == "driftbench" {
                current = Some(Vec::new());
            } else if at_command && LAUNCHERS.contains(&base) {
                launched = true;
            } else if at_command && !RESERVED.contains(&word.as_str()) && !is_assignment(&word) {
                at_command = false;
            }
        }
        out.extend(current.map(|words| Invocation {
            at: format!("{file}:{}", line0 + n),
            words,
        }));
    }
    out
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
    })
}

/// 1-based line of the first line of `fragment` in `raw`, searched from `*from` on (scripts
/// are met in file order, so two identical lines are told apart); the search goes on from it.
fn locate(raw: &str, fragment: &str, from: &mut usize) -> usize {
    let first = fragment
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let lines: Vec<&str> = raw.lines().collect();
    let found = (*from..lines.len())
        .chain(0..*from)
        .find(|&k| lines[k].contains(first))
        .unwrap_or(0);
    *from = found + 1;
    found + 1
}

/// Does the glob `pattern` (`*` and `?` within one path component) name `path`?
fn glob_matches(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let q: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    fn component(p: &[char], q: &[char]) -> bool {
        match p.split_first() {
            None => q.is_empty(),
            Some(('*', rest)) => (0..=q.len()).any(|k| component(rest, &q[k..])),
            Some((&c, rest)) => q
                .split_first()
                .is_some_and(|(&d, q)| (c == '?' || c == d) && component(rest, q)),
        }
    }
    p.len() == q.len()
        && p.iter().zip(&q).all(|(a, b)| {
            let a: Vec<char> = a.chars().collect();
            let b: Vec<char> = b.chars().collect();
            component(&a, &b)
        })
}

/// Each invocation parsed with the CLI's parser, in order; each failure, naming its file and
/// line, goes to `failures`.
fn parse_all(
    all: &[(Invocation, BTreeMap<String, String>)],
    failures: &mut Vec<String>,
) -> Vec<Option<Command>> {
    all.iter()
        .map(|(inv, engine)| {
            inv.parse(engine)
                .map_err(|e| failures.push(format!("{}: {e}", inv.describe())))
                .ok()
        })
        .collect()
}

/// The `--out` of every sweep in `sweeps`, each a folder of its own (one writer per folder).
fn sweep_folders<'a>(sweeps: impl IntoIterator<Item = &'a Invocation>) -> BTreeSet<String> {
    let mut outs = BTreeSet::new();
    for inv in sweeps {
        let out = inv
            .flag("--out")
            .unwrap_or_else(|| panic!("{}: no --out", inv.describe()));
        assert!(
            outs.insert(out.to_string()),
            "{}: --out {out} is another shard's folder too: one writer per folder",
            inv.describe()
        );
    }
    outs
}

/// A parsed sweep of a recipe: a config of this repository, this shard and this machine label.
fn check_sweep(inv: &Invocation, cmd: &Command, shard: Shard, label: &str) {
    let Command::Sweep {
        config,
        machine_label,
        shard: parsed_shard,
        ..
    } = cmd
    else {
        panic!("{}: not a sweep", inv.describe());
    };
    let name = config.file_name().unwrap_or_default().to_string_lossy();
    assert!(
        root().join("configs").join(&*name).is_file(),
        "{}: no configs/{name} in this repository",
        inv.describe()
    );
    assert_eq!(
        *parsed_shard,
        Some(shard),
        "{}: the engine runs it as shard {shard}",
        inv.describe()
    );
    assert_eq!(machine_label.as_deref(), Some(label), "{}", inv.describe());
    assert!(
        driftbench_sweep::machine_label::valid_machine_label(label),
        "{}: `--machine-label {label}` is not a valid label",
        inv.describe()
    );
}

/// The merge of a recipe reads exactly the shard folders `outs` (its globs name each of them)
/// and writes elsewhere.
fn check_merge(merge: &Invocation, outs: &BTreeSet<String>) {
    let dirs = merge.positional(&["--out"]);
    assert!(!dirs.is_empty(), "{}: merges nothing", merge.describe());
    for out in outs {
        assert!(
            dirs.iter().any(|d| glob_matches(d, out)),
            "{}: does not read the shard folder {out}",
            merge.describe()
        );
    }
    let target = merge
        .flag("--out")
        .unwrap_or_else(|| panic!("{}: no --out", merge.describe()));
    assert!(
        !dirs.iter().any(|d| glob_matches(d, target)) && !outs.contains(target),
        "{}: writes into a folder it reads",
        merge.describe()
    );
}

fn fail_if_any(failures: &[String], what: &str) {
    assert!(
        failures.is_empty(),
        "{what}: {} command line(s) the CLI does not accept:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---- Kubernetes ----------------------------------------------------------------------------

const K8S: &str = "examples/cluster/k8s-indexed-job.yaml";

/// A container's script: `sh -c SCRIPT` as written, or its command and args as one line
/// (with Kubernetes' own `$(VAR)` written as the shell's `${VAR}`).
fn container_script(container: &Yaml) -> String {
    let argv: Vec<String> = list(&container["command"])
        .iter()
        .chain(list(&container["args"]))
        .map(scalar)
        .collect();
    let shell = argv
        .first()
        .is_some_and(|a| ["sh", "bash"].contains(&a.rsplit('/').next().unwrap_or("")));
    if shell && argv.get(1).is_some_and(|a| a == "-c") {
        return argv.get(2).cloned().unwrap_or_default();
    }
    argv.iter()
        .map(|a| format!("\"{}\"", kubernetes_references(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Kubernetes' `$(VAR)` references of a command or args entry as the shell's `${VAR}`.
fn kubernetes_references(arg: &str) -> String {
    let mut out = String::new();
    let mut rest = arg;
    while let Some(start) = rest.find("$(") {
        let Some(len) = rest[start..].find(')') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(&format!("${{{}}}", &rest[start + 2..start + len]));
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// `(mountPath, claimName)` of a pod's mounts of persistent volume claims.
fn claim_mounts(pod: &Yaml, container: &Yaml) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for m in list(&container["volumeMounts"]) {
        for v in list(&pod["volumes"]) {
            let claim = s(&v["persistentVolumeClaim"]["claimName"]);
            if s(&v["name"]) == s(&m["name"]) && !claim.is_empty() {
                out.insert((s(&m["mountPath"]).to_string(), claim.to_string()));
            }
        }
    }
    out
}

#[test]
fn kubernetes_recipe_runs_an_indexed_job_per_gpu_kind_then_a_merge_of_their_folders() {
    let raw = read(K8S);
    let docs = yaml(K8S);
    let claims: BTreeSet<&str> = docs
        .iter()
        .filter(|d| s(&d["kind"]) == "PersistentVolumeClaim")
        .inspect(|d| {
            assert!(
                list(&d["spec"]["accessModes"])
                    .iter()
                    .any(|m| s(m) == "ReadWriteMany"),
                "{K8S}: the results claim must be ReadWriteMany (pods on several nodes)"
            )
        })
        .map(|d| s(&d["metadata"]["name"]))
        .collect();
    let jobs: Vec<&Yaml> = docs.iter().filter(|d| s(&d["kind"]) == "Job").collect();
    let (sweeps, others): (Vec<&Yaml>, Vec<&Yaml>) = jobs
        .iter()
        .partition(|j| s(&j["spec"]["completionMode"]) == "Indexed");
    assert!(sweeps.len() >= 2, "{K8S}: one Indexed Job per GPU kind");
    assert_eq!(others.len(), 1, "{K8S}: one merge Job");

    let mut from = 0;
    let mut all = Vec::new();
    let mut selectors = BTreeSet::new();
    let mut shard_mounts = BTreeSet::new();
    let mut per_job = Vec::new();
    for job in &sweeps {
        let name = s(&job["metadata"]["name"]);
        let spec = &job["spec"];
        let n = spec["completions"].as_i64().expect("completions") as usize;
        assert!(n >= 1, "{name}: completions");
        let parallelism = spec["parallelism"].as_i64().expect("parallelism") as usize;
        assert!((1..=n).contains(&parallelism), "{name}: parallelism");
        assert!(
            spec["backoffLimitPerIndex"].as_i64().is_some(),
            "{name}: backoffLimitPerIndex (a failed shard is retried on its own)"
        );
        let pod = &spec["template"]["spec"];
        assert_eq!(s(&pod["restartPolicy"]), "Never", "{name}");
        let gpu = s(&pod["nodeSelector"]["nvidia.com/gpu.product"]);
        assert!(!gpu.is_empty(), "{name}: a nodeSelector on the GPU product");
        assert!(
            selectors.insert(gpu),
            "{name}: two Jobs select the same GPU kind {gpu}"
        );
        let containers = list(&pod["containers"]);
        assert_eq!(containers.len(), 1, "{name}: one container");
        let c = &containers[0];
        assert_eq!(
            c["resources"]["limits"]["nvidia.com/gpu"].as_i64(),
            Some(1),
            "{name}: one GPU per shard"
        );
        let mounts = claim_mounts(pod, c);
        assert!(
            mounts
                .iter()
                .all(|(_, claim)| claims.contains(claim.as_str())),
            "{name}: mounts a claim this file does not define: {mounts:?}"
        );
        let script = container_script(c);
        let line0 = locate(&raw, &script, &mut from);
        let mut vars = Vars::default();
        for e in list(&c["env"]) {
            if !e["value"].is_badvalue() {
                vars.assigned
                    .insert(s(&e["name"]).to_string(), scalar(&e["value"]));
            }
        }
        // The label the sweep gets: the GPU kind in the Job's name, e.g. driftbench-h100.
        let kind = name.rsplit('-').next().unwrap();
        for index in 0..n {
            let mut v = vars.clone();
            v.engine
                .insert("JOB_COMPLETION_INDEX".into(), index.to_string());
            let found = invocations(&script, &v, K8S, line0);
            assert_eq!(found.len(), 1, "{name}: one driftbench command: {found:?}");
            let shard = Shard { index, count: n };
            per_job.push((found[0].clone(), shard, kind.to_string(), mounts.clone()));
            all.push((found[0].clone(), v.engine));
        }
        shard_mounts.extend(mounts);
    }

    let merge_job = others[0];
    let pod = &merge_job["spec"]["template"]["spec"];
    let c = &list(&pod["containers"])[0];
    assert!(
        c["resources"]["limits"]["nvidia.com/gpu"].is_badvalue(),
        "the merge Job needs no GPU"
    );
    let script = container_script(c);
    let merges = invocations(
        &script,
        &Vars::default(),
        K8S,
        locate(&raw, &script, &mut from),
    );
    assert_eq!(merges.len(), 1, "the merge Job: one driftbench command");
    let merge = &merges[0];
    assert_eq!(merge.subcommand(), "merge", "{}", merge.describe());
    let merge_mounts = claim_mounts(pod, c);
    assert_eq!(
        merge_mounts, shard_mounts,
        "the merge Job mounts the shards' claim where they do"
    );
    all.push((merge.clone(), BTreeMap::new()));

    let outs = sweep_folders(per_job.iter().map(|(inv, ..)| inv));
    for (inv, .., mounts) in &per_job {
        let out = inv.flag("--out").unwrap_or("");
        assert!(
            mounts
                .iter()
                .any(|(path, _)| Path::new(out).starts_with(path)),
            "{}: --out is not on the shared claim",
            inv.describe()
        );
    }
    check_merge(merge, &outs);

    let mut failures = Vec::new();
    let parsed = parse_all(&all, &mut failures);
    for ((inv, shard, kind, _), cmd) in per_job.iter().zip(&parsed) {
        if let Some(cmd) = cmd {
            check_sweep(inv, cmd, *shard, kind);
        }
    }
    fail_if_any(&failures, K8S);
}

// ---- GitHub Actions ----------------------------------------------------------------------

const GHA: &str = "examples/cluster/github-actions.yml";

/// Every combination of a job's `strategy.matrix` (lists only), as `matrix.KEY` → value.
fn matrix_combinations(matrix: &Yaml) -> Vec<BTreeMap<String, String>> {
    let mut combos = vec![BTreeMap::new()];
    for (k, v) in matrix.as_hash().expect("strategy.matrix") {
        let values = list(v);
        assert!(
            !values.is_empty(),
            "matrix.{}: only lists here (no include/exclude)",
            s(k)
        );
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |x| {
                    let mut c = c.clone();
                    c.insert(format!("matrix.{}", s(k)), scalar(x));
                    c
                })
            })
            .collect();
    }
    combos
}

fn env_of(y: &Yaml, into: &mut BTreeMap<String, String>) {
    if let Some(h) = y["env"].as_hash() {
        for (k, v) in h {
            into.insert(s(k).to_string(), scalar(v));
        }
    }
}

/// The steps of a job that use `action` (e.g. `actions/upload-artifact`).
fn uses<'a>(job: &'a Yaml, action: &str) -> Vec<&'a Yaml> {
    list(&job["steps"])
        .iter()
        .filter(|st| s(&st["uses"]).split('@').next() == Some(action))
        .collect()
}

/// The `driftbench` command lines of a job's `run` steps, under `vars`.
fn job_invocations(raw: &str, job: &Yaml, vars: &Vars, from: &mut usize) -> Vec<Invocation> {
    let mut out = Vec::new();
    for step in list(&job["steps"]) {
        let script = s(&step["run"]);
        if script.is_empty() {
            continue;
        }
        let mut v = vars.clone();
        env_of(step, &mut v.assigned);
        let line0 = locate(raw, script, from);
        out.extend(invocations(script, &v, GHA, line0));
    }
    out
}

#[test]
fn github_actions_recipe_runs_a_matrix_of_gpu_runners_then_a_merge_of_their_artifacts() {
    let raw = read(GHA);
    let docs = yaml(GHA);
    let wf = &docs[0];
    let jobs = wf["jobs"].as_hash().expect("jobs");
    let mut base = Vars::default();
    env_of(wf, &mut base.assigned);

    let (sweep_id, sweep) = jobs
        .iter()
        .find(|(_, j)| !j["strategy"]["matrix"].is_badvalue())
        .expect("a job with a matrix");
    let sweep_id = s(sweep_id);
    let strategy = &sweep["strategy"];
    assert_eq!(
        strategy["fail-fast"].as_bool(),
        Some(false),
        "fail-fast: false, or one failing shard cancels the rest"
    );
    let runs_on: Vec<&str> = list(&sweep["runs-on"]).iter().map(s).collect();
    assert!(
        runs_on.contains(&"self-hosted") && runs_on.contains(&"${{ matrix.gpu }}"),
        "{sweep_id}: runs on self-hosted runners labelled with the matrix's GPU: {runs_on:?}"
    );
    let gpus: Vec<String> = list(&strategy["matrix"]["gpu"])
        .iter()
        .map(scalar)
        .collect();
    assert!(gpus.len() >= 2, "two GPU kinds or more: {gpus:?}");
    let shards: Vec<String> = list(&strategy["matrix"]["shard"])
        .iter()
        .map(scalar)
        .collect();
    let n = shards.len();
    assert_eq!(
        shards,
        (0..n).map(|k| k.to_string()).collect::<Vec<_>>(),
        "matrix.shard: 0 to N-1"
    );
    let upload = uses(sweep, "actions/upload-artifact");
    assert_eq!(upload.len(), 1, "{sweep_id}: uploads its folder");
    assert!(
        s(&upload[0]["if"]).contains("always()"),
        "{sweep_id}: uploads the folder also when the sweep failed"
    );

    let mut vars = base.clone();
    env_of(sweep, &mut vars.assigned);
    let mut all = Vec::new();
    let mut expected = Vec::new();
    let mut artifacts = BTreeSet::new();
    let start = raw.find(&format!("\n  {sweep_id}:")).unwrap_or(0);
    let start_line = raw[..start].lines().count();
    for combo in matrix_combinations(&strategy["matrix"]) {
        let mut v = vars.clone();
        v.expressions = combo.clone();
        let mut from = start_line;
        let found = job_invocations(&raw, sweep, &v, &mut from);
        assert_eq!(
            found.len(),
            1,
            "{sweep_id} {combo:?}: one driftbench command"
        );
        let index: usize = combo["matrix.shard"].parse().unwrap();
        let inv = found[0].clone();
        // The artifact is the sweep's folder, under a name of its own.
        let path = v.expand(s(&upload[0]["with"]["path"]));
        assert_eq!(
            Some(path.as_str()),
            inv.flag("--out"),
            "{}: uploads another folder than it writes",
            inv.describe()
        );
        let name = v.expand(s(&upload[0]["with"]["name"]));
        assert!(artifacts.insert(name.clone()), "artifact {name} twice");
        expected.push((
            inv.clone(),
            Shard { index, count: n },
            combo["matrix.gpu"].clone(),
        ));
        all.push((inv, BTreeMap::new()));
    }

    let (merge_id, merge_job) = jobs
        .iter()
        .find(|(id, _)| s(id) != sweep_id)
        .expect("a merge job");
    let merge_id = s(merge_id);
    let needs: Vec<&str> = match &merge_job["needs"] {
        Yaml::String(one) => vec![one.as_str()],
        other => list(other).iter().map(s).collect(),
    };
    assert!(
        needs.contains(&sweep_id),
        "{merge_id}: needs {sweep_id}, or it runs beside the sweeps"
    );
    assert!(
        s(&merge_job["if"]).contains("always()"),
        "{merge_id}: if: always(), or a failed shard skips the merge that would name it"
    );
    let download = uses(merge_job, "actions/download-artifact");
    assert_eq!(download.len(), 1, "{merge_id}: downloads the shards");
    let dl = &download[0]["with"];
    assert!(
        s(&dl["name"]).is_empty() && dl["merge-multiple"].as_bool() != Some(true),
        "{merge_id}: every artifact, each into its own folder"
    );
    let pattern = s(&dl["pattern"]);
    let downloaded = s(&dl["path"]).trim_end_matches('/');
    let mut shard_dirs = BTreeSet::new();
    for a in &artifacts {
        assert!(
            pattern.is_empty() || glob_matches(pattern, a),
            "{merge_id}: pattern {pattern} leaves out {a}"
        );
        shard_dirs.insert(format!("{downloaded}/{a}"));
    }
    let mut v = base.clone();
    env_of(merge_job, &mut v.assigned);
    let start = raw.find(&format!("\n  {merge_id}:")).unwrap_or(0);
    let mut from = raw[..start].lines().count();
    let found = job_invocations(&raw, merge_job, &v, &mut from);
    let sub = |name: &'static str| found.iter().filter(move |i| i.subcommand() == name);
    let merges: Vec<&Invocation> = sub("merge").collect();
    assert_eq!(merges.len(), 1, "{merge_id}: one merge: {found:?}");
    let merged = merges[0].flag("--out").expect("merge --out");
    for d in sub("diff") {
        let new = d.positional(&[]).get(1).copied().unwrap_or("");
        assert!(
            Path::new(new).starts_with(merged),
            "{}: compares the merged report",
            d.describe()
        );
    }
    for r in sub("report") {
        assert_eq!(r.flag("--format"), Some("bmf"), "{}", r.describe());
        let journal = r.positional(&["--out", "--format"]).first().copied();
        assert!(
            Path::new(journal.unwrap_or("")).starts_with(merged),
            "{}: exports the merged journal",
            r.describe()
        );
    }
    for name in ["diff", "report"] {
        assert_eq!(sub(name).count(), 1, "{merge_id}: one `driftbench {name}`");
    }
    all.extend(found.iter().map(|i| (i.clone(), BTreeMap::new())));

    sweep_folders(expected.iter().map(|(inv, ..)| inv));
    check_merge(merges[0], &shard_dirs);

    let mut failures = Vec::new();
    let parsed = parse_all(&all, &mut failures);
    for ((inv, shard, gpu), cmd) in expected.iter().zip(&parsed) {
        if let Some(cmd) = cmd {
            check_sweep(inv, cmd, *shard, gpu);
        }
    }
    fail_if_any(&failures, GHA);
}

// ---- Slurm ---------------------------------------------------------------------------------

/// The Slurm recipes, and the subcommand each must run (`None`: whatever it runs must parse).
const SLURM: &[(&str, Option<&str>)] = &[
    ("examples/cluster/slurm-shards.sbatch", Some("sweep")),
    ("examples/cluster/slurm-merge.sbatch", Some("merge")),
    ("examples/cluster/slurm-submit.sh", None),
];

/// The number of tasks of the shards' array: its `#SBATCH --array=0-M` line.
fn slurm_array_size() -> usize {
    let text = read(SLURM[0].0);
    let range = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("#SBATCH --array=0-"))
        .unwrap_or_else(|| panic!("{}: no `#SBATCH --array=0-M` line", SLURM[0].0));
    let last: usize = range
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("{}: --array=0-{range}", SLURM[0].0));
    last + 1
}

/// What Slurm sets in task `index` of an array of the tasks `first..=last`.
fn slurm_task(index: usize, first: usize, last: usize) -> BTreeMap<String, String> {
    [
        ("SLURM_ARRAY_TASK_ID", index),
        ("SLURM_ARRAY_TASK_MIN", first),
        ("SLURM_ARRAY_TASK_MAX", last),
        ("SLURM_ARRAY_TASK_COUNT", last + 1 - first),
        ("SLURM_ARRAY_JOB_ID", 4242),
        ("SLURM_JOB_ID", 4243 + index),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The one sweep of the shards' job script as task `index` of `first..=last` runs it: its
/// shard and folder, or why it does not parse.
fn slurm_shard_sweep(
    index: usize,
    first: usize,
    last: usize,
) -> Result<(Invocation, Option<Shard>, Option<String>), String> {
    let (file, _) = SLURM[0];
    let text = read(file);
    let vars = Vars {
        assigned: assignments(&text),
        engine: slurm_task(index, first, last),
        expressions: BTreeMap::new(),
    };
    let sweeps: Vec<Invocation> = invocations(&text, &vars, file, 1)
        .into_iter()
        .filter(|i| i.subcommand() == "sweep")
        .collect();
    assert_eq!(sweeps.len(), 1, "{file}: one `driftbench sweep`");
    let inv = sweeps.into_iter().next().unwrap();
    match inv.parse(&vars.engine) {
        Ok(Command::Sweep { shard, out, .. }) => {
            let out = out.map(|o| o.to_string_lossy().into_owned());
            Ok((inv, shard, out))
        }
        Ok(_) => unreachable!(),
        Err(e) => Err(format!("{}: {e}", inv.describe())),
    }
}

/// The book's promise: submitting one index of the array again (`sbatch --array=K`) reruns
/// exactly shard K of N into the same folder, as in the whole array.
#[test]
fn a_slurm_shard_submitted_alone_reruns_the_same_shard_into_the_same_folder() {
    let n = slurm_array_size();
    let k = n.min(3) - 1;
    let (_, whole_shard, whole_out) =
        slurm_shard_sweep(k, 0, n - 1).unwrap_or_else(|e| panic!("the whole array: {e}"));
    assert_eq!(whole_shard, Some(Shard { index: k, count: n }));
    let alone = slurm_shard_sweep(k, k, k);
    let alone = alone.as_ref().map(|(_, shard, out)| (*shard, out.clone()));
    assert_eq!(
        alone,
        Ok((whole_shard, whole_out)),
        "{}: `sbatch --array={k}` does not rerun shard {k}/{n} of `--array=0-{}` into its \
         folder (the shard count must not come from the size of the array submitted)",
        SLURM[0].0,
        n - 1
    );
}

#[test]
fn slurm_recipes_command_lines_parse_with_the_cli() {
    let n = slurm_array_size();
    let mut all = Vec::new();
    for (file, must) in SLURM {
        let text = read(file);
        let vars = Vars {
            assigned: assignments(&text),
            // Task 1 of the array as written.
            engine: slurm_task(1.min(n - 1), 0, n - 1),
            expressions: BTreeMap::new(),
        };
        let found = invocations(&text, &vars, file, 1);
        if let Some(sub) = must {
            assert!(
                found.iter().any(|i| i.subcommand() == *sub),
                "{file}: no `driftbench {sub}` command line found: {found:?}"
            );
        }
        all.extend(found.into_iter().map(|i| (i, vars.engine.clone())));
    }
    let mut failures = Vec::new();
    let parsed = parse_all(&all, &mut failures);
    for ((inv, _), cmd) in all.iter().zip(&parsed) {
        if let Some(Command::Sweep { shard, out, .. }) = cmd {
            assert!(
                shard.is_some() && out.is_some(),
                "{}: a shard's sweep names its --shard and its own --out",
                inv.describe()
            );
        }
    }
    fail_if_any(&failures, "the Slurm recipes");
}

// ---- The book ------------------------------------------------------------------------------

#[test]
fn the_cluster_chapter_shows_every_recipe() {
    let chapter = read("book/src/cluster.md");
    let dir = root().join("examples/cluster");
    let mut recipes = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if [".yaml", ".yml", ".sbatch", ".sh"]
            .iter()
            .any(|x| name.ends_with(x))
        {
            recipes += 1;
            let include = format!("{{{{#include ../../examples/cluster/{name}}}}}");
            assert!(
                chapter.contains(&include),
                "book/src/cluster.md does not show examples/cluster/{name} ({include})"
            );
        }
    }
    assert!(recipes >= 2, "recipes found: {recipes}");
}

// ---- The readers themselves ----------------------------------------------------------------

#[test]
fn command_lines_are_read_as_a_shell_reads_them() {
    let vars = Vars {
        assigned: assignments("OUT=${OUT:-results}\nexport N=4\nBIN=\"/opt/x/driftbench\"\n"),
        engine: BTreeMap::from([("SLURM_ARRAY_TASK_ID".into(), "2".into())]),
        expressions: BTreeMap::from([("matrix.gpu".into(), "h100".into())]),
    };
    let script = "# driftbench sweep in a comment\n\
                  srun --gpus=1 \"$BIN\" sweep 'a b.toml' --shard auto/$N \\\n  \
                  --out \"$OUT/${{ matrix.gpu }}/shard-${SLURM_ARRAY_TASK_ID}\" 2>&1 | tee log\n\
                  sbatch --job-name driftbench x.sbatch\n\
                  if driftbench merge $(ls -d r/*) --out m; then echo \"driftbench ok\"; fi\n";
    let found = invocations(script, &vars, "f", 10);
    let got: Vec<(String, Vec<String>)> = found
        .iter()
        .map(|i| (i.at.clone(), i.words.clone()))
        .collect();
    let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        vec![
            (
                "f:11".into(),
                w(&[
                    "sweep",
                    "a b.toml",
                    "--shard",
                    "auto/4",
                    "--out",
                    "results/h100/shard-2"
                ])
            ),
            ("f:14".into(), w(&["merge", "1", "--out", "m"])),
        ]
    );
    assert_eq!(found[0].flag("--shard"), Some("auto/4"));
    assert_eq!(found[0].positional(&["--shard", "--out"]), vec!["a b.toml"]);
    assert!(glob_matches("/r/h100/shard-*", "/r/h100/shard-3/"));
    assert!(!glob_matches("/r/*", "/r/h100/shard-3"));
    assert!(glob_matches("shard-?-*", "shard-a-0"));
}
