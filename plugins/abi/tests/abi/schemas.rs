//! The JSON schemas in `plugins/abi/schemas/` against the serde types whose JSON crosses the
//! ABI: a fully populated and a minimal value of each type validate; every property a schema
//! lists is one the full value writes (no stale schema members); every schema object closes
//! with `additionalProperties: false`, so a member the type gains fails here until the schema
//! has it; and each schema's bad examples are refused (the validator is tested too).
//!
//! The validator (`check`) implements a subset of JSON Schema 2020-12, and it refuses the
//! keywords it does not implement: before any value is checked, `keyword_errors` walks every
//! subschema of every schema file and fails, naming the file, the JSON pointer inside the
//! schema and the keyword, on any keyword outside `KEYWORDS` (e.g. `pattern`, `anyOf`,
//! `format`), so no schema can promise something nothing here checks.

use driftbench_core::options::OptionValue;
use driftbench_core::{
    BackendSetup, Configured, Counters, DeviceInfo, Dtype, KvMode, ModelCost, ModelSpec,
    OpenedInfo, Peaks, Probe, RunProfile, SessionInfo, SyntheticModel,
};
use serde_json::{json, Value};
use std::path::Path;

/// The schema file `schemas/<name>.schema.json`, refused if it uses a keyword `check` does
/// not implement.
fn schema(name: &str) -> Value {
    schema_file(&format!("{name}.schema.json"))
}

fn schema_file(file: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(file);
    let s = serde_json::from_str(&std::fs::read_to_string(&p).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let e = keyword_errors(file, &s);
    assert!(e.is_empty(), "{}", e.join("\n"));
    s
}

/// The dialect `check` implements (a subset of it); `$schema` must name it.
const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

/// What a keyword's value must be (and whether `keyword_errors` descends into it).
#[derive(Clone, Copy, Debug)]
enum Form {
    /// A string.
    Text,
    /// `DRAFT`, at the root only.
    Draft,
    /// An object of name to schema, at the root only (where `$ref` resolves).
    Defs,
    /// An object of name to schema (the names are not keywords).
    Props,
    /// A schema.
    Schema,
    /// `true`, `false` or a schema.
    BoolOrSchema,
    /// A non-empty array of schemas.
    Schemas,
    /// `#/$defs/<name>` naming a member of the root's `$defs` (`check` takes the name as
    /// it is, so it may hold no `/` or `~`).
    Ref,
    /// A type name or a non-empty array of them.
    Types,
    /// A non-empty array.
    Values,
    /// Any value.
    Any,
    /// A number.
    Number,
    /// A non-negative integer.
    Count,
    /// An array of strings.
    Names,
}

/// Every keyword a schema here may use; `keyword_errors` refuses any other. The validation
/// keywords are all enforced by `check`; the annotation and structure keywords carry no
/// validation (`check` never reads them, so they cannot change validity).
const KEYWORDS: &[(&str, Form)] = &[
    // Validation keywords, enforced by `check`.
    ("type", Form::Types),
    ("enum", Form::Values),
    ("const", Form::Any),
    ("oneOf", Form::Schemas),
    ("$ref", Form::Ref),
    ("properties", Form::Props),
    ("required", Form::Names),
    ("additionalProperties", Form::BoolOrSchema),
    ("items", Form::Schema),
    ("prefixItems", Form::Schemas),
    ("minItems", Form::Count),
    ("maxItems", Form::Count),
    ("minimum", Form::Number),
    ("maximum", Form::Number),
    // Annotation and structure keywords: no validation.
    ("$schema", Form::Draft),
    ("title", Form::Text),
    ("description", Form::Text),
    ("$comment", Form::Text),
    ("$defs", Form::Defs),
];

/// The type names `check` knows.
const TYPES: &[&str] = &[
    "object", "array", "string", "boolean", "null", "integer", "number",
];

/// Errors of the schema `root` (from `file`) as a schema `check` can enforce in full: every
/// subschema (properties' values, `items`, `prefixItems` and `oneOf` entries, `$defs`
/// members, `additionalProperties` when a schema) is visited, whether a test value reaches
/// it or not, and any keyword outside `KEYWORDS`, or a keyword value `check` would misread,
/// is reported with the file and the JSON pointer of the schema object.
fn keyword_errors(file: &str, root: &Value) -> Vec<String> {
    let mut e = Vec::new();
    walk_keywords(file, root, root, "#", &mut e);
    e
}

/// A JSON pointer token for `name`.
fn token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

fn walk_keywords(file: &str, root: &Value, s: &Value, ptr: &str, errs: &mut Vec<String>) {
    let Some(o) = s.as_object() else {
        errs.push(format!(
            "{file}: {ptr}: a schema must be an object here (boolean schemas are not implemented by this check)"
        ));
        return;
    };
    for (k, x) in o {
        let Some(&(_, form)) = KEYWORDS.iter().find(|(kw, _)| kw == k) else {
            errs.push(format!(
                "{file}: {ptr}: keyword `{k}` is not implemented by this check"
            ));
            continue;
        };
        let here = format!("{ptr}/{}", token(k));
        let at_root = ptr == "#";
        let bad: Option<&str> = match form {
            Form::Text => (!x.is_string()).then_some("a string"),
            Form::Draft => (!at_root || x != DRAFT).then_some("the 2020-12 dialect, at the root"),
            Form::Defs | Form::Props => match x.as_object() {
                Some(_) if matches!(form, Form::Defs) && !at_root => Some("at the root only"),
                Some(m) => {
                    for (name, sub) in m {
                        walk_keywords(file, root, sub, &format!("{here}/{}", token(name)), errs);
                    }
                    None
                }
                None => Some("an object of name to schema"),
            },
            Form::Schema => {
                walk_keywords(file, root, x, &here, errs);
                None
            }
            Form::BoolOrSchema => {
                if !x.is_boolean() {
                    walk_keywords(file, root, x, &here, errs);
                }
                None
            }
            Form::Schemas => match x.as_array() {
                Some(a) if !a.is_empty() => {
                    for (i, sub) in a.iter().enumerate() {
                        walk_keywords(file, root, sub, &format!("{here}/{i}"), errs);
                    }
                    None
                }
                _ => Some("a non-empty array of schemas"),
            },
            Form::Ref => match x.as_str().and_then(|r| r.strip_prefix("#/$defs/")) {
                Some(name)
                    if !name.contains(['/', '~'])
                        && root.get("$defs").and_then(|d| d.get(name)).is_some() =>
                {
                    None
                }
                _ => Some(
                    "`#/$defs/<name>` (no `/` or `~` in it) naming a member of the root's `$defs`",
                ),
            },
            Form::Types => {
                let known = |t: &Value| t.as_str().is_some_and(|t| TYPES.contains(&t));
                let ok = match x {
                    Value::Array(ts) => !ts.is_empty() && ts.iter().all(known),
                    t => known(t),
                };
                (!ok).then_some("a type name or a non-empty array of them")
            }
            Form::Values => x
                .as_array()
                .is_none_or(|a| a.is_empty())
                .then_some("a non-empty array"),
            Form::Any => None,
            Form::Number => (!x.is_number()).then_some("a number"),
            Form::Count => (!x.is_u64()).then_some("a non-negative integer"),
            Form::Names => (!x.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
                .then_some("an array of strings"),
        };
        if let Some(want) = bad {
            errs.push(format!("{file}: {here}: `{k}` must be {want}"));
        }
    }
}

/// Errors of `v` against `s` (a subset of JSON Schema 2020-12: the validation keywords of
/// `KEYWORDS`, i.e. type, enum, const, oneOf, $ref to `#/$defs/...`, properties, required,
/// additionalProperties, items, prefixItems, minItems, maxItems, minimum, maximum; each
/// applies alongside its siblings), each with its JSON path. Only for schemas that
/// `keyword_errors` passes: any other keyword would be ignored here, so it is refused there.
fn check(root: &Value, s: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").expect("local $ref");
        let target = root["$defs"].get(name).expect("$ref to a $defs member");
        check(root, target, v, path, errs);
    }
    if let Some(options) = s.get("oneOf").and_then(Value::as_array) {
        let ok = options
            .iter()
            .filter(|o| {
                let mut e = Vec::new();
                check(root, o, v, path, &mut e);
                e.is_empty()
            })
            .count();
        if ok != 1 {
            errs.push(format!(
                "{path}: matches {ok} of oneOf's {} schemas",
                options.len()
            ));
        }
    }
    if let Some(c) = s.get("const") {
        if c != v {
            errs.push(format!("{path}: {v} is not {c}"));
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            errs.push(format!("{path}: {v} not in {e:?}"));
        }
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => panic!("bad type in schema at {path}"),
        };
        let is = |t: &str| match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            other => panic!("unknown type {other}"),
        };
        if !types.iter().any(|t| is(t)) {
            errs.push(format!("{path}: {v} is not {types:?}"));
            return;
        }
    }
    if let Some(n) = v.as_f64() {
        if s.get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n < m)
        {
            errs.push(format!("{path}: {n} below the minimum"));
        }
        if s.get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n > m)
        {
            errs.push(format!("{path}: {n} above the maximum"));
        }
    }
    if let Some(o) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap();
            if !o.contains_key(r) {
                errs.push(format!("{path}: missing required `{r}`"));
            }
        }
        for (k, x) in o {
            let at = format!("{path}.{k}");
            match props.and_then(|p| p.get(k)) {
                Some(ps) => check(root, ps, x, &at, errs),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => errs.push(format!("{at}: not in the schema")),
                    Some(extra @ Value::Object(_)) => check(root, extra, x, &at, errs),
                    _ => {}
                },
            }
        }
    }
    if let Some(a) = v.as_array() {
        if s.get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| (a.len() as u64) < m)
        {
            errs.push(format!("{path}: fewer than minItems"));
        }
        if s.get("maxItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| (a.len() as u64) > m)
        {
            errs.push(format!("{path}: more than maxItems"));
        }
        let prefix = s.get("prefixItems").and_then(Value::as_array);
        for (i, x) in a.iter().enumerate() {
            let at = format!("{path}[{i}]");
            match prefix.and_then(|p| p.get(i)) {
                Some(ps) => check(root, ps, x, &at, errs),
                None => {
                    if let Some(items) = s.get("items") {
                        check(root, items, x, &at, errs)
                    }
                }
            }
        }
    }
}

fn errors(s: &Value, v: &Value) -> Vec<String> {
    let mut e = Vec::new();
    check(s, s, v, "$", &mut e);
    e
}

fn assert_valid(name: &str, v: &Value) {
    let e = errors(&schema(name), v);
    assert!(e.is_empty(), "{name}: {v}\n{}", e.join("\n"));
}

fn assert_invalid(name: &str, v: &Value) {
    assert!(
        !errors(&schema(name), v).is_empty(),
        "{name} accepted what it should refuse: {v}"
    );
}

/// Every `properties` member of every object schema reachable from `s` (following $refs
/// and oneOf) appears at the matching place of `full`, the serde form of a fully populated
/// value: the schema lists nothing the type does not write. Also checks that every object
/// schema with properties closes with `additionalProperties: false`.
fn covered(root: &Value, s: &Value, full: &Value, path: &str) {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").unwrap();
        covered(root, &root["$defs"][name], full, path);
    }
    if let Some(options) = s.get("oneOf").and_then(Value::as_array) {
        // Only the option the value matches.
        for o in options {
            let mut e = Vec::new();
            check(root, o, full, path, &mut e);
            if e.is_empty() {
                covered(root, o, full, path);
            }
        }
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        assert_eq!(
            s.get("additionalProperties"),
            Some(&Value::Bool(false)),
            "{path}: an object schema with properties must close"
        );
        for (k, ps) in props {
            let x = full
                .get(k)
                .unwrap_or_else(|| panic!("{path}.{k}: in the schema but not written by the type"));
            covered(root, ps, x, &format!("{path}.{k}"));
        }
    }
    if let (Some(items), Some(a)) = (s.get("items"), full.as_array()) {
        for (i, x) in a.iter().enumerate() {
            covered(root, items, x, &format!("{path}[{i}]"));
        }
    }
}

fn full_and_minimal(name: &str, full: Value, minimal: Value) {
    assert_valid(name, &full);
    assert_valid(name, &minimal);
    let s = schema(name);
    covered(&s, &s, &full, "$");
}

fn to(v: impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap()
}

#[test]
fn probe() {
    let full = Probe {
        backend: "mine".into(),
        version: "0.1.0".into(),
        burn_version: Some("0.21.0".into()),
        unavailable: Some("no driver".into()),
        devices: vec![DeviceInfo {
            name: "cpu".into(),
            kind: "cpu".into(),
            driver: Some("none".into()),
            dtypes: vec![Dtype::F32, Dtype::F64],
            unsupported: vec![(Dtype::F16, "no f16".into())],
            details: vec![("threads".into(), "2".into())],
        }],
        backend_dtypes: vec![Dtype::F32],
        kv_unsupported: vec![(KvMode::Aligned, "the cache always pads".into())],
        kv_padding: Some("256 cells, the unused ones masked".into()),
        traces: true,
    };
    let minimal = json!({"backend": "b", "version": "1", "devices": []});
    let back: Probe = serde_json::from_value(minimal.clone()).unwrap();
    assert!(back.devices.is_empty());
    full_and_minimal("probe", to(&full), minimal);
    assert_invalid("probe", &json!({"backend": "b", "version": "1"}));
    assert_invalid(
        "probe",
        &json!({"backend": "b", "version": "1", "devices": [{"name": "x", "kind": "cpu", "dtypes": ["f8"]}]}),
    );
}

#[test]
fn model_spec() {
    let synthetic = ModelSpec::Synthetic(SyntheticModel {
        layers: 2,
        hidden: 64,
        heads: 4,
        kv_heads: 2,
        ffn: 128,
        vocab: 97,
        rope_base: 10000.0,
        norm_eps: 1e-5,
        weight_seed: 3,
    });
    let gguf = ModelSpec::Gguf {
        path: "models/m.gguf".into(),
    };
    full_and_minimal("model_spec", to(&synthetic), to(&gguf));
    let s = schema("model_spec");
    covered(&s, &s, &to(&gguf), "$");
    let minimal = json!({"kind": "synthetic", "layers": 1, "hidden": 8, "heads": 2, "kv_heads": 1, "ffn": 16, "vocab": 5});
    assert_valid("model_spec", &minimal);
    let back: ModelSpec = serde_json::from_value(minimal).unwrap();
    assert!(matches!(back, ModelSpec::Synthetic(m) if m.rope_base == 10000.0));
    assert_invalid(
        "model_spec",
        &json!({"kind": "gguf", "path": "m", "extra": 1}),
    );
    assert_invalid("model_spec", &json!({"kind": "onnx", "path": "m"}));
}

#[test]
fn session_info() {
    let full = OpenedInfo {
        info: SessionInfo {
            vocab: 49152,
            max_span: 8192,
            device: "cpu".into(),
            model: "llama".into(),
        },
        cost: Some(ModelCost {
            layers: 30,
            q_dim: 576,
            kv_dim: 192,
            product_params: 134_000_000,
            weight_bytes: 268_000_000,
            weight_dtype: "bf16".into(),
            kv_value_bytes: 2,
        }),
        logits: Some(Dtype::F64),
    };
    assert_eq!(to(&full)["logits"], "f64");
    let minimal = json!({"vocab": 5, "max_span": 1, "device": "d", "model": "m"});
    let back: OpenedInfo = serde_json::from_value(minimal.clone()).unwrap();
    assert_eq!(back.cost, None);
    assert!(!back.logits_f64(), "no `logits` member: f32 logits");
    full_and_minimal("session_info", to(&full), minimal);
    assert_invalid(
        "session_info",
        &json!({"vocab": 0, "max_span": 1, "device": "d", "model": "m"}),
    );
    // Logits cross as f32 or f64, nothing else.
    assert_invalid(
        "session_info",
        &json!({"vocab": 5, "max_span": 1, "device": "d", "model": "m", "logits": "f16"}),
    );
}

#[test]
fn backend_setup_and_configured() {
    let options = [
        ("fusion".to_string(), OptionValue::Bool(true)),
        ("device".to_string(), OptionValue::Int(0)),
        ("scale".to_string(), OptionValue::Float(0.5)),
        ("autotune".to_string(), OptionValue::Text("balanced".into())),
    ]
    .into_iter()
    .collect();
    let setup = BackendSetup {
        options,
        cache_dir: Some("/tmp/cache".into()),
    };
    full_and_minimal("backend_setup", to(&setup), json!({}));
    let configured = Configured {
        options: setup.options.clone(),
        details: vec![("kernel cache".into(), "/tmp/cache/k".into())],
    };
    full_and_minimal("configured", to(&configured), json!({}));
    assert_invalid("backend_setup", &json!({"options": {"x": [1]}}));
}

#[test]
fn counters() {
    let c: Counters = [("kernels_compiled".to_string(), 12u64)]
        .into_iter()
        .collect();
    full_and_minimal("counters", to(&c), json!({}));
    assert_invalid("counters", &json!({"x": -1}));
}

#[test]
fn run_profile() {
    let full = RunProfile {
        step_s: vec![0.01, f64::NAN],
        readback_s: Some(f64::INFINITY),
        peak_rss_bytes: Some(1 << 30),
    };
    let v = to(&full);
    assert_eq!(v["step_s"][1], "NaN", "non-finite floats are strings");
    full_and_minimal("run_profile", v, to(RunProfile::default()));
    assert_invalid("run_profile", &json!({"step_s": ["fast"]}));
}

#[test]
fn peaks() {
    let full = Peaks {
        dtype: Dtype::Bf16,
        product_dtype: "bf16".into(),
        gemm_gflops: 700.0,
        gemm_shape: [512, 576, 1536],
        bandwidth_gbs: f64::NAN,
        bandwidth_method: "one-row product".into(),
        reps: 5,
    };
    let v = to(&full);
    full_and_minimal("peaks", v.clone(), v);
    assert_invalid(
        "peaks",
        &json!({"dtype": "bf16", "product_dtype": "x", "gemm_gflops": 1, "gemm_shape": [1, 2], "bandwidth_gbs": 1, "bandwidth_method": "m", "reps": 5}),
    );
}

/// Every schema file uses only keywords `check` implements, is tested above, and ABI.md
/// names each one.
#[test]
fn every_schema_is_checked_and_documented() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = std::fs::read_to_string(dir.join("ABI.md")).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(dir.join("schemas"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in &names {
        // Panics naming the file, the place and the keyword.
        schema_file(n);
    }
    let tested = [
        "backend_setup",
        "configured",
        "counters",
        "model_spec",
        "peaks",
        "probe",
        "run_profile",
        "session_info",
    ];
    let want: Vec<String> = tested.iter().map(|n| format!("{n}.schema.json")).collect();
    assert_eq!(
        names, want,
        "a schema file without a test (or a test without a file)"
    );
    for n in &want {
        assert!(
            spec.contains(&format!("`plugins/abi/schemas/{n}`")),
            "ABI.md does not name {n}"
        );
    }
}

/// The keyword walk refuses what `check` does not implement, wherever it is (a branch no
/// value reaches included), and only that: names inside `properties` and `$defs` are not
/// keywords, and the same schema without the unimplemented keywords passes.
#[test]
fn unimplemented_keywords_are_refused() {
    let with = |extra: bool| {
        let mut s = json!({
            "$schema": DRAFT,
            "title": "T",
            "type": "object",
            "additionalProperties": false,
            "required": ["name"],
            "properties": {
                // Property names that are keywords elsewhere.
                "name": {"type": "string", "description": "a name"},
                "pattern": {"$ref": "#/$defs/float"},
                "anyOf": {"type": "array", "items": {"type": "integer", "minimum": 0}}
            },
            "$defs": {
                "float": {"oneOf": [{"type": "number"}, {"enum": ["NaN"]}]},
                // Reached by no value, and its name needs escaping in a JSON pointer.
                "a~b/c": {"type": "string"}
            }
        });
        if extra {
            s["anyOf"] = json!([{"required": ["name"]}]);
            s["properties"]["name"]["pattern"] = json!("^[a-z]+$");
            s["$defs"]["a~b/c"]["format"] = json!("uuid");
            s["properties"]["anyOf"]["items"]["exclusiveMinimum"] = json!(0);
            s["$defs"]["float"]["oneOf"][1]["minLength"] = json!(1);
        }
        s
    };
    assert_eq!(
        keyword_errors("t.schema.json", &with(false)),
        Vec::<String>::new()
    );
    let mut got = keyword_errors("t.schema.json", &with(true));
    got.sort();
    assert_eq!(
        got,
        [
            "t.schema.json: #/$defs/a~0b~1c: keyword `format` is not implemented by this check",
            "t.schema.json: #/$defs/float/oneOf/1: keyword `minLength` is not implemented by this check",
            "t.schema.json: #/properties/anyOf/items: keyword `exclusiveMinimum` is not implemented by this check",
            "t.schema.json: #/properties/name: keyword `pattern` is not implemented by this check",
            "t.schema.json: #: keyword `anyOf` is not implemented by this check",
        ]
    );
    // Annotation keywords do not change validity.
    let plain = with(false);
    let mut bare = plain.clone();
    for k in ["$schema", "title"] {
        bare.as_object_mut().unwrap().remove(k);
    }
    bare["properties"]["name"]
        .as_object_mut()
        .unwrap()
        .remove("description");
    for v in [
        json!({"name": "x", "anyOf": [1]}),
        json!({"name": 1}),
        json!({"pattern": 1.5}),
    ] {
        assert_eq!(
            errors(&plain, &v).is_empty(),
            errors(&bare, &v).is_empty(),
            "{v}"
        );
    }
    assert!(errors(&plain, &json!({"name": "x", "pattern": "NaN"})).is_empty());

    // Keyword values `check` would misread, and keywords out of place, are refused too.
    let mut got = keyword_errors(
        "t.schema.json",
        &json!({
            "type": "whole",
            "minimum": "0",
            "items": false,
            "properties": {
                "a": {"$ref": "#/$defs/missing", "$schema": DRAFT, "$defs": {}},
                "b": {"$ref": "#/$defs/x~1y"}
            },
            "$defs": {"x~1y": {}, "x/y": {}}
        }),
    );
    got.sort();
    assert_eq!(
        got,
        [
            "t.schema.json: #/items: a schema must be an object here (boolean schemas are not implemented by this check)",
            "t.schema.json: #/minimum: `minimum` must be a number",
            "t.schema.json: #/properties/a/$defs: `$defs` must be at the root only",
            "t.schema.json: #/properties/a/$ref: `$ref` must be `#/$defs/<name>` (no `/` or `~` in it) naming a member of the root's `$defs`",
            "t.schema.json: #/properties/a/$schema: `$schema` must be the 2020-12 dialect, at the root",
            "t.schema.json: #/properties/b/$ref: `$ref` must be `#/$defs/<name>` (no `/` or `~` in it) naming a member of the root's `$defs`",
            "t.schema.json: #/type: `type` must be a type name or a non-empty array of them",
        ]
    );
}
