//! A cap on what one Docker API answer may bring: every request travels on its own stream
//! (see [`super::connect`]), so the bytes read from that stream are the answer. bollard reads
//! JSON answers whole into memory; without a cap an engine (or whatever answers on the host's
//! socket) could make rwin hold an answer of any size.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::transport::BoxStream;

/// The most one Docker API answer may bring. Real answers are kilobytes (inspect, list, version)
/// to a few MiB (a long image pull's progress lines); 64 MiB is the cap rwin's transports
/// already put on one command's output.
pub const ANSWER_CAP: u64 = 64 << 20;

/// The error a capped stream returns once its answer passed the cap; [`super::describe`]
/// finds it in the error's sources and says so in words.
#[derive(Debug, thiserror::Error)]
#[error("the Docker API answer passed {} MiB, the most rwin reads", .limit >> 20)]
pub struct AnswerTooLarge {
    pub limit: u64,
}

/// `inner`, failing its reads once more than `limit` bytes came through.
pub struct Capped {
    inner: BoxStream,
    read: u64,
    limit: u64,
}

impl Capped {
    pub fn new(inner: BoxStream, limit: u64) -> Capped {
        Capped {
            inner,
            read: 0,
            limit,
        }
    }
}

impl AsyncRead for Capped {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let limit = self.limit;
        if self.read > limit {
            return Poll::Ready(Err(std::io::Error::other(AnswerTooLarge { limit })));
        }
        let before = buf.filled().len();
        let polled = self.inner.as_mut().poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled {
            self.read += (buf.filled().len() - before) as u64;
            if self.read > limit {
                return Poll::Ready(Err(std::io::Error::other(AnswerTooLarge { limit })));
            }
        }
        polled
    }
}

impl AsyncWrite for Capped {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.inner.as_mut().poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.inner.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.inner.as_mut().poll_shutdown(cx)
    }
}

/// The [`AnswerTooLarge`] somewhere in `err`'s sources, if the cap is why it failed.
pub fn too_large<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a AnswerTooLarge> {
    let mut cur: Option<&'a (dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<AnswerTooLarge>() {
            return Some(t);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(t) = io
                .get_ref()
                .and_then(|i| i.downcast_ref::<AnswerTooLarge>())
            {
                return Some(t);
            }
        }
        cur = e.source();
    }
    None
}
