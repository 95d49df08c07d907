//! The store against real databases: every test runs on a SQLite file and on the PostgreSQL
//! server (`RAMPART_TEST_POSTGRES`, default `postgres://postgres@127.0.0.1:5432/test`; each test
//! gets a schema of its own). A PostgreSQL that cannot be reached fails the tests.

use std::sync::Arc;

use rampart_store::{
    AlertFilter, Authorization, DeliveryRow, NewAlert, ResourceDelta, Store, open,
};
use sqlx::Connection;

/// A fresh database: a SQLite file in a temporary directory, or a new PostgreSQL schema.
struct Db {
    url: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<String>,
}

fn postgres_base() -> String {
    std::env::var("RAMPART_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

impl Db {
    async fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        Db {
            url: format!("sqlite://{}", dir.path().join("t.db").display()),
            _dir: Some(dir),
            schema: None,
        }
    }

    async fn postgres() -> Db {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let schema = format!(
            "rampart_test_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let base = postgres_base();
        let mut conn = sqlx::PgConnection::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {base} is required for these tests: {e}"));
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        Db {
            url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
            _dir: None,
            schema: Some(schema),
        }
    }

    async fn store(&self) -> Arc<dyn Store> {
        open(&self.url).await.unwrap()
    }

    async fn drop_schema(&self) {
        if let Some(schema) = &self.schema {
            let mut conn = sqlx::PgConnection::connect(&postgres_base()).await.unwrap();
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
}

/// Runs each named `async fn(&Db)` on both backends.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(&super::Db::sqlite().await).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let db = super::Db::postgres().await;
                super::$name(&db).await;
                db.drop_schema().await;
            })*
        }
    };
}

on_both_backends!(
    batches_accumulate_counts_pages_and_domain_totals,
    alerts_are_deduplicated_per_subject_and_listed_newest_first,
    site_learning_starts_at_the_first_report_and_never_moves,
    data_survives_reopening_the_database,
    versions_are_content_addressed_and_pruned_to_the_newest,
    justifications_are_set_replaced_cleared_and_survive_a_reopen,
    authorizations_are_set_replaced_revoked_and_survive_a_reopen,
    page_scripts_are_replaced_per_page_and_survive_a_reopen,
    two_nodes_writing_the_same_rows_at_once_lose_nothing,
    header_baselines_are_kept_per_page_newest_first,
    reports_are_counted_per_site_and_day,
    two_nodes_storing_the_same_new_version_store_it_once,
);

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

async fn batches_accumulate_counts_pages_and_domain_totals(db: &Db) {
    let s = db.store().await;
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

async fn alerts_are_deduplicated_per_subject_and_listed_newest_first(db: &Db) {
    let s = db.store().await;
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
    // Paging: after y.js (the newest) comes x.js, then nothing.
    let page = |before_id: i64| AlertFilter {
        limit: Some(1),
        before_id: Some(before_id),
        ..Default::default()
    };
    let second = s.list_alerts(&page(all[0].id)).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].subject, "https://a/x.js");
    assert!(s.list_alerts(&page(second[0].id)).await.unwrap().is_empty());

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

async fn site_learning_starts_at_the_first_report_and_never_moves(db: &Db) {
    let s = db.store().await;
    assert_eq!(s.ensure_site("shop", 100).await.unwrap(), 100);
    assert_eq!(s.ensure_site("shop", 900).await.unwrap(), 100);
}

async fn data_survives_reopening_the_database(db: &Db) {
    {
        let s = db.store().await;
        s.apply_batch(&[delta("https://cdn.a.example/x.js", "a.example", 1, 1, "p")])
            .await
            .unwrap();
    }
    let s = db.store().await;
    assert_eq!(s.list_resources("shop", "script").await.unwrap().len(), 1);
}

#[tokio::test]
async fn unknown_database_schemes_are_refused_by_name() {
    let err = open("mysql://x").await.err().unwrap().to_string();
    assert!(err.contains("mysql://x"), "{err}");
}

async fn versions_are_content_addressed_and_pruned_to_the_newest(db: &Db) {
    use rampart_store::NewVersion;
    let s = db.store().await;
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

async fn justifications_are_set_replaced_cleared_and_survive_a_reopen(db: &Db) {
    let s = db.store().await;
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
    let s = db.store().await;
    let j = s.justifications("shop").await.unwrap();
    assert_eq!(j.len(), 1);
    assert_eq!(
        j["https://cdn.example/a.js"],
        ("payment widget, contract #13".to_string(), 12)
    );
}

async fn authorizations_are_set_replaced_revoked_and_survive_a_reopen(db: &Db) {
    let s = db.store().await;
    let auth = |url: &str, by: &str, at: i64, hash: Option<&str>| Authorization {
        url: url.into(),
        by: by.into(),
        at,
        structural_hash: hash.map(Into::into),
        sha256: hash.map(|h| format!("sha-{h}")),
    };
    let a = "https://cdn.example/a.js";
    let b = "https://cdn.example/b.js";
    s.set_authorization("shop", &auth(a, "alice", 10, Some("s1")))
        .await
        .unwrap();
    s.set_authorization("shop", &auth(b, "bob", 11, None))
        .await
        .unwrap();
    // Authorizing again (a new version) replaces who, when and which version.
    s.set_authorization("shop", &auth(a, "carol", 12, Some("s2")))
        .await
        .unwrap();
    s.set_authorization("other", &auth(a, "dave", 13, Some("s9")))
        .await
        .unwrap();
    assert!(s.revoke_authorization("shop", b, "eve", 15).await.unwrap());
    assert!(!s.revoke_authorization("shop", b, "eve", 16).await.unwrap());
    drop(s);
    let s = db.store().await;
    let got = s.authorizations("shop").await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[a], auth(a, "carol", 12, Some("s2")));
    let other = s.authorizations("other").await.unwrap();
    assert_eq!(other[a].by, "dave");
    // An authorization by URL alone keeps its empty version through the store.
    s.set_authorization("shop", &auth(b, "bob", 14, None))
        .await
        .unwrap();
    assert_eq!(
        s.authorizations("shop").await.unwrap()[b],
        auth(b, "bob", 14, None)
    );
    // The trail keeps every step, newest first; a revocation of nothing left no entry.
    let trail = |url: &'static str| {
        let s = &s;
        async move {
            s.authorization_history("shop", url, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|e| (e.action, e.by, e.at, e.structural_hash))
                .collect::<Vec<_>>()
        }
    };
    let entry = |action: &str, by: &str, at: i64, h: Option<&str>| {
        (action.to_string(), by.to_string(), at, h.map(String::from))
    };
    assert_eq!(
        trail(b).await,
        [
            entry("authorized", "bob", 14, None),
            entry("revoked", "eve", 15, None),
            entry("authorized", "bob", 11, None),
        ]
    );
    assert_eq!(
        trail(a).await,
        [
            entry("authorized", "carol", 12, Some("s2")),
            entry("authorized", "alice", 10, Some("s1")),
        ]
    );
    assert_eq!(
        s.authorization_history("shop", a, 1).await.unwrap().len(),
        1
    );
}

async fn page_scripts_are_replaced_per_page_and_survive_a_reopen(db: &Db) {
    let s = db.store().await;
    let page = "https://shop.example/checkout";
    assert_eq!(s.page_scripts("shop", page).await.unwrap(), None);
    let first = serde_json::json!({"https://cdn.example/a.js": ""});
    let second = serde_json::json!({"https://cdn.example/a.js": "", "inline:structure:ab": "go()"});
    s.set_page_scripts("shop", page, &first, 1).await.unwrap();
    s.set_page_scripts("shop", page, &second, 2).await.unwrap();
    s.set_page_scripts("other", page, &first, 3).await.unwrap();
    drop(s);
    let s = db.store().await;
    assert_eq!(s.page_scripts("shop", page).await.unwrap(), Some(second));
    assert_eq!(s.page_scripts("other", page).await.unwrap(), Some(first));
    assert_eq!(
        s.page_scripts("shop", "https://shop.example/")
            .await
            .unwrap(),
        None
    );
}

/// Two nodes (two pools) apply overlapping batches at the same moment: each round both create
/// the same three new rows and update three shared ones, and one domain is shared by all. Every
/// report is counted exactly once.
async fn two_nodes_writing_the_same_rows_at_once_lose_nothing(db: &Db) {
    let (a, b) = (db.store().await, db.store().await);
    let batch = |node: usize, round: usize| -> Vec<ResourceDelta> {
        (0..6)
            .map(|i| {
                // Each node lists the rows in its own order.
                let i = if node == 0 { i } else { 5 - i };
                let name = if i < 3 {
                    format!("shared-{i}")
                } else {
                    format!("round-{round}-{i}")
                };
                delta(
                    &format!("https://cdn.a.example/{name}.js"),
                    "a.example",
                    1,
                    (round * 10 + node) as i64,
                    "https://shop/p",
                )
            })
            .collect()
    };
    let run = |s: Arc<dyn Store>, node: usize| {
        tokio::spawn(async move {
            for round in 0..15 {
                s.apply_batch(&batch(node, round)).await.unwrap();
            }
        })
    };
    let (ra, rb) = tokio::join!(run(a.clone(), 0), run(b.clone(), 1));
    ra.unwrap();
    rb.unwrap();
    let rows = b.list_resources("shop", "script").await.unwrap();
    assert_eq!(rows.len(), 3 + 15 * 3);
    for r in &rows {
        let expected = if r.url.contains("shared") { 30 } else { 2 };
        assert_eq!(r.reports, expected, "{r:?}");
    }
    let out = a
        .apply_batch(&[delta(
            "https://cdn.a.example/shared-0.js",
            "a.example",
            1,
            1000,
            "p",
        )])
        .await
        .unwrap();
    assert_eq!(
        (out.domains[0].reports_before, out.domains[0].reports),
        (180, 181),
        "the shared domain counted every report of both nodes"
    );
}

async fn header_baselines_are_kept_per_page_newest_first(db: &Db) {
    let s = db.store().await;
    let csp = |v: &str| serde_json::json!({ "content-security-policy": v });
    s.set_header_baseline("shop", "/checkout", &csp("script-src 'self'"), 10)
        .await
        .unwrap();
    s.set_header_baseline("shop", "/cart", &csp("default-src 'self'"), 20)
        .await
        .unwrap();
    s.set_header_baseline("shop", "/checkout", &csp("script-src *"), 30)
        .await
        .unwrap();
    s.set_header_baseline("other", "/checkout", &csp("x"), 40)
        .await
        .unwrap();
    // A write that lands late (observed before the one stored) does not roll it back.
    s.set_header_baseline("shop", "/checkout", &csp("script-src 'self'"), 25)
        .await
        .unwrap();
    // Evicted pages go, more than one statement's worth; other sites' are untouched.
    let junk: Vec<String> = (0..1200).map(|i| format!("/junk/{i}")).collect();
    for (i, page) in junk.iter().enumerate() {
        s.set_header_baseline("shop", page, &csp("x"), i as i64)
            .await
            .unwrap();
    }
    s.delete_header_baselines("shop", &junk).await.unwrap();
    s.delete_header_baselines("shop", &[]).await.unwrap();
    drop(s);
    let s = db.store().await;
    let got = s.header_baselines("shop", 10).await.unwrap();
    assert_eq!(
        got,
        vec![
            ("/checkout".to_string(), csp("script-src *")),
            ("/cart".to_string(), csp("default-src 'self'")),
        ]
    );
    assert_eq!(s.header_baselines("shop", 1).await.unwrap().len(), 1);
}

async fn reports_are_counted_per_site_and_day(db: &Db) {
    let s = db.store().await;
    const DAY: i64 = 86_400_000;
    // 2025-12-05 and 2025-12-06 (UTC), two sites.
    let (d5, d6) = (20_427 * DAY + 5_000, 20_428 * DAY + 7_000);
    let mut other = delta("https://cdn.b.example/z.js", "b.example", 7, d6, "p");
    other.site = "blog".into();
    s.apply_batch(&[
        delta("https://cdn.a.example/x.js", "a.example", 2, d5, "p"),
        delta("https://cdn.a.example/y.js", "a.example", 3, d6, "p"),
        other,
    ])
    .await
    .unwrap();
    s.apply_batch(&[delta("https://cdn.a.example/x.js", "a.example", 4, d6, "p")])
        .await
        .unwrap();
    let shop = s.daily_reports(Some("shop"), "2025-12-01").await.unwrap();
    assert_eq!(
        shop,
        vec![("2025-12-05".to_string(), 2), ("2025-12-06".to_string(), 7)]
    );
    let all = s.daily_reports(None, "2025-12-06").await.unwrap();
    assert_eq!(all, vec![("2025-12-06".to_string(), 14)]);
}

/// Users upgrade with their data: a database written before the move to one SQL store (and
/// before migrations 0004 on) opens, migrates and still holds its inventory.
#[tokio::test]
async fn a_database_from_before_postgres_support_opens_and_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.db");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/schema-v3.db"),
        &file,
    )
    .unwrap();
    let s = open(&format!("sqlite://{}", file.display())).await.unwrap();
    let rows = s.list_resources("shop", "script").await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].url.as_str(), rows[0].reports),
        ("https://cdn.a.example/x.js", 5)
    );
    // The tables of the later migrations are there.
    s.set_header_baseline("shop", "/", &serde_json::json!({}), 1)
        .await
        .unwrap();
    assert!(
        s.daily_reports(None, "1970-01-01")
            .await
            .unwrap()
            .is_empty()
    );
}

/// Two nodes fetch the same new version of a script at the same moment: it is stored once.
async fn two_nodes_storing_the_same_new_version_store_it_once(db: &Db) {
    use rampart_store::NewVersion;
    let (a, b) = (db.store().await, db.store().await);
    let version = |sha: &str| NewVersion {
        site: "shop".into(),
        url: "https://cdn.x/a.js".into(),
        sha256: sha.into(),
        structural_hash: format!("s-{sha}"),
        fetched_at: 1,
        analysis: serde_json::json!({}),
        body: sha.as_bytes().to_vec(),
    };
    for sha in ["v1", "v2", "v3"] {
        let (ra, rb) = tokio::join!(
            tokio::spawn({
                let (a, v) = (a.clone(), version(sha));
                async move { a.insert_version(&v, 10).await.unwrap() }
            }),
            tokio::spawn({
                let (b, v) = (b.clone(), version(sha));
                async move { b.insert_version(&v, 10).await.unwrap() }
            }),
        );
        assert_eq!(ra.unwrap().id, rb.unwrap().id, "both nodes see one row");
    }
    let list = a.list_versions("shop", "https://cdn.x/a.js").await.unwrap();
    assert_eq!(
        list.iter().map(|v| v.sha256.as_str()).collect::<Vec<_>>(),
        ["v3", "v2", "v1"]
    );
}
