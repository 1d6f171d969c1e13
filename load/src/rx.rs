//! A TCP stream that can tell when the data it read reached this machine's socket: the
//! kernel's receive timestamp (`SO_TIMESTAMPNS`) of the last segment each read took data
//! from. On loopback a segment is timestamped inside the server's `write`, so this is when
//! the server delivered it, whether or not this process was given the CPU at that moment;
//! the presence scenario reports it beside the time the tool read the line.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use rustix::time::{clock_gettime, ClockId};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

use crate::clock::now_ns;

/// A [`TcpStream`] read with `recvmsg`, keeping the arrival time of the last read's data.
pub struct Stream {
    inner: TcpStream,
    /// Whether `SO_TIMESTAMPNS` is on; reads are plain `recv`s until it is.
    timestamps: bool,
    /// When the data of the last read arrived, as a [`now_ns`] value.
    arrived: Option<u64>,
}

impl Stream {
    pub fn new(inner: TcpStream) -> Stream {
        Stream { inner, timestamps: false, arrived: None }
    }

    /// Asks the kernel to timestamp what arrives from now on.
    pub fn timestamp_arrivals(&mut self) -> io::Result<()> {
        let on: libc::c_int = 1;
        // SAFETY: a valid socket descriptor and an option value of the size given.
        let done = unsafe {
            libc::setsockopt(
                self.inner.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if done != 0 {
            return Err(io::Error::last_os_error());
        }
        self.timestamps = true;
        Ok(())
    }

    /// When the data of the last read arrived, if timestamps are on and it was stamped.
    pub fn arrived(&self) -> Option<u64> {
        self.arrived
    }
}

/// One `recvmsg` into `buf`: the bytes read and the arrival time it reported, converted
/// from CLOCK_REALTIME (the kernel's stamp) to [`now_ns`]'s CLOCK_MONOTONIC by its age,
/// so that a clock adjustment during a run shifts nothing but that difference.
fn recv_stamped(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<u64>)> {
    // Room for one `struct timespec` control message, aligned for `cmsghdr`.
    let mut control = [0u64; 8];
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: zeroed msghdr is valid; every pointer set below outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `msg` describes live buffers of the sizes given.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut stamp = None;
    // SAFETY: the CMSG_* macros walk the control buffer the kernel filled, within
    // `msg_controllen`; a SCM_TIMESTAMPNS payload is one `timespec`.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::timespec>());
                stamp = Some(ts);
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((n as usize, stamp.map(|ts| monotonic_of(ts.tv_sec, ts.tv_nsec))))
}

/// A CLOCK_REALTIME time in the recent past as a [`now_ns`] value.
fn monotonic_of(sec: libc::time_t, nsec: libc::c_long) -> u64 {
    let real = clock_gettime(ClockId::Realtime);
    let now = now_ns();
    let real_ns = real.tv_sec as i128 * 1_000_000_000 + real.tv_nsec as i128;
    let stamp_ns = sec as i128 * 1_000_000_000 + nsec as i128;
    let age = (real_ns - stamp_ns).clamp(0, now as i128) as u64;
    now - age
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.timestamps {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        loop {
            ready!(this.inner.poll_read_ready(cx))?;
            let fd = this.inner.as_raw_fd();
            let unfilled = buf.initialize_unfilled();
            match this.inner.try_io(Interest::READABLE, || recv_stamped(fd, unfilled)) {
                Ok((n, arrived)) => {
                    buf.advance(n);
                    // No stamp (the kernel turns stamping on a moment after it is asked):
                    // unknown, never an older read's time.
                    this.arrived = arrived;
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn arrivals_are_stamped_when_the_data_was_written() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let mut stream = Stream::new(client);
        stream.timestamp_arrivals().unwrap();
        // The kernel enables receive stamping from a work queue: the first segments after
        // the first socket asks may go unstamped, and are reported as such.
        for _ in 0..100 {
            let before = now_ns();
            server.write_all(b"NLN AWY a@b.com a\r\n").await.unwrap();
            let written = now_ns();
            std::thread::sleep(std::time::Duration::from_millis(20));
            let mut buf = [0u8; 64];
            let n = stream.read(&mut buf).await.unwrap();
            let read = now_ns();
            assert_eq!(&buf[..n], b"NLN AWY a@b.com a\r\n");
            let Some(arrived) = stream.arrived() else { continue };
            // Stamped when written (give or take clock conversion), not when read 20 ms later.
            assert!(
                arrived + 1_000_000 >= before && arrived <= written + 1_000_000,
                "{before} {arrived} {written}"
            );
            assert!(read - arrived >= 19_000_000);
            return;
        }
        panic!("no segment was ever stamped");
    }
}
