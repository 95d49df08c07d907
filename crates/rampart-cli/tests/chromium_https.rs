//! The Reporting API path in real headless Chromium: an HTTPS page (self-signed certificate,
//! `--ignore-certificate-errors`) whose header carries `report-to`, reporting to Rampart behind a
//! TLS front. Chromium then sends only `application/reports+json` batches (after a CORS
//! preflight), including `csp-hash` reports for `'report-sha256'`: the inventory must hold the
//! scripts, the connection, and the hash of the bytes Chromium ran for the script loaded with
//! CORS (`crossorigin`); for an opaque cross-origin script Chromium sends an empty hash.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderName, header};
use axum::response::IntoResponse;
use base64::Engine;
use common::*;
use sha2::Digest;

const LIB: &str = "window.lib = { version: 1 };";
const INLINE: &str = "window.inlineMarker = 'reporting-api-inline-script-0123456789';";

fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    let names = [
        "shop.test",
        "rampart.test",
        "cdn-one.test",
        "widgets.two.test",
        "api.collect.test",
    ];
    let cert =
        rcgen::generate_simple_self_signed(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Terminates TLS on a new loopback port and forwards the bytes to `backend`.
async fn tls_front(acceptor: tokio_rustls::TlsAcceptor, backend: SocketAddr) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_reporting_api_batches_and_hashes_become_the_inventory() {
    let acceptor = tls_acceptor();

    // The page server (plain HTTP behind its own TLS front).
    let page_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page_backend = page_listener.local_addr().unwrap();
    let page_port = tls_front(acceptor.clone(), page_backend).await;

    // Rampart (plain HTTP behind a TLS front: Chromium reports only to HTTPS endpoints).
    let dir = tempfile::tempdir().unwrap();
    let rampart_port = free_port();
    let rampart_front = tls_front(
        acceptor,
        format!("127.0.0.1:{rampart_port}").parse().unwrap(),
    )
    .await;
    let config = format!(
        "listen = \"127.0.0.1:{rampart_port}\"\npublic_url = \"https://rampart.test:{rampart_front}\"\n\
         database = \"sqlite://{db}\"\napi_token = \"{TOKEN}\"\nflush_interval = \"100ms\"\n\
         [fetcher]\nenabled = false\n\
         [[sites]]\nid = \"shop\"\nkey = \"https-browser-key\"\norigins = [\"https://shop.test:{page_port}\"]\n\
         min_reports = 1\nlearning_period = \"0s\"\n",
        db = dir.path().join("rampart.db").display()
    );
    let server = spawn(dir.path(), rampart_port, &config);

    let headers = csp_header(&server.config, "shop");
    let header_value = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} missing: {headers:?}"))
    };
    let csp = header_value("Content-Security-Policy-Report-Only");
    let endpoints = header_value("Reporting-Endpoints");
    assert!(csp.ends_with("report-to rampart"), "{csp}");

    let widget = format!(
        "fetch('https://api.collect.test:{page_port}/collect', {{method: 'POST', body: 'x'}}).catch(() => {{}});"
    );
    let page = format!(
        "<!doctype html><html><head><title>shop</title>\
         <script src=\"https://cdn-one.test:{page_port}/lib.js\" crossorigin=\"anonymous\"></script>\
         <script src=\"https://widgets.two.test:{page_port}/widget.js\"></script>\
         <script>{INLINE}</script></head><body>checkout</body></html>"
    );
    let widget_body = widget.clone();
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(move || {
                let (csp, endpoints, page) = (csp.clone(), endpoints.clone(), page.clone());
                async move {
                    (
                        [
                            (header::CONTENT_TYPE, "text/html".to_string()),
                            (
                                HeaderName::from_static("content-security-policy-report-only"),
                                csp,
                            ),
                            (HeaderName::from_static("reporting-endpoints"), endpoints),
                        ],
                        page,
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/lib.js",
            axum::routing::get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript"),
                        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                    ],
                    LIB,
                )
            }),
        )
        .route(
            "/widget.js",
            axum::routing::get(move || {
                let w = widget_body.clone();
                async move { ([(header::CONTENT_TYPE, "text/javascript")], w) }
            }),
        )
        .route("/collect", axum::routing::post(|| async { "ok" }))
        .route(
            "/favicon.ico",
            axum::routing::get(|| async { axum::http::StatusCode::NOT_FOUND }),
        );
    tokio::spawn(async move { axum::serve(page_listener, app).await.unwrap() });

    let browser = Browser::open(
        &format!("https://shop.test:{page_port}/"),
        &["--ignore-certificate-errors", "--short-reporting-delay"],
    );

    let lib_url = format!("https://cdn-one.test:{page_port}/lib.js");
    let widget_url = format!("https://widgets.two.test:{page_port}/widget.js");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (scripts, connections) = loop {
        let scripts = server.api("/api/v1/sites/shop/scripts").await;
        let connections = server.api("/api/v1/sites/shop/connections").await;
        let list = scripts["scripts"].as_array().unwrap();
        let hashed = list.iter().filter(|s| s.get("csp_hash").is_some()).count();
        let done = list.len() >= 3
            && hashed >= 1
            && !connections["connections"].as_array().unwrap().is_empty();
        if done || Instant::now() > deadline {
            break (scripts, connections);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    drop(browser);

    let list = scripts["scripts"].as_array().unwrap();
    let find = |url: &str| {
        list.iter()
            .find(|s| s["url"] == url)
            .unwrap_or_else(|| panic!("{url} missing: {scripts}"))
    };
    let b64 = |s: &str| {
        format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(s))
        )
    };
    assert_eq!(
        find(&lib_url)["csp_hash"],
        b64(LIB),
        "'report-sha256' hash of lib.js"
    );
    // widget.js is cross-origin without CORS: Chromium keeps its bytes opaque and sends no hash.
    assert!(find(&widget_url).get("csp_hash").is_none(), "{scripts}");
    let _ = b64(&widget);
    let inline = list
        .iter()
        .find(|s| s["url"].as_str().unwrap().starts_with("inline:"))
        .expect("inline script");
    assert_eq!(inline["sample"], &INLINE[..40]);
    assert_eq!(list.len(), 3, "{scripts}");
    let conns = connections["connections"].as_array().unwrap();
    assert_eq!(
        conns[0]["url"],
        format!("https://api.collect.test:{page_port}/collect")
    );
    assert_eq!(
        conns[0]["first_page"],
        format!("https://shop.test:{page_port}/")
    );
}
