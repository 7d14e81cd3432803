//! [`ServedStream`]: a client's connection as the server writes to and
//! closes it.
//!
//! **A write timeout.** A write that cannot go on for
//! [`Limits::write_timeout`](crate::Limits::write_timeout) (a client that
//! stopped reading its answer) fails, and the connection ends: an answer
//! in progress (a stream of events) holds its memory no longer than that.
//!
//! **A lingering close.** Once the server is done with the connection, it
//! reads and discards what the client still sends before closing, as
//! nginx's lingering close does.
//!
//! A server that answers early (413 for a body too large, 401, 415, 408)
//! and closes a socket whose receive buffer still holds unread bytes makes
//! the kernel send a reset; a client that writes its whole request before
//! it reads (Python's `http.client`, many JVM clients) then sees a broken
//! pipe or a reset instead of the answer. So on shutdown the write side is
//! closed first (the client reads the answer and an end of stream), and
//! what keeps arriving is read and dropped until the client closes, or
//! nothing comes for [`LINGER_IDLE`] (an idle kept-alive client), or for at
//! most [`LINGER_TIME`] and [`LINGER_BYTES`].

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// The longest a closing connection reads what its client still sends.
pub const LINGER_TIME: Duration = Duration::from_secs(5);
/// The longest a closing connection waits for more from its client.
pub const LINGER_IDLE: Duration = Duration::from_millis(500);
/// The most bytes a closing connection reads and drops.
pub const LINGER_BYTES: usize = 64 * 1024 * 1024;

/// A TCP stream with a write timeout, that lingers on shutdown (see the
/// module docs).
pub(crate) struct ServedStream {
    stream: TcpStream,
    state: State,
    write_timeout: Duration,
    /// Armed while a write waits.
    write_deadline: Option<Pin<Box<Sleep>>>,
}

enum State {
    Open,
    Draining {
        deadline: Pin<Box<Sleep>>,
        idle: Pin<Box<Sleep>>,
        discarded: usize,
    },
    Closed,
}

impl ServedStream {
    pub(crate) fn new(stream: TcpStream, write_timeout: Duration) -> Self {
        Self {
            stream,
            state: State::Open,
            write_timeout,
            write_deadline: None,
        }
    }

    /// `poll` of a write: ready clears the deadline; pending arms it, and
    /// past it the write fails with `TimedOut`.
    fn timed<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        match poll(Pin::new(&mut self.stream), cx) {
            Poll::Ready(result) => {
                self.write_deadline = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let timeout = self.write_timeout;
                let deadline = self
                    .write_deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if deadline.as_mut().poll(cx).is_ready() {
                    self.write_deadline = None;
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client read nothing for the write timeout",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncRead for ServedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ServedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.timed(cx, |stream, cx| stream.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.timed(cx, |stream, cx| stream.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.timed(cx, |stream, cx| stream.poll_flush(cx))
    }

    /// Closes the write side, then drains the read side (see the module
    /// docs); ready once the client closed, or the time or byte bound was
    /// reached, or the read failed.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Open => {
                    ready!(this.timed(cx, |stream, cx| stream.poll_shutdown(cx)))?;
                    this.state = State::Draining {
                        deadline: Box::pin(tokio::time::sleep(LINGER_TIME)),
                        idle: Box::pin(tokio::time::sleep(LINGER_IDLE)),
                        discarded: 0,
                    };
                }
                State::Draining {
                    deadline,
                    idle,
                    discarded,
                } => {
                    if deadline.as_mut().poll(cx).is_ready() || idle.as_mut().poll(cx).is_ready() {
                        this.state = State::Closed;
                        continue;
                    }
                    let mut bytes = [0u8; 16 * 1024];
                    let mut buf = ReadBuf::new(&mut bytes);
                    match Pin::new(&mut this.stream).poll_read(cx, &mut buf) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(_)) => this.state = State::Closed,
                        Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                            this.state = State::Closed;
                        }
                        Poll::Ready(Ok(())) => {
                            idle.as_mut()
                                .reset(tokio::time::Instant::now() + LINGER_IDLE);
                            *discarded += buf.filled().len();
                            if *discarded >= LINGER_BYTES {
                                this.state = State::Closed;
                            }
                        }
                    }
                }
                State::Closed => return Poll::Ready(Ok(())),
            }
        }
    }
}
