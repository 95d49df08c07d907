//! Blocking mode: HTML is rewritten as it streams (lol_html's `Send` rewriter) and `<script>`
//! elements that must not reach a visitor are removed — external scripts whose URL (or host) is
//! on the blocklists or whose newest fetched version scored malicious, inline scripts whose
//! content hash was scored malicious. Inline script text is held back until its element ends
//! (the decision needs the whole text); everything else passes through as it arrives.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};

use base64::Engine;
use lol_html::html_content::ContentType;
use lol_html::send::{HtmlRewriter, Settings};
use lol_html::{element, text};
use sha2::{Digest, Sha256};

/// What the proxy refuses to deliver.
#[derive(Default)]
pub(crate) struct Flagged {
    /// Script URLs (without query) whose newest version scored malicious.
    pub urls: RwLock<HashSet<String>>,
    /// `sha256-BASE64` of inline scripts that scored malicious.
    pub inline: RwLock<HashSet<String>>,
}

/// One removal, for the record.
#[derive(Debug, Clone)]
pub(crate) struct Removed {
    pub subject: String,
    pub reason: String,
}

pub(crate) struct Policy {
    pub flagged: Arc<Flagged>,
    pub intel: Arc<crate::intel::Intel>,
}

impl Policy {
    /// Nothing could be removed right now (no lists, nothing flagged): pages pass unparsed.
    pub(crate) fn idle(&self) -> bool {
        self.intel.lists().is_empty()
            && self.flagged.urls.read().expect("not poisoned").is_empty()
            && self.flagged.inline.read().expect("not poisoned").is_empty()
    }

    /// Why an external script must go, if it must.
    fn external(&self, url: &str) -> Option<String> {
        let bare = url.split(['?', '#']).next().unwrap_or(url);
        if self
            .flagged
            .urls
            .read()
            .expect("not poisoned")
            .contains(bare)
        {
            return Some("its newest version scored malicious".into());
        }
        self.intel.lists().lookup(url).map(|hit| {
            format!(
                "{} is on blocklist {} ({})",
                hit.entry, hit.listing.list, hit.listing.category
            )
        })
    }

    fn inline(&self, text: &str) -> Option<String> {
        let hash = format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
        );
        self.flagged
            .inline
            .read()
            .expect("not poisoned")
            .contains(&hash)
            .then(|| format!("inline script {hash} scored malicious"))
    }
}

type Sink = Box<dyn FnMut(&[u8]) + Send>;

/// The rewriting transform (a body through [`super::coding::Transcode`]).
pub(crate) struct Rewrite {
    rewriter: Option<HtmlRewriter<'static, Sink>>,
    output: Arc<Mutex<Vec<u8>>>,
    removed: Arc<Mutex<Vec<Removed>>>,
    on_end: Option<Box<dyn FnOnce(Vec<Removed>) + Send>>,
}

impl Rewrite {
    /// `page` resolves relative `src`; `on_end` receives the removals once the page is done.
    pub(crate) fn new(
        page: &str,
        policy: Arc<Policy>,
        on_end: Box<dyn FnOnce(Vec<Removed>) + Send>,
    ) -> Self {
        let output: Arc<Mutex<Vec<u8>>> = Arc::default();
        let removed: Arc<Mutex<Vec<Removed>>> = Arc::default();
        let base = url::Url::parse(page).ok();
        let (out, rm_ext, rm_inline) = (output.clone(), removed.clone(), removed.clone());
        let (p_ext, p_inline) = (policy.clone(), policy);
        let mut held = String::new();
        let settings = Settings {
            element_content_handlers: vec![
                element!("script[src]", move |el| {
                    let Some(src) = el.get_attribute("src") else {
                        return Ok(());
                    };
                    let url = base
                        .as_ref()
                        .and_then(|b| b.join(src.trim()).ok())
                        .map_or(src.clone(), |u| u.to_string());
                    if let Some(reason) = p_ext.external(&url) {
                        el.remove();
                        rm_ext.lock().expect("not poisoned").push(Removed {
                            subject: url,
                            reason,
                        });
                    }
                    Ok(())
                }),
                text!("script:not([src])", move |chunk| {
                    held.push_str(chunk.as_str());
                    chunk.remove();
                    if chunk.last_in_text_node() {
                        let text = std::mem::take(&mut held);
                        match p_inline.inline(&text) {
                            Some(reason) => rm_inline.lock().expect("not poisoned").push(Removed {
                                subject: format!(
                                    "inline script: {}",
                                    text.chars().take(40).collect::<String>()
                                ),
                                reason,
                            }),
                            None => chunk.replace(&text, ContentType::Html),
                        }
                    }
                    Ok(())
                }),
            ],
            ..Settings::new_send()
        };
        let sink: Sink = Box::new(move |bytes: &[u8]| {
            out.lock().expect("not poisoned").extend_from_slice(bytes)
        });
        Self {
            rewriter: Some(HtmlRewriter::new(settings, sink)),
            output,
            removed,
            on_end: Some(on_end),
        }
    }

    fn take_output(&self) -> Vec<u8> {
        std::mem::take(&mut *self.output.lock().expect("not poisoned"))
    }
}

impl super::coding::Transform for Rewrite {
    const FAILURE: &'static str = "rewrite_error";

    fn push(&mut self, data: &[u8]) -> std::io::Result<Vec<u8>> {
        if let Some(r) = self.rewriter.as_mut() {
            r.write(data).map_err(std::io::Error::other)?;
        }
        Ok(self.take_output())
    }

    fn end(&mut self) -> std::io::Result<Vec<u8>> {
        if let Some(r) = self.rewriter.take()
            && let Err(e) = r.end()
        {
            tracing::warn!(error = %e, "HTML rewriting failed at the end of the page");
        }
        if let Some(f) = self.on_end.take() {
            f(std::mem::take(
                &mut *self.removed.lock().expect("not poisoned"),
            ));
        }
        Ok(self.take_output())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use http_body_util::BodyExt;

    fn policy(urls: &[&str], inline: &[&str]) -> Arc<Policy> {
        let flagged = Flagged::default();
        flagged
            .urls
            .write()
            .unwrap()
            .extend(urls.iter().map(|s| s.to_string()));
        flagged
            .inline
            .write()
            .unwrap()
            .extend(inline.iter().map(|s| s.to_string()));
        let intel = crate::intel::Intel::load(&crate::config::IntelConfig::default()).unwrap();
        Arc::new(Policy {
            flagged: Arc::new(flagged),
            intel: Arc::new(intel),
        })
    }

    /// Streams `html` in chunks of `size` through the rewriter; returns the output.
    async fn rewrite(html: &str, size: usize, policy: Arc<Policy>) -> (String, Vec<Removed>) {
        let chunks: Vec<Result<http_body::Frame<Bytes>, std::convert::Infallible>> = html
            .as_bytes()
            .chunks(size.max(1))
            .map(|c| Ok(http_body::Frame::data(Bytes::copy_from_slice(c))))
            .collect();
        let body = http_body_util::StreamBody::new(futures_util::stream::iter(chunks));
        let removed = Arc::new(Mutex::new(Vec::new()));
        let sink = removed.clone();
        let r = crate::proxy::coding::Transcode::new(
            body,
            Rewrite::new(
                "https://shop.example/checkout",
                policy,
                Box::new(move |r| *sink.lock().unwrap() = r),
            ),
        );
        let out = r.collect().await.unwrap().to_bytes();
        let removed = removed.lock().unwrap().clone();
        (String::from_utf8(out.to_vec()).unwrap(), removed)
    }

    const PAGES: &[&str] = &[
        "<!doctype html><html><head><script src=\"/a.js\"></script><script>var x = '</scr' + 'ipt>'; if (a < b && c > d) {}</script></head><body>é ü 漢字 <p>text</body></html>",
        "<script>unterminated",
        "<SCRIPT SRC=//cdn.example/x.js></SCRIPT><script type=module>import a from './a.js'</script><!-- <script>comment</script> -->",
        "<svg><script>svg script</script></svg><template><script>t()</script></template><textarea><script>not a script</script></textarea>",
        "",
    ];

    #[tokio::test]
    async fn pages_with_nothing_flagged_pass_byte_for_byte_at_any_chunking() {
        for page in PAGES {
            for size in [1, 2, 3, 7, 64, 4096] {
                let (out, removed) = rewrite(page, size, policy(&[], &[])).await;
                assert_eq!(&out, page, "chunk size {size}");
                assert!(removed.is_empty());
            }
        }
    }

    #[tokio::test]
    async fn flagged_scripts_go_relative_urls_resolved_others_stay() {
        let inline = "steal()";
        let hash = format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(inline.as_bytes()))
        );
        let page = "<head><script src=\"/static/bad.js?v=2\"></script><script src=\"/static/ok.js\"></script><script>steal()</script><script>fine()</script></head>";
        for size in [1, 5, 4096] {
            let (out, removed) = rewrite(
                page,
                size,
                policy(&["https://shop.example/static/bad.js"], &[&hash]),
            )
            .await;
            assert_eq!(
                out,
                "<head><script src=\"/static/ok.js\"></script><script></script><script>fine()</script></head>",
                "chunk size {size}"
            );
            assert_eq!(removed.len(), 2);
            assert_eq!(removed[0].subject, "https://shop.example/static/bad.js?v=2");
        }
    }
}
