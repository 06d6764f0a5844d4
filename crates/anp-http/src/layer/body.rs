//! [`CacheBody`], the body of every response the layer returns, and reading an upstream body
//! up to the size the cache stores.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;

/// The error type of [`CacheBody`]: whatever the upstream body failed with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of a response from [`CacheService`](super::CacheService): the stored bytes of a
/// cached response (no copy: a reference-counted buffer shared with the cache's L1), nothing
/// (HEAD, 304), or the upstream's body streamed through as it arrives (bypass, and responses
/// that are not stored).
pub struct CacheBody {
    kind: Kind,
}

enum Kind {
    Full(Option<Bytes>),
    Stream(UnsyncBoxBody<Bytes, BoxError>),
}

impl std::fmt::Debug for CacheBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Full(b) => f
                .debug_struct("CacheBody")
                .field("bytes", &b.as_ref().map_or(0, Bytes::len))
                .finish(),
            Kind::Stream(_) => f.debug_struct("CacheBody").field("stream", &true).finish(),
        }
    }
}

impl Default for CacheBody {
    fn default() -> Self {
        CacheBody::empty()
    }
}

impl CacheBody {
    /// A body of these bytes.
    pub(crate) fn full(bytes: Bytes) -> CacheBody {
        CacheBody {
            kind: Kind::Full(Some(bytes).filter(|b| !b.is_empty())),
        }
    }

    /// No body.
    pub(crate) fn empty() -> CacheBody {
        CacheBody {
            kind: Kind::Full(None),
        }
    }

    /// Another body, streamed through.
    pub(crate) fn stream<B>(body: B) -> CacheBody
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        CacheBody {
            kind: Kind::Stream(body.map_err(Into::into).boxed_unsync()),
        }
    }
}

impl Body for CacheBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().kind {
            Kind::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Kind::Stream(s) => Pin::new(s).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(b) => b.is_none(),
            Kind::Stream(s) => s.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Stream(s) => s.size_hint(),
        }
    }
}

/// An upstream body read as far as the cache wants it.
pub(crate) enum Collected {
    /// Complete, at most the limit (trailers, if any, are not kept).
    Full(Bytes),
    /// Longer than the limit: what was read, then the rest as it arrives.
    TooLarge(CacheBody),
    /// The body failed while it was read: what was read, then the failure.
    Failed(CacheBody, String),
}

/// Reads `body` until its end or until more than `max` bytes arrived.
pub(crate) async fn collect_limited<B>(body: B, max: usize) -> Collected
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let mut body = body.map_err(Into::into).boxed_unsync();
    let mut frames: VecDeque<Frame<Bytes>> = VecDeque::new();
    let mut len = 0usize;
    loop {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => {
                if let Some(d) = frame.data_ref() {
                    len += d.len();
                }
                frames.push_back(frame);
                if len > max {
                    return Collected::TooLarge(CacheBody::stream(Replay {
                        frames,
                        rest: Some(body),
                        error: None,
                    }));
                }
            }
            Some(Err(e)) => {
                let message = e.to_string();
                return Collected::Failed(
                    CacheBody::stream(Replay {
                        frames,
                        rest: None,
                        error: Some(e),
                    }),
                    message,
                );
            }
        }
    }
    let mut out = bytes::BytesMut::with_capacity(len);
    let mut single = None;
    let data: Vec<Bytes> = frames
        .into_iter()
        .filter_map(|f| f.into_data().ok())
        .collect();
    if data.len() == 1 {
        single = data.into_iter().next();
    } else {
        for d in data {
            out.extend_from_slice(&d);
        }
    }
    Collected::Full(single.unwrap_or_else(|| out.freeze()))
}

/// Frames already read, then the rest of the body (or the error it failed with).
struct Replay {
    frames: VecDeque<Frame<Bytes>>,
    rest: Option<UnsyncBoxBody<Bytes, BoxError>>,
    error: Option<BoxError>,
}

impl Body for Replay {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(f) = this.frames.pop_front() {
            return Poll::Ready(Some(Ok(f)));
        }
        if let Some(e) = this.error.take() {
            return Poll::Ready(Some(Err(e)));
        }
        match &mut this.rest {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty()
            && self.error.is_none()
            && self.rest.as_ref().is_none_or(|r| r.is_end_stream())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};

    fn chunks(parts: &[&'static str]) -> impl Body<Data = Bytes, Error = BoxError> + Send {
        let frames: Vec<Result<Frame<Bytes>, BoxError>> = parts
            .iter()
            .map(|p| Ok(Frame::data(Bytes::from_static(p.as_bytes()))))
            .collect();
        StreamBody::new(futures_util::stream::iter(frames))
    }

    async fn text(body: CacheBody) -> String {
        let b = body
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .to_bytes();
        String::from_utf8_lossy(&b).into_owned()
    }

    #[tokio::test]
    async fn a_body_within_the_limit_is_collected() {
        match collect_limited(chunks(&["ab", "cd"]), 4).await {
            Collected::Full(b) => assert_eq!(&b[..], b"abcd"),
            _ => panic!("expected the whole body"),
        }
        match collect_limited(Full::new(Bytes::from_static(b"x")), 4).await {
            Collected::Full(b) => assert_eq!(&b[..], b"x"),
            _ => panic!("expected the whole body"),
        }
    }

    #[tokio::test]
    async fn a_larger_body_is_replayed_whole() {
        match collect_limited(chunks(&["ab", "cd", "ef", "gh"]), 3).await {
            Collected::TooLarge(body) => assert_eq!(text(body).await, "abcdefgh"),
            _ => panic!("expected too large"),
        }
    }
}
