//! Per-browser fixtures: each `tests/fixtures/NAME.json` holds a real-shaped report body as a
//! browser sends it; `NAME.expected.json` holds the normalized outcome we promise for it.
//! Run with `RAMPART_BLESS=1` to rewrite the expectations after an intended change, then review
//! the diff by hand.

use std::path::Path;

use rampart_csp::{Limits, MediaType, SiteContext, parse_report};
use serde_json::{Value, json};

fn outcome_json(fixture: &Value) -> Value {
    let media = MediaType::from_content_type(fixture["media_type"].as_str().unwrap()).unwrap();
    let origins: Vec<String> = serde_json::from_value(fixture["origins"].clone()).unwrap();
    let body = serde_json::to_vec(&fixture["body"]).unwrap();
    let site = SiteContext {
        origins: &origins,
        keep_query: false,
    };
    let outcomes = parse_report(media, &body, &site, &Limits::default()).expect("parses");
    Value::Array(
        outcomes
            .into_iter()
            .map(|o| match o {
                Ok(v) => json!({"key": v.resource_key(), "violation": v}),
                Err(reason) => json!({"noise": reason.label()}),
            })
            .collect(),
    )
}

#[test]
fn every_fixture_normalizes_as_expected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let bless = std::env::var_os("RAMPART_BLESS").is_some();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.ends_with(".json") || name.ends_with(".expected.json") {
            continue;
        }
        let fixture: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let actual = outcome_json(&fixture);
        let expected_path = path.with_extension("expected.json");
        if bless {
            std::fs::write(
                &expected_path,
                serde_json::to_string_pretty(&actual).unwrap() + "\n",
            )
            .unwrap();
        }
        let expected: Value = serde_json::from_slice(
            &std::fs::read(&expected_path).unwrap_or_else(|_| panic!("{name}: no expectation")),
        )
        .unwrap();
        assert_eq!(actual, expected, "fixture {name}");
        checked += 1;
    }
    assert!(checked >= 9, "only {checked} fixtures found");
}
