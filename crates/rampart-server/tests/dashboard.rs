//! The dashboard over real HTTP: sign-in with the token (CSRF double-submit, session cookie
//! flags), pages behind it, Bearer access, log-out with CSRF, the page CSP, and hostile report
//! fields rendered inert on every page.

mod common;

use common::*;
use reqwest::header;

const PAYLOADS: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(2)>",
    "'><svg onload=alert(3)>",
];

/// Posts a dashboard form (fields may repeat) with the session cookie.
async fn post_form(
    http: &reqwest::Client,
    url: &str,
    cookie: &str,
    fields: impl IntoIterator<Item = (&'static str, String)>,
) -> reqwest::Response {
    let fields: Vec<(&str, String)> = fields.into_iter().collect();
    http.post(url)
        .header(header::COOKIE, cookie)
        .form(&fields)
        .send()
        .await
        .unwrap()
}

async fn get(http: &reqwest::Client, url: String, cookie: &str) -> reqwest::Response {
    http.get(url)
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_in_sessions_and_csrf() {
    let t = start("", "").await;
    let http = client();
    // Signed out: the front page is the login form, the others redirect to it.
    let r = http.get(format!("{}/", t.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'nonce-"),
        "{csp}"
    );
    assert!(r.text().await.unwrap().contains("name=\"token\""));
    let r = http
        .get(format!("{}/sites/shop", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()[header::LOCATION].to_str().unwrap()
        ),
        (303, "/login")
    );

    // A forged login (no double-submit cookie) and a wrong token are refused.
    let r = http
        .post(format!("{}/login", t.base))
        .form(&[("token", TOKEN), ("csrf", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let form = http.get(format!("{}/login", t.base)).send().await.unwrap();
    let cookie = cookie_set_by(&form);
    let csrf = cookie.split('=').nth(1).unwrap().to_string();
    let r = http
        .post(format!("{}/login", t.base))
        .header(header::COOKIE, &cookie)
        .form(&[("token", "wrong"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let session = sign_in(&t, &http).await;
    let page = get(&http, format!("{}/", t.base), &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("href=\"/sites/shop\""), "{page}");
    let logout_csrf = csrf_in(&page);

    // The token in a cookie works; a wrong one does not.
    let r = get(
        &http,
        format!("{}/sites/shop", t.base),
        &format!("rampart_token={TOKEN}"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = get(
        &http,
        format!("{}/sites/shop", t.base),
        "rampart_token=wrong",
    )
    .await;
    assert_eq!(r.status(), 303);
    // Bearer clients see the pages too.
    let r = http
        .get(format!("{}/alerts", t.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Log-out needs the session's CSRF token.
    let r = http
        .post(format!("{}/logout", t.base))
        .header(header::COOKIE, &session)
        .form(&[("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(format!("{}/logout", t.base))
        .header(header::COOKIE, &session)
        .form(&[("csrf", logout_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = get(&http, format!("{}/sites/shop", t.base), &session).await;
    assert_eq!(r.status(), 303, "the session ended");
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn report_fields_with_script_payloads_render_inert_on_every_page() {
    let t = start("", "").await;
    for (i, p) in PAYLOADS.iter().enumerate() {
        let body = serde_json::json!({"csp-report": {
            "document-uri": format!("https://shop.example/{p}"),
            "effective-directive": "script-src-elem",
            "blocked-uri": format!("https://evil{i}.example/{p}.js"),
            "script-sample": p,
            "source-file": format!("https://shop.example/{p}"),
        }});
        assert_eq!(
            t.post("application/csp-report", body.to_string())
                .await
                .status(),
            204
        );
        let inline = serde_json::json!({"csp-report": {
            "document-uri": "https://shop.example/checkout",
            "effective-directive": "script-src-elem",
            "blocked-uri": "inline",
            "script-sample": p,
        }});
        assert_eq!(
            t.post("application/csp-report", inline.to_string())
                .await
                .status(),
            204
        );
        let conn = serde_json::json!({"csp-report": {
            "document-uri": "https://shop.example/checkout",
            "effective-directive": "connect-src",
            "blocked-uri": format!("https://c{i}.example/{p}"),
        }});
        assert_eq!(
            t.post("application/csp-report", conn.to_string())
                .await
                .status(),
            204
        );
    }
    let scripts = t
        .eventually("/api/v1/sites/shop/scripts", |v| {
            v["scripts"].as_array().unwrap().len() >= 6
        })
        .await;
    t.eventually("/api/v1/alerts", |v| {
        !v["alerts"].as_array().unwrap().is_empty()
    })
    .await;
    let http = client();
    let session = sign_in(&t, &http).await;
    let mut pages = vec![
        "/".to_string(),
        "/sites/shop".into(),
        "/sites/shop?sort=score&q=%3Cscript".into(),
        // Empty <select> values, as a browser submits the filter form untouched.
        "/sites/shop?q=&domain=&page=&status=&max_score=&sort=".into(),
        "/alerts".into(),
        "/alerts?site=shop&kind=new_script".into(),
        "/bgp".into(),
        // The policy page echoes its page pattern into the form, and lists inventoried URLs.
        "/sites/shop/policy?page=%3Cscript%3Ealert(1)%3C/script%3E&urls=on".into(),
    ];
    for s in scripts["scripts"].as_array().unwrap() {
        let url: String = url_encode(s["url"].as_str().unwrap());
        pages.push(format!("/sites/shop/script?url={url}"));
    }
    for path in &pages {
        let r = get(&http, format!("{}{path}", t.base), &session).await;
        assert_eq!(r.status(), 200, "{path}");
        let html = r.text().await.unwrap();
        for p in PAYLOADS {
            assert!(!html.contains(p), "{path} contains the raw payload {p}");
        }
        // Something was escaped (the payloads are there, as text) on the pages that list them.
        if path.starts_with("/sites/shop") && !path.contains("?sort") {
            assert!(
                html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || html.contains("&lt;"),
                "{path}"
            );
        }
        assert!(
            !html.to_ascii_lowercase().contains("<script"),
            "{path} has a script element"
        );
    }
    t.server.shutdown().await.unwrap();
}

/// The site page's PCI DSS 6.4.3 cards.
fn compliance_cards(site_page: &str) -> &str {
    let start = site_page
        .find("id=\"compliance\"")
        .expect("compliance cards");
    let len = site_page[start..].find("Compliance export").unwrap();
    &site_page[start..start + len]
}

/// A server whose inventory holds one script, `url`, reported from the checkout.
async fn with_one_script(url: &str) -> TestServer {
    let t = start("", "").await;
    let body = serde_json::json!({"csp-report": {
        "document-uri": "https://shop.example/checkout", "effective-directive": "script-src-elem", "blocked-uri": url,
    }});
    assert_eq!(
        t.post("application/csp-report", body.to_string())
            .await
            .status(),
        204
    );
    t.eventually("/api/v1/sites/shop/scripts", |v| {
        !v["scripts"].as_array().unwrap().is_empty()
    })
    .await;
    t
}

#[tokio::test]
async fn justifications_are_edited_with_csrf_and_exported() {
    let url = "https://cdn.pay.example/widget.js";
    let t = with_one_script(url).await;
    let http = client();
    let session = sign_in(&t, &http).await;
    let page = get(
        &http,
        format!("{}/sites/shop/script?url={}", t.base, url_encode(url)),
        &session,
    )
    .await
    .text()
    .await
    .unwrap();
    let csrf = csrf_in(&page);
    let action = format!("{}/sites/shop/script/justification", t.base);
    let post = |csrf: String, text: &'static str| {
        let fields = [
            ("csrf", csrf),
            ("url", url.into()),
            ("justification", text.into()),
        ];
        post_form(&http, &action, &session, fields)
    };
    assert_eq!(post("forged".into(), "x").await.status(), 403);
    assert_eq!(
        post(csrf.clone(), "=cmd|' /C calc'!A0 card form widget")
            .await
            .status(),
        303
    );
    let page = get(
        &http,
        format!("{}/sites/shop/script?url={}", t.base, url_encode(url)),
        &session,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        page.contains("=cmd|&#39; /C calc&#39;!A0 card form widget")
            || page.contains("=cmd|' /C calc'!A0 card form widget")
    );

    // The export: JSON through the API, CSV through the dashboard, formula defused.
    let json = t.api("/api/v1/sites/shop/inventory").await;
    assert_eq!(json["scripts"][0]["url"], url);
    assert_eq!(
        json["scripts"][0]["justification"],
        "=cmd|' /C calc'!A0 card form widget"
    );
    let csv = get(
        &http,
        format!("{}/sites/shop/inventory.csv", t.base),
        &session,
    )
    .await;
    assert_eq!(
        csv.headers()[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("url,domain,status,"), "{csv}");
    assert!(
        csv.contains("\"'=cmd|' /C calc'!A0 card form widget\""),
        "{csv}"
    );

    // The API edits too (Bearer), and an empty text clears it.
    let r = t
        .http
        .put(format!(
            "{}/api/v1/sites/shop/scripts/justification",
            t.base
        ))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"url": url, "justification": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        t.api("/api/v1/sites/shop/inventory").await["scripts"][0]["justification"],
        serde_json::Value::Null
    );
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn scripts_are_authorized_and_revoked_from_the_script_page() {
    let url = "https://cdn.pay.example/widget.js";
    let t = with_one_script(url).await;
    let http = client();
    let session = sign_in(&t, &http).await;
    let script_page = format!("{}/sites/shop/script?url={}", t.base, url_encode(url));
    let page = get(&http, script_page.clone(), &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Authorize this version"), "{page}");
    let csrf = csrf_in(&page);
    let form = format!("{}/sites/shop/script/authorization", t.base);
    let post = |csrf: String, by: &'static str, action: &'static str| {
        let fields = [
            ("csrf", csrf),
            ("url", url.into()),
            ("authorized_by", by.into()),
            ("action", action.into()),
        ];
        post_form(&http, &form, &session, fields)
    };
    assert_eq!(
        post("forged".into(), "mallory", "authorize").await.status(),
        403
    );
    assert_eq!(post(csrf.clone(), "", "authorize").await.status(), 400);
    // The name is a browser-supplied string like any other: shown escaped.
    assert_eq!(
        post(csrf.clone(), PAYLOADS[1], "authorize").await.status(),
        303
    );
    let page = get(&http, script_page.clone(), &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains(PAYLOADS[1]), "unescaped name in {page}");
    assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
    // Nothing fetched yet: authorized by its URL alone, and the page says so.
    assert!(page.contains("no version had been fetched"), "{page}");
    let site = get(
        &http,
        format!("{}/sites/shop?authorization=authorized", t.base),
        &session,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(site.contains(url), "the filter kept the authorized script");
    let cards = compliance_cards(&site);
    assert!(cards.contains("<b>1</b>active scripts"), "{cards}");
    assert!(cards.contains("<b>1</b>authorized"), "{cards}");
    assert!(cards.contains("<b>0</b>never authorized"), "{cards}");
    let overview = get(&http, format!("{}/", t.base), &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(overview.contains("<b>0</b>active scripts not authorized"));
    let csv = get(
        &http,
        format!("{}/sites/shop/inventory.csv", t.base),
        &session,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains(",authorization,authorized_by,")
    );
    assert!(csv.contains("\"authorized\""), "{csv}");

    // Revoking needs a name too: the trail says who withdrew it.
    assert_eq!(post(csrf.clone(), "", "revoke").await.status(), 400);
    assert_eq!(post(csrf.clone(), "carol", "revoke").await.status(), 303);
    let page = get(&http, script_page.clone(), &session)
        .await
        .text()
        .await
        .unwrap();
    let trail = &page[page.find("id=\"trail\"").expect("the trail")..];
    let revoked = trail
        .find("<td>revoked</td><td>carol</td>")
        .expect("revoked by carol");
    let authorized = trail
        .find("<td>authorized</td>")
        .expect("the authorization");
    assert!(revoked < authorized, "newest first: {trail}");
    let entry = &t.api("/api/v1/sites/shop/scripts").await["scripts"][0];
    assert_eq!(entry["authorization"], "unauthorized");
    let site = get(
        &http,
        format!("{}/sites/shop?authorization=authorized", t.base),
        &session,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        !site.contains(url),
        "a revoked script is not listed as authorized"
    );
    let cards = compliance_cards(&site);
    assert!(cards.contains("<b>0</b>authorized"), "{cards}");
    assert!(
        cards.contains("<span class=\"badge warning\">1</span></b>never authorized"),
        "{cards}"
    );
    let overview = get(&http, format!("{}/", t.base), &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(overview.contains("<b>1</b>active scripts not authorized"));
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn scripts_are_authorized_in_bulk_from_the_api_and_the_site_page() {
    let urls: Vec<String> = (0..3)
        .map(|i| format!("https://cdn{i}.pay.example/lib.js"))
        .collect();
    let t = with_one_script(&urls[0]).await;
    for url in &urls[1..] {
        let body = serde_json::json!({"csp-report": {
            "document-uri": "https://shop.example/checkout", "effective-directive": "script-src-elem", "blocked-uri": url,
        }});
        t.post("application/csp-report", body.to_string()).await;
    }
    t.eventually("/api/v1/sites/shop/scripts", |v| {
        v["scripts"].as_array().unwrap().len() == 3
    })
    .await;
    let put = |body: serde_json::Value| {
        t.http
            .put(format!(
                "{}/api/v1/sites/shop/scripts/authorization",
                t.base
            ))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
    };
    // The API: known scripts authorized, unknown ones listed as refused.
    let r = put(serde_json::json!({
        "urls": [urls[0], "https://cdn.unknown.example/x.js"], "authorized_by": "alice",
    }))
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["authorizations"][0]["url"], urls[0].as_str());
    assert_eq!(v["refused"][0]["url"], "https://cdn.unknown.example/x.js");
    assert_eq!(
        v["refused"][0]["error"],
        "no such script in the site's inventory"
    );
    let too_many: Vec<String> = (0..1001)
        .map(|i| format!("https://x.example/{i}.js"))
        .collect();
    let r = put(serde_json::json!({"urls": too_many, "authorized_by": "alice"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = put(serde_json::json!({"url": urls[0], "urls": [urls[1]], "authorized_by": "alice"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // The site page: a checkbox per script and one form for the ticked ones.
    let http = client();
    let session = sign_in(&t, &http).await;
    let page = get(&http, format!("{}/sites/shop", t.base), &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("form=\"bulk\""), "{page}");
    let csrf = csrf_in(&page);
    let action = format!("{}/sites/shop/scripts/authorize", t.base);
    let post = |csrf: &str, ticked: &[&String]| {
        let mut fields = vec![("csrf", csrf.to_string()), ("authorized_by", "bob".into())];
        fields.extend(ticked.iter().map(|u| ("url", u.to_string())));
        post_form(&http, &action, &session, fields)
    };
    assert_eq!(post("forged", &[&urls[1]]).await.status(), 403);
    assert_eq!(post(&csrf, &[]).await.status(), 400);
    let r = post(&csrf, &[&urls[1], &urls[2]]).await;
    assert_eq!(r.status(), 303);
    let scripts = t.api("/api/v1/sites/shop/scripts").await;
    let by: std::collections::BTreeMap<&str, &str> = scripts["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["url"].as_str().unwrap(),
                s["authorized_by"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(by[urls[0].as_str()], "alice");
    assert_eq!(by[urls[1].as_str()], "bob");
    assert_eq!(by[urls[2].as_str()], "bob");
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn reports_new_resources_and_alerts_per_day_are_charted_and_in_the_api() {
    let t = start("", "").await;
    for url in [
        "https://cdn.one.example/a.js",
        "https://cdn.one.example/a.js",
        "https://cdn.two.example/b.js",
    ] {
        let report = script_report("https://shop.example/checkout", url);
        assert_eq!(t.post("application/csp-report", report).await.status(), 204);
    }
    t.eventually("/api/v1/sites/shop/scripts", |v| {
        v["scripts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["reports"].as_i64().unwrap())
            .sum::<i64>()
            == 3
    })
    .await;
    let http = client();
    let session = sign_in(&t, &http).await;
    let html = get(&http, format!("{}/", t.base), &session)
        .await
        .text()
        .await
        .unwrap();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let chart_in = |html: &str, label: &str| -> String {
        let start = html
            .find(&format!("aria-label=\"{label}\""))
            .unwrap_or_else(|| panic!("no {label} chart"));
        html[start..start + html[start..].find("</svg>").unwrap()].to_string()
    };
    let chart = |label: &str| chart_in(&html, label);
    // The site's own page charts the same activity, for that site.
    let site_page = get(&http, format!("{}/sites/shop", t.base), &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        chart_in(&site_page, "reports per day").contains(&format!("<title>{today}: 3</title>"))
    );
    assert!(
        chart("reports per day").contains(&format!("<title>{today}: 3</title>")),
        "{}",
        chart("reports per day")
    );
    assert!(chart("new resources per day").contains(&format!("<title>{today}: 2</title>")));
    assert!(chart("alerts per day").contains("<title>"));
    // The same counts from the API, every day of the window listed.
    let daily = t.api("/api/v1/sites/shop/reports/daily?days=3").await;
    let days = daily["days"].as_array().unwrap();
    assert_eq!(days.len(), 3);
    assert_eq!(days[2]["day"], today.as_str());
    assert_eq!(days[2]["reports"], 3);
    assert_eq!(days[0]["reports"], 0);
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn large_inventories_are_paged_with_the_filters_kept() {
    let t = start("", "").await;
    for i in 0..510 {
        let report = script_report(
            "https://shop.example/checkout",
            &format!("https://cdn.many.example/s{i:03}.js"),
        );
        assert_eq!(t.post("application/csp-report", report).await.status(), 204);
    }
    t.eventually("/api/v1/sites/shop/scripts", |v| {
        v["scripts"].as_array().unwrap().len() == 510
    })
    .await;
    let http = client();
    let session = sign_in(&t, &http).await;
    let first = get(&http, format!("{}/sites/shop?q=cdn.many", t.base), &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(first.contains("Rows 1–500 of 510."), "pager missing");
    let rows = |html: &str| html.matches("/sites/shop/script?url=").count();
    assert_eq!(rows(&first), 500);
    let next = first
        .split("href=\"")
        .map(|s| s.split('"').next().unwrap().replace("&amp;", "&"))
        .find(|href| href.contains("scripts_from=500"))
        .expect("a link to the next page");
    assert!(next.contains("q=cdn.many"), "the filter is kept: {next}");
    let second = get(&http, format!("{}{next}", t.base), &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(second.contains("Rows 501–510 of 510."));
    assert_eq!(rows(&second), 10);
    // Past the end: the last page, not an empty one.
    let past = get(
        &http,
        format!("{}/sites/shop?scripts_from=9999", t.base),
        &session,
    )
    .await
    .text()
    .await
    .unwrap();
    assert_eq!(rows(&past), 10);

    // The alert timeline pages too: 510 new_script alerts, 200 a page, none twice.
    t.eventually("/api/v1/alerts?kind=new_script&limit=10000", |v| {
        v["alerts"].as_array().unwrap().len() == 510
    })
    .await;
    let mut seen = std::collections::HashSet::new();
    let mut next = Some("/alerts?kind=new_script".to_string());
    let (mut pages, mut listed) = (0, 0);
    while let Some(path) = next.take() {
        let html = get(&http, format!("{}{path}", t.base), &session)
            .await
            .text()
            .await
            .unwrap();
        pages += 1;
        listed += html.matches("<td>new_script</td>").count();
        for subject in html.split("cdn.many.example/").skip(1) {
            let name = subject.split(['"', '<']).next().unwrap().to_string();
            seen.insert(name);
        }
        next = html
            .split("href=\"")
            .map(|s| s.split('"').next().unwrap().replace("&amp;", "&"))
            .find(|href| href.starts_with("/alerts?") && href.contains("before_id="));
        if let Some(n) = &next {
            assert!(n.contains("kind=new_script"), "the filter is kept: {n}");
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(listed, 510, "no alert listed twice");
    assert_eq!(seen.len(), 510, "every alert listed");
    t.server.shutdown().await.unwrap();
}
