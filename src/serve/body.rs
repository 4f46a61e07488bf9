//! Response bodies: short fixed texts, and files streamed from disk in 64 KiB chunks (exported
//! image archives run to gigabytes; memory per download stays at one chunk).

use bytes::{BufMut, Bytes, BytesMut};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::fs::File;

/// The body type of every response.
pub(crate) type Body = BoxBody<Bytes, io::Error>;

const CHUNK: usize = 64 * 1024;

pub(crate) fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

pub(crate) fn text(s: &'static str) -> Body {
    Full::new(Bytes::from_static(s.as_bytes()))
        .map_err(|never| match never {})
        .boxed()
}

/// Exactly `len` bytes of `file` (the length announced in `Content-Length`): a file that grows
/// meanwhile is cut there, one that shrinks ends the body with an error.
pub(crate) fn file(file: File, len: u64) -> Body {
    FileBody {
        file,
        buf: BytesMut::new(),
        remaining: len,
    }
    .boxed()
}

struct FileBody {
    file: File,
    buf: BytesMut,
    remaining: u64,
}

impl HttpBody for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.remaining).map_or(CHUNK, |r| r.min(CHUNK));
        this.buf.clear();
        this.buf.reserve(want);
        let mut limited = (&mut this.buf).limit(want);
        match tokio_util::io::poll_read_buf(Pin::new(&mut this.file), cx, &mut limited) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(0)) => Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was being sent",
            )))),
            Poll::Ready(Ok(n)) => {
                this.remaining = this.remaining.saturating_sub(n as u64);
                Poll::Ready(Some(Ok(Frame::data(this.buf.split().freeze()))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::file;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_file_streams_exactly_its_announced_length() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.tar");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).expect("write");
        let f = tokio::fs::File::open(&path).await.expect("open");
        let got = file(f, data.len() as u64).collect().await.expect("body");
        assert_eq!(got.to_bytes(), data);

        let f = tokio::fs::File::open(&path).await.expect("open");
        let cut = file(f, 10).collect().await.expect("body").to_bytes();
        assert_eq!(cut, data[..10]);

        let f = tokio::fs::File::open(&path).await.expect("open");
        assert!(file(f, data.len() as u64 + 1).collect().await.is_err());
    }
}
