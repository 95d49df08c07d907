//! "An accepted report survives kill -9 of the server once the flush interval has passed."

mod common;

use std::time::Duration;

use common::*;

#[tokio::test]
async fn accepted_reports_survive_kill_9_after_the_flush_interval() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
         database = \"sqlite://{db}\"\napi_token = \"{TOKEN}\"\nflush_interval = \"500ms\"\n\
         [[sites]]\nid = \"shop\"\nkey = \"crash-test-key\"\n",
        db = dir.path().join("rampart.db").display()
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
