//! Shared by the server's integration tests: a real server on a loopback port with a real
//! SQLite file in a temporary directory (or the real PostgreSQL server).
#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::time::Duration;

use rampart_server::{Config, Server};
use serde_json::Value;

pub const TOKEN: &str = "test-token-123";
pub const KEY: &str = "site-key-0001";

pub struct TestServer {
    pub server: Server,
    pub base: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Starts a server; `extra` is appended to a base config with one site `shop` (origins
/// `https://shop.example`, min_reports 1, no learning period, 50 ms flushes).
pub async fn start(site_extra: &str, extra: &str) -> TestServer {
    start_in(tempfile::tempdir().unwrap(), site_extra, extra).await
}

/// The SQLite URL [`start_in`] uses for a directory (to prepare a database before starting).
pub fn database_in(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("rampart.db").display())
}

/// Like [`start`], with the database (`database_in(dir)`) in a directory the caller prepared.
pub async fn start_in(dir: tempfile::TempDir, site_extra: &str, extra: &str) -> TestServer {
    let database = database_in(dir.path());
    start_on(dir, &database, site_extra, extra).await
}

fn postgres_base() -> String {
    std::env::var("RAMPART_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A schema of its own in the PostgreSQL test database (`RAMPART_TEST_POSTGRES`, default
/// `postgres://postgres@127.0.0.1:5432/test`); returns the database URL that uses it and the
/// schema's name. A server that cannot be reached fails the test.
pub async fn postgres_schema() -> (String, String) {
    use sqlx::Connection;
    let base = postgres_base();
    let schema = format!(
        "rampart_server_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let mut conn = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {base} is required for this test: {e}"));
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    (
        format!("{base}{sep}options=-c%20search_path%3D{schema}"),
        schema,
    )
}

/// Drops a schema made by [`postgres_schema`].
pub async fn drop_postgres_schema(schema: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&postgres_base()).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// Like [`start_in`], on the database at `database` (SQLite or PostgreSQL).
pub async fn start_on(
    dir: tempfile::TempDir,
    database: &str,
    site_extra: &str,
    extra: &str,
) -> TestServer {
    let overridden = |key: &str| site_extra.lines().any(|l| l.trim_start().starts_with(key));
    let min_reports = if overridden("min_reports") {
        ""
    } else {
        "min_reports = 1"
    };
    let learning = if overridden("learning_period") {
        ""
    } else {
        "learning_period = \"0s\""
    };
    let toml = format!(
        r#"
listen = "127.0.0.1:0"
database = "{db}"
api_token = "{TOKEN}"
flush_interval = "50ms"
max_report_bytes = 4096
{top}

[[sites]]
id = "shop"
key = "{KEY}"
origins = ["https://shop.example"]
{min_reports}
{learning}
{site_extra}
{extra}
"#,
        db = database,
        top = if extra.starts_with("[[") { "" } else { extra },
        extra = if extra.starts_with("[[") { extra } else { "" },
    );
    let config = Config::from_toml(&toml, "test").unwrap();
    let server = rampart_server::start(config).await.unwrap();
    let base = format!("http://{}", server.addr);
    TestServer {
        server,
        base,
        // Bodies as they travel: proxy tests compare compressed bytes and their headers.
        http: reqwest::Client::builder()
            .no_gzip()
            .no_deflate()
            .build()
            .unwrap(),
        _dir: dir,
    }
}

/// Starts a server whose site has extra keys (later keys override the base ones).
pub async fn start_with_site(site_keys: &str) -> TestServer {
    start(site_keys, "").await
}

impl TestServer {
    pub async fn post(
        &self,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/report/{KEY}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// `GET path` with the API token, whatever the answer.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
    }

    pub async fn api(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    /// Polls `path` until `pred` holds (the inventory is written asynchronously).
    pub async fn eventually(&self, path: &str, pred: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..100 {
            let v = self.api(path).await;
            if pred(&v) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("condition on {path} never held: {}", self.api(path).await);
    }

    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

/// A Chromium-shaped legacy report for a script on `page`.
pub fn script_report(page: &str, url: &str) -> String {
    serde_json::json!({"csp-report": {
        "document-uri": page, "referrer": "", "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem", "original-policy": "script-src 'none'",
        "disposition": "report", "blocked-uri": url, "status-code": 200, "script-sample": ""
    }})
    .to_string()
}

/// A Chromium-shaped legacy report for a connection from `page`.
pub fn connect_report(page: &str, url: &str) -> String {
    serde_json::json!({"csp-report": {
        "document-uri": page, "violated-directive": "connect-src", "effective-directive": "connect-src",
        "original-policy": "connect-src 'none'", "disposition": "report", "blocked-uri": url, "status-code": 200
    }})
    .to_string()
}

/// Reads a counter or gauge value from Prometheus text; 0 when absent.
pub fn metric(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name_and_labels) && l[name_and_labels.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// A request or response body that arrives in the given chunks.
pub fn stream_of<T: Send + 'static>(
    items: Vec<Result<T, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<T, std::io::Error>> + Send + 'static {
    tokio_stream::iter(items)
}

/// Percent-encodes everything but unreserved characters (query parameters in test URLs).
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A client that does not follow redirects (the dashboard answers sign-in with a 303).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in through the form; returns the session cookie (`name=value`).
pub async fn sign_in(t: &TestServer, http: &reqwest::Client) -> String {
    let form = http.get(format!("{}/login", t.base)).send().await.unwrap();
    let login_cookie = cookie_set_by(&form);
    let html = form.text().await.unwrap();
    let csrf = csrf_in(&html);
    let r = http
        .post(format!("{}/login", t.base))
        .header(reqwest::header::COOKIE, &login_cookie)
        .form(&[("token", TOKEN), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let set = r.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    set.split(';').next().unwrap().to_string()
}

/// The CSRF token of the first form in a dashboard page.
pub fn csrf_in(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .expect("a form with a CSRF token")
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

/// The cookie a response sets, as `name=value`.
pub fn cookie_set_by(r: &reqwest::Response) -> String {
    r.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}
