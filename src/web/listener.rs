//! The HTTP services' listener: at most `max` connections at once (more are closed on
//! accept), each open for at most `lifetime`, so that neither a flood of sockets nor a
//! client that sends a request a byte at a time (or keeps an idle connection) holds the
//! server's resources. axum's own `serve` sets no such limits.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;
use tracing::warn;

use crate::metrics::Metrics;

/// A bound listener with its limits.
pub struct Capped {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    lifetime: Duration,
    metrics: Arc<Metrics>,
    /// The service's name in the connection metrics.
    service: &'static str,
}

impl Capped {
    pub fn new(
        listener: TcpListener,
        max: usize,
        lifetime: Duration,
        metrics: Arc<Metrics>,
        service: &'static str,
    ) -> Capped {
        Capped { listener, slots: Arc::new(Semaphore::new(max)), lifetime, metrics, service }
    }
}

/// Who is on the other end of a request's connection (what handlers take as `ConnectInfo`).
#[derive(Debug, Clone, Copy)]
pub struct Remote(pub SocketAddr);

impl Connected<IncomingStream<'_, Capped>> for Remote {
    fn connect_info(stream: IncomingStream<'_, Capped>) -> Remote {
        Remote(*stream.remote_addr())
    }
}

impl axum::serve::Listener for Capped {
    type Io = Stream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Stream, SocketAddr) {
        loop {
            let (stream, addr) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    warn!(error = %e, service = self.service, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                self.metrics.connection(self.service, "refused_full");
                continue;
            };
            self.metrics.connection(self.service, "accepted");
            let deadline = Box::pin(tokio::time::sleep(self.lifetime));
            return (Stream { stream, deadline, _slot: slot }, addr);
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// An accepted connection: reads and writes fail once its time is up.
pub struct Stream {
    stream: TcpStream,
    deadline: Pin<Box<Sleep>>,
    _slot: OwnedSemaphorePermit,
}

impl Stream {
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the connection's time is up")
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.expired(cx) {
            return Poll::Ready(Err(timed_out()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.expired(cx) {
            return Poll::Ready(Err(timed_out()));
        }
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
