//! "An accepted report survives kill -9 of the server once the flush interval has passed" —
//! on the embedded SQLite and on PostgreSQL.

mod common;

use std::time::Duration;

use common::*;
use sqlx::Connection;

#[tokio::test]
async fn accepted_reports_survive_kill_9_after_the_flush_interval() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("rampart.db").display());
    survives_kill_9(dir, &database).await;
}

#[tokio::test]
async fn accepted_reports_survive_kill_9_on_postgres() {
    let base = std::env::var("RAMPART_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("rampart_crash_test_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {base} is required for this test: {e}"));
    let create = format!("CREATE SCHEMA {schema}");
    sqlx::query(&create).execute(&mut conn).await.unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let database = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    survives_kill_9(tempfile::tempdir().unwrap(), &database).await;
    let drop = format!("DROP SCHEMA {schema} CASCADE");
    sqlx::query(&drop).execute(&mut conn).await.unwrap();
}

async fn survives_kill_9(dir: tempfile::TempDir, database: &str) {
    let port = free_port();
    let config = format!(
        "listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
         database = \"{database}\"\napi_token = \"{TOKEN}\"\nflush_interval = \"500ms\"\n\
         [[sites]]\nid = \"shop\"\nkey = \"crash-test-key\"\n"
    );
    let server = spawn(dir.path(), port, &config);
    let http = reqwest::Client::new();
    for i in 0..200 {
        let body = serde_json::json!({"csp-report": {
            "document-uri": "https://shop.example/", "effective-directive": "script-src-elem",
            "blocked-uri": format!("https://cdn.example/s{i}.js")
        }});
        let r = http
            .post(format!("{}/report/crash-test-key", server.base))
            .header("content-type", "application/csp-report")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    // The documented promise: durable once one flush interval (500 ms) has passed. Wait 1 s.
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.kill_9();

    let server = spawn(dir.path(), port, &config);
    let scripts = server.api("/api/v1/sites/shop/scripts").await;
    assert_eq!(scripts["scripts"].as_array().unwrap().len(), 200);
}
