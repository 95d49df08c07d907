//! Hostile and malformed bodies: each is refused with a typed error or dropped as noise, and
//! none panics or recurses without bound.

use rampart_csp::{Limits, MediaType, ParseError, SiteContext, parse_report};

fn parse(body: &[u8]) -> Result<Vec<rampart_csp::Outcome>, ParseError> {
    parse_report(
        MediaType::Json,
        body,
        &SiteContext::default(),
        &Limits::default(),
    )
}

#[test]
fn empty_and_non_json_bodies_are_refused() {
    assert_eq!(parse(b"").unwrap_err(), ParseError::Empty);
    assert_eq!(parse(b"  \n ").unwrap_err(), ParseError::Empty);
    assert_eq!(parse(b"\"hello\"").unwrap_err().reason(), "shape");
    assert_eq!(parse(b"{\"csp-report\":").unwrap_err().reason(), "json");
    assert_eq!(parse(b"{\"other\":1}").unwrap_err().reason(), "shape");
    assert_eq!(parse(&[0xff, 0xfe, 0x00]).unwrap_err().reason(), "shape");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let mut body = String::from("{\"csp-report\":{\"document-uri\":");
    body.push_str(&"[".repeat(100_000));
    assert_eq!(parse(body.as_bytes()).unwrap_err().reason(), "json");
    let batch = "[".repeat(200_000);
    assert_eq!(parse(batch.as_bytes()).unwrap_err().reason(), "json");
}

#[test]
fn oversized_batches_are_refused_whole() {
    let one = r#"{"type":"csp-violation","body":{"documentURL":"https://a.example/","blockedURL":"https://b.example/x.js","effectiveDirective":"script-src-elem"}}"#;
    let body = format!("[{}]", vec![one; 101].join(","));
    assert_eq!(
        parse(body.as_bytes()).unwrap_err(),
        ParseError::TooManyReports(101)
    );
    let body = format!("[{}]", vec![one; 100].join(","));
    assert_eq!(parse(body.as_bytes()).unwrap().len(), 100);
}

#[test]
fn wrong_field_types_do_not_cost_the_report() {
    let body = br#"{"csp-report":{"document-uri":"https://a.example/","blocked-uri":"https://b.example/x.js","effective-directive":"script-src-elem","status-code":"200","line-number":{"x":1},"script-sample":["a"]}}"#;
    let out = parse(body).unwrap();
    assert_eq!(
        out[0].as_ref().unwrap().resource_key(),
        "https://b.example/x.js"
    );
}

#[test]
fn markup_in_fields_is_kept_as_data_and_long_urls_are_dropped() {
    let body = br#"{"csp-report":{"document-uri":"https://a.example/<script>alert(1)</script>","blocked-uri":"inline","effective-directive":"script-src-elem","script-sample":"<img src=x onerror=alert(1)>"}}"#;
    let v = parse(body).unwrap().remove(0).unwrap();
    // Escaping is the renderer's job; the parser keeps the bytes verbatim and bounded.
    assert_eq!(v.sample.as_deref(), Some("<img src=x onerror=alert(1)>"));
    let long = format!(
        r#"{{"csp-report":{{"document-uri":"https://a.example/","blocked-uri":"https://b.example/{}","effective-directive":"script-src-elem"}}}}"#,
        "a".repeat(5000)
    );
    assert_eq!(
        parse(long.as_bytes()).unwrap()[0]
            .as_ref()
            .unwrap_err()
            .label(),
        "oversized"
    );
}

#[test]
fn media_types_are_matched_on_their_essence() {
    assert_eq!(
        MediaType::from_content_type("application/csp-report"),
        Some(MediaType::CspReport)
    );
    assert_eq!(
        MediaType::from_content_type("Application/Reports+JSON; charset=utf-8"),
        Some(MediaType::ReportsJson)
    );
    assert_eq!(MediaType::from_content_type("text/plain"), None);
    assert_eq!(MediaType::from_content_type(""), None);
}

#[test]
fn urls_that_grow_when_percent_encoded_are_still_bounded() {
    // 1,000 four-byte characters: 4,000 bytes raw, 12,000 once percent-encoded.
    let body = format!(
        r#"{{"csp-report":{{"document-uri":"https://a.example/","blocked-uri":"https://b.example/{}","effective-directive":"script-src-elem"}}}}"#,
        "😀".repeat(1000)
    );
    assert_eq!(
        parse(body.as_bytes()).unwrap()[0]
            .as_ref()
            .unwrap_err()
            .label(),
        "oversized"
    );
}

#[test]
fn a_csp_hash_that_is_not_a_hash_is_dropped_and_the_load_kept() {
    let report = |hash: &str| {
        let body = serde_json::json!([{"age": 0, "type": "csp-hash", "url": "https://shop.example/",
            "body": {"documentURL": "https://shop.example/", "subresourceURL": "https://cdn.example/a.js",
                     "hash": hash, "type": "subresource", "destination": "script"}}]);
        let out = parse_report(
            MediaType::ReportsJson,
            body.to_string().as_bytes(),
            &SiteContext::default(),
            &Limits::default(),
        )
        .unwrap();
        out.into_iter().next().unwrap().unwrap()
    };
    let good = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    assert_eq!(report(good).hash.as_deref(), Some(good));
    for forged in [
        "sha256-AAA'; script-src *",
        "sha256-x\" onload=\"alert(1)",
        "md5-AAAA",
    ] {
        let v = report(forged);
        assert_eq!(v.hash, None, "{forged}");
        assert_eq!(v.resource_key(), "https://cdn.example/a.js");
    }
}
