//! End to end in real headless Chromium: a page served on loopback with the header printed by
//! `rampart csp header` loads two scripts from two other hostnames (mapped to 127.0.0.1 with
//! `--host-resolver-rules`), one inline script, and makes a `fetch()`. The inventory must then
//! hold exactly those scripts and that connection domain, attributed to the page.
//!
//! This also checks the header itself: `script-src 'none' 'report-sample' 'report-sha256'` must
//! still report every script (the reporting keywords do not cancel `'none'`), and the inline
//! report must carry its sample.

mod common;

use std::time::{Duration, Instant};

use axum::http::header;
use axum::response::IntoResponse;
use common::*;

const INLINE: &str = "window.rampartInlineMarker = 'inline-script-marker-0123456789';";

/// Serves the shop page (with `headers`, e.g. the lines `rampart csp header` printed) and the
/// two third-party scripts, keyed by path.
async fn page_server(headers: Vec<(String, String)>, page_port: u16) -> u16 {
    let page = format!(
        "<!doctype html><html><head><title>shop</title>\
         <script src=\"http://cdn-one.test:{page_port}/lib.js\"></script>\
         <script src=\"http://widgets.two.test:{page_port}/widget.js\"></script>\
         <script>{INLINE}</script></head><body>checkout</body></html>"
    );
    let widget = format!(
        "fetch('http://api.collect.test:{page_port}/collect', {{method: 'POST', body: 'x'}}).catch(() => {{}});"
    );
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(move || {
                let headers = headers.clone();
                let page = page.clone();
                async move {
                    let mut r = ([(header::CONTENT_TYPE, "text/html")], page).into_response();
                    for (name, value) in headers {
                        r.headers_mut().insert(
                            header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                            value.parse().unwrap(),
                        );
                    }
                    r
                }
            }),
        )
        .route(
            "/lib.js",
            axum::routing::get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript")],
                    "window.lib = 1;",
                )
            }),
        )
        .route(
            "/widget.js",
            axum::routing::get(move || {
                let w = widget.clone();
                async move { ([(header::CONTENT_TYPE, "text/javascript")], w) }
            }),
        )
        .route("/collect", axum::routing::post(|| async { "ok" }))
        .route(
            "/favicon.ico",
            axum::routing::get(|| async { axum::http::StatusCode::NOT_FOUND }),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", page_port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    page_port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_reports_become_the_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let rampart_port = free_port();
    let page_port = free_port();
    let config = format!(
        "listen = \"127.0.0.1:{rampart_port}\"\npublic_url = \"http://127.0.0.1:{rampart_port}\"\n\
         database = \"sqlite://{db}\"\napi_token = \"{TOKEN}\"\nflush_interval = \"100ms\"\n\
         [[sites]]\nid = \"shop\"\nkey = \"browser-test-key\"\norigins = [\"http://shop.test:{page_port}\"]\n\
         min_reports = 1\nlearning_period = \"0s\"\n",
        db = dir.path().join("rampart.db").display()
    );
    let server = spawn(dir.path(), rampart_port, &config);

    // The header comes from the CLI, exactly as a user would copy it.
    let headers = csp_header(&server.config, "shop");
    let csp = headers
        .iter()
        .find(|(k, _)| k == "Content-Security-Policy-Report-Only")
        .map(|(_, v)| v.clone())
        .expect("the CSP header line");
    assert!(csp.contains("'report-sha256'") && csp.contains("report-uri"));
    assert!(
        !csp.contains("report-to"),
        "plain-HTTP sites must not get report-to: {csp}"
    );
    assert!(
        headers.iter().any(|(k, _)| k == "Reporting-Endpoints"),
        "both header lines are printed: {headers:?}"
    );
    // Every line the user copies, Reporting-Endpoints included: it must not stop report-uri.
    page_server(headers, page_port).await;

    let browser = Browser::open(&format!("http://shop.test:{page_port}/"), &[]);

    let page = format!("http://shop.test:{page_port}/");
    let deadline = Instant::now() + Duration::from_secs(45);
    let (scripts, connections) = loop {
        let scripts = server.api("/api/v1/sites/shop/scripts").await;
        let connections = server.api("/api/v1/sites/shop/connections").await;
        let n = scripts["scripts"].as_array().unwrap().len();
        let m = connections["connections"].as_array().unwrap().len();
        if (n >= 3 && m >= 1) || Instant::now() > deadline {
            break (scripts, connections);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    drop(browser);

    let mut urls: Vec<String> = scripts["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap().to_string())
        .collect();
    urls.sort();
    assert_eq!(urls.len(), 3, "scripts: {scripts}");
    assert_eq!(urls[0], format!("http://cdn-one.test:{page_port}/lib.js"));
    assert_eq!(
        urls[1],
        format!("http://widgets.two.test:{page_port}/widget.js")
    );
    assert!(urls[2].starts_with("inline:sha256-"), "{}", urls[2]);
    for s in scripts["scripts"].as_array().unwrap() {
        assert_eq!(s["first_page"], page.as_str(), "{s}");
    }
    let inline = scripts["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["url"] == urls[2].as_str())
        .unwrap();
    assert_eq!(
        inline["sample"],
        &INLINE[..40],
        "'report-sample' sends the first 40 characters"
    );
    let widget = scripts["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["url"] == urls[1].as_str())
        .unwrap();
    assert_eq!(widget["domain"], "two.test");

    let conns = connections["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 1, "connections: {connections}");
    assert_eq!(
        conns[0]["url"],
        format!("http://api.collect.test:{page_port}/collect")
    );
    assert_eq!(conns[0]["domain"], "collect.test");
    assert_eq!(conns[0]["first_page"], page.as_str());
}

/// The same page with no header of its own, behind `rampart proxy`: the proxy adds the header,
/// Chromium reports, and the inline script the proxy read from the HTML stream and the one the
/// browser reported are one resource (both keyed by the hash of its first 40 characters).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_the_proxy_chromium_reports_and_inline_scripts_meet_in_one_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let (rampart_port, page_port, proxy_port) = (free_port(), free_port(), free_port());
    let config = format!(
        "listen = \"127.0.0.1:{rampart_port}\"\npublic_url = \"http://127.0.0.1:{rampart_port}\"\n\
         database = \"sqlite://{db}\"\napi_token = \"{TOKEN}\"\nflush_interval = \"100ms\"\n\
         [[sites]]\nid = \"shop\"\nkey = \"browser-test-key\"\norigins = [\"http://shop.test:{proxy_port}\"]\n\
         min_reports = 1\nlearning_period = \"0s\"\n",
        db = dir.path().join("rampart.db").display()
    );
    page_server(Vec::new(), page_port).await;
    let upstream = format!("http://127.0.0.1:{page_port}");
    let listen = format!("127.0.0.1:{proxy_port}");
    let server = spawn_command(
        dir.path(),
        rampart_port,
        &config,
        &["proxy", "--upstream", &upstream, "--listen", &listen],
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(&listen).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }

    let browser = Browser::open(&format!("http://shop.test:{proxy_port}/"), &[]);
    let deadline = Instant::now() + Duration::from_secs(45);
    let scripts = loop {
        let scripts = server.api("/api/v1/sites/shop/scripts").await;
        let list = scripts["scripts"].as_array().unwrap();
        let browser_reported = list
            .iter()
            .any(|s| s["url"].as_str().unwrap().ends_with("/widget.js"));
        let inline_reports = list
            .iter()
            .find(|s| s["url"].as_str().unwrap().starts_with("inline:"))
            .map_or(0, |s| s["reports"].as_i64().unwrap());
        if (browser_reported && list.len() >= 3 && inline_reports >= 2) || Instant::now() > deadline
        {
            break scripts;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    drop(browser);
    let list = scripts["scripts"].as_array().unwrap();
    assert_eq!(
        list.len(),
        3,
        "two external scripts and one inline script: {scripts}"
    );
    let inline = list
        .iter()
        .find(|s| s["url"].as_str().unwrap().starts_with("inline:"))
        .expect("the inline script");
    assert!(
        inline["reports"].as_i64().unwrap() >= 2,
        "seen by the proxy and reported by the browser under one key: {inline}"
    );
    assert_eq!(
        inline["first_page"],
        format!("http://shop.test:{proxy_port}/")
    );
}

/// An origin on `page_port` whose `/checkout` loads the two scripts `srcs` (served as `/a.js`
/// and `/b.js` with `bodies`, whatever host names `srcs` give them).
async fn serve_checkout(page_port: u16, srcs: [String; 2], bodies: [&'static str; 2]) {
    let page = format!(
        "<!doctype html><html><head><title>checkout</title>\
         <script src=\"{}\"></script><script src=\"{}\"></script></head><body>pay</body></html>",
        srcs[0], srcs[1]
    );
    let script = |body: &'static str| {
        axum::routing::get(
            move || async move { ([(header::CONTENT_TYPE, "text/javascript")], body) },
        )
    };
    let app = axum::Router::new()
        .route(
            "/checkout",
            axum::routing::get(move || {
                let page = page.clone();
                async move { ([(header::CONTENT_TYPE, "text/html")], page) }
            }),
        )
        .route("/a.js", script(bodies[0]))
        .route("/b.js", script(bodies[1]));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", page_port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
}

/// An enforced page policy applied by the proxy: Chromium runs the listed script, refuses the
/// unlisted one, and the refusal comes back as a `policy_violation`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enforced_proxy_policy_makes_chromium_refuse_an_unlisted_script() {
    let dir = tempfile::tempdir().unwrap();
    let (rampart_port, page_port, proxy_port) = (free_port(), free_port(), free_port());
    serve_checkout(
        page_port,
        [
            format!("http://allowed.test:{page_port}/a.js"),
            format!("http://unlisted.test:{page_port}/b.js"),
        ],
        ["window.allowedRan = 1;", "window.unlistedRan = 1;"],
    )
    .await;
    let config = format!(
        "listen = \"127.0.0.1:{rampart_port}\"\npublic_url = \"http://127.0.0.1:{rampart_port}\"\n\
         database = \"sqlite://{db}\"\napi_token = \"{TOKEN}\"\nflush_interval = \"100ms\"\n\
         [proxy]\nlisten = \"127.0.0.1:{proxy_port}\"\nupstream = \"http://127.0.0.1:{page_port}\"\n\
         [[proxy.policies]]\npage = \"/checkout*\"\nmode = \"enforce\"\n\
         policy = \"script-src http://allowed.test:{page_port}; object-src 'none'; base-uri 'self'\"\n\
         [[sites]]\nid = \"shop\"\nkey = \"enforce-test-key\"\norigins = [\"http://shop.test:{proxy_port}\"]\n\
         min_reports = 1\nlearning_period = \"0s\"\n",
        db = dir.path().join("rampart.db").display()
    );
    let server = spawn(dir.path(), rampart_port, &config);
    let browser = Browser::open("about:blank", &[]);
    let mut tab = common::cdp::Page::open(
        browser.profile(),
        &format!("http://shop.test:{proxy_port}/checkout"),
    )
    .await;
    tab.wait_for("window.allowedRan === 1").await;
    assert_eq!(
        tab.eval("typeof window.unlistedRan").await,
        serde_json::json!("undefined"),
        "the unlisted script must not run"
    );
    let unlisted = format!("http://unlisted.test:{page_port}/b.js");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let alerts = server.api("/api/v1/alerts?kind=policy_violation").await;
        let list = alerts["alerts"].as_array().unwrap();
        if list.iter().any(|a| a["subject"] == unlisted.as_str()) {
            assert!(
                list.iter()
                    .all(|a| a["subject"]
                        != format!("http://allowed.test:{page_port}/a.js").as_str())
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no policy_violation for the unlisted script: {alerts}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(browser);
}

/// `[[proxy.policies]] authorized = true`: nothing is enforced while no script is authorized;
/// once one is, Chromium runs that exact script and refuses the other one from the same host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorized_scripts_policy_runs_only_what_was_authorized() {
    let dir = tempfile::tempdir().unwrap();
    let (rampart_port, page_port, proxy_port) = (free_port(), free_port(), free_port());
    let a = format!("http://cdn.test:{page_port}/a.js");
    let b = format!("http://cdn.test:{page_port}/b.js");
    serve_checkout(
        page_port,
        [a.clone(), b.clone()],
        ["window.aRan = 1;", "window.bRan = 1;"],
    )
    .await;
    let config = format!(
        "listen = \"127.0.0.1:{rampart_port}\"\npublic_url = \"http://127.0.0.1:{rampart_port}\"\n\
         database = \"sqlite://{db}\"\napi_token = \"{TOKEN}\"\nflush_interval = \"100ms\"\n\
         [proxy]\nlisten = \"127.0.0.1:{proxy_port}\"\nupstream = \"http://127.0.0.1:{page_port}\"\n\
         [[proxy.policies]]\npage = \"/checkout*\"\nmode = \"enforce\"\nauthorized = true\n\
         [[sites]]\nid = \"shop\"\nkey = \"authorized-test-key\"\norigins = [\"http://shop.test:{proxy_port}\"]\n\
         min_reports = 1\nlearning_period = \"0s\"\n",
        db = dir.path().join("rampart.db").display()
    );
    let server = spawn(dir.path(), rampart_port, &config);
    let checkout = format!("http://shop.test:{proxy_port}/checkout");
    let browser = Browser::open("about:blank", &[]);

    // Nothing authorized yet: no policy enforced, both run, and both are reported.
    let mut tab = common::cdp::Page::open(browser.profile(), &checkout).await;
    tab.wait_for("window.aRan === 1 && window.bRan === 1").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.api("/api/v1/sites/shop/scripts").await["total"] != 2 {
        assert!(
            Instant::now() < deadline,
            "the two scripts never reached the inventory"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let r = reqwest::Client::new()
        .put(format!(
            "{}/api/v1/sites/shop/scripts/authorization",
            server.base
        ))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"url": a, "authorized_by": "payments team"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The proxy rebuilds the policy as soon as the authorization lands.
    let direct = reqwest::Client::builder()
        .resolve("shop.test", ([127, 0, 0, 1], proxy_port).into())
        .build()
        .unwrap();
    loop {
        let r = direct.get(&checkout).send().await.unwrap();
        if let Some(csp) = r.headers().get(header::CONTENT_SECURITY_POLICY) {
            let csp = csp.to_str().unwrap();
            assert!(csp.starts_with(&format!("script-src {a};")), "{csp}");
            break;
        }
        assert!(Instant::now() < deadline, "no authorized-scripts policy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut tab = common::cdp::Page::open(browser.profile(), &checkout).await;
    tab.wait_for("window.aRan === 1").await;
    assert_eq!(
        tab.eval("typeof window.bRan").await,
        serde_json::json!("undefined"),
        "the script nobody authorized must not run, though its host is allowed for the other"
    );
    drop(browser);
}
