//! # renoise-socket
//!
//! Renoise's blocking `SocketClient` (and its server and OSC), as a Rust
//! library: read a line, whatever is pending, or exactly n bytes, with
//! timeouts that never lose data.
//!
//! ```no_run
//! use renoise_socket::Client;
//! use std::time::Duration;
//!
//! let mut client = Client::connect("127.0.0.1", 8080)?;
//! client.send(b"GET / HTTP/1.0\r\n\r\n")?;
//! let status = client.receive_line(Duration::from_secs(1))?.to_vec();
//! println!("{}", String::from_utf8_lossy(&status));
//! # Ok::<(), renoise_socket::Error>(())
//! ```
//!
//! ## Contents
//! - [`Client`], built by [`Client::connect`] or a [`ClientBuilder`]:
//!   `receive_line`, `receive_all`, `receive_exact` (or [`Client::receive`]
//!   with a [`Mode`]; `receive_buffered` takes only what is already
//!   buffered; `give_back` returns a result whose copy failed), `send`,
//!   `close`, `shutdown_send` (a TCP half-close), `try_clone` (send from
//!   one thread while another receives), and the address properties.
//! - [`Server`] ([`ServerBuilder`]): TCP and UDP servers whose activity
//!   comes back as [`Event`]s; accepted connections are full clients
//!   ([`Connection`]), UDP senders can be answered ([`UdpPeer`]).
//! - [`osc`]: OSC messages and bundles; [`framing`]: SLIP and size-prefix
//!   framing of OSC packets over TCP.
//! - [`Error`]: the one error type. `Error::Timeout` and
//!   `Error::Disconnected` display exactly as `"timeout"` and
//!   `"disconnected"`. It converts into an [`std::io::Error`] of the
//!   nearest kind.
//! - `std::io::Read` and `std::io::Write` for [`Client`] (and a server's
//!   [`Connection`]): a byte stream
//!   for `BufReader`, `io::copy` and `write!`, with
//!   [`Client::set_read_timeout`].
//!
//! ## Behaviour
//! The contract is Renoise's `SocketClient` reference as pinned down by the
//! project's `SEMANTICS.md`. Where both are silent, this crate decides:
//!
//! - **Timeouts.** One deadline per call, not per read. `Duration::ZERO`
//!   only looks at what is already pending and never blocks;
//!   `Duration::MAX` waits without a deadline (like std's blocking reads,
//!   the kernel then arms no timer for the wait). A wait shorter than a
//!   second keeps to the millisecond (it polls first: the kernel counts a
//!   socket's own timeout in scheduler ticks, 4 ms or more); a longer one
//!   blocks in one `recv` and may end a tick late. A timeout leaves
//!   everything read so far buffered; the socket stays open.
//! - **Lines.** `\n`, `\r\n` and a lone `\r` end a line; the terminator is
//!   not returned; bytes are returned as they are (no UTF-8 check). A line
//!   ending in `\r` is returned as soon as the `\r` is there; if the next
//!   byte to arrive is `\n` it belongs to that `\r\n` and is dropped,
//!   whatever mode reads next, so results never depend on how TCP cut the
//!   stream. A line longer than the maximum line length (16 MiB by default)
//!   gives [`Error::LineTooLong`], consumes nothing and keeps the socket
//!   open, so the data can be read with `receive_all` or `receive_exact`.
//!   A receive buffer that cannot grow (a process under `ulimit -v`) is an
//!   [`Error::Io`] of kind `OutOfMemory` that likewise keeps the socket and
//!   what is buffered.
//! - **All.** The buffer plus what one read finds pending, never empty, at
//!   most 64 KiB (the all-chunk size if smaller) per call; a zero-timeout
//!   call whose read finds data 5 ms or more after the last that returned
//!   data (a program polling from a timer) reads on and returns all that is
//!   pending, up to the all-chunk size (64 KiB by default, 1 MiB at
//!   most). UDP: the rest of
//!   the current datagram, or the next one; empty datagrams are skipped
//!   (those that arrive between two receives wait in a kernel queue the
//!   client asks to be 4 MiB, as a server does). With [`framing`] on,
//!   exactly one whole packet.
//! - **End of stream.** Every remaining byte is delivered first (an
//!   unterminated last line is a line, a short last record is returned),
//!   then [`Error::Disconnected`], and the client is closed. A connection
//!   reset counts as the end of the stream (`std::io::Read` alone reports
//!   it as `ConnectionReset`, as std does). UDP never reports it.
//! - **Send.** TCP writes everything or fails, and never raises `SIGPIPE`.
//!   A peer that stops reading fails the call after the send timeout
//!   (10 s) without progress: [`Error::Timeout`] if nothing was written
//!   (the socket stays open), [`Error::SendStalled`] if part was (the
//!   stream is broken, the socket closes). A peer that has gone gives
//!   [`Error::Disconnected`] and closes the client for sending; what the
//!   peer sent before stays receivable ([`Client::can_receive`]). UDP sends one datagram; a
//!   message too large for one is [`Error::MessageTooLarge`] (the socket
//!   closes, as after any error but a timeout); an ICMP port unreachable
//!   is [`Error::Refused`] and leaves the socket open.
//! - **Connect.** Names go through the system resolver; resolving and
//!   trying every address in order share one connect timeout (default
//!   1000 ms; zero is taken as 1 ms; a resolver that does not answer in
//!   time is [`Error::ResolveTimeout`]; while 16 lookups that timed out
//!   are unfinished in the process, [`Error::ResolverBusy`] at once). Each address gets an equal share
//!   of the time left, at least 500 ms (or all that is left), so one that
//!   never answers leaves the next time to; [`Error::ConnectTimeout`]
//!   names the first that did not answer. A UDP client cannot tell which
//!   address has a server (connecting sends nothing): it takes the name's
//!   first IPv4 address, else its first IPv6 one. `TCP_NODELAY` is on by default.
//!   A connection that met itself (a free port of the local ephemeral
//!   range, which the kernel may pick as the local port too) is
//!   [`Error::Refused`]; a UDP client that got the port it sends to as its
//!   own takes another one.
//! - **Memory.** The receive buffer is allocated on the first read that
//!   finds something or that waits (a quiet connection polled with a zero
//!   timeout, as a server's new connections are, holds none) and grows only as far as the longest line, the largest `n` or one chunk
//!   require, or, with [`ClientBuilder::read_ahead`] (off by default; the
//!   Lua module's default is 1 MiB), up to the read-ahead size for a
//!   program that falls behind its sender and takes lines or records.
//! - **Platforms.** Built and tested on Linux. It compiles for macOS and
//!   FreeBSD too (checked, not run there: no epoll, so an idle client
//!   polled with a zero timeout asks `poll`); Windows is not supported.

#![warn(missing_docs)]

mod buffer;
mod builder;
mod client;
mod connect;
mod error;
pub mod framing;
mod mode;
pub mod osc;
mod protocol;
mod server;
mod std_io;
mod wait;
mod watch;

pub use builder::{
    ClientBuilder, DEFAULT_ALL_CHUNK_SIZE, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_LINE_LENGTH,
    DEFAULT_MAX_RECEIVE_SIZE, DEFAULT_READ_AHEAD, DEFAULT_SEND_TIMEOUT,
};
pub use client::{address_text, socket_address_text, Client};
pub use error::{Error, Result};
pub use mode::Mode;
pub use protocol::Protocol;
pub use server::{Connection, Event, Interrupter, Peer, Server, ServerBuilder, UdpPeer};

/// The README's Rust example, compiled with the doctests (not run: it
/// needs the network).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExample;
