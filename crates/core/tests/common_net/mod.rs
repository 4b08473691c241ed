//! Helpers for the network-behaviour tests (connect errors, properties,
//! resets, send failures, UDP, interop): loopback listeners and peers whose
//! every wait is bounded, so a broken test fails instead of hanging.
#![allow(dead_code)]

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Longest any helper or peer waits for anything.
pub const BOUND: Duration = Duration::from_secs(10);
/// A receive timeout long enough never to fire on a healthy run.
pub const LONG: Duration = Duration::from_secs(5);

/// The two loopback hosts, as a client names them.
pub const LOOPBACKS: [&str; 2] = ["127.0.0.1", "::1"];

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `host:0` as a socket address, for binding.
pub fn any_port(host: &str) -> SocketAddr {
    SocketAddr::new(host.parse().unwrap(), 0)
}

/// A TCP listener on `host` with a free port, and that port.
pub fn listen(host: &str) -> (TcpListener, u16) {
    let l = TcpListener::bind(any_port(host)).unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// A TCP port on `host` that nothing listens on (it was free a moment ago).
pub fn closed_tcp_port(host: &str) -> u16 {
    listen(host).1
}

/// A UDP port on `host` that nothing is bound to (it was free a moment ago).
pub fn closed_udp_port(host: &str) -> u16 {
    UdpSocket::bind(any_port(host))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Accepts one connection within [`BOUND`]; the stream gets read and write
/// timeouts of [`BOUND`] so the peer never blocks for ever.
pub fn accept(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let start = Instant::now();
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(BOUND)).unwrap();
                s.set_write_timeout(Some(BOUND)).unwrap();
                return s;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert!(start.elapsed() < BOUND, "no client connected");
                thread::sleep(ms(1));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// A thread running `f` on the next connection to `listener`.
pub fn serve_one<F, T>(listener: TcpListener, f: F) -> JoinHandle<T>
where
    F: FnOnce(TcpStream) -> T + Send + 'static,
    T: Send + 'static,
{
    thread::spawn(move || f(accept(&listener)))
}

/// Joins a peer thread (whose work is bounded), passing its panic on.
pub fn join<T>(h: JoinHandle<T>) -> T {
    match h.join() {
        Ok(v) => v,
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// Reads until end of stream (or [`BOUND`]), returning everything read.
pub fn read_to_end_bounded(s: &mut TcpStream) -> io::Result<Vec<u8>> {
    s.set_read_timeout(Some(BOUND))?;
    let mut out = Vec::new();
    io::Read::read_to_end(s, &mut out)?;
    Ok(out)
}

/// A UDP peer on `host` with read and write timeouts of [`BOUND`].
pub fn udp_peer(host: &str) -> UdpSocket {
    let s = UdpSocket::bind(any_port(host)).unwrap();
    s.set_read_timeout(Some(BOUND)).unwrap();
    s.set_write_timeout(Some(BOUND)).unwrap();
    s
}
