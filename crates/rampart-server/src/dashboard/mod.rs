//! The dashboard at `/`: server-rendered HTML (maud templates compiled into the binary, no
//! build step, no JavaScript), behind the API token.
//!
//! Security model, since every string it shows came from a browser report or a fetched script:
//! - maud escapes every interpolated value; links are only ever to our own paths with
//!   percent-encoded parameters (a reported URL is text, never an `href`);
//! - each response carries a strict CSP with a fresh nonce for the one inline `<style>`; there is
//!   no script at all (`default-src 'none'`), so even an escaping bug could not run code;
//! - login with the API token gives a random session id in an `HttpOnly; SameSite=Strict`
//!   cookie (`Secure` when `public_url` is HTTPS); every POST form carries a CSRF token bound to
//!   the session (login: a double-submit cookie); `Authorization: Bearer` works too.

mod pages;
mod session;

use axum::Router;
use axum::body::Body;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use crate::app::AppState;
pub(crate) use session::Sessions;

const SESSION_COOKIE: &str = "rampart_session";
const LOGIN_COOKIE: &str = "rampart_login";
/// A cookie that may carry the API token itself (SPEC §3: "same token, cookie or login form").
const TOKEN_COOKIE: &str = "rampart_token";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::overview))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/sites/{id}", get(pages::site))
        .route("/sites/{id}/script", get(pages::script))
        .route("/sites/{id}/script/justification", post(pages::justify))
        .route("/sites/{id}/script/authorization", post(pages::authorize))
        .route(
            "/sites/{id}/scripts/authorize",
            post(pages::authorize_selected),
        )
        .route("/sites/{id}/inventory.csv", get(pages::export_csv))
        .route("/sites/{id}/policy", get(pages::policy))
        .route("/sites/{id}/inventory.json", get(pages::export_json))
        .route("/alerts", get(pages::alerts))
        .route("/bgp", get(pages::bgp))
}

/// 128 random bits, hex.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("the OS random source works");
    hex::encode(bytes)
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Who is asking: a session (with its CSRF token) or a Bearer client (no forms).
pub(crate) enum Viewer {
    Session { csrf: String },
    Bearer,
}

/// The viewer of a request, if signed in.
pub(crate) async fn viewer(state: &AppState, headers: &HeaderMap) -> Option<Viewer> {
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        && crate::api::same(token.as_bytes(), state.config.api_token.as_bytes())
    {
        return Some(Viewer::Bearer);
    }
    // The token itself in a cookie (scripts and curl users set it directly): read-only access,
    // like Bearer; the forms need a session.
    if let Some(token) = cookie(headers, TOKEN_COOKIE)
        && crate::api::same(token.as_bytes(), state.config.api_token.as_bytes())
    {
        return Some(Viewer::Bearer);
    }
    let id = cookie(headers, SESSION_COOKIE)?;
    state
        .sessions
        .csrf(id)
        .await
        .map(|csrf| Viewer::Session { csrf })
}

fn secure_cookies(state: &AppState) -> &'static str {
    if state.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// A full page: the layout, a fresh nonce, and the security headers.
pub(crate) fn page(title: &str, viewer: Option<&Viewer>, body: Markup) -> Response {
    let nonce = random_token();
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Rampart" }
                style nonce=(nonce) { (PreEscaped(CSS)) }
            }
            body {
                header {
                    a.brand href="/" { "Rampart" }
                    @if viewer.is_some() {
                        nav {
                            a href="/" { "Sites" }
                            a href="/alerts" { "Alerts" }
                            a href="/bgp" { "BGP" }
                        }
                        @if let Some(Viewer::Session { csrf }) = viewer {
                            form.logout method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(csrf);
                                button type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    };
    let csp = format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    let mut r = Response::new(Body::from(markup.into_string()));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(crate) fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    r.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/")),
    );
    r
}

/// Where an unauthenticated page request goes.
pub(crate) fn to_login() -> Response {
    redirect("/login")
}

async fn login_page(State(state): State<AppState>) -> Response {
    login_form(&state, None)
}

fn login_form(state: &AppState, error: Option<&str>) -> Response {
    let csrf = random_token();
    let mut r = page(
        "Sign in",
        None,
        html! {
            @if let Some(e) = error { p.error { (e) } }
            form.login method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                label for="token" { "API token" }
                input #token type="password" name="token" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
            p.hint { "The token is " code { "api_token" } " in rampart.toml (or RAMPART_API_TOKEN)." }
        },
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict{}",
        secure_cookies(state)
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    csrf: String,
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !crate::api::same(expected.as_bytes(), f.csrf.as_bytes()) {
        let mut r = login_form(&state, Some("The form expired; sign in again."));
        *r.status_mut() = StatusCode::FORBIDDEN;
        return r;
    }
    if !crate::api::same(f.token.as_bytes(), state.config.api_token.as_bytes()) {
        let mut r = login_form(&state, Some("Wrong token."));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        return r;
    }
    let Some(id) = state.sessions.create().await else {
        let mut r = login_form(&state, Some("The store is unavailable; try again."));
        *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        return r;
    };
    let mut r = redirect("/");
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{}",
        secure_cookies(&state)
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    let Some(id) = cookie(&headers, SESSION_COOKIE) else {
        return to_login();
    };
    match state.sessions.csrf(id).await {
        Some(csrf) if crate::api::same(csrf.as_bytes(), f.csrf.as_bytes()) => {
            state.sessions.remove(id).await;
            let mut r = redirect("/login");
            r.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_static(
                    "rampart_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict",
                ),
            );
            r
        }
        _ => (StatusCode::FORBIDDEN, "bad CSRF token").into_response(),
    }
}

const CSS: &str = r#"
:root{--fg:#1c2430;--muted:#5d6b7a;--line:#dde3ea;--bg:#f6f8fa;--bad:#b42318;--warn:#b54708;--ok:#067647;--info:#175cd3}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;align-items:center;gap:24px;padding:10px 24px;background:#101828;color:#fff}
header a{color:#fff;text-decoration:none}header .brand{font-weight:700;font-size:16px}header nav{display:flex;gap:16px;flex:1}
header form.logout{margin:0}header button{background:none;border:1px solid #667085;color:#fff;border-radius:4px;padding:3px 10px;cursor:pointer}
main{padding:16px 24px;max-width:1400px}h1{font-size:20px;margin:8px 0 16px}h2{font-size:16px;margin:24px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f0f3f6;font-weight:600;white-space:nowrap}th a{color:inherit}td.url{word-break:break-all;max-width:560px}td.num{text-align:right}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;font-weight:600;border:1px solid}
.critical,.bad{color:var(--bad);border-color:var(--bad)}.warning{color:var(--warn);border-color:var(--warn)}.info{color:var(--info);border-color:var(--info)}.good{color:var(--ok);border-color:var(--ok)}
.muted{color:var(--muted)}form.filters{display:flex;gap:8px;flex-wrap:wrap;margin:8px 0}form.filters input,form.filters select{padding:4px 6px}
form.login{display:flex;flex-direction:column;gap:8px;max-width:320px}form.login input{padding:6px}.error{color:var(--bad)}
.cards{display:flex;gap:12px;flex-wrap:wrap}a.card{color:inherit;text-decoration:none}a.card:hover{border-color:var(--info)}.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px 14px;min-width:150px}.card b{font-size:20px;display:block}
.diff{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:12px}.diff pre{margin:0 0 8px;padding:8px;overflow:auto;max-height:420px;font-size:12px;border:1px solid var(--line);background:#fff;white-space:pre-wrap;word-break:break-all}
pre#policy{white-space:pre-wrap;word-break:break-all;background:#fff;border:1px solid var(--line);padding:8px}pre.added{background:#ecfdf3;border-color:#abefc6}pre.removed{background:#fef3f2;border-color:#fecdca}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}dt{color:var(--muted)}dd{margin:0;word-break:break-all}
ul.reasons{margin:4px 0 0 18px;padding:0}.charts{display:flex;gap:24px;flex-wrap:wrap}.charts figure{margin:0}.charts figcaption{font-weight:600;margin:0 0 6px}svg{background:#fff;border:1px solid var(--line)}svg text{font-size:10px;fill:#5d6b7a}
"#;
