//! The `mio` loop behind [`Server`](super::Server): readiness, fair and
//! bounded reads, accepting.
//!
//! `mio` is edge-triggered: a socket is reported once when data arrives,
//! not as long as data is there. So a reported socket is kept in a queue
//! until a read finds nothing (`receive_all` with a zero timeout gives
//! [`Error::Timeout`] having read all that was pending). A framed
//! connection's `receive_all` may also stop with bytes still queued (a
//! peer sending empty frames faster than they are read); it stays queued
//! then. Client sockets are
//! blocking sockets (their timed reads `poll` or use `SO_RCVTIMEO`); that is fine
//! for `epoll`, and the zero-timeout reads never block.
//!
//! One *round* is one `epoll_wait` plus at most one read per queued
//! connection, in queue order (with framing, every whole packet that read
//! brought in is handed out, from the buffer), and at most
//! [`ROUND_READS`] reads, [`ROUND_BYTES`] bytes, [`ROUND_ACCEPTS`] accepts
//! and [`ROUND_DATAGRAMS`] datagrams per socket. A connection that gave data
//! goes to the back of the queue, so a fast peer takes one turn like
//! everyone else, a round's work is bounded (so is the overrun of a
//! deadline), and — since a connection is read at most once per round —
//! a program that handles a round's messages before the next round can
//! still answer a peer that sent its request and then shut down its
//! writing side: the end of that stream is seen only in a later round.
//! A connection is first read in the round after the one that accepted
//! it, so its `Accepted` is handed over before any of its bytes are taken.
//!
//! Descriptors are never deregistered: a client closes its socket itself
//! (on `close()` or at the end of the stream), which removes it from the
//! `epoll` set, and the number may at once be reused by a new connection.
//! Deregistering by number afterwards could remove *that* connection, so
//! the loop just forgets closed connections. Tokens are never reused, so a
//! stale readiness report cannot reach a new connection. Dropping the loop
//! drops the `epoll` instance with every registration.

use super::{Connection, Event, Interrupter, Peer, UdpPeer};
use crate::{Client, ClientBuilder, Error, Protocol};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use socket2::Socket;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::mem::MaybeUninit;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most reads (TCP chunks and datagrams) in one round.
pub(crate) const ROUND_READS: usize = 1024;
/// Most bytes read in one round.
pub(crate) const ROUND_BYTES: usize = 4 << 20;
/// Most connections accepted per listening socket in one round.
pub(crate) const ROUND_ACCEPTS: usize = 256;
/// Most datagrams read per UDP socket in one round.
pub(crate) const ROUND_DATAGRAMS: usize = 256;
/// How soon a connection that was locked by someone else is looked at again.
const RETRY_LOCKED: Duration = Duration::from_millis(5);
/// How long a connection's reads must have found nothing before its
/// receive buffer goes back: a quiet connection holds none (thousands of
/// quiet peers would cost 64 KiB each), while one that talks keeps its
/// buffer from message to message instead of allocating it again for each.
const IDLE_BUFFER_RELEASE: Duration = Duration::from_secs(1);
/// How long accepting pauses after it failed (too many open files, ...),
/// instead of spinning on a connection it cannot take.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Readiness reports fetched per `epoll_wait`.
const EVENTS_CAPACITY: usize = 1024;
/// Tokens below this are bound sockets (their index); connections get
/// increasing tokens from here, never reused.
const FIRST_CONNECTION: usize = 1 << 16;
/// The token of the [`Interrupter`]'s wake-ups.
const WAKE: Token = Token(usize::MAX);
/// Room for the largest UDP payload.
const MAX_DATAGRAM: usize = 65536;

struct Listener {
    sock: TcpListener,
    /// Reported readable and not drained yet.
    ready: bool,
    /// Accepting failed: try again from then on.
    retry_at: Option<Instant>,
    /// An accept error was reported and none succeeded since (report once).
    failing: bool,
}

struct Datagrams {
    sock: Arc<super::udp_peer::Shared>,
    local: SocketAddr,
    /// `local` as the server reports it.
    shown: SocketAddr,
    ready: bool,
}

struct Entry {
    conn: Connection,
    /// In `ready` or `deferred`.
    queued: bool,
    /// When a read last caught up with the peer, while its buffer may
    /// still be held (see [`IDLE_BUFFER_RELEASE`]).
    drained_at: Option<Instant>,
}

/// What reading a connection once gave.
enum Outcome {
    Data,
    /// Nothing to hand out, but the read stopped before the kernel's
    /// queue was empty: read again next round.
    Again,
    Drained,
    Locked,
    Gone,
}

pub(crate) struct EventLoop {
    poll: Poll,
    events: Events,
    listeners: Vec<Listener>,
    udp: Vec<Datagrams>,
    conns: HashMap<usize, Entry>,
    /// Connections that may have data, in turn order.
    ready: VecDeque<usize>,
    /// Connections that were locked by someone else: retried next round.
    deferred: Vec<usize>,
    /// Connections accepted this round: read from the next round on, so
    /// that their `Accepted` is handed over before any of their bytes are
    /// taken out of the socket (a program may read a new connection
    /// itself, in `socket_accepted`, and must get its first bytes then).
    fresh: Vec<usize>,
    next_token: usize,
    opts: ClientBuilder,
    datagram: Vec<u8>,
    waker: Arc<Waker>,
    /// An [`Interrupter`] woke the last `epoll_wait`; taken by the call it
    /// ends.
    interrupted: bool,
    /// Whether connections are read at all (see
    /// [`Server::read_connections`](super::Server::read_connections)).
    reading: bool,
}

impl EventLoop {
    /// A loop over bound sockets (see `bind.rs`), registered for reading.
    /// `every_interface`: bound with no address (see
    /// [`Server::local_address`](crate::Server::local_address)).
    pub(crate) fn new(
        socks: Vec<(Socket, SocketAddr)>,
        protocol: Protocol,
        opts: ClientBuilder,
        every_interface: bool,
    ) -> io::Result<EventLoop> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
        let mut lp = EventLoop {
            poll,
            events: Events::with_capacity(EVENTS_CAPACITY),
            listeners: Vec::new(),
            udp: Vec::new(),
            conns: HashMap::new(),
            ready: VecDeque::new(),
            deferred: Vec::new(),
            fresh: Vec::new(),
            next_token: FIRST_CONNECTION,
            datagram: Vec::new(),
            opts,
            waker,
            interrupted: false,
            reading: true,
        };
        for (i, (sock, local)) in socks.into_iter().enumerate() {
            lp.poll.registry().register(
                &mut SourceFd(&sock.as_raw_fd()),
                Token(i),
                Interest::READABLE,
            )?;
            match protocol {
                Protocol::Tcp => lp.listeners.push(Listener {
                    sock: sock.into(),
                    ready: true,
                    retry_at: None,
                    failing: false,
                }),
                Protocol::Udp => {
                    sock.set_write_timeout(lp.opts.send_timeout)?;
                    lp.udp.push(Datagrams {
                        sock: super::udp_peer::Shared::new(sock),
                        local,
                        shown: super::socket_server::reported_addr(local, every_interface),
                        ready: true,
                    });
                    lp.datagram = vec![0; MAX_DATAGRAM];
                }
            }
        }
        Ok(lp)
    }

    pub(crate) fn interrupter(&self) -> Interrupter {
        Interrupter::new(self.waker.clone())
    }

    /// True once after a round that an [`Interrupter::interrupt`] woke.
    pub(crate) fn take_interrupt(&mut self) -> bool {
        std::mem::take(&mut self.interrupted)
    }

    /// Turns the reading of connections off or on. Back on, every
    /// connection is queued: readiness is reported once (edge-triggered),
    /// and reports that came while reading was off were dropped.
    pub(crate) fn set_reading(&mut self, on: bool) {
        if on && !self.reading {
            for (&t, e) in self.conns.iter_mut() {
                if !e.queued {
                    e.queued = true;
                    self.ready.push_back(t);
                }
            }
        }
        self.reading = on;
    }

    /// Connections the server watches.
    pub(crate) fn connections(&self) -> impl Iterator<Item = &Connection> {
        self.conns.values().map(|e| &e.conn)
    }

    /// Start of a `poll` / `wait` call: forgets connections closed since the
    /// last call, and queues those whose buffer the program left data in.
    /// It also frees the buffers of connections quiet for
    /// [`IDLE_BUFFER_RELEASE`].
    pub(crate) fn sweep(&mut self, out: &mut Vec<Event>) {
        let mut gone = Vec::new();
        let mut now = None;
        for (&t, e) in self.conns.iter_mut() {
            if e.queued {
                continue;
            }
            let idle = e.drained_at.is_some_and(|at| {
                let now = *now.get_or_insert_with(Instant::now);
                now.saturating_duration_since(at) >= IDLE_BUFFER_RELEASE
            });
            // A connection closed for sending (its peer went while the
            // program sent) keeps its socket and is still read to its end;
            // one without a socket is gone (whatever end it has yet to
            // report to a receive of the program's).
            let drained_at = &mut e.drained_at;
            let state = e.conn.try_lock().map(|mut c| {
                let open = c.raw_fd().is_some();
                // (A connection a failed reply closed kept its buffer.)
                if idle || !open {
                    c.release_idle_buffer();
                }
                // (A buffer the program has yet to empty is looked at again.)
                if idle && c.buffer_capacity() == 0 {
                    *drained_at = None;
                }
                (open, c.has_unread())
            });
            match state {
                None => {
                    e.queued = true;
                    self.deferred.push(t);
                }
                Some((false, _)) => gone.push(t),
                Some((true, true)) if self.reading => {
                    e.queued = true;
                    self.ready.push_back(t);
                }
                Some((true, _)) => {}
            }
        }
        for t in gone {
            if let Some(e) = self.conns.remove(&t) {
                out.push(Event::Closed(e.conn));
            }
        }
    }

    /// Connections accepted by the last round are waiting for their first
    /// read.
    pub(crate) fn has_fresh(&self) -> bool {
        !self.fresh.is_empty()
    }

    fn has_work(&self) -> bool {
        !self.ready.is_empty()
            || !self.fresh.is_empty()
            || self.udp.iter().any(|d| d.ready)
            || self
                .listeners
                .iter()
                .any(|l| l.ready && l.retry_at.is_none())
    }

    /// One round (see the module documentation). `limit` is the longest
    /// `epoll_wait` may block when nothing is ready (`None`: no limit).
    /// Returns the number of bytes read, or `None` when the event loop
    /// itself failed (reported in `out`): the caller must stop.
    pub(crate) fn round(&mut self, limit: Option<Duration>, out: &mut Vec<Event>) -> Option<usize> {
        let mut block = if self.has_work() {
            Some(Duration::ZERO)
        } else {
            limit
        };
        let mut cap = |d: Duration| block = Some(block.map_or(d, |b| b.min(d)));
        if !self.deferred.is_empty() {
            cap(RETRY_LOCKED);
        }
        if let Some(at) = self.listeners.iter().filter_map(|l| l.retry_at).min() {
            cap(at.saturating_duration_since(Instant::now()));
        }
        match self.poll.poll(&mut self.events, block) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                out.push(Event::Error(Error::os("server event loop failed", e)));
                return None;
            }
        }
        for ev in self.events.iter() {
            let t = ev.token().0;
            if ev.token() == WAKE {
                self.interrupted = true;
            } else if t < FIRST_CONNECTION {
                if let Some(l) = self.listeners.get_mut(t) {
                    l.ready = true;
                } else if let Some(d) = self.udp.get_mut(t) {
                    d.ready = true;
                }
            } else if let Some(e) = self.conns.get_mut(&t) {
                if !e.queued {
                    e.queued = true;
                    self.ready.push_back(t);
                }
            }
        }
        self.ready.extend(self.deferred.drain(..));
        self.ready.extend(self.fresh.drain(..));
        let mut budget = Budget {
            reads: ROUND_READS,
            bytes: ROUND_BYTES,
        };
        self.accept(out);
        self.receive_datagrams(out, &mut budget);
        self.read_connections(out, &mut budget);
        Some(ROUND_BYTES.saturating_sub(budget.bytes))
    }

    fn accept(&mut self, out: &mut Vec<Event>) {
        for i in 0..self.listeners.len() {
            let Some(l) = self.listeners.get_mut(i) else {
                break;
            };
            if !l.ready {
                continue;
            }
            if let Some(at) = l.retry_at {
                if Instant::now() < at {
                    continue;
                }
                l.retry_at = None;
            }
            for _ in 0..ROUND_ACCEPTS {
                let Some(l) = self.listeners.get_mut(i) else {
                    break;
                };
                match l.sock.accept() {
                    Ok((stream, peer)) => {
                        l.failing = false;
                        self.adopt(stream, peer, out);
                    }
                    Err(e) => match e.kind() {
                        io::ErrorKind::WouldBlock => {
                            l.ready = false;
                            break;
                        }
                        // The peer gave up before we took it: next one.
                        io::ErrorKind::Interrupted
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset => {}
                        _ if e.raw_os_error() == Some(libc::EPROTO) => {}
                        _ => {
                            // EMFILE and friends: the connection stays in
                            // the queue; pause instead of spinning on it.
                            if !l.failing {
                                l.failing = true;
                                out.push(Event::Error(Error::os("cannot accept a connection", e)));
                            }
                            l.retry_at = Some(Instant::now() + ACCEPT_BACKOFF);
                            break;
                        }
                    },
                }
            }
        }
    }

    /// Makes an accepted stream a watched [`Connection`].
    fn adopt(&mut self, stream: std::net::TcpStream, peer: SocketAddr, out: &mut Vec<Event>) {
        // The address from accept: a connection the peer has reset since
        // has no peer address any more, but still holds what it sent.
        let client = match self.opts.wrap_accepted(stream, Some(peer)) {
            Ok(c) => c,
            Err(Error::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotConnected
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::InvalidInput
                ) =>
            {
                // A setting or the local address that a connection gone
                // before we got to it no longer gives (on Linux a reset one
                // still does, and its data is read): nothing to report.
                return;
            }
            Err(e) => {
                out.push(Event::Error(e));
                return;
            }
        };
        let Some(fd) = client.raw_fd() else {
            return;
        };
        let token = self.next_token;
        self.next_token += 1;
        if let Err(e) =
            self.poll
                .registry()
                .register(&mut SourceFd(&fd), Token(token), Interest::READABLE)
        {
            out.push(Event::Error(Error::os("cannot watch a new connection", e)));
            return;
        }
        let conn = Connection::new(client);
        self.conns.insert(
            token,
            Entry {
                conn: conn.clone(),
                queued: true,
                drained_at: None,
            },
        );
        // Data may have come with the connection: read it next round.
        self.fresh.push(token);
        out.push(Event::Accepted(conn));
    }

    fn receive_datagrams(&mut self, out: &mut Vec<Event>, budget: &mut Budget) {
        let EventLoop { udp, datagram, .. } = self;
        for d in udp.iter_mut().filter(|d| d.ready) {
            for _ in 0..ROUND_DATAGRAMS {
                if budget.spent() {
                    return;
                }
                match recv_from_now(&d.sock.sock, datagram) {
                    Ok((n, from)) => {
                        budget.take(n);
                        let Some(data) = datagram.get(..n) else {
                            continue;
                        };
                        out.push(Event::Message {
                            from: Peer::Udp(UdpPeer::new(
                                Arc::downgrade(&d.sock),
                                d.local,
                                d.shown,
                                from,
                            )),
                            data: data.to_vec(),
                        });
                    }
                    Err(e) => match e.kind() {
                        io::ErrorKind::WouldBlock => {
                            d.ready = false;
                            break;
                        }
                        io::ErrorKind::Interrupted => {}
                        // An ICMP error for an earlier reply: not ours to
                        // report as a server error.
                        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset => {
                            budget.take(0);
                        }
                        _ => {
                            out.push(Event::Error(Error::Io(e)));
                            d.ready = false;
                            break;
                        }
                    },
                }
            }
        }
    }

    fn read_connections(&mut self, out: &mut Vec<Event>, budget: &mut Budget) {
        if !self.reading {
            // The bytes are the program's; only a connection whose peer
            // has ended it with nothing left to read is read (for its end,
            // so it closes and is reported as when reading). The rest are
            // queued again when reading is back on.
            // A locked one is looked at again next round, as when
            // reading: its readiness was reported once, and its end
            // would not be reported again.
            let conns = &mut self.conns;
            let deferred = &mut self.deferred;
            self.ready.retain(|&t| {
                let Some(e) = conns.get_mut(&t) else {
                    return false;
                };
                let Some(c) = e.conn.try_lock() else {
                    deferred.push(t);
                    return false;
                };
                let ended = c.is_open() && !c.is_connected();
                drop(c);
                e.queued = ended;
                ended
            });
        }
        // One clock reading for the pass's drained connections (a second
        // is the scale that matters).
        let mut now = None;
        // Only the connections queued when the pass starts: one read each.
        for _ in 0..self.ready.len() {
            if budget.spent() {
                return;
            }
            let Some(t) = self.ready.pop_front() else {
                return;
            };
            let Some(conn) = self.conns.get(&t).map(|e| e.conn.clone()) else {
                continue;
            };
            let outcome = match conn.try_lock() {
                None => Outcome::Locked,
                Some(client) if client.ended_for_server() => Outcome::Drained,
                Some(mut client) => {
                    let mut got = client.copied(|c| c.receive_all(Duration::ZERO), Vec::new());
                    loop {
                        let outcome = took(got, &conn, &mut client, budget, out);
                        if !matches!(outcome, Outcome::Data) || budget.spent() {
                            break outcome;
                        }
                        // With framing a read gives one packet, but may have
                        // brought in more: hand them all out now (no more
                        // reads, so the end of the stream still waits for a
                        // later round), or `wait(0)` would give one packet
                        // per call. A broken frame among them waits for the
                        // next round too, so the packets before it can be
                        // answered on an open connection.
                        // (`Timeout`: no whole packet is buffered.)
                        got = match client
                            .copied(|c| c.buffered_packet().ok_or(Error::Timeout), Vec::new())
                        {
                            Err(Error::Timeout) => break outcome,
                            got => got,
                        };
                    }
                }
            };
            match outcome {
                Outcome::Data | Outcome::Again => self.ready.push_back(t),
                Outcome::Locked => self.deferred.push(t),
                Outcome::Drained => {
                    if let Some(e) = self.conns.get_mut(&t) {
                        e.queued = false;
                        e.drained_at = Some(*now.get_or_insert_with(Instant::now));
                    }
                }
                Outcome::Gone => {
                    self.conns.remove(&t);
                    out.push(Event::Closed(conn));
                }
            }
        }
    }

    /// Closes every connection nobody else holds right now; the rest are
    /// being used and stay open, no longer watched.
    pub(crate) fn close_connections(&mut self) {
        for e in self.conns.values() {
            if let Some(mut c) = e.conn.try_lock() {
                c.close();
            }
        }
        self.conns.clear();
        self.ready.clear();
        self.deferred.clear();
        self.fresh.clear();
    }
}

/// Reports what one read of a connection gave.
fn took(
    got: Result<Vec<u8>, Error>,
    conn: &Connection,
    client: &mut Client,
    budget: &mut Budget,
    out: &mut Vec<Event>,
) -> Outcome {
    match got {
        Ok(data) => {
            budget.take(data.len());
            out.push(Event::Message {
                from: Peer::Tcp(conn.clone()),
                data,
            });
            Outcome::Data
        }
        Err(Error::Timeout) => match client.stopped_early() {
            // Bytes kept coming (empty frames, or a frame not yet whole).
            Some(read) => {
                budget.take(read);
                Outcome::Again
            }
            None => {
                // Caught up with the peer: a buffer that grew while the
                // server was behind goes back at once (a connection that
                // keeps up never grows one); the rest of it once the
                // connection has been quiet a while (see `sweep`).
                client.release_grown_buffer();
                Outcome::Drained
            }
        },
        Err(e) => {
            match e {
                Error::Disconnected => conn.set_ended_by_peer(),
                Error::Closed => {}
                e => {
                    // The read error ended the connection too.
                    if !client.can_receive() {
                        conn.set_ended_by_peer();
                    }
                    out.push(Event::Error(naming_peer(e, conn.peer_addr())))
                }
            }
            if client.can_receive() {
                Outcome::Drained
            } else {
                Outcome::Gone
            }
        }
    }
}

/// Adds the peer to a connection's error message: `socket_error` gets only
/// the message.
fn naming_peer(e: Error, peer: SocketAddr) -> Error {
    match e {
        Error::Io(e) => Error::Io(io::Error::new(e.kind(), format!("{e} (from {peer})"))),
        Error::Framing(m) => Error::Framing(format!("{m} (from {peer})")),
        e => e,
    }
}

/// What one round may still do.
struct Budget {
    reads: usize,
    bytes: usize,
}

impl Budget {
    fn take(&mut self, bytes: usize) {
        self.reads = self.reads.saturating_sub(1);
        self.bytes = self.bytes.saturating_sub(bytes);
    }

    fn spent(&self) -> bool {
        self.reads == 0 || self.bytes == 0
    }
}

/// `recvfrom` with `MSG_DONTWAIT` on the blocking UDP socket.
fn recv_from_now(sock: &Socket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and recvfrom only
    // ever writes initialised bytes into the slice.
    let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    let (n, from) = sock.recv_from_with_flags(uninit, libc::MSG_DONTWAIT)?;
    let from = from
        .as_socket()
        .ok_or_else(|| io::Error::other("datagram from a non-IP address"))?;
    Ok((n, from))
}

/// The UDP sockets close with the loop, even while other threads reply
/// through their senders (see [`super::udp_peer::close_shared`]).
impl Drop for EventLoop {
    fn drop(&mut self) {
        let bound = self.opts.send_timeout.unwrap_or(Duration::from_secs(10));
        for d in self.udp.drain(..) {
            super::udp_peer::close_shared(d.sock, bound);
        }
    }
}
