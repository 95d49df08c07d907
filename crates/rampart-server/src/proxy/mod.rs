//! The reverse proxy: monitoring without touching the origin. Requests are forwarded to the
//! upstream over a keep-alive pool (hyper); responses stream back unchanged except that a
//! sample of HTML responses gets the monitoring headers *added* (the site's own CSP headers
//! stay as they are: a second policy is reported on its own), and the inline scripts of HTML
//! pages are inventoried straight from the bytes that pass through (see `tee.rs`).
//!
//! Compressed pages (gzip, deflate, br) are decoded for the scan and for blocking mode (see
//! `coding.rs`).

mod authorized;
mod block;
mod coding;
mod tee;
mod tunnel;

pub(crate) use block::Flagged;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;

use crate::config::{Config, ProxyConfig};
use crate::intake::Accepted;
use crate::security_headers as headers;

/// Counters in `/metrics`.
pub(crate) const PROXIED: &str = "rampart_proxy_responses_total";
pub(crate) const INLINE_SCRIPTS: &str = "rampart_proxy_inline_scripts_total";
pub(crate) const BLOCKED: &str = "rampart_proxy_scripts_blocked_total";

/// Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The proxy's state, shared by its workers.
pub(crate) struct Proxy {
    /// The service's runtime. Work that touches the store or the alert queue runs there: a
    /// worker's runtime ends with the worker, and connections opened on it would die with it.
    main: tokio::runtime::Handle,
    upstream: Uri,
    config: ProxyConfig,
    site: usize,
    sample_rate: f64,
    /// Monitoring headers of the proxied site.
    headers: Vec<(HeaderName, HeaderValue)>,
    /// `(path pattern, header name, header value)` of the configured page policies; `None`:
    /// the authorized-scripts policy, read from `authorized` when the page is served.
    policies: Vec<(String, HeaderName, Option<HeaderValue>)>,
    authorized: Arc<authorized::Slot>,
    /// Page origin used for inventoried inline scripts when the request has no Host.
    origin: String,
    /// HTML responses seen, for deterministic sampling (`sample_rate` = share of them).
    html_seen: AtomicU64,
    /// When each page path was last scanned for inline scripts (bounded; cleared when full).
    scanned: std::sync::Mutex<HashMap<String, Instant>>,
    queue: mpsc::Sender<Accepted>,
    /// What inline scans found malicious and what the fetcher scored malicious.
    flagged: Arc<block::Flagged>,
    /// Security headers each page path was last served with.
    baselines: headers::Baselines,
    /// Inline scans in flight (copy, parse, classify), at most [`MAX_SCANS`].
    scans: Arc<tokio::sync::Semaphore>,
    /// Blocking mode's policy (`[proxy] block = true`).
    block: Option<Arc<block::Policy>>,
    store: Arc<dyn rampart_store::Store>,
    alerts: mpsc::Sender<rampart_store::AlertRow>,
    site_id: String,
}

/// What the proxy needs from the rest of the service.
pub(crate) struct Deps {
    pub queue: mpsc::Sender<Accepted>,
    pub intel: Arc<crate::intel::Intel>,
    pub store: Arc<dyn rampart_store::Store>,
    pub alerts: mpsc::Sender<rampart_store::AlertRow>,
    /// The stored security-header baselines of the proxied site (see `headers.rs`).
    pub baselines: Vec<(String, serde_json::Value)>,
    /// Told when an authorization changes on this node (`authorized.rs`).
    pub authorizations_changed: Arc<tokio::sync::Notify>,
}

/// The most security-header baselines loaded at start (the most recently updated).
pub(crate) const MAX_BASELINES: i64 = headers::MAX_PATHS as i64;

/// Inline scans in flight at once; a page arriving while all are busy is forwarded unscanned
/// (its path is scanned on a later request).
const MAX_SCANS: usize = 4;

/// How often blocking mode re-reads which fetched scripts scored malicious.
const FLAGGED_REFRESH: std::time::Duration = std::time::Duration::from_secs(10);

/// Keeps `flagged.urls` in step with the store: the newest version of each of the site's
/// scripts that scored malicious.
fn refresh_flagged(
    store: Arc<dyn rampart_store::Store>,
    site: String,
    flagged: Arc<block::Flagged>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FLAGGED_REFRESH);
        loop {
            tick.tick().await;
            let Ok(latest) = store.latest_versions(&site).await else {
                continue;
            };
            let urls = latest
                .into_iter()
                .filter(|(v, _)| {
                    v.analysis["classification"]["malicious"] == serde_json::Value::Bool(true)
                })
                .map(|(v, _)| v.url)
                .collect();
            *flagged.urls.write().expect("not poisoned") = urls;
        }
    });
}

/// Checks a `[proxy]` section against the rest of the configuration: the upstream URL and the
/// site index it proxies.
pub fn validate(config: &Config, proxy: &ProxyConfig) -> anyhow::Result<(Uri, usize)> {
    let upstream: Uri = proxy
        .upstream
        .parse()
        .map_err(|e| anyhow::anyhow!("[proxy] upstream {:?} is not a URL: {e}", proxy.upstream))?;
    if !matches!(upstream.scheme_str(), Some("http" | "https")) || upstream.authority().is_none() {
        anyhow::bail!(
            "[proxy] upstream {:?} must be an http:// or https:// URL",
            proxy.upstream
        );
    }
    let site = match &proxy.site {
        Some(id) => config
            .sites
            .iter()
            .position(|s| &s.id == id)
            .ok_or_else(|| anyhow::anyhow!("[proxy] site {id:?} is not one of [[sites]]"))?,
        None if config.sites.len() == 1 => 0,
        None => anyhow::bail!("[proxy] site is required when more than one site is configured"),
    };
    Ok((upstream, site))
}

/// One forwarding worker's state: the shared proxy and an upstream pool of its own. Each
/// worker thread runs its own runtime with its own pool, so a visitor's connection and the
/// upstream connection that serves it are driven by the same thread: no wakeup crosses
/// threads per request or per body frame (BENCHMARKS.md measured the difference).
struct Worker {
    p: Arc<Proxy>,
    client: Client<HttpsConnector<HttpConnector>, Body>,
}

/// The proxy, ready to be served by [`Service::workers`] threads.
pub(crate) struct Service {
    proxy: Arc<Proxy>,
}

impl Service {
    /// Forwarding threads: `[proxy] workers`, or one per CPU core.
    pub fn workers(&self) -> usize {
        match self.proxy.config.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// The router of one worker, with a new upstream pool. The pool opens its connections on
    /// the runtime whose requests go through it, and that runtime drives them: give each
    /// worker's runtime a router of its own.
    pub fn router(&self) -> anyhow::Result<Router> {
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(std::time::Duration::from_secs(90))
            .build(connector(&self.proxy.config)?);
        Ok(Router::new().fallback(forward).with_state(Arc::new(Worker {
            p: self.proxy.clone(),
            client,
        })))
    }
}

/// Builds the proxy, or explains why the `[proxy]` section cannot work. Call it on the
/// service's runtime: that is where its store work runs.
pub(crate) fn service(config: &Config, proxy: &ProxyConfig, deps: Deps) -> anyhow::Result<Service> {
    let (upstream, site) = validate(config, proxy)?;
    let site_config = &config.sites[site];
    let headers = crate::site_headers(config, &site_config.id)
        .unwrap_or_default()
        .into_iter()
        .map(|(n, v)| {
            Ok((
                HeaderName::from_bytes(n.as_bytes())?,
                HeaderValue::from_str(&v)?,
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let report_url = config.report_url(&site_config.key);
    let mut policies = Vec::new();
    for p in &proxy.policies {
        let name = match p.mode {
            crate::config::PolicyMode::Enforce => header::CONTENT_SECURITY_POLICY,
            crate::config::PolicyMode::Log => {
                HeaderName::from_static("content-security-policy-report-only")
            }
        };
        let policy = match (&p.policy, p.authorized) {
            (Some(policy), false) => policy,
            (None, true) => {
                policies.push((p.page.clone(), name, None));
                continue;
            }
            _ => anyhow::bail!(
                "[[proxy.policies]] page {:?}: give either policy or authorized = true",
                p.page
            ),
        };
        let mut value = policy.trim().trim_end_matches(';').to_string();
        if !value.contains("report-uri") {
            value.push_str(&format!("; report-uri {report_url}"));
        }
        for f in rampart_csp::lint(&value) {
            if f.severity == rampart_csp::Severity::High {
                tracing::warn!(page = %p.page, directive = %f.directive, "[[proxy.policies]]: {}", f.message);
            }
        }
        let value = HeaderValue::from_str(&value).map_err(|_| {
            anyhow::anyhow!(
                "[[proxy.policies]] page {:?}: the policy is not a valid header value",
                p.page
            )
        })?;
        policies.push((p.page.clone(), name, Some(value)));
    }
    let authorized: Arc<authorized::Slot> = Arc::default();
    if policies.iter().any(|(_, _, v)| v.is_none()) {
        authorized::spawn_refresh(
            authorized.clone(),
            deps.store.clone(),
            Arc::new(config.clone()),
            site,
            deps.authorizations_changed.clone(),
        );
    }
    // The upstream's TLS settings are checked here, once; each worker builds its own pool.
    connector(proxy)?;
    let flagged: Arc<block::Flagged> = Arc::default();
    let state = Arc::new(Proxy {
        main: tokio::runtime::Handle::current(),
        upstream,
        config: proxy.clone(),
        site,
        sample_rate: site_config.sample_rate,
        headers,
        policies,
        authorized,
        origin: site_config
            .origins
            .first()
            .cloned()
            .unwrap_or_else(|| "http://localhost".into()),
        html_seen: AtomicU64::new(0),
        scanned: std::sync::Mutex::new(HashMap::new()),
        queue: deps.queue,
        baselines: headers::Baselines::load(deps.baselines),
        scans: Arc::new(tokio::sync::Semaphore::new(MAX_SCANS)),
        block: proxy.block.then(|| {
            Arc::new(block::Policy {
                flagged: flagged.clone(),
                intel: deps.intel,
            })
        }),
        flagged: flagged.clone(),
        store: deps.store.clone(),
        alerts: deps.alerts,
        site_id: site_config.id.clone(),
    });
    if proxy.block {
        refresh_flagged(deps.store, site_config.id.clone(), flagged);
    }
    Ok(Service { proxy: state })
}

/// Plain TCP or TLS to the upstream, keep-alive, no Nagle. TLS trusts the public web roots
/// (the same list the fetcher uses) and the certificates in `upstream_ca`; HTTP/1.1 only, so
/// the hop to the origin is the one the scan and the rewriter were written for.
fn connector(proxy: &ProxyConfig) -> anyhow::Result<HttpsConnector<HttpConnector>> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_keepalive(Some(std::time::Duration::from_secs(60)));
    http.enforce_http(false);
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &proxy.upstream_ca {
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| anyhow::anyhow!("[proxy] upstream_ca {}: {e}", path.display()))?;
        if certs.is_empty() {
            anyhow::bail!(
                "[proxy] upstream_ca {}: no certificate in it",
                path.display()
            );
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| anyhow::anyhow!("[proxy] upstream_ca {}: {e}", path.display()))?;
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::try_from(t.trim()).ok())
        .collect();
    for name in HOP_BY_HOP.iter().copied() {
        headers.remove(name);
    }
    for name in named {
        headers.remove(name);
    }
}

/// Page paths remembered for the scan interval; past this the memory is cleared (a site with
/// more distinct paths just gets scanned a little more often).
const MAX_SCANNED_PATHS: usize = 10_000;

impl Proxy {
    /// Whether this page path is due for an inline-script scan (and marks it scanned).
    fn due_for_scan(&self, path: &str) -> bool {
        let now = Instant::now();
        let mut scanned = self
            .scanned
            .lock()
            .expect("never poisoned: no panics while held");
        if let Some(at) = scanned.get(path)
            && now.duration_since(*at) < self.config.inline_scan_interval
        {
            return false;
        }
        if scanned.len() >= MAX_SCANNED_PATHS {
            scanned.clear();
        }
        scanned.insert(path.to_string(), now);
        true
    }

    /// Whether this HTML response is in the sample: deterministic, `sample_rate` of them.
    fn sampled(&self) -> bool {
        let n = self.html_seen.fetch_add(1, Ordering::Relaxed);
        let rate = self.sample_rate.clamp(0.0, 1.0);
        // Response n is sampled when floor((n+1)·rate) > floor(n·rate).
        ((n + 1) as f64 * rate).floor() > (n as f64 * rate).floor()
    }
}

async fn forward(
    State(w): State<Arc<Worker>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let p = &w.p;
    let (mut parts, body) = req.into_parts();
    let head = parts.method == axum::http::Method::HEAD;
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_string();
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let Ok(uri) = Uri::builder()
        .scheme(p.upstream.scheme().expect("checked at start").clone())
        .authority(p.upstream.authority().expect("checked at start").clone())
        .path_and_query(path.as_str())
        .build()
    else {
        return (StatusCode::BAD_REQUEST, "bad request target").into_response();
    };
    // A protocol switch (WebSocket): its two hop-by-hop headers are forwarded on purpose, and
    // after the origin's 101 the two connections are joined byte for byte.
    let upgrade = upgrade_of(&parts.headers).map(|protocol| {
        (
            protocol,
            parts.extensions.remove::<hyper::upgrade::OnUpgrade>(),
        )
    });
    strip_hop_by_hop(&mut parts.headers);
    if let Some((protocol, _)) = &upgrade {
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        parts.headers.insert(header::UPGRADE, protocol.clone());
    }
    let forwarded_for = match parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
    {
        Some(prior) => format!("{prior}, {}", client.ip()),
        None => client.ip().to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&forwarded_for) {
        parts.headers.insert("x-forwarded-for", v);
    }
    if let Some(h) = &host
        && let Ok(v) = HeaderValue::from_str(h)
    {
        parts.headers.insert("x-forwarded-host", v);
    }
    if !p.config.preserve_host
        && let Ok(v) = HeaderValue::from_str(p.upstream.authority().expect("checked").as_str())
    {
        parts.headers.insert(header::HOST, v);
    }
    parts.uri = uri;
    // Decided once per request: the rewrite of the response and the request's narrowed codings
    // go together.
    let block = p.block.as_ref().filter(|b| !b.idle()).cloned();
    let client_gzip = block.is_some() && coding::accepts_gzip(&parts.headers);
    if block.is_some() && is_navigation(&parts.headers) {
        // The page must come back in a coding the rewriter can read.
        coding::narrow_accept_encoding(&mut parts.headers);
    }
    // The version is hop-by-hop (RFC 9110 §6.2): a proxy sends its own, so the hop to the
    // origin is HTTP/1.1 whatever the visitor spoke.
    parts.version = axum::http::Version::HTTP_11;
    let upstream_req = Request::from_parts(parts, body);
    let response =
        match tokio::time::timeout(p.config.timeout, w.client.request(upstream_req)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "upstream request failed");
                metrics::counter!(PROXIED, "outcome" => "bad_gateway").increment(1);
                return (StatusCode::BAD_GATEWAY, "upstream unavailable").into_response();
            }
            Err(_) => {
                metrics::counter!(PROXIED, "outcome" => "timeout").increment(1);
                return (StatusCode::GATEWAY_TIMEOUT, "upstream timed out").into_response();
            }
        };
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        return switch_protocols(response, upgrade, p.config.upgrade_idle_timeout);
    }
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    // And the visitor is answered in our version, not the origin's: an HTTP/1.0 origin must
    // not end the visitor's keep-alive connection or its chunked framing.
    parts.version = axum::http::Version::HTTP_11;
    let is_html = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/html")
        });
    if !is_html {
        metrics::counter!(PROXIED, "outcome" => "passed").increment(1);
        return Response::from_parts(parts, Body::new(body));
    }
    let page_path = path.split(['?', '#']).next().unwrap_or("/");
    // The origin's own security headers, before ours are added.
    let now = headers::snapshot(&parts.headers);
    let observed = p.baselines.observe(page_path, &now);
    if !observed.evicted.is_empty() {
        let (store, site, evicted) = (p.store.clone(), p.site_id.clone(), observed.evicted);
        p.main.spawn(async move {
            if let Err(e) = store.delete_header_baselines(&site, &evicted).await {
                tracing::warn!(error = %e, "forgetting evicted security-header baselines failed");
            }
        });
    }
    if let Some(changes) = observed.changes {
        let (store, site, page) = (p.store.clone(), p.site_id.clone(), page_path.to_string());
        // Stamped now, not when the task runs: the store keeps the latest observation even if
        // two writes for a page land out of order.
        let at = crate::time::now_ms();
        p.main.spawn(async move {
            let json = headers::to_json(&now);
            if let Err(e) = store.set_header_baseline(&site, &page, &json, at).await {
                tracing::warn!(error = %e, page, "storing a security-header baseline failed");
            }
        });
        if !changes.is_empty() {
            header_alert(p, page_path, changes);
        }
    }
    if let Some((_, name, value)) = p
        .policies
        .iter()
        .find(|(pattern, _, _)| matches_pattern(pattern, page_path))
        && let Some(value) = value.clone().or_else(|| p.authorized.get())
    {
        parts.headers.append(name.clone(), value);
    }
    if p.sampled() {
        for (name, value) in &p.headers {
            parts.headers.append(name.clone(), value.clone());
        }
        metrics::counter!(PROXIED, "outcome" => "html_monitored").increment(1);
    } else {
        metrics::counter!(PROXIED, "outcome" => "html_unsampled").increment(1);
    }
    // HEAD, 204 and 304 carry no page: nothing to scan or rewrite.
    if head || matches!(parts.status.as_u16(), 204 | 304) {
        return Response::from_parts(parts, Body::new(body));
    }
    let Some(coding) = coding::Coding::of(&parts.headers) else {
        // zstd or stacked codings: neither scanned nor rewritten (blocking mode asks the origin
        // for a coding it reads, so only an origin ignoring that lands here).
        metrics::counter!(PROXIED, "outcome" => "html_unreadable_coding").increment(1);
        return Response::from_parts(parts, Body::new(body));
    };
    let page = format!(
        "{}{page_path}",
        host.map_or_else(
            || p.origin.clone(),
            |h| format!("{}://{h}", scheme_of(&p.origin))
        ),
    );
    let mut body = Body::new(body);
    // A scan slot, or no scan: visitors choose the paths, so without a bound on scans in
    // flight, requests for many distinct HTML paths would queue copies and parses without end.
    let slot = (p.config.max_inline_html_bytes > 0)
        .then(|| p.scans.clone().try_acquire_owned().ok())
        .flatten();
    if let Some(slot) = slot.filter(|_| p.due_for_scan(page_path)) {
        let sink = tee::InlineSink {
            _slot: slot,
            site: p.site,
            coding,
            cap: p.config.max_inline_html_bytes,
            page: page.clone(),
            queue: p.queue.clone(),
            verdicts: crate::inline::Verdicts {
                main: p.main.clone(),
                flagged: Some(p.flagged.clone()),
                store: p.store.clone(),
                alerts: p.alerts.clone(),
                site_id: p.site_id.clone(),
            },
        };
        body = Body::new(tee::Tee::new(body, p.config.max_inline_html_bytes, sink));
    }
    if let Some(policy) = block {
        // The length changes when a script goes.
        parts.headers.remove(header::CONTENT_LENGTH);
        let (store, alerts, site, at, main) = (
            p.store.clone(),
            p.alerts.clone(),
            p.site_id.clone(),
            page.clone(),
            p.main.clone(),
        );
        let record: Box<dyn FnOnce(Vec<block::Removed>) + Send> = Box::new(move |removed| {
            if removed.is_empty() {
                return;
            }
            metrics::counter!(BLOCKED).increment(removed.len() as u64);
            main.spawn(async move {
                for r in removed {
                    let alert = rampart_store::NewAlert {
                        kind: "script_blocked".into(),
                        site: site.clone(),
                        subject: r.subject.clone(),
                        dedup: String::new(),
                        severity: "warning".into(),
                        created_at: crate::time::now_ms(),
                        details: serde_json::json!({ "script": r.subject, "page": at, "reason": r.reason }),
                    };
                    crate::alerts::raise(&*store, &alerts, alert).await;
                }
            });
        });
        if coding != coding::Coding::Identity {
            body = Body::new(coding::Transcode::new(body, coding::Decoder::new(coding)));
        }
        body = Body::new(coding::Transcode::new(
            body,
            block::Rewrite::new(&page, policy, record),
        ));
        if coding != coding::Coding::Identity {
            if client_gzip {
                body = Body::new(coding::Transcode::new(body, coding::Encoder::gzip()));
                parts
                    .headers
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            } else {
                parts.headers.remove(header::CONTENT_ENCODING);
            }
        }
        // The page may lose a script: no longer byte-identical to what a strong ETag names.
        weaken_etag(&mut parts.headers);
    }
    Response::from_parts(parts, body)
}

/// The protocol a request asks to switch to (`Connection: upgrade` and `Upgrade: …`), if any.
fn upgrade_of(headers: &HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    asks.then(|| headers.get(header::UPGRADE).cloned())
        .flatten()
}

/// The origin agreed to switch protocols: the visitor gets the 101 (with the two hop-by-hop
/// headers that say so), and once both sides have switched, their bytes are copied both ways
/// until either closes. Nothing is inspected: what flows is no longer HTTP.
fn switch_protocols(
    mut response: hyper::Response<hyper::body::Incoming>,
    upgrade: Option<(HeaderValue, Option<hyper::upgrade::OnUpgrade>)>,
    idle_limit: std::time::Duration,
) -> Response {
    let Some((protocol, Some(visitor))) = upgrade else {
        // A 101 the visitor did not ask for (or cannot take): not forwardable.
        metrics::counter!(PROXIED, "outcome" => "bad_gateway").increment(1);
        return (StatusCode::BAD_GATEWAY, "unexpected protocol switch").into_response();
    };
    let origin = hyper::upgrade::on(&mut response);
    let (mut parts, _) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    parts
        .headers
        .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    parts.headers.insert(header::UPGRADE, protocol);
    metrics::counter!(PROXIED, "outcome" => "upgraded").increment(1);
    tokio::spawn(async move {
        let (visitor, origin) = match tokio::join!(visitor, origin) {
            (Ok(v), Ok(o)) => (v, o),
            (Err(e), _) | (_, Err(e)) => {
                tracing::debug!(error = %e, "protocol switch did not complete");
                return;
            }
        };
        let (visitor, origin) = (
            hyper_util::rt::TokioIo::new(visitor),
            hyper_util::rt::TokioIo::new(origin),
        );
        if tunnel::join(visitor, origin, idle_limit).await == tunnel::Ended::Idle {
            metrics::counter!(PROXIED, "outcome" => "upgrade_idle_closed").increment(1);
        }
    });
    Response::from_parts(parts, Body::empty())
}

/// A browser asking for a page (`Accept: text/html`), not a subresource.
fn is_navigation(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("text/html"))
}

/// A rewritten page (a script removed, or compressed again) is no longer byte-identical to what
/// the origin's strong ETag names (RFC 9110 §8.8.1); nginx weakens it the same way when it
/// compresses or filters a response.
fn weaken_etag(headers: &mut HeaderMap) {
    let weak = headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.starts_with('"'))
        .and_then(|v| HeaderValue::from_str(&format!("W/{v}")).ok());
    if let Some(v) = weak {
        headers.insert(header::ETAG, v);
    }
}

/// Raises `security_headers_changed` for a proxied page (see [`headers::alert`]).
fn header_alert(p: &Proxy, page_path: &str, changes: headers::Changes) {
    let alert = headers::alert(&p.site_id, page_path, &changes);
    let (store, alerts) = (p.store.clone(), p.alerts.clone());
    p.main
        .spawn(async move { crate::alerts::raise(&*store, &alerts, alert).await });
}

/// `*` matches any run of characters; everything else literally.
pub fn matches_pattern(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if text.len() < first.len() + last.len() || !text.starts_with(first) || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

fn scheme_of(origin: &str) -> &str {
    origin.split_once("://").map_or("http", |(s, _)| s)
}

#[cfg(test)]
mod tests {
    use super::matches_pattern as matches;

    #[test]
    fn page_patterns() {
        assert!(matches(
            "https://shop.example/checkout*",
            "https://shop.example/checkout/pay"
        ));
        assert!(matches("*checkout*", "https://shop.example/a/checkout/b"));
        assert!(matches("/checkout", "/checkout"));
        assert!(!matches("/checkout", "/checkout/x"));
        assert!(!matches("*/cart", "/checkout"));
        assert!(matches("a*b*c", "a-b-c"));
        assert!(!matches("a*b*c", "a-c-b"));
        assert!(
            !matches("ab*ba", "aba"),
            "prefix and suffix may not overlap"
        );
    }
}
