//! From `address` and `port` to bound sockets.
//!
//! - No address: every interface. One dual-stack IPv6 socket (`[::]`,
//!   `IPV6_V6ONLY` off) so IPv4 and IPv6 peers both reach it; IPv4 peers
//!   are reported as plain IPv4 addresses. Where IPv6 is unavailable,
//!   `0.0.0.0`.
//! - An IP literal (`"127.0.0.1"`, `"::1"`, `"[::1]"`): that address.
//! - A name (`"localhost"`): every address it resolves to, IPv4 first, all
//!   on the same port. A UDP client connecting to `"localhost"` uses the
//!   first address its resolver returns, which may be `::1`, so binding
//!   only one of them would lose its datagrams. Addresses after the first
//!   that cannot be bound are skipped.
//!
//! TCP sockets get `SO_REUSEADDR`, so a port is free again the moment the
//! server closes even while old connections linger in `TIME_WAIT`. (Linux
//! still refuses a second *listening* socket on the same port.) UDP
//! sockets do not: on Linux it would let two servers share one port and
//! split its datagrams, and a closed UDP socket leaves nothing behind.

use crate::{Error, Protocol, Result};
use socket2::{Domain, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

/// Binds as the module documentation says; returns each socket with its
/// local address. TCP sockets are listening and non-blocking; UDP sockets
/// are blocking (the loop reads them with `MSG_DONTWAIT`).
pub(crate) fn bind(
    address: Option<&str>,
    port: u16,
    protocol: Protocol,
    backlog: i32,
) -> Result<Vec<(Socket, SocketAddr)>> {
    let (addrs, first_only) = match address {
        None => (
            vec![
                SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            ],
            true,
        ),
        Some(a) => (resolve(a, port)?, false),
    };
    let mut bound: Vec<(Socket, SocketAddr)> = Vec::new();
    let mut first_err = None;
    for mut addr in addrs {
        if let Some((_, local)) = bound.first() {
            if first_only {
                break;
            }
            // Port 0: the others share the port the first one got.
            addr.set_port(local.port());
        }
        match open(addr, protocol, backlog) {
            Ok(pair) => bound.push(pair),
            Err(e) => {
                let in_use = e.kind() == io::ErrorKind::AddrInUse;
                first_err.get_or_insert_with(|| bind_error(addr, e));
                // A port in use on `[::]` is in use on `0.0.0.0` too.
                if first_only && in_use {
                    break;
                }
            }
        }
    }
    if bound.is_empty() {
        return Err(
            first_err.unwrap_or_else(|| Error::InvalidArgument("no address to bind to".into()))
        );
    }
    Ok(bound)
}

fn bind_error(addr: SocketAddr, e: io::Error) -> Error {
    Error::os(format_args!("cannot bind {addr}"), e)
}

/// Resolves a bind address; see the module documentation.
fn resolve(address: &str, port: u16) -> Result<Vec<SocketAddr>> {
    let name = address
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(address);
    if name.is_empty() {
        return Err(Error::InvalidArgument(
            "address must not be empty (leave it out to listen on every interface)".into(),
        ));
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let unknown = || Error::UnknownHost {
        host: address.to_string(),
    };
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for a in (name, port).to_socket_addrs().map_err(|_| unknown())? {
        if !addrs.contains(&a) {
            addrs.push(a);
        }
    }
    if addrs.is_empty() {
        return Err(unknown());
    }
    addrs.sort_by_key(SocketAddr::is_ipv6);
    Ok(addrs)
}

/// The kernel queue a UDP server asks for. Callbacks run only inside
/// `wait`, so datagrams that arrive while the program does anything else
/// (its callbacks included) wait in the kernel, whose default queue (208 KiB
/// on Linux: a few hundred small datagrams, each charged with its buffer
/// overhead) a fast sender fills in a millisecond; what does not fit is
/// dropped. The kernel caps the request at `net.core.rmem_max`.
const UDP_RECEIVE_QUEUE: usize = 4 << 20;

/// Asks for [`UDP_RECEIVE_QUEUE`], unless the queue is already larger; a
/// refusal leaves the kernel's default, which works, only with less room.
fn grow_receive_queue(sock: &Socket) {
    if sock.recv_buffer_size().is_ok_and(|n| n < UDP_RECEIVE_QUEUE) {
        let _ = sock.set_recv_buffer_size(UDP_RECEIVE_QUEUE);
    }
}

fn open(addr: SocketAddr, protocol: Protocol, backlog: i32) -> io::Result<(Socket, SocketAddr)> {
    let ty = match protocol {
        Protocol::Tcp => Type::STREAM,
        Protocol::Udp => Type::DGRAM,
    };
    let sock = Socket::new(Domain::for_address(addr), ty, None)?;
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        sock.set_only_v6(false)?;
    }
    if protocol == Protocol::Tcp {
        sock.set_reuse_address(true)?;
    } else {
        grow_receive_queue(&sock);
    }
    sock.bind(&addr.into())?;
    if protocol == Protocol::Tcp {
        sock.listen(backlog)?;
        sock.set_nonblocking(true)?;
    }
    let local = sock
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("not an IP socket"))?;
    Ok((sock, crate::client::canonical(local)))
}
