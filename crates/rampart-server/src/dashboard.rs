//! `/`: the landing page. The full dashboard (login, inventory tables, diffs) is the dashboard
//! issue's work; until then this page shows no browser-supplied data at all, only where the API
//! lives, so there is nothing here to escape.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::app::AppState;

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Rampart</title></head>
<body><h1>Rampart</h1>
<p>Client-side protection: script and connection inventory from CSP reports.</p>
<ul>
<li><code>GET /api/v1/sites</code> (Bearer token)</li>
<li><code>GET /api/v1/sites/{id}/scripts</code>, <code>/connections</code></li>
<li><code>GET /api/v1/alerts</code></li>
<li><a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a></li>
</ul></body></html>
"#;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/",
        get(|| async {
            (
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CONTENT_SECURITY_POLICY, "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
                ],
                PAGE,
            )
                .into_response()
        }),
    )
}
