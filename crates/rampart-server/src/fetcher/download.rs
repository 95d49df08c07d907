//! One download: the guarded client, a size cap enforced while streaming (on the decoded
//! body: a compressed bomb stops at the cap), no credentials, a visitor's headers
//! (`visitor.rs`).

use std::sync::Arc;
use std::time::Duration;

use super::guard::{AddressPolicy, GuardedResolver, Refused, refusal};

/// Redirects followed per fetch.
pub const MAX_REDIRECTS: usize = 5;

/// Why a request got no usable answer.
pub(crate) enum Failure {
    /// Sent, or tried to be, and failed: HTTP error status, timeout, size limit, bad URL.
    Failed { status: Option<u16>, error: String },
    /// Never sent: the SSRF guard refused the address.
    Refused { error: String },
}

impl Failure {
    /// The attempt as recorded (outcome `error` or `refused`).
    pub(crate) fn attempt(self) -> super::Attempt {
        let (outcome, status, error) = match self {
            Failure::Failed { status, error } => ("error", status, error),
            Failure::Refused { error } => ("refused", None, error),
        };
        super::Attempt {
            outcome,
            status,
            error: Some(error),
            sha256: None,
        }
    }
}

pub(crate) fn client(
    policy: Arc<AddressPolicy>,
    timeout: Duration,
    user_agent: &str,
) -> reqwest::Result<reqwest::Client> {
    let redirect_policy = policy.clone();
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { policy }))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            match redirect_policy.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(why) => {
                    let message = format!("redirect to {}: {why}", attempt.url());
                    attempt.error(Refused(message))
                }
            }
        }))
        .timeout(timeout)
        .user_agent(user_agent)
        // A browser keeps the page as the referrer across a script's redirects; reqwest would
        // put the redirecting URL there.
        .referer(false)
        // No cookie store, no default headers: nothing of the site or its visitors is forwarded.
        .build()
}

pub(crate) async fn fetch(
    client: &reqwest::Client,
    policy: &AddressPolicy,
    url: &str,
    max_bytes: usize,
    visitor: impl FnOnce(&reqwest::Url) -> reqwest::header::HeaderMap,
) -> Result<(u16, Vec<u8>), Failure> {
    let mut response = send(client, policy, url, visitor).await?;
    let status = response.status().as_u16();
    if response
        .content_length()
        .is_some_and(|n| n > max_bytes as u64)
    {
        return Err(too_large(status, max_bytes));
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > max_bytes {
                    return Err(too_large(status, max_bytes));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok((status, body)),
            Err(e) => return Err(failure(Some(status), &e)),
        }
    }
}

/// A GET of `url` through the guard with the visitor's headers, up to a 2xx answer (an error
/// page is a failure: its body is not the script, its headers not the page's).
async fn send(
    client: &reqwest::Client,
    policy: &AddressPolicy,
    url: &str,
    visitor: impl FnOnce(&reqwest::Url) -> reqwest::header::HeaderMap,
) -> Result<reqwest::Response, Failure> {
    let parsed = prepare(policy, url)?;
    let headers = visitor(&parsed);
    let response = client
        .get(parsed)
        .headers(headers)
        .send()
        .await
        .map_err(|e| failure(None, &e))?;
    let status = response.status().as_u16();
    if !response.status().is_success() {
        return Err(Failure::Failed {
            status: Some(status),
            error: format!("HTTP {status}"),
        });
    }
    Ok(response)
}

/// The URL to request, or why not: unparsable, or refused by the guard. Credentials in it are
/// dropped: a reported URL's are not ours to use.
fn prepare(policy: &AddressPolicy, url: &str) -> Result<reqwest::Url, Failure> {
    let mut parsed = reqwest::Url::parse(url).map_err(|e| Failure::Failed {
        status: None,
        error: format!("bad URL: {e}"),
    })?;
    policy
        .check_url(&parsed)
        .map_err(|why| Failure::Refused { error: why })?;
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    Ok(parsed)
}

/// A watched page as fetched: its status, its headers, and its HTML when it is HTML of at most
/// `max_bytes` (decoded) that arrived whole.
pub(crate) struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub html: Option<Vec<u8>>,
}

/// A page (after redirects). `Err` is the failure to record (see [`send`]). A body that is not HTML, too large or cut short
/// only leaves `html` empty: the headers still count.
pub(crate) async fn page(
    client: &reqwest::Client,
    policy: &AddressPolicy,
    url: &str,
    max_bytes: usize,
    visitor: impl FnOnce(&reqwest::Url) -> reqwest::header::HeaderMap,
) -> Result<Page, Failure> {
    let mut response = send(client, policy, url, visitor).await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let is_html = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/html")
        });
    let mut html = is_html.then(Vec::new);
    // Dropping the response unread closes the connection: only HTML is read.
    while let Some(body) = html.as_mut() {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() <= max_bytes => {
                body.extend_from_slice(&chunk)
            }
            Ok(Some(_)) | Err(_) => html = None,
            Ok(None) => break,
        }
    }
    Ok(Page {
        status,
        headers,
        html,
    })
}

fn too_large(status: u16, max_bytes: usize) -> Failure {
    Failure::Failed {
        status: Some(status),
        error: format!("larger than max_script_bytes ({max_bytes})"),
    }
}

fn failure(status: Option<u16>, e: &reqwest::Error) -> Failure {
    match refusal(e) {
        Some(why) => Failure::Refused { error: why },
        None => Failure::Failed {
            status,
            error: e.to_string(),
        },
    }
}
