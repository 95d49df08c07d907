//! Arbitrary bytes into the report parser, under every media type and with and without origins:
//! it must return (Ok or Err), never panic, and never let a URL past the length limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_csp::{Limits, MediaType, SiteContext, parse_report};

fuzz_target!(|data: &[u8]| {
    let origins = vec!["https://shop.example".to_string()];
    let limits = Limits::default();
    for media in [MediaType::CspReport, MediaType::Json, MediaType::ReportsJson] {
        for site in [SiteContext::default(), SiteContext { origins: &origins, keep_query: true }] {
            if let Ok(outcomes) = parse_report(media, data, &site, &limits) {
                for v in outcomes.into_iter().flatten() {
                    assert!(v.document_url.len() <= limits.max_url_bytes);
                    assert!(v.resource_key().len() <= limits.max_url_bytes + 80);
                    assert!(v.sample.as_ref().is_none_or(|s| s.chars().count() <= limits.max_sample_chars));
                }
            }
        }
    }
});
