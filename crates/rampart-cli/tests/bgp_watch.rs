//! `rampart bgp watch` against a local websocket server that speaks RIS Live and replays the
//! YouTube 2008 incident: the hijack alert must appear within 1 s of the offending message; when
//! the server drops mid-stream, the watcher reconnects and reports the gap.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

fn incident(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../rampart-bgp/tests/incidents")
        .join(name)
        .display()
        .to_string()
}

/// Accepts one websocket client on `listener`, checks it subscribes, then sends `lines`.
async fn serve_once(
    listener: &tokio::net::TcpListener,
    lines: &[String],
    pause_before_last: Duration,
) -> Instant {
    let (tcp, _) = listener.accept().await.unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    let first = ws.next().await.unwrap().unwrap();
    let text = first.into_text().unwrap();
    assert!(
        text.contains("ris_subscribe") && text.contains("208.65.152.0/22"),
        "{text}"
    );
    for line in &lines[..lines.len() - 1] {
        ws.send(Message::text(line.clone())).await.unwrap();
    }
    tokio::time::sleep(pause_before_last).await;
    let sent = Instant::now();
    ws.send(Message::text(lines[lines.len() - 1].clone()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(ws); // the server goes away mid-stream
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_alerts_within_a_second_and_reconnects_after_a_drop() {
    let lines: Vec<String> = std::fs::read_to_string(incident("youtube-pakistan-2008.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    // Lines 0–3: baseline; 4–6: the hijack reaching three peers; the rest: later events.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();

    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "bgp",
            "watch",
            "--ris-live-url",
            &format!("ws://127.0.0.1:{port}"),
            "--prefixes",
            &incident("youtube-pakistan-2008.yml"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<(Instant, serde_json::Value)>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send((Instant::now(), serde_json::from_str(&line).unwrap()));
        }
    });

    let sent = serve_once(&listener, &lines[..7], Duration::from_millis(200)).await;
    let (at, event) = rx.recv_timeout(Duration::from_secs(5)).expect("an event");
    assert_eq!(event["kind"], "subprefix_hijack");
    assert_eq!(event["event"], "open");
    let latency = at.duration_since(sent);
    assert!(
        latency < Duration::from_secs(1),
        "alert {latency:?} after the offending message"
    );

    // The server was gone; it comes back and the stream continues.
    tokio::time::sleep(Duration::from_millis(400)).await;
    serve_once(&listener, &lines[7..], Duration::from_millis(50)).await;
    let mut kinds = Vec::new();
    while let Ok((_, e)) = rx.recv_timeout(Duration::from_secs(3)) {
        kinds.push(format!(
            "{} {}",
            e["event"].as_str().unwrap(),
            e["kind"].as_str().unwrap()
        ));
        if kinds.iter().any(|k| k == "resolved subprefix_hijack") {
            break;
        }
    }
    assert!(
        kinds.contains(&"resolved subprefix_hijack".to_string()),
        "{kinds:?}"
    );

    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("resumed after a gap of"), "{stderr}");
    assert!(stderr.contains("2 connections, 1 gaps"), "{stderr}");
}
