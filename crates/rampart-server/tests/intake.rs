//! The report endpoint's contract (SPEC §3): status codes, CORS, noise, counting.

mod common;

use common::*;

#[tokio::test]
async fn status_codes_follow_the_spec() {
    let t = start("", "").await;
    let ok = script_report("https://shop.example/", "https://cdn.a.example/x.js");
    assert_eq!(
        t.post("application/csp-report", ok.clone()).await.status(),
        204
    );
    assert_eq!(
        t.post("application/json; charset=utf-8", ok.clone())
            .await
            .status(),
        204
    );
    let batch = r#"[{"type":"csp-violation","url":"https://shop.example/","body":{"documentURL":"https://shop.example/","blockedURL":"https://cdn.b.example/y.js","effectiveDirective":"script-src-elem"}}]"#;
    assert_eq!(
        t.post("application/reports+json", batch).await.status(),
        204
    );

    assert_eq!(
        t.post("application/csp-report", "{not json").await.status(),
        400
    );
    assert_eq!(t.post("application/csp-report", "").await.status(), 400);
    assert_eq!(
        t.post("application/csp-report", r#"{"x":1}"#)
            .await
            .status(),
        400
    );
    assert_eq!(t.post("text/plain", ok.clone()).await.status(), 415);
    assert_eq!(
        t.post("application/csp-report", "x".repeat(5000))
            .await
            .status(),
        413
    );

    // A chunked upload without Content-Length is measured as it streams.
    let chunks: Vec<Result<String, std::io::Error>> =
        (0..10).map(|_| Ok("x".repeat(1000))).collect();
    let streamed = reqwest::Body::wrap_stream(stream_of(chunks));
    assert_eq!(
        t.post("application/csp-report", streamed).await.status(),
        413
    );

    let unknown = t
        .http
        .post(format!("{}/report/nope-nope-nope", t.base))
        .header("content-type", "application/csp-report")
        .body(ok)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let m = t.metrics().await;
    assert!(
        metric(
            &m,
            r#"rampart_reports_refused_total{reason="malformed_json"}"#
        ) >= 1.0,
        "{m}"
    );
    assert!(
        metric(
            &m,
            r#"rampart_reports_refused_total{reason="unsupported_media_type"}"#
        ) >= 1.0
    );
    assert!(metric(&m, r#"rampart_reports_refused_total{reason="too_large"}"#) >= 2.0);
    assert!(
        metric(
            &m,
            r#"rampart_reports_refused_total{reason="unknown_site"}"#
        ) >= 1.0
    );
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn reporting_api_preflight_is_answered_with_cors() {
    let t = start("", "").await;
    let r = t
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/report/{KEY}", t.base))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(
        r.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(
        r.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("content-type")
    );
    let post = t.post("application/reports+json", "[]").await;
    assert_eq!(post.headers()["access-control-allow-origin"], "*");
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn noise_is_dropped_counted_and_never_inventoried() {
    let t = start("", "").await;
    let before = metric(
        &t.metrics().await,
        r#"rampart_reports_dropped_total{reason="extension"}"#,
    );
    for blocked in ["chrome-extension://abc/x.js", "moz-extension://abc/y.js"] {
        let r = t
            .post(
                "application/csp-report",
                script_report("https://shop.example/", blocked),
            )
            .await;
        assert_eq!(r.status(), 204);
    }
    let foreign = script_report("https://evil.example/", "https://cdn.a.example/x.js");
    assert_eq!(
        t.post("application/csp-report", foreign).await.status(),
        204
    );
    let real = script_report("https://shop.example/", "https://cdn.real.example/app.js");
    assert_eq!(t.post("application/csp-report", real).await.status(), 204);

    let v = t
        .eventually("/api/v1/sites/shop/scripts", |v| {
            !v["scripts"].as_array().unwrap().is_empty()
        })
        .await;
    let urls: Vec<&str> = v["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, ["https://cdn.real.example/app.js"]);
    let m = t.metrics().await;
    assert!(
        metric(&m, r#"rampart_reports_dropped_total{reason="extension"}"#) >= before + 2.0,
        "{m}"
    );
    assert!(
        metric(
            &m,
            r#"rampart_reports_dropped_total{reason="foreign_document"}"#
        ) >= 1.0
    );
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_api_needs_the_bearer_token() {
    let t = start("", "").await;
    for path in [
        "/api/v1/sites",
        "/api/v1/alerts",
        "/api/v1/sites/shop/scripts",
        "/api/v1/bgp/alerts",
    ] {
        let none = t
            .http
            .get(format!("{}{path}", t.base))
            .send()
            .await
            .unwrap();
        assert_eq!(none.status(), 401, "{path}");
        let wrong = t
            .http
            .get(format!("{}{path}", t.base))
            .bearer_auth("test-token-124")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path}");
    }
    let sites = t.api("/api/v1/sites").await;
    assert_eq!(sites["sites"][0]["id"], "shop");
    assert_eq!(sites["sites"][0]["origins"][0], "https://shop.example");
    let missing = t
        .http
        .get(format!("{}/api/v1/sites/nope/scripts", t.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        t.http
            .get(format!("{}/healthz", t.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_stalled_upload_is_cut_off_with_408() {
    let t = start("", "report_read_timeout = \"200ms\"").await;
    use tokio_stream::StreamExt;
    let first: Vec<Result<String, std::io::Error>> = vec![Ok("{\"csp-report\":".to_string())];
    let stalled = tokio_stream::iter(first).chain(tokio_stream::pending());
    let started = std::time::Instant::now();
    let r = t
        .post(
            "application/csp-report",
            reqwest::Body::wrap_stream(stalled),
        )
        .await;
    assert_eq!(r.status(), 408);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    t.server.shutdown().await.unwrap();
}
