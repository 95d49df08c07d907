//! Content codings of proxied HTML. Most origins compress their pages (gzip, or brotli for
//! browsers that ask for it), and both the inline-script scan and blocking mode read HTML: a
//! compressed page that passed unread would never be inventoried, and in blocking mode a
//! flagged script would reach visitors just because the origin compressed the page.
//!
//! - The scan keeps its bounded copy compressed and decodes it once the page is complete
//!   ([`decode_all`], with a cap on the *decoded* size, so a compression bomb costs nothing).
//! - Blocking mode decodes as the page streams ([`Transcode`] with a [`Decoder`]), rewrites,
//!   and compresses again with gzip when the visitor accepts it ([`Encoder`]).
//! - `zstd` (Chromium asks for it) is read with ruzstd, a pure-Rust decoder. Its frames are not
//!   decoded as they stream, so in blocking mode the request's `Accept-Encoding` is narrowed for
//!   page navigations ([`narrow_accept_encoding`]) and a zstd page only arrives from an origin
//!   that ignores that; it is then decoded whole, up to [`MAX_BUFFERED`].
//! - `compress` and stacked codings are not read; such pages are forwarded as they are and
//!   counted.

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use http_body::{Body as HttpBody, Frame, SizeHint};

/// A content coding the proxy can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    Identity,
    Gzip,
    /// HTTP's "deflate" is zlib-wrapped (RFC 9110 §8.4.1.2); some servers send raw deflate,
    /// which is told apart by the first two bytes.
    Deflate,
    Brotli,
    Zstd,
}

/// Codings a visitor may be sent after blocking mode has read the page, best first.
const READABLE: &[&str] = &["br", "gzip", "x-gzip", "deflate", "identity"];

impl Coding {
    /// The coding of a response by its `Content-Encoding`; `None` when the proxy cannot read it
    /// (an unknown coding, or several stacked).
    pub(crate) fn of(headers: &HeaderMap) -> Option<Coding> {
        let mut values = headers.get_all(header::CONTENT_ENCODING).iter();
        let Some(first) = values.next() else {
            return Some(Coding::Identity);
        };
        if values.next().is_some() {
            return None;
        }
        let value = first.to_str().ok()?.trim();
        if value.contains(',') {
            return None;
        }
        match value.to_ascii_lowercase().as_str() {
            "" | "identity" => Some(Coding::Identity),
            "gzip" | "x-gzip" => Some(Coding::Gzip),
            "deflate" => Some(Coding::Deflate),
            "br" => Some(Coding::Brotli),
            "zstd" => Some(Coding::Zstd),
            _ => None,
        }
    }
}

/// Whether an `Accept-Encoding` value allows gzip (`q=0` refuses it).
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            !refused && (coding.eq_ignore_ascii_case("gzip") || coding == "*")
        })
}

/// Keeps only the codings the proxy can read in a request's `Accept-Encoding` (blocking mode,
/// page navigations), so the page comes back in one it can rewrite.
pub(crate) fn narrow_accept_encoding(headers: &mut HeaderMap) {
    let Some(value) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let kept: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|item| {
            let coding = item.split(';').next().unwrap_or("").trim();
            READABLE.iter().any(|r| coding.eq_ignore_ascii_case(r))
        })
        .collect();
    let narrowed = if kept.is_empty() {
        "identity".to_string()
    } else {
        kept.join(", ")
    };
    if let Ok(v) = HeaderValue::from_str(&narrowed) {
        headers.insert(header::ACCEPT_ENCODING, v);
    }
}

/// Compressed input is fed to the decoders in slices of this size. [`decode_all`] checks its cap
/// after every slice, so a compression bomb stops within about a thousand times this of the
/// cap. The streaming decoder of blocking mode holds one upstream frame's output at a time (the
/// upstream is the operator's own origin, not the open Internet).
const SLICE: usize = 8 * 1024;

/// A push decoder: compressed bytes in, plain bytes out.
pub(crate) struct Decoder {
    state: State,
    /// Whether any input arrived: an empty body is an empty page, not a truncated stream.
    any: bool,
}

enum State {
    Plain(Vec<u8>),
    Gzip(flate2::write::MultiGzDecoder<Vec<u8>>),
    Zlib(flate2::write::ZlibDecoder<Vec<u8>>),
    RawDeflate(flate2::write::DeflateDecoder<Vec<u8>>),
    /// "deflate" before its first two bytes have arrived.
    Deflate(Vec<u8>),
    Brotli(Box<brotli_decompressor::DecompressorWriter<Vec<u8>>>),
    /// zstd input, decoded when it ends.
    Zstd(Vec<u8>),
}

/// The most a zstd page decoded whole in blocking mode may hold.
const MAX_BUFFERED: usize = 32 << 20;

/// Decodes a whole zstd body; `None` if it is broken or decodes to more than `cap`.
fn zstd_all(body: &[u8], cap: usize) -> Option<Vec<u8>> {
    use std::io::Read;
    let decoder = ruzstd::decoding::StreamingDecoder::new(body).ok()?;
    let mut plain = Vec::new();
    decoder.take(cap as u64 + 1).read_to_end(&mut plain).ok()?;
    (plain.len() <= cap).then_some(plain)
}

impl Decoder {
    pub(crate) fn new(coding: Coding) -> Self {
        let state = match coding {
            Coding::Identity => State::Plain(Vec::new()),
            Coding::Gzip => State::Gzip(flate2::write::MultiGzDecoder::new(Vec::new())),
            Coding::Deflate => State::Deflate(Vec::new()),
            Coding::Brotli => State::Brotli(Box::new(
                brotli_decompressor::DecompressorWriter::new(Vec::new(), SLICE),
            )),
            Coding::Zstd => State::Zstd(Vec::new()),
        };
        Self { state, any: false }
    }

    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.any |= !data.is_empty();
        if let State::Deflate(head) = &mut self.state {
            head.extend_from_slice(data);
            if head.len() < 2 {
                return Ok(());
            }
            // A zlib header: compression method 8 and a check value divisible by 31.
            let zlib = head[0] & 0x0f == 8 && u16::from_be_bytes([head[0], head[1]]) % 31 == 0;
            let head = std::mem::take(head);
            self.state = if zlib {
                State::Zlib(flate2::write::ZlibDecoder::new(Vec::new()))
            } else {
                State::RawDeflate(flate2::write::DeflateDecoder::new(Vec::new()))
            };
            return self.write_all(&head);
        }
        match &mut self.state {
            State::Plain(out) => {
                out.extend_from_slice(data);
                Ok(())
            }
            State::Gzip(d) => d.write_all(data),
            State::Zlib(d) => d.write_all(data),
            State::RawDeflate(d) => d.write_all(data),
            State::Brotli(d) => d.write_all(data),
            State::Zstd(held) if held.len() + data.len() > MAX_BUFFERED => Err(
                std::io::Error::other("zstd page larger than the proxy decodes whole"),
            ),
            State::Zstd(held) => {
                held.extend_from_slice(data);
                Ok(())
            }
            State::Deflate(_) => unreachable!("handled above"),
        }
    }

    /// The plain bytes decoded so far. Input still held (the first byte of "deflate", a zstd
    /// page) is not output.
    fn take_output(&mut self) -> Vec<u8> {
        match &mut self.state {
            State::Plain(out) => std::mem::take(out),
            State::Deflate(_) | State::Zstd(_) => Vec::new(),
            State::Gzip(d) => std::mem::take(d.get_mut()),
            State::Zlib(d) => std::mem::take(d.get_mut()),
            State::RawDeflate(d) => std::mem::take(d.get_mut()),
            State::Brotli(d) => std::mem::take(d.get_mut()),
        }
    }

    /// Ends the stream: the last plain bytes, or an error if the compressed stream was cut short.
    fn finish(&mut self) -> std::io::Result<Vec<u8>> {
        let state = std::mem::replace(&mut self.state, State::Plain(Vec::new()));
        if !self.any {
            return Ok(Vec::new());
        }
        match state {
            State::Plain(out) => Ok(out),
            State::Gzip(d) => d.finish(),
            State::Zlib(d) => d.finish(),
            State::RawDeflate(d) => d.finish(),
            State::Deflate(head) if head.is_empty() => Ok(head),
            State::Deflate(_) => Err(truncated()),
            State::Brotli(d) => d.into_inner().map_err(|_| truncated()),
            State::Zstd(held) => zstd_all(&held, MAX_BUFFERED).ok_or_else(truncated),
        }
    }
}

fn truncated() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "compressed body ended early",
    )
}

/// Decodes a complete compressed body; `None` if it is broken or decodes to more than `cap`.
pub(crate) fn decode_all(coding: Coding, body: &[u8], cap: usize) -> Option<Vec<u8>> {
    if coding == Coding::Zstd {
        return if body.is_empty() {
            Some(Vec::new())
        } else {
            zstd_all(body, cap)
        };
    }
    let mut decoder = Decoder::new(coding);
    let mut plain = Vec::new();
    for slice in body.chunks(SLICE) {
        decoder.write_all(slice).ok()?;
        plain.extend(decoder.take_output());
        if plain.len() > cap {
            return None;
        }
    }
    plain.extend(decoder.finish().ok()?);
    (plain.len() <= cap).then_some(plain)
}

/// gzip at level 1: what nginx's `gzip` uses by default; pages are compressed again on the
/// request path, where speed matters more than the last percent of size.
pub(crate) struct Encoder(Option<flate2::write::GzEncoder<Vec<u8>>>);

impl Encoder {
    pub(crate) fn gzip() -> Self {
        Self(Some(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        )))
    }
}

/// One streaming transformation of a body's bytes.
pub(crate) trait Transform: Send + 'static {
    /// The `outcome` label counted in `rampart_proxy_responses_total` when it fails.
    const FAILURE: &'static str = "coding_error";
    /// Takes the next input bytes; returns the output ready so far.
    fn push(&mut self, data: &[u8]) -> std::io::Result<Vec<u8>>;
    /// The input has ended: the rest of the output.
    fn end(&mut self) -> std::io::Result<Vec<u8>>;
}

impl Transform for Decoder {
    fn push(&mut self, data: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        for slice in data.chunks(SLICE) {
            self.write_all(slice)?;
            out.extend(self.take_output());
        }
        Ok(out)
    }

    fn end(&mut self) -> std::io::Result<Vec<u8>> {
        self.finish()
    }
}

impl Transform for Encoder {
    fn push(&mut self, data: &[u8]) -> std::io::Result<Vec<u8>> {
        let Some(e) = self.0.as_mut() else {
            return Err(std::io::Error::other("gzip stream already ended"));
        };
        e.write_all(data)?;
        // A sync flush per upstream frame: the head of the page reaches the browser (which
        // starts fetching subresources from it) without waiting for the whole page.
        e.flush()?;
        Ok(std::mem::take(e.get_mut()))
    }

    fn end(&mut self) -> std::io::Result<Vec<u8>> {
        match self.0.take() {
            Some(e) => e.finish(),
            None => Ok(Vec::new()),
        }
    }
}

/// A body whose data frames go through a [`Transform`]; trailers are dropped.
pub(crate) struct Transcode<B, T> {
    inner: B,
    transform: T,
    ended: bool,
}

impl<B, T> Transcode<B, T> {
    pub(crate) fn new(inner: B, transform: T) -> Self {
        Self {
            inner,
            transform,
            ended: false,
        }
    }
}

impl<B, T> HttpBody for Transcode<B, T>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    T: Transform + Unpin,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        loop {
            if this.ended {
                return Poll::Ready(None);
            }
            let out = match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => this.transform.push(&data),
                    Err(_) => continue, // trailers
                },
                Poll::Ready(None) => {
                    this.ended = true;
                    this.transform.end()
                }
            };
            match out {
                Err(e) => {
                    metrics::counter!(super::PROXIED, "outcome" => T::FAILURE).increment(1);
                    this.ended = true;
                    return Poll::Ready(Some(Err(Box::new(e))));
                }
                Ok(out) if !out.is_empty() => {
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
                }
                Ok(_) => {}
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default() // the length changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    const PAGE: &str = "<!doctype html><html><head><script>window.a=1</script></head><body>Ünïcödé 漢字</body></html>";

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(*n, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn codings_are_read_from_content_encoding() {
        assert_eq!(Coding::of(&headers(&[])), Some(Coding::Identity));
        assert_eq!(
            Coding::of(&headers(&[("content-encoding", "GZIP")])),
            Some(Coding::Gzip)
        );
        assert_eq!(
            Coding::of(&headers(&[("content-encoding", "br")])),
            Some(Coding::Brotli)
        );
        assert_eq!(
            Coding::of(&headers(&[("content-encoding", "zstd")])),
            Some(Coding::Zstd)
        );
        assert_eq!(
            Coding::of(&headers(&[("content-encoding", "compress")])),
            None
        );
        assert_eq!(
            Coding::of(&headers(&[("content-encoding", "gzip, br")])),
            None
        );
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "br, gzip;q=0.8"
        )])));
        assert!(!accepts_gzip(&headers(&[(
            "accept-encoding",
            "br, gzip;q=0"
        )])));
        assert!(!accepts_gzip(&headers(&[])));
        let mut h = headers(&[("accept-encoding", "gzip, deflate, br, zstd")]);
        narrow_accept_encoding(&mut h);
        assert_eq!(h[header::ACCEPT_ENCODING], "gzip, deflate, br");
        let mut h = headers(&[("accept-encoding", "zstd")]);
        narrow_accept_encoding(&mut h);
        assert_eq!(h[header::ACCEPT_ENCODING], "identity");
    }

    #[test]
    fn every_readable_coding_decodes_and_bombs_and_truncations_are_refused() {
        let z = {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(PAGE.as_bytes()).unwrap();
            e.finish().unwrap()
        };
        let raw = {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(PAGE.as_bytes()).unwrap();
            e.finish().unwrap()
        };
        for (coding, body) in [
            (Coding::Identity, PAGE.as_bytes().to_vec()),
            (Coding::Gzip, gzip(PAGE.as_bytes())),
            (Coding::Deflate, z),
            (Coding::Deflate, raw),
        ] {
            assert_eq!(
                decode_all(coding, &body, 1 << 20).as_deref(),
                Some(PAGE.as_bytes()),
                "{coding:?}"
            );
        }
        let br = include_bytes!("testdata/page.html.br");
        let page = include_bytes!("testdata/page.html");
        assert_eq!(
            decode_all(Coding::Brotli, br, 1 << 20).as_deref(),
            Some(&page[..])
        );
        assert_eq!(decode_all(Coding::Brotli, br, 1000), None, "over the cap");
        assert_eq!(
            decode_all(Coding::Brotli, &br[..br.len() - 3], 1 << 20),
            None
        );
        // 64 MiB of zeros compress to about 64 KB; the cap stops the decoding early.
        let bomb = gzip(&vec![0u8; 64 << 20]);
        assert!(bomb.len() < 100_000);
        assert_eq!(decode_all(Coding::Gzip, &bomb, 1 << 20), None);
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd] {
            assert_eq!(decode_all(coding, b"", 10).as_deref(), Some(&b""[..]));
        }
        let whole = gzip(PAGE.as_bytes());
        assert_eq!(
            decode_all(Coding::Gzip, &whole[..whole.len() / 2], 1 << 20),
            None
        );
    }

    /// Streams `body` in frames of `size` through `transform`.
    async fn stream<T: Transform + Unpin>(body: &[u8], size: usize, transform: T) -> Vec<u8> {
        let frames: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = body
            .chunks(size)
            .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
            .collect();
        let inner = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
        Transcode::new(inner, transform)
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    #[tokio::test]
    async fn zstd_pages_decode_when_they_end_at_any_framing() {
        let zst = include_bytes!("testdata/page.html.zst");
        let page = include_bytes!("testdata/page.html");
        for size in [1, 7, 4096] {
            let plain = stream(zst, size, Decoder::new(Coding::Zstd)).await;
            assert_eq!(plain, page, "frames of {size}");
        }
    }

    #[tokio::test]
    async fn streamed_decoding_and_encoding_round_trip_at_any_framing() {
        let page = PAGE.repeat(500);
        let compressed = gzip(page.as_bytes());
        let zlib = {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(page.as_bytes()).unwrap();
            e.finish().unwrap()
        };
        for size in [1, 7, 4096, 1 << 20] {
            let plain = stream(&compressed, size, Decoder::new(Coding::Gzip)).await;
            assert_eq!(plain, page.as_bytes(), "frames of {size}");
            // "deflate" waits for two bytes to tell zlib from raw; a 1-byte first frame too.
            let plain = stream(&zlib, size, Decoder::new(Coding::Deflate)).await;
            assert_eq!(plain, page.as_bytes(), "deflate, frames of {size}");
            let again = stream(page.as_bytes(), size.max(512), Encoder::gzip()).await;
            assert_eq!(
                decode_all(Coding::Gzip, &again, 1 << 20).as_deref(),
                Some(page.as_bytes())
            );
        }
    }
}
