//! The standard I/O traits: [`io::Read`] and [`io::Write`] for [`Client`]
//! and a server's [`Connection`], and [`Error`] as an [`io::Error`], so a client fits where std's streams
//! do (`BufReader`, `io::copy`, `write!`, functions returning
//! `io::Result`).

use crate::framing::Framing;
use crate::{Client, Connection, Error};
use std::borrow::Cow;
use std::fmt;
use std::io;
use std::time::Duration;

/// An [`Error`] as an [`io::Error`] of the nearest kind, with the error
/// itself inside (`get_ref`, `into_inner`); [`Error::Io`] gives back the
/// operating system's error it holds.
///
/// | `Error` | `io::ErrorKind` |
/// | --- | --- |
/// | `Timeout`, `ConnectTimeout`, `ResolveTimeout`, `ResolverBusy`, `SendStalled` | `TimedOut` |
/// | `Disconnected` | `UnexpectedEof` (`BrokenPipe` from `io::Write`) |
/// | `Closed` | `NotConnected` |
/// | `Refused` | `ConnectionRefused` |
/// | `Unreachable` | `HostUnreachable` |
/// | `UnknownHost` | `NotFound` |
/// | `InvalidArgument`, `MessageTooLarge`, `OscEncode` | `InvalidInput` |
/// | `LineTooLong`, `OscDecode`, `Framing` | `InvalidData` |
///
/// ```
/// use renoise_socket::Error;
/// use std::io;
///
/// let e = io::Error::from(Error::Timeout);
/// assert_eq!(e.kind(), io::ErrorKind::TimedOut);
/// assert_eq!(e.to_string(), "timeout");
/// assert!(e.get_ref().unwrap().downcast_ref::<Error>().unwrap().is_timeout());
/// ```
impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        use io::ErrorKind as K;
        let kind = match e {
            Error::Io(inner) => return inner,
            Error::Timeout
            | Error::ConnectTimeout { .. }
            | Error::ResolveTimeout { .. }
            | Error::ResolverBusy { .. }
            | Error::SendStalled { .. } => K::TimedOut,
            Error::Disconnected => K::UnexpectedEof,
            Error::Closed => K::NotConnected,
            Error::Refused { .. } => K::ConnectionRefused,
            // `ErrorKind::HostUnreachable` is newer than our minimum Rust
            // (1.83 against 1.80); std names it from the errno all the same.
            Error::Unreachable { .. } => io::Error::from_raw_os_error(libc::EHOSTUNREACH).kind(),
            Error::UnknownHost { .. } => K::NotFound,
            Error::InvalidArgument(_) | Error::MessageTooLarge { .. } | Error::OscEncode(_) => {
                K::InvalidInput
            }
            Error::LineTooLong | Error::OscDecode(_) | Error::Framing(_) => K::InvalidData,
        };
        io::Error::new(kind, e)
    }
}

impl Client {
    /// How long one [`io::Read::read`] waits for its first byte; `None`
    /// (the default, and `Some(Duration::MAX)`, which reads back as
    /// `None`) waits without a deadline, as a std `TcpStream` does.
    /// `Some(Duration::ZERO)` only looks at what is already pending. When
    /// the time is up, `read` fails with [`io::ErrorKind::TimedOut`] and,
    /// as always, nothing the client holds is lost. std's helpers built on
    /// `read` are another matter: `read_exact` and `read_line` drop the
    /// bytes they had read when a `read` fails (as on any std stream);
    /// [`receive_exact`](Client::receive_exact) and
    /// [`receive_line`](Client::receive_line) keep them for the next call.
    /// The `receive_*` calls take their own timeouts and ignore this one.
    ///
    /// It returns an `io::Result`, as std's `TcpStream::set_read_timeout`
    /// does, so code written for std compiles unchanged; it never fails
    /// (std refuses a zero timeout, which here means "only what is
    /// pending").
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let mut c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// c.set_read_timeout(Some(Duration::from_secs(2)))?;
    /// assert_eq!(c.read_timeout(), Some(Duration::from_secs(2)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.read_timeout = timeout.unwrap_or(Duration::MAX);
        Ok(())
    }

    /// The deadline of one [`io::Read::read`] (see
    /// [`set_read_timeout`](Client::set_read_timeout)).
    ///
    /// ```no_run
    /// let c = renoise_socket::Client::connect("127.0.0.1", 8080)?;
    /// assert_eq!(c.read_timeout(), None);
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn read_timeout(&self) -> Option<Duration> {
        (self.read_timeout != Duration::MAX).then_some(self.read_timeout)
    }
}

/// The byte stream: `read` returns what
/// [`receive_all`](Client::receive_all) would, cut to the caller's buffer
/// (the rest stays buffered for the next call of any kind). It waits as
/// [`set_read_timeout`](Client::set_read_timeout) says. Mixing it with the
/// `receive_*` calls is fine: a `\n` that completes a `\r\n` after
/// `receive_line` returned at the `\r` is dropped here too.
///
/// The end of the stream reads as `Ok(0)`, every time, and, unlike a
/// `receive_*` call (which reports [`Error::Disconnected`] and closes the
/// client), leaves the client open: a peer that only closed its sending
/// side can still be answered, as with a std `TcpStream`. On a server's
/// [`Connection`](crate::Connection) the server, which reads it too,
/// leaves an end read this way to the program: it neither reports nor
/// closes it until the program closes the connection or shuts its own
/// sending side down ([`shutdown_send`](Client::shutdown_send): the
/// exchange is then over, and the server closes it and reports
/// [`Event::Closed`](crate::Event::Closed)). A connection the peer reset
/// fails with `ConnectionReset`, as a std `TcpStream` does (after every
/// byte that came before it; the client is then closed), where a
/// `receive_*` call reports the end. A closed client
/// (by [`close`](Client::close), by an error, or after a `receive_*` call
/// reported the end) fails with `NotConnected`: an error that closed the
/// client never reads as a clean end. On UDP a read returns (part of) one
/// datagram. A client with OSC framing refuses (`Unsupported`): its
/// stream is packets, which [`receive_all`](Client::receive_all) hands out
/// whole. `Read` and `Write` take `&mut self`: to read in one thread and
/// write in another, give the second a clone
/// ([`try_clone`](Client::try_clone)), or share a server's
/// [`Connection`](crate::Connection), which locks.
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// use std::time::Duration;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let mut client = renoise_socket::Client::connect("127.0.0.1", listener.local_addr()?.port())?;
/// let (mut peer, _) = listener.accept()?;
/// peer.write_all(b"one\ntwo\n")?;
/// drop(peer);
/// client.set_read_timeout(Some(Duration::from_secs(5)))?;
/// let lines = BufReader::new(client).lines().collect::<Result<Vec<_>, _>>()?;
/// assert_eq!(lines, ["one", "two"]);
/// # Ok::<(), std::io::Error>(())
/// ```
impl io::Read for Client {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        refuse_framed(self)?;
        // A send found the peer gone with nothing of it unread: the end,
        // every time, as on a std stream; the flag stays for a `receive_*`
        // call to report.
        if self.gone_with_nothing_unread() {
            return Ok(0);
        }
        match self.receive_up_to(buf.len(), self.read_timeout) {
            Ok(bytes) => {
                buf[..bytes.len()].copy_from_slice(bytes);
                Ok(bytes.len())
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Each `write` is one [`send`](Client::send), so `write_all` is one send
/// too, and so is `write!` (the text is formatted first, then sent: one
/// datagram on UDP, not one per piece of the format).
/// A send that fails after writing part of the data (the peer stopped
/// reading for the whole send timeout: [`Error::SendStalled`], which
/// closes the client) returns that part, as `io::Write` requires, and the
/// next `write` the failure (`TimedOut`). A peer that has gone is
/// `BrokenPipe`, as from a std `TcpStream`, for that write; the client is
/// then closed for sending, and later writes fail with `NotConnected`
/// (an empty one too; on an open client it is `Ok(0)` and sends nothing). A
/// peer that stops reading before any of the data went is `TimedOut`
/// after the send timeout, and the client stays open. `flush` has nothing
/// to do: nothing is held back. A client with OSC framing refuses
/// (`Unsupported`): each `write` would be a packet of its own.
///
/// ```
/// use std::io::{Read, Write};
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let mut client = renoise_socket::Client::connect("127.0.0.1", listener.local_addr()?.port())?;
/// let (mut peer, _) = listener.accept()?;
/// write!(client, "{} + {} = {}\n", 1, 2, 1 + 2)?;
/// let mut got = [0; 10];
/// peer.read_exact(&mut got)?;
/// assert_eq!(&got, b"1 + 2 = 3\n");
/// # Ok::<(), std::io::Error>(())
/// ```
impl io::Write for Client {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if let Some(e) = self.write_failure.take() {
            return Err(e.into());
        }
        // Nothing to write is written at once, but only on a client that
        // could: a closed one fails as `send` does, whatever the length.
        if data.is_empty() && self.is_open() {
            return Ok(0);
        }
        refuse_framed(self)?;
        match self.send(data) {
            Ok(()) => Ok(data.len()),
            Err(Error::Disconnected) => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                Error::Disconnected,
            )),
            Err(e @ Error::SendStalled { written, .. }) if written > 0 => {
                self.write_failure = Some(e);
                Ok(written)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    // std's default sends each piece of the format on its own (with
    // TCP_NODELAY, a segment each; on UDP, a datagram each).
    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        self.write_all(formatted(&args).as_bytes())
    }
}

/// The byte stream of a server's connection, as [`Client`]'s (see there),
/// for `Connection` and `&Connection` (as std has it for `TcpStream` and
/// `&TcpStream`), so a handle can go into a `BufReader` or `io::copy`
/// without holding a guard. Each call locks the client for its duration;
/// set the read timeout through [`lock`](Connection::lock). The server
/// reads its connections too, while it polls: bytes go to whichever
/// reads first, never to both (see [`Connection`]).
///
/// **One lock, unlike `&TcpStream`.** Reading and writing share the
/// client's lock, so a `read` that waits holds back every write to that
/// connection from other threads (and [`Connection::send`]) until it
/// returns. A thread that reads while others answer should set a short
/// read timeout and retry on `TimedOut` (nothing is lost), or leave the
/// reading to the server's [`Event::Message`](crate::Event::Message)s, or
/// the others answer through a clone ([`Client::try_clone`]).
///
/// ```
/// use renoise_socket::{Event, Protocol, Server};
/// use std::io::{BufRead, BufReader, Write};
/// use std::time::Duration;
///
/// let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp)?;
/// let mut peer = std::net::TcpStream::connect(server.local_addr())?;
/// let conn = loop {
///     let events = server.poll(Duration::from_secs(5))?;
///     if let Some(Event::Accepted(c)) = events.into_iter().next() { break c; }
/// };
/// conn.lock().set_read_timeout(Some(Duration::from_secs(5)))?;
/// peer.write_all(b"ping\n")?;
/// let mut line = String::new();
/// BufReader::new(&conn).read_line(&mut line)?;
/// assert_eq!(line, "ping\n");
/// writeln!(&conn, "pong")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl io::Read for &Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.lock().read(buf)
    }
}

/// As for `&Connection`.
///
/// ```no_run
/// # fn f(mut conn: renoise_socket::Connection) -> std::io::Result<()> {
/// use std::io::Read;
/// let mut request = Vec::new();
/// conn.read_to_end(&mut request)?;
/// # Ok(()) }
/// ```
impl io::Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

/// Each `write` is one [`send`](Client::send) on the connection, as for
/// [`Client`] (see there); it locks the client for its duration.
///
/// ```no_run
/// # fn f(conn: renoise_socket::Connection) -> std::io::Result<()> {
/// use std::io::Write;
/// writeln!(&conn, "{}", 42)?;
/// # Ok(()) }
/// ```
impl io::Write for &Connection {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.lock().write(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    // One lock for all of it: writes from several threads never
    // interleave inside one `write_all` or `write!`.
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.lock().write_all(data)
    }

    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        self.lock().write_fmt(args)
    }
}

/// As for `&Connection`.
///
/// ```no_run
/// # fn f(mut conn: renoise_socket::Connection) -> std::io::Result<()> {
/// use std::io::Write;
/// conn.write_all(b"reply")?;
/// # Ok(()) }
/// ```
impl io::Write for Connection {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        (&*self).write(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        (&*self).write_all(data)
    }

    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        (&*self).write_fmt(args)
    }
}

/// The text of a format, borrowed when it has no arguments.
fn formatted<'a>(args: &fmt::Arguments<'a>) -> Cow<'a, str> {
    match args.as_str() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(fmt::format(*args)),
    }
}

fn refuse_framed(client: &Client) -> io::Result<()> {
    match client.framing() {
        Framing::None => Ok(()),
        f => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("a client with {f} framing reads and writes whole packets: use receive_all and send"),
        )),
    }
}
