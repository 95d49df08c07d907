//! `serve` with `[bgp]`: the route monitor watches a local RIS Live websocket (replaying the
//! YouTube 2008 incident) and its events arrive in the shared alert store and the BGP API.

mod common;

use std::path::Path;

use common::*;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn serve_turns_ris_live_events_into_alerts() {
    let lines: Vec<String> = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../rampart-bgp/tests/incidents/youtube-pakistan-2008.jsonl"),
    )
    .unwrap()
    .lines()
    .map(str::to_string)
    .collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let _subscribe = ws.next().await;
        for line in lines {
            ws.send(Message::text(line)).await.unwrap();
        }
        // Keep the connection open until the test ends.
        while ws.next().await.is_some() {}
    });
    let t = start(
        "",
        &format!(
            "[bgp]\nmin_peers = 3\nris_live_url = \"ws://127.0.0.1:{port}\"\n\
             [[bgp.prefixes]]\nprefix = \"208.65.152.0/22\"\norigins = [36561]\ndescription = \"YouTube\"\n"
        ),
    )
    .await;
    let v = t
        .eventually("/api/v1/bgp/alerts", |v| {
            v["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["event"] == "resolved" && a["kind"] == "subprefix_hijack")
        })
        .await;
    let alerts = v["alerts"].as_array().unwrap();
    let open = alerts
        .iter()
        .find(|a| a["event"] == "open" && a["kind"] == "subprefix_hijack")
        .unwrap();
    assert_eq!(open["prefix"], "208.65.153.0/24");
    assert_eq!(open["origin"], 17557);
    assert_eq!(open["monitored_prefix"], "208.65.152.0/22");
    assert_eq!(open["severity"], "critical");
    assert_eq!(
        alerts
            .iter()
            .filter(|a| a["kind"] == "more_specific" && a["event"] == "open")
            .count(),
        2
    );
    // Who carries the prefix now: YouTube's own routes, the hijack gone with its resolution.
    let view = t
        .eventually("/api/v1/bgp/prefixes", |v| {
            v["prefixes"][0]["routes"]
                .as_array()
                .is_some_and(|r| !r.is_empty() && r.iter().all(|x| x["origin"] != 17557))
        })
        .await;
    let p = &view["prefixes"][0];
    assert_eq!(p["prefix"], "208.65.152.0/22");
    assert_eq!(p["description"], "YouTube");
    assert!(
        p["routes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["origin"] == 36561
                && r["expected"] == true
                && r["peers"].as_u64().unwrap() > 0)
    );
    // The same events are alerts of site "bgp" in the shared store.
    let shared = t.api("/api/v1/alerts?site=bgp&kind=subprefix_hijack").await;
    assert_eq!(
        shared["alerts"].as_array().unwrap().len(),
        2,
        "open and resolved"
    );
    t.server.shutdown().await.unwrap();
}
