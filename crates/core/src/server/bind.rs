//! From `address` and `port` to bound sockets.
//!
//! - No address: every interface. One dual-stack IPv6 socket (`[::]`,
//!   `IPV6_V6ONLY` off) so IPv4 and IPv6 peers both reach it; IPv4 peers
//!   are reported as plain IPv4 addresses. Where IPv6 is unavailable,
//!   `0.0.0.0`.
//! - An IP literal (`"127.0.0.1"`, `"::1"`, `"[::1]"`): that address.
//! - A name (`"localhost"`): every address it resolves to (the system
//!   resolver gets [`RESOLVE_TIMEOUT`], 5 s, to answer), IPv4 first, all
//!   on the same port. A client of another program may take either (a
//!   TCP client tries `::1` first where the resolver says so), so binding
//!   only one of them would send some clients elsewhere. A port in use on
//!   any of them is an error, as for one address (with port 0, another
//!   port free on all of them is looked for); an address that cannot be
//!   bound at all (IPv6 switched off, say) is skipped.
//!
//! TCP sockets get `SO_REUSEADDR`, so a port is free again the moment the
//! server closes even while old connections linger in `TIME_WAIT`. (Linux
//! still refuses a second *listening* socket on the same port.) UDP
//! sockets do not: on Linux it would let two servers share one port and
//! split its datagrams, and a closed UDP socket leaves nothing behind.

use crate::{Error, Protocol, Result};
use socket2::{Domain, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Binds as the module documentation says; returns each socket with its
/// local address. TCP sockets are listening and non-blocking; UDP sockets
/// are blocking (the loop reads them with `MSG_DONTWAIT`).
pub(crate) fn bind(
    address: Option<&str>,
    port: u16,
    protocol: Protocol,
    backlog: i32,
) -> Result<Vec<(Socket, SocketAddr)>> {
    let Some(address) = address else {
        return bind_any(port, protocol, backlog);
    };
    let addrs = resolve(address, port)?;
    let mut tries = 0;
    loop {
        match bind_every(&addrs, protocol, backlog) {
            Err(Bind::PortTaken(_)) if port == 0 && tries < SHARED_PORT_TRIES => tries += 1,
            Err(Bind::PortTaken(e) | Bind::Failed(e)) => return Err(e),
            Ok(bound) => return Ok(bound),
        }
    }
}

/// How many ports a name's addresses try before giving up on one free on
/// all of them (port 0: the first address picks it, the others must get
/// it too).
const SHARED_PORT_TRIES: usize = 8;

/// Why [`bind_every`] bound nothing.
enum Bind {
    /// The port is in use on one of the addresses.
    PortTaken(Error),
    /// No address could be bound.
    Failed(Error),
}

/// Every interface: `[::]` dual-stack, else `0.0.0.0`.
fn bind_any(port: u16, protocol: Protocol, backlog: i32) -> Result<Vec<(Socket, SocketAddr)>> {
    let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
    // Named as the server's `local_address` names every interface.
    let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
    let err = match open(v6, protocol, backlog) {
        Ok(pair) => return Ok(vec![pair]),
        // A port in use on `[::]` is in use on `0.0.0.0` too.
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(bind_error(v4, e)),
        Err(e) => bind_error(v4, e),
    };
    match open(v4, protocol, backlog) {
        Ok(pair) => Ok(vec![pair]),
        Err(_) => Err(err),
    }
}

/// All of `addrs` on one port: the given one, or (port 0) the one the
/// first bound address got.
fn bind_every(
    addrs: &[SocketAddr],
    protocol: Protocol,
    backlog: i32,
) -> std::result::Result<Vec<(Socket, SocketAddr)>, Bind> {
    let mut bound: Vec<(Socket, SocketAddr)> = Vec::new();
    let mut first_err = None;
    for mut addr in addrs.iter().copied() {
        if let Some((_, local)) = bound.first() {
            addr.set_port(local.port());
        }
        match open(addr, protocol, backlog) {
            Ok(pair) => bound.push(pair),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                return Err(Bind::PortTaken(bind_error(addr, e)))
            }
            Err(e) => {
                first_err.get_or_insert_with(|| bind_error(addr, e));
            }
        }
    }
    if bound.is_empty() {
        return Err(Bind::Failed(first_err.unwrap_or_else(|| {
            Error::InvalidArgument("no address to bind to".into())
        })));
    }
    Ok(bound)
}

fn bind_error(addr: SocketAddr, e: io::Error) -> Error {
    Error::os(
        format_args!(
            "cannot bind {}{}",
            crate::socket_address_text(&addr),
            crate::connect::zone_hint(&addr, &e)
        ),
        e,
    )
}

/// How long a bind waits for the system resolver to look a name up.
/// Renoise's `create_server` takes no timeout, and a name to bind to is
/// nearly always in `/etc/hosts`; but a name the resolver asks an
/// unanswering DNS server about would otherwise block the call for as long
/// as the resolver tries (glibc: 5 s per server, several attempts).
pub(crate) const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Resolves a bind address; see the module documentation.
fn resolve(address: &str, port: u16) -> Result<Vec<SocketAddr>> {
    let name = crate::connect::unbracket(address)?;
    if name.is_empty() {
        return Err(Error::InvalidArgument(
            "address must not be empty (leave it out to listen on every interface)".into(),
        ));
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for a in crate::connect::resolve_to_bind(address, name, port, RESOLVE_TIMEOUT)? {
        if !addrs.contains(&a) {
            addrs.push(a);
        }
    }
    addrs.sort_by_key(SocketAddr::is_ipv6);
    Ok(addrs)
}

/// The kernel queue a UDP server (and a UDP client) asks for. Callbacks
/// run only inside `wait`, and a client reads only in `receive`, so
/// datagrams that arrive while the program does anything else wait in the
/// kernel, whose default queue (208 KiB on Linux: a few hundred small
/// datagrams, each charged with its buffer overhead) a fast sender fills
/// in a millisecond; what does not fit is dropped. The kernel caps the
/// request at `net.core.rmem_max`.
const UDP_RECEIVE_QUEUE: usize = 4 << 20;

/// Asks for [`UDP_RECEIVE_QUEUE`], unless the queue is already larger; a
/// refusal leaves the kernel's default, which works, only with less room.
pub(crate) fn grow_receive_queue(sock: &Socket) {
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

#[cfg(test)]
mod tests {
    //! A name's address list, without depending on what this machine's
    //! resolver says `localhost` is.
    use super::*;

    fn v6_loopback() -> bool {
        std::net::TcpListener::bind("[::1]:0").is_ok()
    }

    #[test]
    fn a_port_taken_on_any_address_of_a_name_is_an_error() {
        if !v6_loopback() {
            return;
        }
        for protocol in [Protocol::Tcp, Protocol::Udp] {
            let (_taken, at) = open("[::1]:0".parse().unwrap(), protocol, 8).unwrap();
            let addrs = [SocketAddr::from(([127, 0, 0, 1], at.port())), at];
            match bind_every(&addrs, protocol, 8) {
                // (Taken on 127.0.0.1 too, by chance, is the same verdict.)
                Err(Bind::PortTaken(e)) => assert!(e.to_string().contains("in use"), "{e}"),
                Err(Bind::Failed(e)) => panic!("{protocol:?}: {e}"),
                Ok(b) => panic!(
                    "{protocol:?}: bound {:?}",
                    b.iter().map(|p| p.1).collect::<Vec<_>>()
                ),
            }
        }
    }

    #[test]
    fn an_address_that_cannot_be_bound_at_all_is_skipped() {
        // 192.0.2.1 (TEST-NET-1) is nobody's address here.
        let addrs = [
            SocketAddr::from(([192, 0, 2, 1], 0)),
            SocketAddr::from(([127, 0, 0, 1], 0)),
        ];
        let bound = bind_every(&addrs, Protocol::Tcp, 8).ok().unwrap();
        assert_eq!(bound.len(), 1);
        assert_eq!(bound[0].1.ip(), IpAddr::from([127, 0, 0, 1]));
    }

    #[test]
    fn port_0_gives_every_address_of_a_name_the_same_port() {
        if !v6_loopback() {
            return;
        }
        let addrs = [
            SocketAddr::from(([127, 0, 0, 1], 0)),
            "[::1]:0".parse().unwrap(),
        ];
        // The port picked for 127.0.0.1 may be taken on ::1 by chance
        // (`bind` then tries another): a few tries.
        let bound = (0..8)
            .find_map(|_| bind_every(&addrs, Protocol::Udp, 8).ok())
            .unwrap();
        assert_eq!(bound.len(), 2);
        assert_eq!(bound[0].1.port(), bound[1].1.port());
    }
}
