//! `POST /report/{site_key}`: the only endpoint open to the whole Internet.
//!
//! Order of checks, cheapest first: site key (404), media type (415), declared then actual size
//! (413), parse (400), enqueue (503 when the queue is full). No database or analysis work happens
//! here; an accepted request is one message on a bounded queue. Every refusal and every dropped
//! report is counted by reason.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use rampart_csp::{MediaType, SiteContext, Violation, parse_report};
use tokio::sync::mpsc::error::TrySendError;

use crate::app::AppState;
use crate::metrics::{REPORTS_ACCEPTED, REPORTS_DROPPED, REPORTS_REFUSED, VIOLATIONS_ACCEPTED};

/// One accepted request on its way to the inventory.
pub(crate) struct Accepted {
    pub site: usize,
    pub at_ms: i64,
    pub violations: Vec<Violation>,
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/report/{key}", post(report).options(preflight))
}

fn cors(mut response: Response) -> Response {
    // Reports carry no credentials and the answer carries no data: any origin may post.
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

fn refuse(status: StatusCode, reason: &'static str, message: &'static str) -> Response {
    metrics::counter!(REPORTS_REFUSED, "reason" => reason).increment(1);
    cors((status, message).into_response())
}

/// The Reporting API uploads reports with CORS; without a 2xx preflight Chromium drops them.
async fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

async fn report(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(&site_idx) = state.sites_by_key.get(&key) else {
        return refuse(StatusCode::NOT_FOUND, "unknown_site", "unknown site key\n");
    };
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(MediaType::from_content_type);
    let Some(media) = media else {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected application/csp-report, application/json or application/reports+json\n",
        );
    };
    let limit = state.config.max_report_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "report body too large\n",
        );
    }
    let read = tokio::time::timeout(
        state.config.report_read_timeout,
        axum::body::to_bytes(body, limit),
    );
    let bytes = match read.await {
        Err(_elapsed) => {
            // A client trickling its body must not hold a connection and a buffer forever.
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                "read_timeout",
                "report body too slow\n",
            );
        }
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            // `to_bytes` fails for the limit and for a broken upload alike; tell them apart.
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            return if too_large {
                refuse(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "report body too large\n",
                )
            } else {
                refuse(
                    StatusCode::BAD_REQUEST,
                    "body_read",
                    "could not read the body\n",
                )
            };
        }
    };
    let site = &state.config.sites[site_idx];
    let context = SiteContext {
        origins: &site.origins,
        keep_query: site.keep_query,
    };
    let outcomes = match parse_report(media, &bytes, &context, &state.limits) {
        Ok(o) => o,
        Err(e) => {
            metrics::counter!(REPORTS_REFUSED, "reason" => format!("malformed_{}", e.reason()))
                .increment(1);
            return cors(
                (
                    StatusCode::BAD_REQUEST,
                    format!("malformed report: {}\n", e.reason()),
                )
                    .into_response(),
            );
        }
    };
    let mut violations = Vec::with_capacity(outcomes.len());
    for outcome in outcomes {
        match outcome {
            Ok(v) => violations.push(v),
            Err(reason) => {
                metrics::counter!(REPORTS_DROPPED, "reason" => reason.label()).increment(1)
            }
        }
    }
    if !violations.is_empty() {
        let n = violations.len() as u64;
        let message = Accepted {
            site: site_idx,
            at_ms: crate::time::now_ms(),
            violations,
        };
        match state.queue.try_send(message) {
            Ok(()) => metrics::counter!(VIOLATIONS_ACCEPTED).increment(n),
            Err(TrySendError::Full(_)) => {
                let mut r = refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "queue_full",
                    "busy, retry later\n",
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return r;
            }
            Err(TrySendError::Closed(_)) => {
                return refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "shutting_down",
                    "shutting down\n",
                );
            }
        }
    }
    metrics::counter!(REPORTS_ACCEPTED, "site" => site.id.clone()).increment(1);
    cors(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use crate::app::AppState;
    use crate::config::Config;

    /// With nobody draining the queue, the second request finds it full: 503 with Retry-After,
    /// counted — the behaviour under a flood, made deterministic.
    #[tokio::test]
    async fn a_full_queue_sheds_load_with_503() {
        let config = Config::from_toml(
            "queue_capacity = 1\n[[sites]]\nid = 'shop'\nkey = 'flood-key-1'\n",
            "test",
        )
        .unwrap();
        let (tx, _rx) = tokio::sync::mpsc::channel(config.queue_capacity);
        let store = rampart_store::open("sqlite::memory:").await.unwrap();
        let state = AppState {
            sites_by_key: Arc::new(HashMap::from([("flood-key-1".to_string(), 0)])),
            config: Arc::new(config),
            queue: tx,
            sessions: Arc::new(crate::dashboard::Sessions::new(store.clone())),
            store,
            metrics: crate::metrics::handle(),
            limits: Arc::new(rampart_csp::Limits::default()),
            bgp_view: Default::default(),
            authorizations_changed: Default::default(),
        };
        let app = super::routes().with_state(state.clone());
        let body = r#"{"csp-report":{"document-uri":"https://a.example/","blocked-uri":"https://b.example/x.js","effective-directive":"script-src-elem"}}"#;
        let request = || {
            Request::post("/report/flood-key-1")
                .header("content-type", "application/csp-report")
                .body(Body::from(body))
                .unwrap()
        };
        let first = app.clone().oneshot(request()).await.unwrap();
        assert_eq!(first.status(), StatusCode::NO_CONTENT);
        let second = app.clone().oneshot(request()).await.unwrap();
        assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(second.headers()["retry-after"], "1");
        let metrics = state.metrics.render();
        assert!(
            metrics.contains(r#"rampart_reports_refused_total{reason="queue_full"}"#),
            "{metrics}"
        );
    }
}
