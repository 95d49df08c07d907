//! Several nodes sharing one PostgreSQL database (SPEC: `database = "postgres://…"` to share
//! state between nodes): what one node accepts, every node shows; a new script alerts once for
//! the deployment, whichever node saw it first; a dashboard session works on every node.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_share_the_inventory_alerts_and_sessions() {
    let (database, schema) = postgres_schema().await;
    let a = start_on(tempfile::tempdir().unwrap(), &database, "", "").await;
    let b = start_on(tempfile::tempdir().unwrap(), &database, "", "").await;
    let report = script_report(
        "https://shop.example/checkout",
        "https://cdn.one.example/a.js",
    );
    // The same script reported to both nodes at once.
    let (ra, rb) = tokio::join!(
        a.post("application/csp-report", report.clone()),
        b.post("application/csp-report", report.clone())
    );
    assert_eq!((ra.status().as_u16(), rb.status().as_u16()), (204, 204));
    let other = script_report(
        "https://shop.example/cart",
        "https://static.two.example/b.js",
    );
    assert_eq!(a.post("application/csp-report", other).await.status(), 204);

    // Node b lists what node a accepted, with both nodes' counts.
    let scripts = b
        .eventually("/api/v1/sites/shop/scripts", |v| {
            let list = v["scripts"].as_array().unwrap();
            list.len() == 2
                && list
                    .iter()
                    .any(|s| s["url"] == "https://cdn.one.example/a.js" && s["reports"] == 2)
        })
        .await;
    assert_eq!(scripts["scripts"].as_array().unwrap().len(), 2);

    // One new_script alert per script for the deployment, seen the same from both nodes.
    a.eventually("/api/v1/alerts?kind=new_script", |v| {
        v["alerts"].as_array().unwrap().len() >= 2
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for t in [&a, &b] {
        let alerts = t.api("/api/v1/alerts?kind=new_script").await;
        let mut subjects: Vec<&str> = alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["subject"].as_str().unwrap())
            .collect();
        subjects.sort();
        assert_eq!(
            subjects,
            [
                "https://cdn.one.example/a.js",
                "https://static.two.example/b.js"
            ]
        );
    }

    // Signed in on one node, known to the other; signed out on the other, out everywhere.
    let http = client();
    let session = sign_in(&a, &http).await;
    let page = |t: &TestServer| {
        http.get(format!("{}/sites/shop", t.base))
            .header(reqwest::header::COOKIE, &session)
            .send()
    };
    assert_eq!(page(&b).await.unwrap().status(), 200);
    let html = page(&b).await.unwrap().text().await.unwrap();
    let csrf = csrf_in(&html);
    let out = http
        .post(format!("{}/logout", b.base))
        .header(reqwest::header::COOKIE, &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let r = page(&a).await.unwrap();
    assert_eq!(r.status(), 303, "signed out on b, so out on a too");
    a.server.shutdown().await.unwrap();
    b.server.shutdown().await.unwrap();
    drop_postgres_schema(&schema).await;
}
