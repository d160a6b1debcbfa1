//! Backend options: the strict reader plugins use.

use driftbench_core::error::BackendError;
use driftbench_core::options::BackendOptions;
use driftbench_core::options::OptionValue;
use driftbench_core::options::{describe, OptionReader};

fn opts(pairs: &[(&str, OptionValue)]) -> BackendOptions {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn invalid(e: BackendError) -> String {
    match e {
        BackendError::Invalid(m) => m,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn reader_fills_defaults_and_records_what_is_in_force() {
    let given = opts(&[("fusion", OptionValue::Bool(false))]);
    let mut r = OptionReader::new(&given);
    assert!(!r.bool("fusion", true).unwrap());
    assert_eq!(
        r.choice("autotune", &["minimal", "balanced"], "balanced")
            .unwrap(),
        "balanced"
    );
    assert_eq!(r.index("device", 0, 3).unwrap(), 0);
    assert_eq!(r.number("shift", 0.5).unwrap(), 0.5);
    let in_force = r.finish().unwrap();
    assert_eq!(
        describe(&in_force),
        "autotune = \"balanced\", device = 0, fusion = false, shift = 0.5"
    );
    assert_eq!(describe(&BackendOptions::new()), "defaults");
}

#[test]
fn reader_names_the_option_and_what_it_expected() {
    let given = opts(&[("fusion", OptionValue::Text("yes".into()))]);
    let m = invalid(OptionReader::new(&given).bool("fusion", true).unwrap_err());
    assert_eq!(
        m,
        "option `fusion`: invalid value \"yes\": expected true or false"
    );

    let given = opts(&[("autotune", OptionValue::Text("max".into()))]);
    let m = invalid(
        OptionReader::new(&given)
            .choice("autotune", &["minimal", "balanced"], "balanced")
            .unwrap_err(),
    );
    assert!(
        m.contains("`autotune`") && m.contains("one of minimal, balanced"),
        "{m}"
    );

    let given = opts(&[("device", OptionValue::Int(4))]);
    let m = invalid(OptionReader::new(&given).index("device", 0, 1).unwrap_err());
    assert!(m.contains("an integer from 0 to 1"), "{m}");

    let given = opts(&[("shift", OptionValue::Float(f64::NAN))]);
    let m = invalid(OptionReader::new(&given).number("shift", 0.0).unwrap_err());
    assert!(m.contains("a finite number"), "{m}");
}

#[test]
fn reader_rejects_unknown_keys_listing_the_known_ones() {
    let given = opts(&[
        ("fusion", OptionValue::Bool(true)),
        ("fusoin", OptionValue::Bool(false)),
    ]);
    let mut r = OptionReader::new(&given);
    r.bool("fusion", true).unwrap();
    r.index("device", 0, 0).unwrap();
    let m = invalid(r.finish().unwrap_err());
    assert_eq!(
        m,
        "unknown option `fusoin`; this backend takes: device, fusion"
    );
}
