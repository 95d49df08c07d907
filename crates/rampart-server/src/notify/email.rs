//! SMTP email with lettre: plain (loopback relays), STARTTLS or implicit TLS.

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rampart_store::AlertRow;

use super::{Attempt, summary};
use crate::config::{NotifyConfig, SmtpTls};

/// Header values must not carry line breaks (header injection from a browser-supplied URL).
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

pub(crate) async fn send(c: &NotifyConfig, alert: &AlertRow) -> Attempt {
    let fatal = |error: String| Attempt::Fatal {
        status: None,
        error,
    };
    let host = c.smtp_host.as_deref().unwrap_or_default();
    let mut builder = Message::builder().subject(one_line(&format!("Rampart: {}", summary(alert))));
    match c.from.as_deref().unwrap_or_default().parse() {
        Ok(from) => builder = builder.from(from),
        Err(e) => return fatal(format!("bad from address: {e}")),
    }
    for to in &c.to {
        match to.parse() {
            Ok(addr) => builder = builder.to(addr),
            Err(e) => return fatal(format!("bad recipient {to:?}: {e}")),
        }
    }
    let body = format!(
        "{}\n\nKind: {}\nSite: {}\nSubject: {}\nSeverity: {}\nAlert id: {}\n\nDetails:\n{}\n",
        summary(alert),
        alert.kind,
        alert.site,
        alert.subject,
        alert.severity,
        alert.id,
        serde_json::to_string_pretty(&alert.details).unwrap_or_default()
    );
    let message = match builder.header(ContentType::TEXT_PLAIN).body(body) {
        Ok(m) => m,
        Err(e) => return fatal(format!("cannot build the message: {e}")),
    };
    let transport = match c.smtp_tls {
        SmtpTls::None => Ok(
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                .port(c.smtp_port.unwrap_or(25)),
        ),
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
            .map(|b| b.port(c.smtp_port.unwrap_or(587))),
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
            .map(|b| b.port(c.smtp_port.unwrap_or(465))),
    };
    let mut transport = match transport {
        Ok(t) => t.timeout(Some(c.timeout)),
        Err(e) => return fatal(format!("SMTP setup: {e}")),
    };
    if let (Some(user), Some(pass)) = (&c.smtp_username, &c.smtp_password) {
        transport = transport.credentials(Credentials::new(user.clone(), pass.clone()));
    }
    match transport.build().send(message).await {
        Ok(response) => Attempt::Delivered {
            status: Some(response.code().into()),
        },
        Err(e) if e.is_permanent() => fatal(e.to_string()),
        Err(e) => Attempt::Retry {
            status: None,
            error: e.to_string(),
        },
    }
}
