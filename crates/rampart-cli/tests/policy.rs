//! `rampart csp policy` on a real inventory (reports sent to a running server, policy read from
//! its SQLite file by the CLI) and `rampart csp lint` as users call them.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

async fn report(
    http: &reqwest::Client,
    base: &str,
    page: &str,
    directive: &str,
    blocked: &str,
    sample: &str,
) {
    let body = serde_json::json!({"csp-report": {
        "document-uri": page, "effective-directive": directive,
        "blocked-uri": blocked, "script-sample": sample,
    }});
    let r = http
        .post(format!("{base}/report/policy-test-key"))
        .header("content-type", "application/csp-report")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

fn rampart(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_active_inventory_becomes_an_enforceable_policy() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "listen = \"127.0.0.1:{port}\"\npublic_url = \"https://rampart.shop.example\"\n\
         database = \"sqlite://{db}\"\napi_token = \"{TOKEN}\"\nflush_interval = \"100ms\"\n\
         [[sites]]\nid = \"shop\"\nkey = \"policy-test-key\"\norigins = [\"https://shop.example\"]\n\
         min_reports = 2\n",
        db = dir.path().join("rampart.db").display()
    );
    let server = spawn(dir.path(), port, &config);
    let http = reqwest::Client::new();
    let checkout = "https://shop.example/checkout";
    for _ in 0..2 {
        report(
            &http,
            &server.base,
            checkout,
            "script-src-elem",
            "https://cdn.vendor.example/lib/v3/app.js",
            "",
        )
        .await;
        report(
            &http,
            &server.base,
            checkout,
            "script-src-elem",
            "https://shop.example/static/site.js",
            "",
        )
        .await;
        report(
            &http,
            &server.base,
            checkout,
            "script-src-elem",
            "inline",
            "window.dataLayer = window.dataLayer || []",
        )
        .await;
        report(
            &http,
            &server.base,
            checkout,
            "connect-src",
            "https://api.collect.example/v1/e",
            "",
        )
        .await;
        report(
            &http,
            &server.base,
            "https://shop.example/blog",
            "script-src-elem",
            "https://widgets.blog.example/w.js",
            "",
        )
        .await;
    }
    // Seen once: below min_reports, not active, not allowed.
    report(
        &http,
        &server.base,
        checkout,
        "script-src-elem",
        "https://once.example/x.js",
        "",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.api("/api/v1/sites/shop/scripts").await["scripts"]
        .as_array()
        .unwrap()
        .len()
        < 5
    {
        assert!(Instant::now() < deadline, "inventory not written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cfg = server.config.to_str().unwrap().to_string();

    let out = rampart(&[
        "csp", "policy", "--site", "shop", "--json", "--config", &cfg,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let policy = v["policy"].as_str().unwrap();
    assert_eq!(
        policy,
        "script-src 'self' https://cdn.vendor.example https://widgets.blog.example; connect-src https://api.collect.example; object-src 'none'; base-uri 'self'; report-uri https://rampart.shop.example/report/policy-test-key"
    );
    assert!(
        v["notes"][0].as_str().unwrap().contains("inline script"),
        "{v}"
    );
    assert!(
        v["lint"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] != "high"),
        "{v}"
    );

    let out = rampart(&[
        "csp",
        "policy",
        "--site",
        "shop",
        "--page",
        "https://shop.example/checkout*",
        "--urls",
        "--config",
        &cfg,
    ]);
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(
        line.starts_with(
            "Content-Security-Policy: script-src 'self' https://cdn.vendor.example/lib/v3/app.js;"
        ),
        "{line}"
    );
    assert!(
        !line.contains("widgets.blog.example"),
        "blog-only script left out of the checkout policy"
    );

    // Only what someone authorized (PCI DSS 6.4.3): one script of the three active ones.
    let r = http
        .put(format!(
            "{}/api/v1/sites/shop/scripts/authorization",
            server.base
        ))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({
            "url": "https://cdn.vendor.example/lib/v3/app.js",
            "authorized_by": "payments team",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let out = rampart(&[
        "csp",
        "policy",
        "--site",
        "shop",
        "--authorized-only",
        "--json",
        "--config",
        &cfg,
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["scripts"].as_u64(), &v["authorized_only"]),
        (Some(1), &true.into())
    );
    let policy = v["policy"].as_str().unwrap();
    assert!(
        policy.starts_with("script-src https://cdn.vendor.example;"),
        "{policy}"
    );
    assert!(
        policy.contains("connect-src https://api.collect.example"),
        "{policy}"
    );
    // The server says the same: the API, and the site's policy page in the dashboard.
    let api = server
        .api("/api/v1/sites/shop/policy?authorized_only=true")
        .await;
    assert_eq!(api, v, "the API and the CLI suggest one policy");
    let all = server.api("/api/v1/sites/shop/policy").await;
    assert_eq!(
        all["scripts"], 4,
        "every active script without the authorization filter"
    );
    let page = http
        .get(format!(
            "{}/sites/shop/policy?authorized_only=on",
            server.base
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Content-Security-Policy: script-src https://cdn.vendor.example;"),
        "{page}"
    );

    let out = rampart(&["csp", "policy", "--site", "nope", "--config", &cfg]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn lint_fails_on_bypassable_policies_and_passes_strict_ones() {
    let out = rampart(&[
        "csp",
        "lint",
        "script-src 'self' 'unsafe-inline' https://ajax.googleapis.com",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("'unsafe-inline'")
            && text.contains("AngularJS")
            && text.contains("object-src"),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("csp.txt");
    std::fs::write(
        &file,
        "Content-Security-Policy: script-src 'nonce-0123456789abcdef0123' 'strict-dynamic'; object-src 'none'; base-uri 'none'; report-to csp",
    )
    .unwrap();
    let out = rampart(&["csp", "lint", "--json", "--file", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"], serde_json::json!([]));
}
