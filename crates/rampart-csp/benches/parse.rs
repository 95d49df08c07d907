//! Report parsing cost, against the floor of parsing the same bytes into a `serde_json::Value`
//! in the same run (`cargo bench -p rampart-csp --bench parse`). The ratio is what matters on a
//! noisy machine: normalization (URL parsing, eTLD+1, noise rules) on top of plain JSON.

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use rampart_csp::{Limits, MediaType, SiteContext, parse_report};

const LEGACY: &str = r#"{"csp-report":{"document-uri":"https://shop.example/checkout?session=abc","referrer":"https://shop.example/cart","violated-directive":"script-src-elem","effective-directive":"script-src-elem","original-policy":"script-src 'none' 'report-sample' 'report-sha256'; connect-src 'none'; report-uri https://rampart.example/report/k","disposition":"report","blocked-uri":"https://cdn.jsdelivr.net/npm/jquery@3.7.1/dist/jquery.min.js?v=1","status-code":200,"script-sample":"","line-number":12,"column-number":5,"source-file":"https://shop.example/checkout"}}"#;

fn batch() -> String {
    let one = r#"{"age":12,"type":"csp-violation","url":"https://shop.example/checkout","user_agent":"Mozilla/5.0 Chrome/156.0.0.0","body":{"blockedURL":"https://www.googletagmanager.com/gtm.js?id=GTM-XXXX","disposition":"report","documentURL":"https://shop.example/checkout","effectiveDirective":"script-src-elem","originalPolicy":"script-src 'none'; report-to rampart","referrer":"","sample":"","statusCode":200}}"#;
    format!("[{}]", [one; 10].join(","))
}

fn bench(c: &mut Criterion) {
    let origins = vec!["https://shop.example".to_string()];
    let site = SiteContext {
        origins: &origins,
        keep_query: false,
    };
    let limits = Limits::default();
    let batch = batch();
    for (name, media, body) in [
        ("legacy", MediaType::CspReport, LEGACY),
        ("batch10", MediaType::ReportsJson, batch.as_str()),
    ] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function("serde_json_value_baseline", |b| {
            b.iter(|| {
                serde_json::from_slice::<serde_json::Value>(black_box(body.as_bytes())).unwrap()
            })
        });
        g.bench_function("parse_report", |b| {
            b.iter(|| parse_report(media, black_box(body.as_bytes()), &site, &limits).unwrap())
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
