//! The SQLite backend against a real database file.

use rampart_store::{AlertFilter, DeliveryRow, NewAlert, ResourceDelta, Store, open};

fn delta(url: &str, domain: &str, reports: i64, at: i64, page: &str) -> ResourceDelta {
    ResourceDelta {
        site: "shop".into(),
        kind: "script".into(),
        url: url.into(),
        host: format!("cdn.{domain}"),
        domain: domain.into(),
        first_seen: at,
        last_seen: at,
        reports,
        first_page: page.into(),
        pages: vec![page.into()],
        sample: None,
        hash: None,
    }
}

async fn store(dir: &tempfile::TempDir) -> std::sync::Arc<dyn Store> {
    open(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap()
}

#[tokio::test]
async fn batches_accumulate_counts_pages_and_domain_totals() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let out = s
        .apply_batch(&[delta(
            "https://cdn.a.example/x.js",
            "a.example",
            2,
            1000,
            "https://shop/p1",
        )])
        .await
        .unwrap();
    assert_eq!(
        (out.resources[0].reports_before, out.resources[0].reports),
        (0, 2)
    );
    let out = s
        .apply_batch(&[
            delta(
                "https://cdn.a.example/x.js",
                "a.example",
                3,
                2000,
                "https://shop/p2",
            ),
            delta(
                "https://cdn.a.example/y.js",
                "a.example",
                1,
                2500,
                "https://shop/p2",
            ),
        ])
        .await
        .unwrap();
    assert_eq!(
        (out.resources[0].reports_before, out.resources[0].reports),
        (2, 5)
    );
    assert_eq!(out.domains.len(), 1);
    assert_eq!(
        (out.domains[0].reports_before, out.domains[0].reports),
        (2, 6)
    );

    let rows = s.list_resources("shop", "script").await.unwrap();
    assert_eq!(rows.len(), 2);
    let x = rows.iter().find(|r| r.url.ends_with("x.js")).unwrap();
    assert_eq!((x.first_seen, x.last_seen, x.reports), (1000, 2000, 5));
    assert_eq!(x.first_page, "https://shop/p1");
    assert_eq!(x.pages, vec!["https://shop/p2", "https://shop/p1"]);
    assert!(
        s.list_resources("shop", "connection")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn alerts_are_deduplicated_per_subject_and_listed_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let alert = |subject: &str, at: i64| NewAlert {
        kind: "new_script".into(),
        site: "shop".into(),
        subject: subject.into(),
        dedup: String::new(),
        severity: "info".into(),
        created_at: at,
        details: serde_json::json!({"k": 1}),
    };
    let first = s
        .insert_alert(&alert("https://a/x.js", 10))
        .await
        .unwrap()
        .unwrap();
    assert!(
        s.insert_alert(&alert("https://a/x.js", 20))
            .await
            .unwrap()
            .is_none()
    );
    s.insert_alert(&alert("https://a/y.js", 30))
        .await
        .unwrap()
        .unwrap();
    let all = s.list_alerts(&AlertFilter::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|a| a.subject.as_str()).collect::<Vec<_>>(),
        ["https://a/y.js", "https://a/x.js"]
    );
    let none = s
        .list_alerts(&AlertFilter {
            kind: Some("new_script_domain".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());

    s.record_delivery(&DeliveryRow {
        alert_id: first.id,
        channel: "webhook".into(),
        attempt: 1,
        outcome: "failed".into(),
        status_code: Some(500),
        error: Some("boom".into()),
        at: 11,
    })
    .await
    .unwrap();
    let d = s.list_deliveries(first.id).await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].status_code, Some(500));
}

#[tokio::test]
async fn site_learning_starts_at_the_first_report_and_never_moves() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    assert_eq!(s.ensure_site("shop", 100).await.unwrap(), 100);
    assert_eq!(s.ensure_site("shop", 900).await.unwrap(), 100);
}

#[tokio::test]
async fn data_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = store(&dir).await;
        s.apply_batch(&[delta("https://cdn.a.example/x.js", "a.example", 1, 1, "p")])
            .await
            .unwrap();
    }
    let s = store(&dir).await;
    assert_eq!(s.list_resources("shop", "script").await.unwrap().len(), 1);
}

#[tokio::test]
async fn unknown_database_schemes_are_refused_by_name() {
    let err = open("mysql://x").await.err().unwrap().to_string();
    assert!(err.contains("mysql://x"), "{err}");
}

#[tokio::test]
async fn versions_are_content_addressed_and_pruned_to_the_newest() {
    use rampart_store::NewVersion;
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let v = |sha: &str, at: i64| NewVersion {
        site: "shop".into(),
        url: "https://cdn.x/a.js".into(),
        sha256: sha.into(),
        structural_hash: format!("s-{sha}"),
        fetched_at: at,
        analysis: serde_json::json!({"capabilities": []}),
        body: sha.as_bytes().to_vec(),
    };
    for (i, sha) in ["aa", "bb", "cc", "dd"].iter().enumerate() {
        s.insert_version(&v(sha, i as i64), 3).await.unwrap();
    }
    let list = s.list_versions("shop", "https://cdn.x/a.js").await.unwrap();
    assert_eq!(
        list.iter().map(|v| v.sha256.as_str()).collect::<Vec<_>>(),
        ["dd", "cc", "bb"]
    );
    assert_eq!(s.version_body("dd").await.unwrap().unwrap(), b"dd");
    assert!(
        s.version_body("aa").await.unwrap().is_none(),
        "pruned version's body is gone"
    );
    let latest = s.latest_versions("shop").await.unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!((latest[0].0.sha256.as_str(), latest[0].1), ("dd", 3));
}

#[tokio::test]
async fn justifications_are_set_replaced_cleared_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    s.set_justification(
        "shop",
        "https://cdn.example/a.js",
        "payment widget, contract #12",
        10,
    )
    .await
    .unwrap();
    s.set_justification("shop", "https://cdn.example/b.js", "analytics", 11)
        .await
        .unwrap();
    s.set_justification(
        "shop",
        "https://cdn.example/a.js",
        "payment widget, contract #13",
        12,
    )
    .await
    .unwrap();
    s.set_justification("other", "https://cdn.example/a.js", "x", 13)
        .await
        .unwrap();
    s.set_justification("shop", "https://cdn.example/b.js", "  ", 14)
        .await
        .unwrap();
    drop(s);
    let s = store(&dir).await;
    let j = s.justifications("shop").await.unwrap();
    assert_eq!(j.len(), 1);
    assert_eq!(
        j["https://cdn.example/a.js"],
        ("payment widget, contract #13".to_string(), 12)
    );
}
