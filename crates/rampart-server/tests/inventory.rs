//! Reports become an inventory and alerts: pages, counts, statuses, dedup, learning period.

mod common;

use common::*;
use serde_json::Value;

fn find<'a>(list: &'a Value, field: &str, url: &str) -> &'a Value {
    list[field]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["url"] == url)
        .unwrap_or_else(|| panic!("{url} missing: {list}"))
}

async fn alerts(t: &TestServer, expected: usize) -> Vec<(String, String)> {
    let v = t
        .eventually("/api/v1/alerts", |v| {
            v["alerts"].as_array().unwrap().len() >= expected
        })
        .await;
    let mut out: Vec<(String, String)> = v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["subject"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn reports_build_the_inventory_and_alert_once_per_subject() {
    let t = start("", "").await;
    let reports = [
        script_report(
            "https://shop.example/cart?id=1",
            "https://cdn.one.example/a.js?v=2",
        ),
        script_report(
            "https://shop.example/checkout#pay",
            "https://cdn.one.example/a.js?v=3",
        ),
        script_report(
            "https://shop.example/checkout",
            "https://static.one.example/b.js",
        ),
        connect_report(
            "https://shop.example/checkout",
            "https://api.collect.example.co.uk/v1/t?x=1",
        ),
    ];
    for r in &reports {
        assert_eq!(
            t.post("application/csp-report", r.clone()).await.status(),
            204
        );
    }
    let inline = r#"{"csp-report":{"document-uri":"https://shop.example/","effective-directive":"script-src-elem","blocked-uri":"inline","script-sample":"console.log(1)"}}"#;
    assert_eq!(t.post("application/csp-report", inline).await.status(), 204);

    let scripts = t
        .eventually("/api/v1/sites/shop/scripts", |v| {
            v["scripts"].as_array().unwrap().len() == 3
        })
        .await;
    let a = find(&scripts, "scripts", "https://cdn.one.example/a.js");
    assert_eq!(a["host"], "cdn.one.example");
    assert_eq!(a["domain"], "one.example");
    assert_eq!(a["reports"], 2);
    assert_eq!(a["first_page"], "https://shop.example/cart");
    assert_eq!(
        a["pages"],
        serde_json::json!(["https://shop.example/checkout", "https://shop.example/cart"])
    );
    assert_eq!(a["status"], "active");
    assert!(a["first_seen"].as_str().unwrap().ends_with('Z'));
    let inline = scripts["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["url"].as_str().unwrap().starts_with("inline:sha256-"))
        .unwrap();
    assert_eq!(inline["sample"], "console.log(1)");

    let conns = t.api("/api/v1/sites/shop/connections").await;
    let c = find(
        &conns,
        "connections",
        "https://api.collect.example.co.uk/v1/t",
    );
    assert_eq!(c["domain"], "example.co.uk");

    let expected = vec![
        (
            "new_connection_domain".to_string(),
            "example.co.uk".to_string(),
        ),
        (
            "new_script".to_string(),
            "https://cdn.one.example/a.js".to_string(),
        ),
        (
            "new_script".to_string(),
            "https://static.one.example/b.js".to_string(),
        ),
        ("new_script_domain".to_string(), "one.example".to_string()),
    ];
    assert_eq!(alerts(&t, 4).await, expected);

    // More reports of the same things: no new alerts.
    for r in &reports {
        t.post("application/csp-report", r.clone()).await;
    }
    t.eventually("/api/v1/sites/shop/scripts", |v| {
        find(v, "scripts", "https://cdn.one.example/a.js")["reports"] == 4
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(alerts(&t, 4).await, expected);

    let filtered = t
        .api("/api/v1/alerts?kind=new_script_domain&site=shop")
        .await;
    assert_eq!(filtered["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["alerts"][0]["severity"], "warning");
    assert_eq!(filtered["alerts"][0]["details"]["domain"], "one.example");
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn min_reports_keeps_single_forged_reports_quiet() {
    let t = start_with_site("min_reports = 3").await;
    let r = script_report("https://shop.example/", "https://cdn.rare.example/x.js");
    for _ in 0..2 {
        t.post("application/csp-report", r.clone()).await;
    }
    let v = t
        .eventually("/api/v1/sites/shop/scripts", |v| {
            v["scripts"][0]["reports"] == 2
        })
        .await;
    assert_eq!(v["scripts"][0]["status"], "infrequent");
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert!(
        t.api("/api/v1/alerts").await["alerts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    t.post("application/csp-report", r).await;
    let v = t
        .eventually("/api/v1/alerts", |v| {
            v["alerts"].as_array().unwrap().len() == 2
        })
        .await;
    assert_eq!(v["alerts"][0]["details"]["reports"], 3);
    let v = t.api("/api/v1/sites/shop/scripts").await;
    assert_eq!(v["scripts"][0]["status"], "active");
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn nothing_alerts_during_the_learning_period() {
    let t = start_with_site("learning_period = \"1h\"").await;
    t.post(
        "application/csp-report",
        script_report("https://shop.example/", "https://cdn.x.example/x.js"),
    )
    .await;
    t.post(
        "application/csp-report",
        connect_report("https://shop.example/", "https://api.y.example/"),
    )
    .await;
    t.eventually("/api/v1/sites/shop/connections", |v| {
        v["connections"].as_array().unwrap().len() == 1
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert!(
        t.api("/api/v1/alerts").await["alerts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn query_strings_are_kept_only_when_the_site_opts_in() {
    let t = start_with_site("keep_query = true").await;
    t.post(
        "application/csp-report",
        script_report(
            "https://shop.example/p?q=1",
            "https://cdn.x.example/x.js?v=9",
        ),
    )
    .await;
    let v = t
        .eventually("/api/v1/sites/shop/scripts", |v| {
            !v["scripts"].as_array().unwrap().is_empty()
        })
        .await;
    assert_eq!(v["scripts"][0]["url"], "https://cdn.x.example/x.js?v=9");
    assert_eq!(v["scripts"][0]["first_page"], "https://shop.example/p?q=1");
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn accepted_reports_are_flushed_on_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("r.db").display());
    let config = |flush: &str| {
        rampart_server::Config::from_toml(
            &format!(
                "listen='127.0.0.1:0'\ndatabase='{db}'\napi_token='{TOKEN}'\nflush_interval='{flush}'\n\
                 [[sites]]\nid='shop'\nkey='{KEY}'\n"
            ),
            "test",
        )
        .unwrap()
    };
    // A long flush interval: only the shutdown drain can have written the report.
    let server = rampart_server::start(config("60s")).await.unwrap();
    let r = reqwest::Client::new()
        .post(format!("http://{}/report/{KEY}", server.addr))
        .header("content-type", "application/csp-report")
        .body(script_report(
            "https://shop.example/",
            "https://cdn.x.example/x.js",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    server.shutdown().await.unwrap();
    let store = rampart_store::open(&db).await.unwrap();
    assert_eq!(
        store.list_resources("shop", "script").await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn listed_domains_alert_at_once_and_list_changes_recheck_the_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("skimmers.txt");
    std::fs::write(
        &list,
        "# test list\n0.0.0.0 cdn.skimmer-list.example\nhttps://shop-assets.example/evil.js\n",
    )
    .unwrap();
    let t = start(
        // A learning period and a report threshold: a listed domain ignores both.
        "min_reports = 5\nlearning_period = \"1h\"",
        &format!(
            "[intel]\nblocklists = [{{ path = \"{}\", category = \"magecart\" }}]\nreload_interval = \"100ms\"",
            list.display()
        ),
    )
    .await;
    for url in [
        "https://cdn.skimmer-list.example/a.js",
        "https://shop-assets.example/evil.js?v=3",
        "https://shop-assets.example/fine.js",
    ] {
        let r = t
            .post(
                "application/csp-report",
                script_report("https://shop.example/checkout", url),
            )
            .await;
        assert_eq!(r.status(), 204);
    }
    let r = t
        .post(
            "application/csp-report",
            connect_report(
                "https://shop.example/checkout",
                "https://late-listed.example/collect",
            ),
        )
        .await;
    assert_eq!(r.status(), 204);
    let v = t
        .eventually("/api/v1/alerts?kind=malicious_domain", |v| {
            v["alerts"].as_array().unwrap().len() >= 2
        })
        .await;
    let mut subjects: Vec<&str> = v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["severity"], "critical");
            assert_eq!(a["details"]["category"], "magecart");
            assert_eq!(a["details"]["list"], "skimmers.txt");
            a["subject"].as_str().unwrap()
        })
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        ["cdn.skimmer-list.example", "shop-assets.example"]
    );

    // Listing a domain the site already talked to alerts on the next reload.
    std::fs::write(&list, "cdn.skimmer-list.example\nlate-listed.example\n").unwrap();
    let v = t
        .eventually("/api/v1/alerts?kind=malicious_domain", |v| {
            v["alerts"].as_array().unwrap().len() >= 3
        })
        .await;
    let newest = &v["alerts"][0];
    assert_eq!(newest["subject"], "late-listed.example");
    assert_eq!(newest["details"]["resource"], "connection");
    // No other alert kinds: the site is still learning.
    let all = t.api("/api/v1/alerts").await;
    assert!(
        all["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["kind"] == "malicious_domain"),
        "{all}"
    );
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn new_domains_say_whether_the_deployment_knows_them_and_how_young_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("registrations.csv");
    let five_days_ago = chrono::Utc::now().date_naive() - chrono::Days::new(5);
    std::fs::write(
        &feed,
        format!("# domain,registered\nfresh-skim-cdn.com,{five_days_ago}\nold-cdn-provider.com,2001-01-01\nbroken line\n"),
    )
    .unwrap();
    let t = start(
        "",
        &format!(
            "[[sites]]\nid = \"blog\"\nkey = \"blog-key-0001\"\norigins = [\"https://blog.example\"]\n\
             min_reports = 1\nlearning_period = \"0s\"\n[intel]\nregistrations = \"{}\"",
            feed.display()
        ),
    )
    .await;
    let blog = serde_json::json!({"csp-report": {
        "document-uri": "https://blog.example/post", "effective-directive": "connect-src",
        "blocked-uri": "https://api.old-cdn-provider.com/x",
    }});
    let r = t
        .http
        .post(format!("{}/report/blog-key-0001", t.base))
        .header("content-type", "application/csp-report")
        .body(blog.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    t.eventually("/api/v1/alerts?site=blog", |v| {
        !v["alerts"].as_array().unwrap().is_empty()
    })
    .await;
    for url in [
        "https://cdn.old-cdn-provider.com/y",
        "https://fresh-skim-cdn.com/c",
    ] {
        let r = t
            .post(
                "application/csp-report",
                connect_report("https://shop.example/checkout", url),
            )
            .await;
        assert_eq!(r.status(), 204);
    }
    let v = t
        .eventually("/api/v1/alerts?site=shop&kind=new_connection_domain", |v| {
            v["alerts"].as_array().unwrap().len() >= 2
        })
        .await;
    let by = |d: &str| {
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["subject"] == d)
            .unwrap_or_else(|| panic!("{d}: {v}"))
            .clone()
    };
    let old = by("old-cdn-provider.com");
    assert_eq!(old["details"]["first_in_deployment"], false, "{old}");
    assert_eq!(old["details"]["seen_on_sites"], serde_json::json!(["blog"]));
    assert_eq!(old["details"]["newly_registered"], false);
    assert_eq!(old["severity"], "warning");
    let fresh = by("fresh-skim-cdn.com");
    assert_eq!(fresh["details"]["first_in_deployment"], true, "{fresh}");
    assert_eq!(fresh["details"]["newly_registered"], true, "{fresh}");
    assert_eq!(fresh["severity"], "critical");
    t.server.shutdown().await.unwrap();
}

/// The API lists take the dashboard's filters (`?q=&domain=&page=&status=&max_score=&sort=`)
/// and pages (`limit`, `offset`), with the filtered count in `total`; a bad value is a 400 that
/// names the parameter, never an empty list that looks like an answer.
#[tokio::test]
async fn resource_lists_filter_sort_and_page_like_the_dashboard() {
    let t = start("", "").await;
    let reports = [
        (
            "https://shop.example/checkout",
            "https://cdn.one.example/a.js",
        ),
        (
            "https://shop.example/checkout",
            "https://cdn.one.example/a.js",
        ),
        (
            "https://shop.example/checkout",
            "https://cdn.one.example/a.js",
        ),
        (
            "https://shop.example/cart",
            "https://static.two.example/b.js",
        ),
        (
            "https://shop.example/cart",
            "https://static.two.example/b.js",
        ),
        (
            "https://shop.example/",
            "https://widgets.three.example/c.js",
        ),
    ];
    for (page, url) in reports {
        let r = t
            .post("application/csp-report", script_report(page, url))
            .await;
        assert_eq!(r.status(), 204);
    }
    t.eventually("/api/v1/sites/shop/scripts", |v| v["total"] == 3)
        .await;
    let urls = |v: &Value| -> Vec<String> {
        v["scripts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["url"].as_str().unwrap().to_string())
            .collect()
    };
    let by_reports = t.api("/api/v1/sites/shop/scripts?sort=reports").await;
    assert_eq!(
        urls(&by_reports),
        [
            "https://cdn.one.example/a.js",
            "https://static.two.example/b.js",
            "https://widgets.three.example/c.js"
        ]
    );
    let page = t
        .api("/api/v1/sites/shop/scripts?sort=reports&offset=1&limit=1")
        .await;
    assert_eq!(urls(&page), ["https://static.two.example/b.js"]);
    assert_eq!(page["total"], 3, "total counts every match, not the page");
    let by_page = t.api("/api/v1/sites/shop/scripts?page=%2Fcart").await;
    assert_eq!(urls(&by_page), ["https://static.two.example/b.js"]);
    assert_eq!(by_page["total"], 1);
    let by_domain = t
        .api("/api/v1/sites/shop/scripts?domain=three.example&q=c.js")
        .await;
    assert_eq!(urls(&by_domain), ["https://widgets.three.example/c.js"]);
    // min_reports is 1 in these tests: everything reported is active; nothing was fetched, so
    // nothing has a score to be under 50.
    let active = t.api("/api/v1/sites/shop/scripts?status=active").await;
    assert_eq!(active["total"], 3);
    let malicious = t.api("/api/v1/sites/shop/scripts?max_score=49").await;
    assert_eq!(malicious["total"], 0);
    // An empty value means "any", as the dashboard's forms send it.
    let any = t
        .api("/api/v1/sites/shop/scripts?status=&domain=&sort=")
        .await;
    assert_eq!(any["total"], 3);

    for (query, named) in [
        ("status=gone", "status"),
        ("sort=url", "sort"),
        ("max_score=100", "max_score"),
        ("limit=ten", "limit"),
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
    ] {
        let r = t
            .get(&format!("/api/v1/sites/shop/connections?{query}"))
            .await;
        assert_eq!(r.status(), 400, "{query}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().starts_with(named),
            "{query}: {body}"
        );
    }
    t.server.shutdown().await.unwrap();
}
