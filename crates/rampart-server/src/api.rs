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
use rampart_store::{AlertFilter, AlertRow, ResourceRow, VersionRow};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::config::SiteConfig;
use crate::filter::{ResourceFilter, Row};
use crate::time::rfc3339;

pub(crate) fn routes(state: AppState) -> Router<AppState> {
    let api = Router::new()
        .route("/api/v1/sites", get(sites))
        .route("/api/v1/sites/{id}/scripts", get(scripts))
        .route("/api/v1/sites/{id}/connections", get(connections))
        .route("/api/v1/sites/{id}/header", get(site_header))
        .route("/api/v1/sites/{id}/scripts/versions", get(script_versions))
        .route("/api/v1/sites/{id}/scripts/diff", get(script_diff))
        .route("/api/v1/sites/{id}/inventory", get(inventory_export))
        .route("/api/v1/sites/{id}/reports/daily", get(daily_reports))
        .route("/api/v1/sites/{id}/security-headers", get(security_headers))
        .route("/api/v1/sites/{id}/watched-pages", get(watched_pages))
        .route("/api/v1/sites/{id}/policy", get(suggested_policy))
        .route(
            "/api/v1/sites/{id}/scripts/justification",
            axum::routing::put(set_justification),
        )
        .route(
            "/api/v1/sites/{id}/scripts/authorization",
            get(authorization_of).put(authorize).delete(revoke),
        )
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/alerts/{id}/deliveries", get(deliveries))
        .route("/api/v1/bgp/alerts", get(bgp_alerts))
        .route("/api/v1/bgp/prefixes", get(bgp_prefixes))
        .layer(from_fn_with_state(state, require_token));
    Router::new()
        .merge(api)
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// A 500 for a failed store call, logged with what was being done.
fn store_failed(doing: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "{doing} failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "store unavailable")
}

/// Constant-time comparison, so the token cannot be guessed byte by byte from timings.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
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

fn resource_json(row: &ResourceRow, status: &str) -> Value {
    let mut v = json!({
        "url": row.url,
        "host": row.host,
        "domain": row.domain,
        "first_seen": rfc3339(row.first_seen),
        "last_seen": rfc3339(row.last_seen),
        "reports": row.reports,
        "first_page": row.first_page,
        "pages": row.pages,
        "status": status,
    });
    if let Some(s) = &row.sample {
        v["sample"] = json!(s);
    }
    if let Some(h) = &row.hash {
        v["csp_hash"] = json!(h);
    }
    v
}

/// The query of the resource lists: the dashboard's filters (`filter.rs`) and a page of the
/// result. Without parameters the whole inventory is listed, newest `last_seen` first.
#[derive(Deserialize, Default)]
struct ResourceQuery {
    #[serde(flatten)]
    filter: ResourceFilter,
    /// At most this many resources (strings: flattened query fields arrive as text).
    #[serde(default)]
    limit: String,
    /// Skip this many first.
    #[serde(default)]
    offset: String,
}

impl ResourceQuery {
    /// `(offset, limit)`, or what is wrong with the query, naming the parameter.
    fn page(&self) -> Result<(usize, Option<usize>), String> {
        self.filter.check()?;
        let number = |name: &str, v: &str| -> Result<Option<usize>, String> {
            if v.is_empty() {
                return Ok(None);
            }
            v.parse()
                .map(Some)
                .map_err(|_| format!("{name} must be a whole number, not {v:?}"))
        };
        let offset = number("offset", &self.offset)?.unwrap_or(0);
        let limit = number("limit", &self.limit)?;
        if limit == Some(0) {
            return Err("limit must be at least 1".into());
        }
        Ok((offset, limit))
    }
}

async fn resources(
    state: AppState,
    id: String,
    query: ResourceQuery,
    kind: &str,
    field: &str,
) -> Response {
    let Some(site) = find_site(&state, &id) else {
        return error(StatusCode::NOT_FOUND, "unknown site");
    };
    let (offset, limit) = match query.page() {
        Ok(page) => page,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let latest: std::collections::HashMap<String, (VersionRow, i64)> = if kind == "script" {
        match state.store.latest_versions(&site.id).await {
            Ok(v) => v
                .into_iter()
                .map(|(row, n)| (row.url.clone(), (row, n)))
                .collect(),
            Err(e) => return store_failed("listing versions", e),
        }
    } else {
        std::collections::HashMap::new()
    };
    let authorized = if kind == "script" {
        match state.store.authorizations(&site.id).await {
            Ok(a) => a,
            Err(e) => return store_failed("listing authorizations", e),
        }
    } else {
        std::collections::HashMap::new()
    };
    let rows = match state.store.list_resources(&site.id, kind).await {
        Ok(rows) => rows,
        Err(e) => return store_failed("listing resources", e),
    };
    let now = crate::time::now_ms();
    let inactive = state.config.inactive_after.as_millis() as i64;
    let rows = query.filter.apply(
        rows.iter()
            .map(|r| {
                let l = latest.get(&r.url);
                Row {
                    r,
                    status: status(r, site, inactive, now),
                    score: l.and_then(|(v, _)| v.analysis["classification"]["score"].as_u64()),
                    versions: l.map_or(0, |(_, n)| *n),
                    authorization: (kind == "script").then(|| {
                        crate::authorization::state(authorized.get(&r.url), l.map(|(v, _)| v))
                    }),
                }
            })
            .collect(),
    );
    let total = rows.len();
    let list: Vec<Value> = rows
        .iter()
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX))
        .map(|x| {
            let mut v = resource_json(x.r, x.status);
            // SPEC §3: scripts add sha256, structural_hash and versions once fetched.
            if let Some((version, count)) = latest.get(&x.r.url) {
                v["sha256"] = json!(version.sha256);
                v["structural_hash"] = json!(version.structural_hash);
                v["versions"] = json!(count);
                if let Some(c) = version.analysis.get("classification") {
                    v["score"] = c["score"].clone();
                    v["malicious"] = c["malicious"].clone();
                    v["categories"] = c["categories"].clone();
                    v["reasons"] = c["reasons"].clone();
                }
                v["fetched_at"] = json!(rfc3339(version.fetched_at));
                v["capabilities"] = version.analysis["capabilities"].clone();
                v["script_domains"] = version.analysis["domains"].clone();
            }
            if kind == "script"
                && let Value::Object(fields) = crate::authorization::fields(
                    authorized.get(&x.r.url),
                    latest.get(&x.r.url).map(|(v, _)| v),
                )
            {
                v.as_object_mut().expect("an object").extend(fields);
            }
            v
        })
        .collect();
    Json(json!({ field: list, "total": total })).into_response()
}

async fn scripts(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ResourceQuery>,
) -> Response {
    resources(state, id, q, "script", "scripts").await
}

async fn connections(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ResourceQuery>,
) -> Response {
    resources(state, id, q, "connection", "connections").await
}

#[derive(Deserialize)]
struct DailyQuery {
    /// How many days back, today included (default 30, at most 366).
    days: Option<i64>,
}

/// Reports accepted per UTC day, oldest first, every day of the window listed (zeros too):
/// `{"site","days":[{"day":"YYYY-MM-DD","reports":N}]}`.
async fn daily_reports(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DailyQuery>,
) -> Response {
    use crate::time::{DAY_MS, day};
    let Some(site) = find_site(&state, &id) else {
        return error(StatusCode::NOT_FOUND, "unknown site");
    };
    let days = q.days.unwrap_or(30).clamp(1, 366);
    let today = crate::time::now_ms() / DAY_MS;
    let Ok(counted) = state
        .store
        .daily_reports(Some(&site.id), &day((today - days + 1) * DAY_MS))
        .await
    else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "store unavailable");
    };
    let counted: std::collections::HashMap<String, i64> = counted.into_iter().collect();
    let list: Vec<Value> = (today - days + 1..=today)
        .map(|d| {
            let day = day(d * DAY_MS);
            let reports = counted.get(&day).copied().unwrap_or(0);
            json!({ "day": day, "reports": reports })
        })
        .collect();
    Json(json!({ "site": site.id, "days": list })).into_response()
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
    /// The next page: alerts listed after the one with this id.
    before_id: Option<i64>,
}

async fn alerts(State(state): State<AppState>, Query(q): Query<AlertQuery>) -> Response {
    let filter = AlertFilter {
        site: q.site.filter(|s| !s.is_empty()),
        kind: q.kind.filter(|s| !s.is_empty()),
        limit: Some(q.limit.unwrap_or(1000).clamp(1, 10_000)),
        before_id: q.before_id,
    };
    match state.store.list_alerts(&filter).await {
        Ok(rows) => Json(json!({ "alerts": rows.iter().map(alert_json).collect::<Vec<_>>() }))
            .into_response(),
        Err(e) => store_failed("listing alerts", e),
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
        Err(e) => store_failed("listing deliveries", e),
    }
}

/// Route-monitor events (open and resolved), newest first; each is the event as `bgp replay`
/// prints it, with the alert's id, severity and time.
async fn bgp_alerts(State(state): State<AppState>, Query(q): Query<AlertQuery>) -> Response {
    let filter = AlertFilter {
        site: Some(crate::bgp::BGP_SITE.to_string()),
        kind: q.kind.filter(|s| !s.is_empty()),
        limit: Some(q.limit.unwrap_or(1000).clamp(1, 10_000)),
        before_id: None,
    };
    match state.store.list_alerts(&filter).await {
        Ok(rows) => {
            let list: Vec<Value> = rows
                .iter()
                .map(|a| {
                    let mut v = a.details.clone();
                    v["id"] = json!(a.id);
                    v["severity"] = json!(a.severity);
                    v["created_at"] = json!(rfc3339(a.created_at));
                    v
                })
                .collect();
            Json(json!({ "alerts": list })).into_response()
        }
        Err(e) => store_failed("listing BGP alerts", e),
    }
}

#[derive(Deserialize)]
struct ExportQuery {
    format: Option<String>,
}

/// The security headers each page was last seen with (by the proxy, or the fetcher for
/// `watch_pages`), most recently changed first.
async fn security_headers(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(site) = find_site(&state, &id) else {
        return error(StatusCode::NOT_FOUND, "unknown site");
    };
    match state
        .store
        .header_baselines(&site.id, crate::security_headers::MAX_PATHS as i64)
        .await
    {
        Ok(rows) => {
            let pages: Vec<Value> = rows
                .into_iter()
                .map(|(page, headers)| {
                    let watched = site.watch_pages.contains(&page);
                    json!({ "page": page, "headers": headers, "watched": watched })
                })
                .collect();
            Json(json!({ "site": site.id, "pages": pages })).into_response()
        }
        Err(e) => store_failed("listing security-header baselines", e),
    }
}

/// The policy `rampart csp policy --json` prints, for `?page=&urls=&authorized_only=`.
async fn suggested_policy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<crate::policy::ScopeQuery>,
) -> Response {
    let Some(site) = find_site(&state, &id) else {
        return error(StatusCode::NOT_FOUND, "unknown site");
    };
    let scope = q.scope();
    match crate::policy::suggest(&*state.store, &state.config, site, &scope).await {
        Ok(s) => Json(s.to_json(&site.id, &scope)).into_response(),
        Err(e) => store_failed("suggesting a policy", e),
    }
}

/// Each of the site's `watch_pages` with the scripts it carried at the last look (`null`
/// before the first).
async fn watched_pages(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(site) = find_site(&state, &id) else {
        return error(StatusCode::NOT_FOUND, "unknown site");
    };
    match crate::page_scripts::watched(&state.store, site).await {
        Ok(pages) => {
            let pages: Vec<Value> = pages
                .iter()
                .map(|(page, set)| {
                    json!({
                        "page": page,
                        "scripts": set.as_ref().map(crate::page_scripts::entries),
                    })
                })
                .collect();
            Json(json!({ "site": site.id, "pages": pages })).into_response()
        }
        Err(e) => store_failed("listing watched pages", e),
    }
}

/// The compliance export: `?format=csv` or JSON (default).
async fn inventory_export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Response {
    let Some(site) = find_site(&state, &id) else {
        return error(StatusCode::NOT_FOUND, "unknown site");
    };
    match crate::export::inventory(&state, site).await {
        Ok(rows) if q.format.as_deref() == Some("csv") => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}-scripts.csv\"", site.id),
                ),
            ],
            crate::export::to_csv(&rows),
        )
            .into_response(),
        Ok(rows) => Json(json!({ "site": site.id, "scripts": rows })).into_response(),
        Err(e) => store_failed("inventory export", e),
    }
}

#[derive(Deserialize)]
pub(crate) struct Justification {
    pub url: String,
    pub justification: String,
}

/// Longest justification kept (bytes).
pub(crate) const MAX_JUSTIFICATION: usize = 4096;
/// Longest script URL a justification may name (bytes).
pub(crate) const MAX_JUSTIFIED_URL: usize = 8192;

async fn set_justification(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(j): Json<Justification>,
) -> Response {
    let Some(site) = find_site(&state, &id) else {
        return error(StatusCode::NOT_FOUND, "unknown site");
    };
    if j.justification.len() > MAX_JUSTIFICATION || j.url.len() > MAX_JUSTIFIED_URL {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "justification or url too long",
        );
    }
    match state
        .store
        .set_justification(&site.id, &j.url, &j.justification, crate::time::now_ms())
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => store_failed("storing a justification", e),
    }
}

#[derive(Deserialize)]
struct Authorize {
    /// One script…
    url: Option<String>,
    /// …or several (at most `authorization::MAX_BATCH`).
    #[serde(default)]
    urls: Vec<String>,
    authorized_by: String,
    /// With `url`: the SHA-256 of the version the person looked at (409 if a newer one was
    /// fetched since).
    sha256: Option<String>,
}

/// Authorizes scripts as they are now (PCI DSS 6.4.3; see `authorization.rs`). With `url`:
/// 200 with the record, 404 for a script not in the inventory. With `urls`: 200 with
/// `{"authorizations":[…],"refused":[{"url","error"}]}`. 400 without a name.
async fn authorize(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(a): Json<Authorize>,
) -> Response {
    use crate::authorization::{MAX_BATCH, Refused, Request, record_json};
    let Some(site) = find_site(&state, &id) else {
        return error(StatusCode::NOT_FOUND, "unknown site");
    };
    let refusal = |e: &Refused| error(e.status(), e.message());
    let (requests, single) = match (a.url, a.urls.is_empty()) {
        (Some(url), true) => (
            vec![Request {
                url,
                seen_sha256: a.sha256,
            }],
            true,
        ),
        (None, false) if a.urls.len() <= MAX_BATCH => {
            (a.urls.iter().map(|u| Request::now(u)).collect(), false)
        }
        (None, false) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("at most {MAX_BATCH} urls per request"),
            );
        }
        _ => return error(StatusCode::BAD_REQUEST, "give either url or urls"),
    };
    match crate::authorization::authorize(&state, site, &requests, &a.authorized_by).await {
        Err(e) => refusal(&e),
        Ok((done, refused)) if single => match (done.first(), refused.first()) {
            (Some(auth), _) => Json(record_json(auth)).into_response(),
            (None, Some((_, e))) => refusal(e),
            (None, None) => error(StatusCode::INTERNAL_SERVER_ERROR, "nothing authorized"),
        },
        Ok((done, refused)) => Json(json!({
            "authorizations": done.iter().map(record_json).collect::<Vec<_>>(),
            "refused": refused
                .iter()
                .map(|(url, e)| json!({ "url": url, "error": e.message() }))
                .collect::<Vec<_>>(),
        }))
        .into_response(),
    }
}

#[derive(Deserialize)]
struct RevokeQuery {
    url: String,
    /// Who withdraws it (kept in the trail).
    #[serde(default)]
    by: String,
}

/// Withdraws a script's authorization: 204, 404 when it had none, 400 without `by`.
async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<RevokeQuery>,
) -> Response {
    let Some(site) = find_site(&state, &id) else {
        return error(StatusCode::NOT_FOUND, "unknown site");
    };
    match crate::authorization::revoke(&state, site, &q.url, &q.by).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, "the script was not authorized"),
        Err(e) => error(e.status(), e.message()),
    }
}

#[derive(Deserialize)]
struct UrlQuery {
    url: String,
}

/// A script's authorization now (`state`, `current`) and its trail, newest first.
async fn authorization_of(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<UrlQuery>,
) -> Response {
    let Some(site) = find_site(&state, &id) else {
        return error(StatusCode::NOT_FOUND, "unknown site");
    };
    let store = &state.store;
    let (Ok(mut current), Ok(versions), Ok(history)) = (
        store.authorizations(&site.id).await,
        store.list_versions(&site.id, &q.url).await,
        store
            .authorization_history(&site.id, &q.url, crate::authorization::HISTORY_SHOWN)
            .await,
    ) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "store unavailable");
    };
    let current = current.remove(&q.url);
    Json(json!({
        "url": q.url,
        "state": crate::authorization::state(current.as_ref(), versions.first()),
        "current": current.as_ref().map(crate::authorization::record_json),
        "history": history.iter().map(crate::authorization::event_json).collect::<Vec<_>>(),
    }))
    .into_response()
}

/// Every monitored prefix with the routes to it now (origins, peers, RPKI).
async fn bgp_prefixes(State(state): State<AppState>) -> Response {
    let view = state.bgp_view.read().expect("never poisoned").clone();
    Json(json!({ "prefixes": view })).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

#[derive(Deserialize)]
struct ScriptQuery {
    url: String,
    from: Option<String>,
    to: Option<String>,
}

async fn script_versions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ScriptQuery>,
) -> Response {
    let Some(site) = find_site(&state, &id) else {
        return error(StatusCode::NOT_FOUND, "unknown site");
    };
    let versions = state.store.list_versions(&site.id, &q.url).await;
    let fetches = state.store.list_fetches(&site.id, &q.url, 50).await;
    match (versions, fetches) {
        (Ok(versions), Ok(fetches)) => {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| {
                    json!({
                        "sha256": v.sha256,
                        "structural_hash": v.structural_hash,
                        "bytes": v.bytes,
                        "fetched_at": rfc3339(v.fetched_at),
                        "capabilities": v.analysis["capabilities"],
                        "domains": v.analysis["domains"],
                        "classification": v.analysis["classification"],
                    })
                })
                .collect();
            let fetches: Vec<Value> = fetches
                .iter()
                .map(|f| {
                    json!({
                        "at": rfc3339(f.at),
                        "outcome": f.outcome,
                        "status_code": f.status_code,
                        "error": f.error,
                        "sha256": f.sha256,
                    })
                })
                .collect();
            Json(json!({ "url": q.url, "versions": versions, "fetches": fetches })).into_response()
        }
        (Err(e), _) | (_, Err(e)) => store_failed("listing versions", e),
    }
}

/// The diff between two stored versions (default: the previous and the newest).
async fn script_diff(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ScriptQuery>,
) -> Response {
    let Some(site) = find_site(&state, &id) else {
        return error(StatusCode::NOT_FOUND, "unknown site");
    };
    let versions = match state.store.list_versions(&site.id, &q.url).await {
        Ok(v) => v,
        Err(e) => return store_failed("listing versions", e),
    };
    let pick = |want: &Option<String>, default: usize| match want {
        Some(sha) => versions
            .iter()
            .find(|v| v.sha256.starts_with(sha.as_str()) && sha.len() >= 8),
        None => versions.get(default),
    };
    let (Some(to), Some(from)) = (pick(&q.to, 0), pick(&q.from, 1)) else {
        return error(
            StatusCode::NOT_FOUND,
            "need two stored versions of this script",
        );
    };
    let (from_sha, to_sha) = (from.sha256.clone(), to.sha256.clone());
    let (old, new) = match (
        state.store.version_body(&from_sha).await,
        state.store.version_body(&to_sha).await,
    ) {
        (Ok(Some(o)), Ok(Some(n))) => (o, n),
        _ => return error(StatusCode::NOT_FOUND, "version body not stored"),
    };
    match crate::fetcher::diff_bodies(old, new).await {
        Some(mut v) => {
            v["from_sha256"] = json!(from_sha);
            v["to_sha256"] = json!(to_sha);
            Json(v).into_response()
        }
        None => error(StatusCode::INTERNAL_SERVER_ERROR, "diff failed"),
    }
}
