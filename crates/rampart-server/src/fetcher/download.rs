//! One download: the guarded client, a size cap enforced while streaming (on the decoded
//! body: a compressed bomb stops at the cap), no credentials, a visitor's headers
//! (`visitor.rs`).

use std::sync::Arc;
use std::time::Duration;

use super::guard::{AddressPolicy, GuardedResolver, Refused, refusal};

/// Redirects followed per fetch.
pub const MAX_REDIRECTS: usize = 5;

/// What a download ended with.
pub(crate) enum Download {
    Body { status: u16, body: Vec<u8> },
    Failed { status: Option<u16>, error: String },
    Refused { error: String },
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
) -> Download {
    let mut parsed = match reqwest::Url::parse(url) {
        Ok(u) => u,
        Err(e) => {
            return Download::Failed {
                status: None,
                error: format!("bad URL: {e}"),
            };
        }
    };
    if let Err(why) = policy.check_url(&parsed) {
        return Download::Refused { error: why };
    }
    // Credentials in a reported URL are not ours to use.
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    let headers = visitor(&parsed);
    let mut response = match client.get(parsed).headers(headers).send().await {
        Ok(r) => r,
        Err(e) => return failure(None, &e),
    };
    let status = response.status().as_u16();
    if !response.status().is_success() {
        return Download::Failed {
            status: Some(status),
            error: format!("HTTP {status}"),
        };
    }
    if response
        .content_length()
        .is_some_and(|n| n > max_bytes as u64)
    {
        return Download::Failed {
            status: Some(status),
            error: format!("larger than max_script_bytes ({max_bytes})"),
        };
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > max_bytes {
                    return Download::Failed {
                        status: Some(status),
                        error: format!("larger than max_script_bytes ({max_bytes})"),
                    };
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Download::Body { status, body },
            Err(e) => return failure(Some(status), &e),
        }
    }
}

fn failure(status: Option<u16>, e: &reqwest::Error) -> Download {
    match refusal(e) {
        Some(why) => Download::Refused { error: why },
        None => Download::Failed {
            status,
            error: e.to_string(),
        },
    }
}
