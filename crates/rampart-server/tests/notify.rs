//! Notification delivery end to end, against real receivers on loopback: an HTTP server that
//! plays webhook, Slack and PagerDuty, and Python's aiosmtpd as the SMTP server.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use common::*;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

#[derive(Clone, Default)]
struct Receiver {
    /// (path, headers, body) of every request received.
    seen: Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>,
    /// Status codes to answer, in order; the last one repeats.
    script: Arc<Mutex<Vec<u16>>>,
}

impl Receiver {
    async fn start(script: &[u16]) -> (Receiver, String) {
        let r = Receiver {
            script: Arc::new(Mutex::new(script.to_vec())),
            ..Default::default()
        };
        let state = r.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move {
                    state
                        .seen
                        .lock()
                        .unwrap()
                        .push((uri.path().to_string(), headers, body));
                    let mut script = state.script.lock().unwrap();
                    let code = if script.len() > 1 {
                        script.remove(0)
                    } else {
                        script[0]
                    };
                    StatusCode::from_u16(code).unwrap()
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, format!("http://{addr}"))
    }

    fn bodies(&self) -> Vec<(String, HeaderMap, Value)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(p, h, b)| (p.clone(), h.clone(), serde_json::from_slice(b).unwrap()))
            .collect()
    }
}

async fn raise_alert(t: &TestServer, script_url: &str) -> Value {
    let r = t
        .post(
            "application/csp-report",
            script_report("https://shop.example/", script_url),
        )
        .await;
    assert_eq!(r.status(), 204);
    let v = t
        .eventually("/api/v1/alerts?kind=new_script", |v| {
            v["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["subject"] == script_url)
        })
        .await;
    v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["subject"] == script_url)
        .unwrap()
        .clone()
}

async fn deliveries(t: &TestServer, alert_id: &Value, count: usize) -> Vec<Value> {
    let path = format!("/api/v1/alerts/{alert_id}/deliveries");
    let v = t
        .eventually(&path, |v| {
            v["deliveries"].as_array().unwrap().len() >= count
        })
        .await;
    v["deliveries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn webhook_is_signed_and_retried_until_delivered() {
    let (rx, url) = Receiver::start(&[500, 200]).await;
    let t = start(
        "",
        &format!("[[notify]]\ntype = \"webhook\"\nurl = \"{url}/hook\"\nsecret = \"s3cret\"\nretry_backoff = \"50ms\"\nmin_severity = \"info\""),
    )
    .await;
    let alert = raise_alert(&t, "https://cdn.w.example/a.js").await;
    let d = deliveries(&t, &alert["id"], 2).await;
    let outcomes: Vec<(&str, i64)> = d
        .iter()
        .filter(|x| x["channel"] == "webhook")
        .map(|x| {
            (
                x["outcome"].as_str().unwrap(),
                x["status_code"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(outcomes, [("failed", 500), ("delivered", 200)]);

    let seen = rx.seen.lock().unwrap().clone();
    let (path, headers, body) = seen
        .iter()
        .find(|(_, _, b)| {
            serde_json::from_slice::<Value>(b).unwrap()["alert"]["subject"]
                == "https://cdn.w.example/a.js"
        })
        .unwrap();
    assert_eq!(path, "/hook");
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(headers["x-rampart-signature"].to_str().unwrap(), expected);
    assert!(headers.get("x-rampart-event").is_some());
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn slack_and_pagerduty_receive_their_own_formats() {
    let (rx, url) = Receiver::start(&[202]).await;
    let t = start(
        "",
        &format!(
            "[[notify]]\ntype = \"slack\"\nurl = \"{url}/slack\"\n\
             [[notify]]\ntype = \"pagerduty\"\nrouting_key = \"R0UT1NG\"\nurl = \"{url}/v2/enqueue\"\n"
        ),
    )
    .await;
    let alert = raise_alert(&t, "https://cdn.p.example/a.js").await;
    let d = deliveries(&t, &alert["id"], 2).await;
    assert!(d.iter().all(|x| x["outcome"] == "delivered"), "{d:?}");
    // Both channels also got the domain alert; pick the script one.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let bodies = rx.bodies();
    let slack = bodies
        .iter()
        .find(|(p, _, b)| p == "/slack" && b["text"].as_str().unwrap().contains("New script on"))
        .unwrap();
    assert!(
        slack.2["text"]
            .as_str()
            .unwrap()
            .contains("https://cdn.p.example/a.js")
    );
    let pd = bodies
        .iter()
        .find(|(p, _, b)| p == "/v2/enqueue" && b["payload"]["class"] == "new_script")
        .unwrap();
    assert_eq!(pd.2["routing_key"], "R0UT1NG");
    assert_eq!(pd.2["event_action"], "trigger");
    assert_eq!(pd.2["payload"]["severity"], "info");
    assert_eq!(pd.2["payload"]["source"], "rampart/shop");
    assert!(pd.2["dedup_key"].as_str().unwrap().starts_with("rampart-"));
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn client_errors_give_up_at_once_and_the_rate_limit_is_recorded() {
    let (_rx, url) = Receiver::start(&[400]).await;
    let t = start(
        "",
        &format!("[[notify]]\ntype = \"webhook\"\nurl = \"{url}/hook\"\nrate_limit_per_minute = 1\nretry_backoff = \"50ms\"\n"),
    )
    .await;
    // One report raises two alerts (script and domain): the bucket of 1 lets one through.
    let alert = raise_alert(&t, "https://cdn.r.example/a.js").await;
    let domain = t
        .eventually("/api/v1/alerts?kind=new_script_domain", |v| {
            v["alerts"].as_array().unwrap().len() == 1
        })
        .await;
    let mut outcomes = Vec::new();
    for id in [&alert["id"], &domain["alerts"][0]["id"]] {
        let d = deliveries(&t, id, 1).await;
        assert_eq!(d.len(), 1, "no retry after a 4xx or a rate limit: {d:?}");
        outcomes.push(d[0]["outcome"].as_str().unwrap().to_string());
    }
    outcomes.sort();
    assert_eq!(outcomes, ["gave_up", "rate_limited"]);
    t.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn min_severity_filters_channels() {
    let (rx, url) = Receiver::start(&[200]).await;
    let t = start(
        "",
        &format!(
            "[[notify]]\ntype = \"webhook\"\nurl = \"{url}/hook\"\nmin_severity = \"warning\"\n"
        ),
    )
    .await;
    raise_alert(&t, "https://cdn.s.example/a.js").await;
    t.eventually("/api/v1/alerts?kind=new_script_domain", |v| {
        v["alerts"].as_array().unwrap().len() == 1
    })
    .await;
    for _ in 0..50 {
        if !rx.bodies().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let kinds: Vec<String> = rx
        .bodies()
        .iter()
        .map(|(_, _, b)| b["alert"]["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["new_script_domain"]);
    t.server.shutdown().await.unwrap();
}

/// Starts aiosmtpd writing every message into a Maildir; the test fails if it is missing.
fn aiosmtpd(dir: &std::path::Path) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(dir)
        .spawn()
        .expect("python3 with aiosmtpd is required (scripts/test installs it)");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (child, port);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("aiosmtpd did not start (is it installed? scripts/test installs it)");
}

#[tokio::test]
async fn email_reaches_a_real_smtp_server() {
    let maildir = tempfile::tempdir().unwrap();
    let (mut smtp, port) = aiosmtpd(&maildir.path().join("mail"));
    let t = start(
        "",
        &format!(
            "[[notify]]\ntype = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\n\
             from = \"rampart@shop.example\"\nto = [\"secops@shop.example\"]\nmin_severity = \"warning\"\n"
        ),
    )
    .await;
    t.post(
        "application/csp-report",
        script_report("https://shop.example/", "https://cdn.e.example/x.js"),
    )
    .await;
    let v = t
        .eventually("/api/v1/alerts?kind=new_script_domain", |v| {
            v["alerts"].as_array().unwrap().len() == 1
        })
        .await;
    let d = deliveries(&t, &v["alerts"][0]["id"], 1).await;
    assert_eq!(d[0]["outcome"], "delivered", "{d:?}");
    let new = maildir.path().join("mail/new");
    let files: Vec<_> = std::fs::read_dir(&new).unwrap().collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    assert!(
        text.contains("Subject: Rampart: [warning] New script domain on shop: e.example"),
        "{text}"
    );
    assert!(text.contains("To: secops@shop.example"));
    t.server.shutdown().await.unwrap();
    smtp.kill().unwrap();
    smtp.wait().unwrap();
}
