//! The REST API (SPEC §3), `/metrics` and `/healthz`.
//!
//! Everything under `/api/` needs `Authorization: Bearer <api_token>` (401 otherwise, compared
//! in constant time). Browser-supplied strings are returned as JSON strings: JSON escaping is the
//! right escaping here, and the dashboard escapes again for HTML.

use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rampart_store::{AlertFilter, AlertRow, ResourceRow};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::config::SiteConfig;
use crate::time::rfc3339;

pub(crate) fn routes(state: AppState) -> Router<AppState> {
    let api = Router::new()
        .route("/api/v1/sites", get(sites))
        .route("/api/v1/sites/{id}/scripts", get(scripts))
        .route("/api/v1/sites/{id}/connections", get(connections))
        .route("/api/v1/sites/{id}/header", get(site_header))
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/alerts/{id}/deliveries", get(deliveries))
        .route("/api/v1/bgp/alerts", get(bgp_alerts))
        .layer(from_fn_with_state(state, require_token));
    Router::new()
        .merge(api)
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Constant-time comparison, so the token cannot be guessed byte by byte from timings.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if given.is_empty() || !same(given.as_bytes(), state.config.api_token.as_bytes()) {
        let mut r = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"rampart\""),
        );
        return r;
    }
    next.run(request).await
}

fn find_site<'a>(state: &'a AppState, id: &str) -> Option<&'a SiteConfig> {
    state.config.sites.iter().find(|s| s.id == id)
}

async fn sites(State(state): State<AppState>) -> Response {
    let sites: Vec<Value> = state
        .config
        .sites
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "origins": s.origins,
                "report_url": state.config.report_url(&s.key),
                "sample_rate": s.sample_rate,
                "min_reports": s.min_reports,
                "learning_period": humantime::format_duration(s.learning_period).to_string(),
            })
        })
        .collect();
    Json(json!({ "sites": sites })).into_response()
}

/// `infrequent` until `min_reports`, `inactive` after `inactive_after` of silence, else `active`.
pub(crate) fn status(
    row: &ResourceRow,
    site: &SiteConfig,
    inactive_after_ms: i64,
    now: i64,
) -> &'static str {
    if now - row.last_seen > inactive_after_ms {
        "inactive"
    } else if row.reports < site.min_reports {
        "infrequent"
    } else {
        "active"
    }
}

fn resource_json(row: &ResourceRow, site: &SiteConfig, state: &AppState, now: i64) -> Value {
    let mut v = json!({
        "url": row.url,
        "host": row.host,
        "domain": row.domain,
        "first_seen": rfc3339(row.first_seen),
        "last_seen": rfc3339(row.last_seen),
        "reports": row.reports,
        "first_page": row.first_page,
        "pages": row.pages,
        "status": status(row, site, state.config.inactive_after.as_millis() as i64, now),
    });
    if let Some(s) = &row.sample {
        v["sample"] = json!(s);
    }
    if let Some(h) = &row.hash {
        v["csp_hash"] = json!(h);
    }
    v
}

async fn resources(state: AppState, id: String, kind: &str, field: &str) -> Response {
    let Some(site) = find_site(&state, &id) else {
        return error(StatusCode::NOT_FOUND, "unknown site");
    };
    match state.store.list_resources(&site.id, kind).await {
        Ok(rows) => {
            let now = crate::time::now_ms();
            let list: Vec<Value> = rows
                .iter()
                .map(|r| resource_json(r, site, &state, now))
                .collect();
            Json(json!({ field: list })).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "listing resources failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "store unavailable")
        }
    }
}

async fn scripts(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    resources(state, id, "script", "scripts").await
}

async fn connections(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    resources(state, id, "connection", "connections").await
}

async fn site_header(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match crate::site_headers(&state.config, &id) {
        Some(headers) => {
            let map: serde_json::Map<String, Value> = headers
                .into_iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            Json(json!({ "headers": map })).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "unknown site"),
    }
}

pub(crate) fn alert_json(a: &AlertRow) -> Value {
    json!({
        "id": a.id,
        "kind": a.kind,
        "site": a.site,
        "subject": a.subject,
        "severity": a.severity,
        "created_at": rfc3339(a.created_at),
        "details": a.details,
    })
}

#[derive(Deserialize)]
struct AlertQuery {
    site: Option<String>,
    kind: Option<String>,
    limit: Option<i64>,
}

async fn alerts(State(state): State<AppState>, Query(q): Query<AlertQuery>) -> Response {
    let filter = AlertFilter {
        site: q.site.filter(|s| !s.is_empty()),
        kind: q.kind.filter(|s| !s.is_empty()),
        limit: Some(q.limit.unwrap_or(1000).clamp(1, 10_000)),
    };
    match state.store.list_alerts(&filter).await {
        Ok(rows) => Json(json!({ "alerts": rows.iter().map(alert_json).collect::<Vec<_>>() }))
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "listing alerts failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "store unavailable")
        }
    }
}

async fn deliveries(State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    match state.store.list_deliveries(id).await {
        Ok(rows) => {
            let list: Vec<Value> = rows
                .iter()
                .map(|d| {
                    json!({
                        "channel": d.channel,
                        "attempt": d.attempt,
                        "outcome": d.outcome,
                        "status_code": d.status_code,
                        "error": d.error,
                        "at": rfc3339(d.at),
                    })
                })
                .collect();
            Json(json!({ "deliveries": list })).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "listing deliveries failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "store unavailable")
        }
    }
}

/// The route monitor is not part of this build: the list is empty, never invented.
async fn bgp_alerts() -> Response {
    Json(json!({ "alerts": [] })).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
