//! A switched (WebSocket) connection's activity clock: each side of the tunnel records when
//! bytes last moved, so the proxy can close tunnels idle past `upgrade_idle_timeout` instead of
//! holding two sockets per forgotten connection forever.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Duration, Instant};

/// Why a tunnel ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Ended {
    /// A side closed (or failed).
    Closed,
    /// No bytes moved either way for the idle limit.
    Idle,
}

/// Copies bytes both ways between `a` and `b` until a side closes or neither has moved a byte
/// for `idle_limit`.
pub(super) async fn join<A, B>(a: A, b: B, idle_limit: Duration) -> Ended
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let (last, start) = (Arc::new(AtomicU64::new(0)), Instant::now());
    let (mut a, mut b) = (Active::new(a, &last, start), Active::new(b, &last, start));
    let copy = tokio::io::copy_bidirectional(&mut a, &mut b);
    tokio::pin!(copy);
    let deadline = || start + Duration::from_millis(last.load(Ordering::Relaxed)) + idle_limit;
    loop {
        tokio::select! {
            _ = &mut copy => return Ended::Closed,
            // Bytes may have moved while asleep: the deadline is read again before closing.
            _ = tokio::time::sleep_until(deadline()) => {
                if Instant::now() >= deadline() {
                    return Ended::Idle;
                }
            }
        }
    }
}

/// An I/O stream that stores, in milliseconds since `start`, when it last read or wrote bytes.
struct Active<T> {
    io: T,
    last: Arc<AtomicU64>,
    start: Instant,
}

impl<T> Active<T> {
    fn new(io: T, last: &Arc<AtomicU64>, start: Instant) -> Self {
        Self {
            io,
            last: last.clone(),
            start,
        }
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last.fetch_max(ms, Ordering::Relaxed);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Active<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Active<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
