//! Shared helpers: loopback listeners, scripted TCP and UDP peers, whose
//! every wait is bounded so a broken test fails instead of hanging.
#![allow(dead_code)]

use renoise_socket::{Client, ClientBuilder};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Longest any peer waits for anything; a broken test fails instead of
/// hanging.
pub const BOUND: Duration = Duration::from_secs(10);
/// A receive timeout long enough to never fire on a healthy run.
pub const LONG: Duration = Duration::from_secs(5);

/// Accepts one connection within [`BOUND`].
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
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(start.elapsed() < BOUND, "no client connected");
                thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// Starts a one-connection peer on `addr` running `script`, and connects a
/// client with default options to it.
pub fn pair_on<F>(addr: &str, script: F) -> (Client, JoinHandle<()>)
where
    F: FnOnce(TcpStream) + Send + 'static,
{
    pair_on_with(addr, ClientBuilder::new(), script)
}

/// [`pair_on`] with a client that `builder` connects.
pub fn pair_on_with<F>(addr: &str, builder: ClientBuilder, script: F) -> (Client, JoinHandle<()>)
where
    F: FnOnce(TcpStream) + Send + 'static,
{
    let listener = TcpListener::bind(addr).unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = thread::spawn(move || script(accept(&listener)));
    let host = addr.rsplit_once(':').unwrap().0;
    let client = builder.connect(host, port).unwrap();
    (client, peer)
}

/// [`pair_on_with`] on 127.0.0.1.
pub fn pair_with<F>(builder: ClientBuilder, script: F) -> (Client, JoinHandle<()>)
where
    F: FnOnce(TcpStream) + Send + 'static,
{
    pair_on_with("127.0.0.1:0", builder, script)
}

/// [`pair_on`] on 127.0.0.1.
pub fn pair<F>(script: F) -> (Client, JoinHandle<()>)
where
    F: FnOnce(TcpStream) + Send + 'static,
{
    pair_on("127.0.0.1:0", script)
}

/// A peer that writes each chunk, pausing `gap` between them, then closes.
pub fn chunks(parts: Vec<Vec<u8>>, gap: Duration) -> impl FnOnce(TcpStream) + Send + 'static {
    move |mut s| {
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                thread::sleep(gap);
            }
            s.write_all(p).unwrap();
            s.flush().unwrap();
        }
    }
}

/// A peer that writes `data` and keeps the connection open until the
/// client closes it (or [`BOUND`] passes).
pub fn send_and_hold(data: Vec<u8>) -> impl FnOnce(TcpStream) + Send + 'static {
    move |mut s| {
        s.write_all(&data).unwrap();
        let mut sink = [0u8; 64];
        let _ = std::io::Read::read(&mut s, &mut sink);
    }
}

/// Both loopback families, for tests that must hold on each.
pub fn loopbacks() -> [&'static str; 2] {
    ["127.0.0.1:0", "[::1]:0"]
}

pub fn addr_of(l: &TcpListener) -> SocketAddr {
    l.local_addr().unwrap()
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The two loopback hosts, as a client names them.
pub const LOOPBACKS: [&str; 2] = ["127.0.0.1", "::1"];

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

/// How many datagrams of 64 bytes a burst test sends before the reader
/// looks: 2000 where the system lets a socket's queue grow to the 4 MiB
/// asked for (`net.core.rmem_max`), else 150, which the default queue
/// holds (and the test then shows nothing).
pub fn udp_burst() -> u32 {
    let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    if rmem_max >= 1 << 20 {
        2000
    } else {
        150
    }
}

/// A peer that reads nothing until told to, then reads everything until end
/// of stream and returns it. Its receive buffer is kept small (set on the
/// listener, inherited by the accepted stream) so the pipe fills quickly.
pub fn lazy_reader(host: &str) -> (u16, mpsc::Sender<()>, JoinHandle<Vec<u8>>) {
    let (listener, port) = listen(host);
    socket2::SockRef::from(&listener)
        .set_recv_buffer_size(4096)
        .unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let peer = serve_one(listener, move |mut s: TcpStream| {
        // Either the go signal or the test dropping the sender.
        let _ = rx.recv_timeout(BOUND);
        let mut all = Vec::new();
        s.set_read_timeout(Some(BOUND)).unwrap();
        s.read_to_end(&mut all).unwrap();
        all
    });
    (port, tx, peer)
}

/// The process's address space now (`VmSize`).
pub fn address_space_now() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// Sets the soft limit on the process's address space (`ulimit -v`).
pub fn set_address_space_limit(soft: libc::rlim_t) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: one valid rlimit, read then written back.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_AS, &mut r), 0);
        r.rlim_cur = soft.min(r.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_AS, &r), 0);
    }
}

/// `packets` framed for `framing`, back to back.
pub fn framed(framing: renoise_socket::framing::Framing, packets: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in packets {
        renoise_socket::framing::encode_frame(framing, p, &mut out).unwrap();
    }
    out
}

/// Waits (at most [`BOUND`]) until the peer has acknowledged everything
/// `s` sent: on loopback it is then in the receiver's queue, pending there.
pub fn until_acknowledged(s: &TcpStream) {
    use std::os::fd::AsRawFd;
    let start = Instant::now();
    loop {
        let mut n: libc::c_int = 0;
        // SAFETY: TIOCOUTQ writes one c_int through the pointer.
        let r = unsafe { libc::ioctl(s.as_raw_fd(), libc::TIOCOUTQ, &mut n) };
        assert_eq!(r, 0, "TIOCOUTQ failed");
        if n == 0 {
            return;
        }
        assert!(start.elapsed() < BOUND, "{n} bytes never acknowledged");
        thread::sleep(Duration::from_millis(1));
    }
}
