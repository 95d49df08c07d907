//! Reads inline scripts out of an HTML body while it streams to the visitor: the body passes
//! through untouched and unbuffered; a copy (up to a cap) is kept, and when the body ends the
//! copy is parsed with lol_html off the async threads and its inline scripts go to the
//! inventory as if a browser had reported them (see `inline.rs`).

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::mpsc;

use crate::intake::Accepted;

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
    pub verdicts: crate::inline::Verdicts,
}

impl InlineSink {
    fn finish(self, html: Vec<u8>) {
        let main = self.verdicts.main.clone();
        main.spawn_blocking(move || {
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
            // External scripts come from the visitors' reports: the proxy adds the header.
            let found = crate::inline::scripts(&html, &self.page, false);
            crate::inline::judge(&found.inline, &found.reports, &self.page, &self.verdicts);
            metrics::counter!(super::INLINE_SCRIPTS).increment(found.reports.len() as u64);
            crate::inline::inventory(&self.queue, self.site, found.reports, "proxy_queue_full");
        });
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
