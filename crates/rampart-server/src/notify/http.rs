//! The HTTP channels: generic webhook (signed JSON), Slack incoming webhook, PagerDuty Events v2.

use hmac::{Hmac, Mac};
use rampart_store::AlertRow;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Attempt, summary};
use crate::api::alert_json;
use crate::config::NotifyConfig;

/// The public PagerDuty Events API v2 endpoint, used when `url` is not set.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// Header carrying `sha256=<hex HMAC-SHA256(secret, body)>` on signed webhooks.
pub const SIGNATURE_HEADER: &str = "X-Rampart-Signature";

async fn post(
    http: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    extra: &[(&str, String)],
) -> Attempt {
    let mut request = http
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in extra {
        request = request.header(*k, v);
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            let code = Some(status.as_u16());
            if status.is_success() {
                Attempt::Delivered { status: code }
            } else if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
                Attempt::Retry {
                    status: code,
                    error: format!("HTTP {status}"),
                }
            } else {
                Attempt::Fatal {
                    status: code,
                    error: format!("HTTP {status}"),
                }
            }
        }
        // reqwest's error text may contain the URL, which may carry a secret (Slack): strip it.
        Err(e) => Attempt::Retry {
            status: None,
            error: e.without_url().to_string(),
        },
    }
}

pub(crate) async fn webhook(http: &reqwest::Client, c: &NotifyConfig, alert: &AlertRow) -> Attempt {
    let body = json!({ "alert": alert_json(alert), "summary": summary(alert) })
        .to_string()
        .into_bytes();
    let mut extra = vec![("X-Rampart-Event", alert.kind.clone())];
    if let Some(secret) = &c.secret {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(&body);
        extra.push((
            SIGNATURE_HEADER,
            format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
        ));
    }
    post(http, c.url.as_deref().unwrap_or_default(), body, &extra).await
}

/// Slack treats `<`, `>` and `&` as markup (`<https://evil|click here>`): escape them so a
/// browser-supplied URL is shown as text, never as a disguised link.
pub(crate) fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub(crate) async fn slack(http: &reqwest::Client, c: &NotifyConfig, alert: &AlertRow) -> Attempt {
    let text = format!(
        ":rotating_light: {}\n```{}```",
        slack_escape(&summary(alert)),
        slack_escape(&serde_json::to_string_pretty(&alert.details).unwrap_or_default())
    );
    let body = json!({ "text": text }).to_string().into_bytes();
    post(http, c.url.as_deref().unwrap_or_default(), body, &[]).await
}

pub(crate) async fn pagerduty(
    http: &reqwest::Client,
    c: &NotifyConfig,
    alert: &AlertRow,
) -> Attempt {
    // One incident per (site, kind, subject), like our own dedup; PagerDuty caps keys at 255.
    let dedup = hex::encode(Sha256::digest(format!(
        "{}\0{}\0{}",
        alert.site, alert.kind, alert.subject
    )));
    let mut summary = summary(alert);
    if summary.len() > 1024 {
        let mut cut = 1021;
        while !summary.is_char_boundary(cut) {
            cut -= 1;
        }
        summary.truncate(cut);
        summary.push_str("...");
    }
    let body = json!({
        "routing_key": c.routing_key,
        "event_action": "trigger",
        "dedup_key": format!("rampart-{dedup}"),
        "payload": {
            "summary": summary,
            "source": format!("rampart/{}", alert.site),
            "severity": match alert.severity.as_str() { "critical" => "critical", "warning" => "warning", _ => "info" },
            "component": alert.site,
            "class": alert.kind,
            "custom_details": alert.details,
        },
        "client": "Rampart",
    })
    .to_string()
    .into_bytes();
    post(
        http,
        c.url.as_deref().unwrap_or(PAGERDUTY_EVENTS_URL),
        body,
        &[],
    )
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn slack_markup_is_neutralized() {
        assert_eq!(
            super::slack_escape("<https://evil|ok> & co"),
            "&lt;https://evil|ok&gt; &amp; co"
        );
    }
}
