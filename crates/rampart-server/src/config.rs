//! `rampart.toml`: typed, validated, with a documented default for every limit.
//!
//! Unknown keys are errors that name the key (serde's `deny_unknown_fields`), so a typo never
//! silently disables a feature. `rampart.example.toml` at the repository root documents every key
//! and doubles as the embedded default configuration.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The example configuration shipped in the repository; `serve` runs on it when no file exists.
pub const EMBEDDED_DEFAULTS: &str = include_str!("../../../rampart.example.toml");

/// Default bind address: loopback, never all interfaces.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8480";
/// Default largest accepted report body.
pub const DEFAULT_MAX_REPORT_BYTES: usize = 65_536;
/// Default intake queue length (requests) before the endpoint sheds load with 503.
pub const DEFAULT_QUEUE_CAPACITY: usize = 65_536;
/// Default time between inventory flushes; accepted reports are durable after it.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(500);
/// Default time a client gets to upload a report body before 408.
pub const DEFAULT_REPORT_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default silence after which a resource counts as inactive (Page Shield uses 7 days).
pub const DEFAULT_INACTIVE_AFTER: Duration = Duration::from_secs(7 * 86_400);

/// Why a configuration could not be used. Each message names the file and the key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {key}: {message}")]
    Invalid {
        path: String,
        key: String,
        message: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    #[serde(default = "default_public_url")]
    pub public_url: String,
    #[serde(default = "default_database")]
    pub database: String,
    #[serde(default = "default_api_token")]
    pub api_token: String,
    #[serde(default = "default_max_report_bytes")]
    pub max_report_bytes: usize,
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: usize,
    #[serde(
        default = "default_report_read_timeout",
        with = "humantime_serde_compat"
    )]
    pub report_read_timeout: Duration,
    #[serde(default = "default_flush_interval", with = "humantime_serde_compat")]
    pub flush_interval: Duration,
    #[serde(default = "default_inactive_after", with = "humantime_serde_compat")]
    pub inactive_after: Duration,
    #[serde(default)]
    pub sites: Vec<SiteConfig>,
    #[serde(default)]
    pub fetcher: FetcherConfig,
    #[serde(default)]
    pub intel: IntelConfig,
    #[serde(default)]
    pub proxy: Option<ProxyConfig>,
    #[serde(default)]
    pub bgp: Option<BgpConfig>,
    #[serde(default)]
    pub notify: Vec<NotifyConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub id: String,
    pub key: String,
    #[serde(default)]
    pub origins: Vec<String>,
    #[serde(default = "one")]
    pub sample_rate: f64,
    #[serde(default = "default_min_reports")]
    pub min_reports: i64,
    #[serde(default = "default_learning_period", with = "humantime_serde_compat")]
    pub learning_period: Duration,
    /// Keep query strings and fragments of reported URLs (off: they often carry personal data).
    #[serde(default)]
    pub keep_query: bool,
    /// Pages the fetcher checks every `[fetcher] interval` (absolute URLs, e.g. the payment
    /// pages): their security headers (`security_headers_changed`) and inline scripts
    /// (inventoried and classified), without the proxy. HTML up to `max_script_bytes` is read.
    #[serde(default)]
    pub watch_pages: Vec<String>,
}

/// `[proxy]`: the reverse proxy `serve` runs in front of a site (`rampart proxy` sets it from
/// the command line).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    #[serde(default = "default_proxy_listen")]
    pub listen: SocketAddr,
    /// The origin server, `http://host:port` or `https://host[:port]` (the certificate is
    /// checked against the public web roots, plus `upstream_ca`).
    pub upstream: String,
    /// PEM file of extra certificates trusted for an `https://` upstream: a private CA, or the
    /// origin's own self-signed certificate.
    #[serde(default)]
    pub upstream_ca: Option<std::path::PathBuf>,
    /// Which `[[sites]]` entry the proxied site is (required with several sites).
    #[serde(default)]
    pub site: Option<String>,
    /// Forward the visitor's `Host` header (virtual hosting at the origin); off: the upstream's.
    #[serde(default = "yes")]
    pub preserve_host: bool,
    /// Wait for the upstream's response headers at most this long (then 504).
    #[serde(default = "default_proxy_timeout", with = "humantime_serde_compat")]
    pub timeout: Duration,
    /// HTML pages up to this size are scanned for inline scripts as they stream (0: never).
    #[serde(default = "default_max_inline_html_bytes")]
    pub max_inline_html_bytes: usize,
    /// Each page path is scanned for inline scripts at most once per this interval: the
    /// inventory needs sightings, not every copy, and parsing every page would cost more than
    /// forwarding it.
    #[serde(
        default = "default_inline_scan_interval",
        with = "humantime_serde_compat"
    )]
    pub inline_scan_interval: Duration,
    /// Policies the proxy applies per page (first match wins), on every HTML response.
    #[serde(default)]
    pub policies: Vec<PagePolicy>,
    /// Blocking mode: remove `<script>` elements that are blocklisted or scored malicious
    /// from the HTML as it streams, and record each removal (`script_blocked`).
    #[serde(default)]
    pub block: bool,
    /// Threads forwarding requests, each with its own event loop and upstream pool (0: one per
    /// CPU core). A visitor's connection and the upstream connection serving it then live on
    /// one thread, so no response crosses threads on its way through (see BENCHMARKS.md).
    #[serde(default)]
    pub workers: usize,
    /// A switched connection (WebSocket) with no bytes either way for this long is closed, so
    /// idle tunnels cannot pile up (Cloudflare's limit is also 100 s; apps ping within it).
    #[serde(
        default = "default_upgrade_idle_timeout",
        with = "humantime_serde_compat"
    )]
    pub upgrade_idle_timeout: Duration,
}

/// `[[proxy.policies]]`: a Content-Security-Policy for the pages whose path matches `page`
/// (`*` matches anything), sent report-only (`log`) or enforced (`enforce`). Either written
/// (`policy`; make one with `rampart csp policy --site ID --page PATTERN`) — a `report-uri` to
/// this site is added when it has none, so violations come back to the inventory — or, with
/// `authorized = true`, built and kept current from the scripts people authorized.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagePolicy {
    pub page: String,
    #[serde(default)]
    pub mode: PolicyMode,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub authorized: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyMode {
    #[default]
    Log,
    Enforce,
}

impl ProxyConfig {
    /// The section `rampart proxy --upstream URL` means, other keys at their defaults.
    pub fn for_upstream(upstream: &str) -> Self {
        Self {
            listen: default_proxy_listen(),
            upstream: upstream.to_string(),
            upstream_ca: None,
            site: None,
            preserve_host: true,
            timeout: default_proxy_timeout(),
            max_inline_html_bytes: default_max_inline_html_bytes(),
            inline_scan_interval: default_inline_scan_interval(),
            policies: Vec::new(),
            block: false,
            workers: 0,
            upgrade_idle_timeout: default_upgrade_idle_timeout(),
        }
    }
}

fn default_proxy_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8481))
}

fn default_proxy_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_inline_scan_interval() -> Duration {
    Duration::from_secs(10)
}

fn default_upgrade_idle_timeout() -> Duration {
    Duration::from_secs(100)
}

fn default_max_inline_html_bytes() -> usize {
    2 << 20
}

/// `[intel]`: threat-intelligence blocklists.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntelConfig {
    #[serde(default)]
    pub blocklists: Vec<BlocklistConfig>,
    /// Domain registration feed (`domain,YYYY-MM-DD` per line): new-domain alerts say whether
    /// the domain is under 30 days old, and are critical when it is.
    #[serde(default)]
    pub registrations: Option<PathBuf>,
    /// How often the files are checked for changes.
    #[serde(default = "default_intel_reload", with = "humantime_serde_compat")]
    pub reload_interval: Duration,
}

impl Default for IntelConfig {
    fn default() -> Self {
        Self {
            blocklists: Vec::new(),
            registrations: None,
            reload_interval: default_intel_reload(),
        }
    }
}

fn default_intel_reload() -> Duration {
    Duration::from_secs(60)
}

/// One blocklist file: domains, hosts-file lines or URLs, one per line.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlocklistConfig {
    pub path: PathBuf,
    /// Shown in alerts: `magecart`, `cryptomining`, `malware`, `phishing`, …
    #[serde(default = "default_blocklist_category")]
    pub category: String,
}

fn default_blocklist_category() -> String {
    "malware".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetcherConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "default_fetch_interval", with = "humantime_serde_compat")]
    pub interval: Duration,
    #[serde(default = "default_max_script_bytes")]
    pub max_script_bytes: usize,
    #[serde(default)]
    pub allow_private_addresses: bool,
    /// Exceptions to the SSRF guard: networks fetched even though private (an internal CDN).
    #[serde(default)]
    pub allow_addresses: Vec<ipnet::IpNet>,
    /// Whole-request timeout per fetch.
    #[serde(default = "default_fetch_timeout", with = "humantime_serde_compat")]
    pub timeout: Duration,
    /// Versions kept per script (the oldest are pruned, with their bodies).
    #[serde(default = "default_keep_versions")]
    pub keep_versions: usize,
    /// Fetches in flight at once.
    #[serde(default = "default_fetch_concurrency")]
    pub concurrency: usize,
    /// The `User-Agent` fetches are made with: a desktop Chrome's by default, because skimmer
    /// hosts serve clean code to clients that do not look like a visitor's browser.
    #[serde(default = "default_fetch_user_agent")]
    pub user_agent: String,
    /// Send the `Referer` a browser would when loading the script from the page it was reported
    /// on: the page's origin, or its path when the script is same-origin (never a query).
    #[serde(default = "yes")]
    pub referer: bool,
    /// After each fetch the script is asked for again with this User-Agent (a phone's Chrome
    /// by default) and `script_cloaked` raised when the structure differs: device cloaking, as
    /// Polyfill.io's payload did. Empty: no second look.
    #[serde(default = "default_fetch_mobile_user_agent")]
    pub mobile_user_agent: String,
}

impl Default for FetcherConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: default_fetch_interval(),
            max_script_bytes: default_max_script_bytes(),
            allow_private_addresses: false,
            allow_addresses: Vec::new(),
            timeout: default_fetch_timeout(),
            keep_versions: default_keep_versions(),
            concurrency: default_fetch_concurrency(),
            user_agent: default_fetch_user_agent(),
            referer: true,
            mobile_user_agent: default_fetch_mobile_user_agent(),
        }
    }
}

/// The `[bgp]` section (SPEC §2): `serve` watches RIS Live for these prefixes and stores the
/// events as alerts of site `bgp`; `rampart bgp replay|watch --config` read it too.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BgpConfig {
    #[serde(default = "default_min_peers")]
    pub min_peers: u32,
    pub prefixes_file: Option<String>,
    pub ris_live_url: Option<String>,
    pub vrps: Option<String>,
    pub rtr: Option<String>,
    pub as_rel: Option<String>,
    #[serde(default)]
    pub prefixes: Vec<BgpPrefix>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BgpPrefix {
    pub prefix: String,
    #[serde(default)]
    pub origins: Vec<u32>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub ignore_more_specifics: bool,
}

/// The delivery channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyKind {
    Webhook,
    Slack,
    Pagerduty,
    Email,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP: only for a relay on loopback or a trusted network.
    #[default]
    None,
    /// Upgrade with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// One `[[notify]]` channel. Which keys are required depends on `type`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    #[serde(rename = "type")]
    pub kind: NotifyKind,
    /// A name for delivery records and metrics; defaults to the type.
    pub name: Option<String>,
    /// webhook, slack: the URL to POST to; pagerduty: the Events API v2 URL (default public).
    pub url: Option<String>,
    /// webhook: HMAC-SHA256 key; the signature goes in `X-Rampart-Signature: sha256=<hex>`.
    pub secret: Option<String>,
    /// pagerduty: the integration's routing key.
    pub routing_key: Option<String>,
    /// email: SMTP relay host and port.
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    #[serde(default)]
    pub smtp_tls: SmtpTls,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<String>,
    pub from: Option<String>,
    #[serde(default)]
    pub to: Vec<String>,
    /// Only alerts at or above this severity are sent (`info`, `warning`, `critical`).
    #[serde(default = "default_min_severity")]
    pub min_severity: String,
    /// Deliveries allowed per minute; the rest are recorded as `rate_limited`.
    #[serde(default = "default_rate_limit")]
    pub rate_limit_per_minute: u32,
    /// Attempts per alert, including the first.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles for each further one.
    #[serde(default = "default_retry_backoff", with = "humantime_serde_compat")]
    pub retry_backoff: Duration,
    /// Per-attempt timeout.
    #[serde(default = "default_notify_timeout", with = "humantime_serde_compat")]
    pub timeout: Duration,
}

impl NotifyConfig {
    /// The channel's name in delivery records and metrics.
    pub fn channel_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            match self.kind {
                NotifyKind::Webhook => "webhook",
                NotifyKind::Slack => "slack",
                NotifyKind::Pagerduty => "pagerduty",
                NotifyKind::Email => "email",
            }
            .to_string()
        })
    }
}

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN.parse().expect("valid constant")
}
fn default_public_url() -> String {
    format!("http://{DEFAULT_LISTEN}")
}
fn default_database() -> String {
    "sqlite://rampart.db".into()
}
fn default_api_token() -> String {
    "change-me".into()
}
fn default_max_report_bytes() -> usize {
    DEFAULT_MAX_REPORT_BYTES
}
fn default_queue_capacity() -> usize {
    DEFAULT_QUEUE_CAPACITY
}
fn default_report_read_timeout() -> Duration {
    DEFAULT_REPORT_READ_TIMEOUT
}
fn default_flush_interval() -> Duration {
    DEFAULT_FLUSH_INTERVAL
}
fn default_inactive_after() -> Duration {
    DEFAULT_INACTIVE_AFTER
}
fn one() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}
fn default_min_reports() -> i64 {
    3
}
fn default_learning_period() -> Duration {
    Duration::from_secs(86_400)
}
fn default_fetch_interval() -> Duration {
    Duration::from_secs(6 * 3600)
}
fn default_max_script_bytes() -> usize {
    2 * 1024 * 1024
}
fn default_fetch_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_keep_versions() -> usize {
    10
}
fn default_fetch_concurrency() -> usize {
    4
}
/// Pages one site may list in `watch_pages` (each is fetched every `[fetcher] interval`).
pub const MAX_WATCH_PAGES: usize = 1000;

fn default_fetch_user_agent() -> String {
    crate::fetcher::DEFAULT_USER_AGENT.into()
}
fn default_fetch_mobile_user_agent() -> String {
    crate::fetcher::DEFAULT_MOBILE_USER_AGENT.into()
}
fn default_min_peers() -> u32 {
    3
}
fn default_min_severity() -> String {
    "info".into()
}
fn default_rate_limit() -> u32 {
    30
}
fn default_max_attempts() -> u32 {
    5
}
fn default_retry_backoff() -> Duration {
    Duration::from_secs(2)
}
fn default_notify_timeout() -> Duration {
    Duration::from_secs(10)
}

/// Durations written the human way: `"500ms"`, `"30s"`, `"24h"`, `"7d"`.
mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration {text:?} ({e}); write e.g. \"30s\", \"24h\""
            ))
        })
    }
}

impl Config {
    /// Parses and validates TOML text; `origin` names the file in error messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        if let Ok(token) = std::env::var("RAMPART_API_TOKEN")
            && !token.is_empty()
        {
            config.api_token = token;
        }
        config.validate(origin)?;
        Ok(config)
    }

    /// Loads `path`; when `path` is the default and does not exist, uses the embedded defaults.
    pub fn load(path: &Path, explicit: bool) -> Result<(Self, String), ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let origin = path.display().to_string();
                Ok((Self::from_toml(&text, &origin)?, origin))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                let origin = "embedded defaults (rampart.example.toml)".to_string();
                Ok((Self::from_toml(EMBEDDED_DEFAULTS, &origin)?, origin))
            }
            Err(source) => Err(ConfigError::Read {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: String, message: &str| ConfigError::Invalid {
            path: origin.to_string(),
            key,
            message: message.to_string(),
        };
        if url::Url::parse(&self.public_url)
            .map(|u| !matches!(u.scheme(), "http" | "https"))
            .unwrap_or(true)
        {
            return Err(invalid(
                "public_url".into(),
                "must be an absolute http(s) URL",
            ));
        }
        if self.max_report_bytes < 512 || self.max_report_bytes > 16 * 1024 * 1024 {
            return Err(invalid(
                "max_report_bytes".into(),
                "must be between 512 and 16777216",
            ));
        }
        if self.queue_capacity == 0 {
            return Err(invalid("queue_capacity".into(), "must be at least 1"));
        }
        if self.flush_interval.is_zero() || self.flush_interval > Duration::from_secs(60) {
            return Err(invalid(
                "flush_interval".into(),
                "must be between 1ms and 60s",
            ));
        }
        let printable = |s: &str| s.chars().all(|c| c == ' ' || c.is_ascii_graphic());
        let agent = &self.fetcher.user_agent;
        if agent.is_empty() || !printable(agent) {
            return Err(invalid(
                "fetcher.user_agent".into(),
                "must be non-empty printable ASCII (it is sent as a header)",
            ));
        }
        if !printable(&self.fetcher.mobile_user_agent) {
            return Err(invalid(
                "fetcher.mobile_user_agent".into(),
                "must be printable ASCII (it is sent as a header), or empty",
            ));
        }
        let mut ids = HashSet::new();
        let mut keys = HashSet::new();
        for (i, site) in self.sites.iter().enumerate() {
            let at = |k: &str| format!("sites[{i}].{k}");
            if site.id.is_empty()
                || !site
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(invalid(
                    at("id"),
                    "must be a non-empty slug of letters, digits, '-' and '_'",
                ));
            }
            if site.id == "bgp" {
                return Err(invalid(
                    at("id"),
                    "\"bgp\" is reserved for route-monitor alerts",
                ));
            }
            if !ids.insert(site.id.as_str()) {
                return Err(invalid(at("id"), "is used by another site"));
            }
            if site.key.len() < 8 || !site.key.chars().all(|c| c.is_ascii_graphic() && c != '/') {
                return Err(invalid(
                    at("key"),
                    "must be at least 8 printable characters without '/'",
                ));
            }
            if !keys.insert(site.key.as_str()) {
                return Err(invalid(at("key"), "is used by another site"));
            }
            for o in &site.origins {
                let ok = url::Url::parse(o)
                    .map(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/")
                    .unwrap_or(false);
                if !ok {
                    return Err(invalid(
                        at("origins"),
                        &format!("{o:?} is not an origin like \"https://shop.example\""),
                    ));
                }
            }
            if !(0.0..=1.0).contains(&site.sample_rate) {
                return Err(invalid(at("sample_rate"), "must be between 0.0 and 1.0"));
            }
            if site.min_reports < 1 {
                return Err(invalid(at("min_reports"), "must be at least 1"));
            }
            if site.watch_pages.len() > MAX_WATCH_PAGES {
                return Err(invalid(
                    at("watch_pages"),
                    &format!("lists more than {MAX_WATCH_PAGES} pages"),
                ));
            }
            for page in &site.watch_pages {
                let ok = url::Url::parse(page)
                    .map(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                    .unwrap_or(false);
                if !ok {
                    return Err(invalid(
                        at("watch_pages"),
                        &format!("{page:?} is not an absolute http(s) URL"),
                    ));
                }
            }
        }
        for (i, p) in self.proxy.iter().flat_map(|p| &p.policies).enumerate() {
            let key = format!("proxy.policies[{i}]");
            match (&p.policy, p.authorized) {
                (Some(_), true) => {
                    return Err(invalid(
                        key,
                        "has both policy and authorized = true: give one",
                    ));
                }
                (None, false) => {
                    return Err(invalid(
                        key,
                        "needs a policy, or authorized = true to build it from the authorized scripts",
                    ));
                }
                _ => {}
            }
        }
        for (i, n) in self.notify.iter().enumerate() {
            let at = |k: &str| format!("notify[{i}].{k}");
            let need = |value: &Option<String>, key: &str| {
                if value.as_deref().unwrap_or("").is_empty() {
                    Err(invalid(at(key), "is required for this notification type"))
                } else {
                    Ok(())
                }
            };
            match n.kind {
                NotifyKind::Webhook | NotifyKind::Slack => need(&n.url, "url")?,
                NotifyKind::Pagerduty => need(&n.routing_key, "routing_key")?,
                NotifyKind::Email => {
                    need(&n.smtp_host, "smtp_host")?;
                    need(&n.from, "from")?;
                    if n.to.is_empty() {
                        return Err(invalid(at("to"), "needs at least one recipient"));
                    }
                }
            }
            if !matches!(n.min_severity.as_str(), "info" | "warning" | "critical") {
                return Err(invalid(
                    at("min_severity"),
                    "must be info, warning or critical",
                ));
            }
            if n.max_attempts == 0 {
                return Err(invalid(at("max_attempts"), "must be at least 1"));
            }
        }
        Ok(())
    }

    /// The absolute report URL for a site key.
    pub fn report_url(&self, key: &str) -> String {
        format!("{}/report/{key}", self.public_url.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_defaults_are_valid_and_loopback() {
        let c = Config::from_toml(EMBEDDED_DEFAULTS, "embedded").unwrap();
        assert!(c.listen.ip().is_loopback());
        assert!(!c.sites.is_empty());
    }

    #[test]
    fn unknown_keys_are_named() {
        let err =
            Config::from_toml("listen = \"127.0.0.1:1\"\nlisten_port = 3\n", "x.toml").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("x.toml") && text.contains("listen_port"),
            "{text}"
        );
        let err = Config::from_toml(
            "[[sites]]\nid='a'\nkey='12345678'\nsampel_rate=1\n",
            "x.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("sampel_rate"), "{err}");
    }

    #[test]
    fn invalid_values_name_their_key() {
        let err = Config::from_toml(
            "[[sites]]\nid='a'\nkey='12345678'\norigins=['shop.example']\n",
            "c.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("sites[0].origins"), "{err}");
        let err = Config::from_toml("[[notify]]\ntype='webhook'\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("notify[0].url"), "{err}");
        let err = Config::from_toml(
            "[[sites]]\nid='a'\nkey='12345678'\nlearning_period='soon'\n",
            "c.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("soon"), "{err}");
        let err = Config::from_toml("[fetcher]\nuser_agent = \"a\\nb\"\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("fetcher.user_agent"), "{err}");
        let err =
            Config::from_toml("[fetcher]\nmobile_user_agent = \"é\"\n", "c.toml").unwrap_err();
        assert!(
            err.to_string().contains("fetcher.mobile_user_agent"),
            "{err}"
        );
        let off = Config::from_toml("[fetcher]\nmobile_user_agent = \"\"\n", "c.toml").unwrap();
        assert!(off.fetcher.mobile_user_agent.is_empty());
        let err = Config::from_toml(
            "[[sites]]\nid='a'\nkey='12345678'\nwatch_pages=['/checkout']\n",
            "c.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("sites[0].watch_pages"), "{err}");
        let proxy = "[proxy]\nupstream='http://127.0.0.1:3000'\n[[proxy.policies]]\npage='/pay*'\n";
        for (extra, says) in [
            ("", "needs a policy"),
            ("policy='x'\nauthorized=true\n", "both"),
        ] {
            let err = Config::from_toml(&format!("{proxy}{extra}"), "c.toml").unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("proxy.policies[0]") && text.contains(says),
                "{text}"
            );
        }
        let ok = Config::from_toml(&format!("{proxy}authorized=true\n"), "c.toml").unwrap();
        assert!(ok.proxy.unwrap().policies[0].authorized);
    }
}
