//! Reads inline scripts out of an HTML body while it streams to the visitor: the body passes
//! through untouched and unbuffered; a copy (up to a cap) is kept, and when the body ends the
//! copy is parsed with lol_html off the async threads and its inline scripts go to the
//! inventory as if a browser had reported them — keyed the way Chromium keys them (hash of the
//! first 40 characters), so proxy sightings and browser reports of one script are one resource.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use base64::Engine;
use http_body::{Body as HttpBody, Frame, SizeHint};
use rampart_csp::{Blocked, Disposition, ResourceKind, Violation};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::intake::Accepted;

/// Characters of an inline script Chromium sends as the report sample.
const BROWSER_SAMPLE_CHARS: usize = 40;

/// Where a finished page's inline scripts go.
pub(crate) struct InlineSink {
    /// Held until the scan is done (see `MAX_SCANS`).
    pub _slot: tokio::sync::OwnedSemaphorePermit,
    pub site: usize,
    /// How the copied body is compressed, and the most its plain text may take.
    pub coding: super::coding::Coding,
    pub cap: usize,
    pub page: String,
    pub queue: mpsc::Sender<Accepted>,
    pub verdicts: Verdicts,
}

/// Where inline scripts that score malicious are reported: flagged for blocking mode and raised
/// as `malicious_script`.
pub(crate) struct Verdicts {
    /// The service's runtime: scans run on its blocking pool, their alerts on it.
    pub main: tokio::runtime::Handle,
    pub flagged: std::sync::Arc<super::block::Flagged>,
    pub store: std::sync::Arc<dyn rampart_store::Store>,
    pub alerts: mpsc::Sender<rampart_store::AlertRow>,
    pub site_id: String,
}

impl InlineSink {
    fn finish(self, html: Vec<u8>) {
        let handle = self.verdicts.main.clone();
        handle.clone().spawn_blocking(move || {
            // Keep the scan slot until the work is done (closures capture only what they use).
            let _slot = &self._slot;
            let html = match self.coding {
                super::coding::Coding::Identity => html,
                coding => match super::coding::decode_all(coding, &html, self.cap) {
                    Some(plain) => plain,
                    None => {
                        metrics::counter!(super::PROXIED, "outcome" => "scan_undecodable")
                            .increment(1);
                        return;
                    }
                },
            };
            let Some(scripts) = rampart_js::extract_scripts(&html) else {
                return;
            };
            let inline: Vec<&rampart_js::InlineScript> = scripts
                .iter()
                .filter(|s| {
                    s.src.is_none()
                        && !s.text.trim().is_empty()
                        && is_javascript(s.script_type.as_deref())
                })
                .collect();
            let violations: Vec<Violation> = inline
                .iter()
                .map(|s| inline_violation(&self.page, &s.text))
                .collect();
            self.judge(&inline, &violations, &handle);
            if violations.is_empty() {
                return;
            }
            metrics::counter!(super::INLINE_SCRIPTS).increment(violations.len() as u64);
            let accepted = Accepted {
                site: self.site,
                at_ms: crate::time::now_ms(),
                violations,
            };
            if self.queue.try_send(accepted).is_err() {
                metrics::counter!(crate::metrics::REPORTS_DROPPED, "reason" => "proxy_queue_full")
                    .increment(1);
            }
        });
    }
}

/// `<script>` types browsers run as classic or module JavaScript.
fn is_javascript(script_type: Option<&str>) -> bool {
    match script_type.map(|t| t.trim().to_ascii_lowercase()) {
        None => true,
        Some(t) => {
            t.is_empty()
                || t == "module"
                || t.ends_with("/javascript")
                || t.ends_with("/ecmascript")
                || t == "text/jscript"
        }
    }
}

impl InlineSink {
    /// Classifies each inline script (on this blocking thread); malicious ones are flagged for
    /// blocking mode and alerted (dedup per script hash).
    fn judge(
        &self,
        inline: &[&rampart_js::InlineScript],
        violations: &[Violation],
        handle: &tokio::runtime::Handle,
    ) {
        let model = rampart_js::Model::embedded();
        for (s, v) in inline.iter().zip(violations) {
            let verdict = rampart_js::classify(&s.text, &rampart_js::Options::default(), model);
            if !verdict.malicious {
                continue;
            }
            let Some(hash) = v.hash.clone() else { continue };
            self.verdicts
                .flagged
                .inline
                .write()
                .expect("not poisoned")
                .insert(hash.clone());
            let alert = rampart_store::NewAlert {
                kind: "malicious_script".into(),
                site: self.verdicts.site_id.clone(),
                subject: v.resource_key(),
                dedup: hash.clone(),
                severity: "critical".into(),
                created_at: crate::time::now_ms(),
                details: serde_json::json!({
                    "page": self.page,
                    "scored": "inline",
                    "hash": hash,
                    "score": verdict.score,
                    "categories": verdict.categories,
                    "reasons": verdict.reasons,
                    "model": verdict.model,
                    "sample": v.sample,
                }),
            };
            let (store, alerts) = (self.verdicts.store.clone(), self.verdicts.alerts.clone());
            handle.spawn(async move { crate::alerts::raise(&*store, &alerts, alert).await });
        }
    }
}

fn inline_violation(page: &str, text: &str) -> Violation {
    let sample: String = text.chars().take(BROWSER_SAMPLE_CHARS).collect();
    let full = Sha256::digest(text.as_bytes());
    Violation {
        kind: ResourceKind::Script,
        document_url: page.to_string(),
        blocked: Blocked::Inline {
            attribute: false,
            sample_sha256: Some(hex::encode(Sha256::digest(sample.as_bytes()))),
        },
        directive: "script-src-elem".into(),
        disposition: Disposition::Report,
        sample: Some(sample),
        source_file: None,
        hash: Some(format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(full)
        )),
    }
}

/// The body wrapper: forwards every frame, copies data frames until `cap`, calls the sink
/// once at the end (a page larger than the cap is not parsed: a partial page would inventory
/// partial scripts).
pub(crate) struct Tee<B> {
    inner: B,
    copy: Vec<u8>,
    cap: usize,
    overflow: bool,
    sink: Option<InlineSink>,
}

impl<B> Tee<B> {
    pub(crate) fn new(inner: B, cap: usize, sink: InlineSink) -> Self {
        Self {
            inner,
            copy: Vec::new(),
            cap,
            overflow: false,
            sink: Some(sink),
        }
    }

    fn done(&mut self) {
        if let Some(sink) = self.sink.take()
            && !self.overflow
        {
            sink.finish(std::mem::take(&mut self.copy));
        }
    }
}

impl<B> HttpBody for Tee<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if this.copy.len() + data.len() <= this.cap {
                        this.copy.extend_from_slice(data);
                    } else {
                        this.overflow = true;
                        this.copy = Vec::new();
                    }
                }
                if this.inner.is_end_stream() {
                    this.done();
                }
            }
            Poll::Ready(None) => this.done(),
            Poll::Ready(Some(Err(_))) => this.sink = None, // a broken page is not inventoried
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_keyed_like_browser_reports() {
        let text = "window.dataLayer = window.dataLayer || []; gtag('js', new Date());";
        let v = inline_violation("https://shop.example/checkout", text);
        assert_eq!(v.sample.as_deref().map(|s| s.chars().count()), Some(40));
        let Blocked::Inline { sample_sha256, .. } = &v.blocked else {
            panic!("not inline")
        };
        assert_eq!(
            sample_sha256.as_deref(),
            Some(hex::encode(Sha256::digest(&text.as_bytes()[..40])).as_str())
        );
        assert!(v.resource_key().starts_with("inline:sha256-"));
        assert!(
            is_javascript(None)
                && is_javascript(Some("module"))
                && is_javascript(Some("text/javascript"))
        );
        assert!(
            !is_javascript(Some("application/ld+json")) && !is_javascript(Some("text/template"))
        );
    }
}
