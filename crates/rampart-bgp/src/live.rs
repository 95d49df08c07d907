//! The live RIS Live websocket: subscribe to the monitored prefixes (and their more-specifics),
//! feed every message to a callback, reconnect with backoff when the stream drops, and account
//! for the gap — so a dropped connection is reported, never silent.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use ipnet::IpNet;
use tokio_tungstenite::tungstenite::Message;

use crate::elem::Elem;
use crate::rislive::{RisLiveStats, parse_ris_live_line};

/// First reconnect delay; doubles up to [`MAX_BACKOFF`].
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(250);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the live source saw, including its outages.
#[derive(Debug, Clone, Default)]
pub struct LiveStats {
    pub messages: RisLiveStats,
    pub connects: u64,
    /// Outages: disconnect to first message after reconnecting.
    pub gaps: u64,
    pub gap_seconds: f64,
}

/// A notable happening of the connection, for logs and metrics.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    Connected {
        attempt: u64,
    },
    Disconnected {
        reason: String,
    },
    /// Data flows again after an outage of this many seconds.
    Resumed {
        gap_seconds: f64,
    },
}

/// The `ris_subscribe` message for one prefix (more-specifics included, updates only).
pub fn subscribe_message(prefix: &IpNet) -> String {
    serde_json::json!({
        "type": "ris_subscribe",
        "data": {"prefix": prefix.to_string(), "moreSpecific": true, "lessSpecific": false, "type": "UPDATE", "socketOptions": {"includeRaw": false}}
    })
    .to_string()
}

/// Runs until `stop` resolves. Calls `on_elem` for every route element and `on_event` for
/// connection events; `stats` accumulates.
pub async fn watch(
    url: &str,
    prefixes: &[IpNet],
    stats: &mut LiveStats,
    mut on_elem: impl FnMut(Elem),
    mut on_event: impl FnMut(&LiveEvent),
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    let mut backoff = INITIAL_BACKOFF;
    let mut down_since: Option<Instant> = None;
    loop {
        let connect = tokio_tungstenite::connect_async(url);
        let ws = tokio::select! {
            _ = &mut stop => return,
            r = connect => r,
        };
        let mut ws = match ws {
            Ok((ws, _)) => ws,
            Err(e) => {
                on_event(&LiveEvent::Disconnected {
                    reason: format!("connect failed: {e}"),
                });
                down_since.get_or_insert_with(Instant::now);
                tokio::select! {
                    _ = &mut stop => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        stats.connects += 1;
        on_event(&LiveEvent::Connected {
            attempt: stats.connects,
        });
        let mut subscribed = true;
        for p in prefixes {
            if ws.send(Message::text(subscribe_message(p))).await.is_err() {
                subscribed = false;
                break;
            }
        }
        let reason = loop {
            if !subscribed {
                break "subscribe failed".to_string();
            }
            let next = tokio::select! {
                _ = &mut stop => {
                    let _ = ws.close(None).await;
                    return;
                }
                m = ws.next() => m,
            };
            match next {
                Some(Ok(Message::Text(text))) => {
                    if let Some(since) = down_since.take() {
                        let gap = since.elapsed().as_secs_f64();
                        stats.gaps += 1;
                        stats.gap_seconds += gap;
                        on_event(&LiveEvent::Resumed { gap_seconds: gap });
                    }
                    backoff = INITIAL_BACKOFF;
                    if let Some(elems) = parse_ris_live_line(text.as_str(), &mut stats.messages) {
                        elems.into_iter().for_each(&mut on_elem);
                    }
                }
                Some(Ok(Message::Ping(p))) => {
                    let _ = ws.send(Message::Pong(p)).await;
                }
                Some(Ok(Message::Close(_))) | None => break "closed by the server".to_string(),
                Some(Ok(_)) => {}
                Some(Err(e)) => break e.to_string(),
            }
        };
        on_event(&LiveEvent::Disconnected { reason });
        down_since.get_or_insert_with(Instant::now);
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
