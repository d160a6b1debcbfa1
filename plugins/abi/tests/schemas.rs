//! The JSON schemas in `plugins/abi/schemas/` against the serde types whose JSON crosses the
//! ABI: a fully populated and a minimal value of each type validate; every property a schema
//! lists is one the full value writes (no stale schema members); every schema object closes
//! with `additionalProperties: false`, so a member the type gains fails here until the schema
//! has it; and each schema's bad examples are refused (the validator is tested too).

use driftbench_core::options::OptionValue;
use driftbench_core::{
    BackendSetup, Configured, Counters, DeviceInfo, Dtype, ModelCost, ModelSpec, OpenedInfo, Peaks,
    Probe, RunProfile, SessionInfo, SyntheticModel,
};
use serde_json::{json, Value};
use std::path::Path;

fn schema(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("schemas/{name}.schema.json"));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Errors of `v` against `s` (a subset of JSON Schema 2020-12: type, enum, const, oneOf,
/// $ref to `#/$defs/...`, properties, required, additionalProperties, items, prefixItems,
/// minItems, maxItems, minimum, maximum), each with its JSON path.
fn check(root: &Value, s: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").expect("local $ref");
        return check(root, &root["$defs"][name], v, path, errs);
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
        return;
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
        return covered(root, &root["$defs"][name], full, path);
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
        return;
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
    };
    let minimal = json!({"vocab": 5, "max_span": 1, "device": "d", "model": "m"});
    let back: OpenedInfo = serde_json::from_value(minimal.clone()).unwrap();
    assert_eq!(back.cost, None);
    full_and_minimal("session_info", to(&full), minimal);
    assert_invalid(
        "session_info",
        &json!({"vocab": 0, "max_span": 1, "device": "d", "model": "m"}),
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

/// Every schema file is tested above, and ABI.md names each one.
#[test]
fn every_schema_is_checked_and_documented() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = std::fs::read_to_string(dir.join("ABI.md")).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(dir.join("schemas"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
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
