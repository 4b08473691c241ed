//! Name resolution and connecting, with errors a person can read.

use crate::{Error, Result};
use socket2::{Domain, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

pub(crate) fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>> {
    if port == 0 {
        return Err(Error::InvalidArgument(
            "port must be between 1 and 65535, got 0".into(),
        ));
    }
    // "[::1]" is how people write IPv6 literals next to a port.
    let name = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if name.is_empty() {
        return Err(Error::InvalidArgument("address must not be empty".into()));
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let unknown = || Error::UnknownHost {
        host: host.to_string(),
    };
    let addrs: Vec<SocketAddr> = (name, port)
        .to_socket_addrs()
        .map_err(|_| unknown())?
        .collect();
    if addrs.is_empty() {
        return Err(unknown());
    }
    Ok(addrs)
}

fn connect_error(e: io::Error, addr: SocketAddr, timeout: Duration) -> Error {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => return Error::Refused { addr },
        Some(libc::ENETUNREACH) | Some(libc::EHOSTUNREACH) => return Error::Unreachable { addr },
        _ => {}
    }
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Error::Refused { addr },
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::ConnectTimeout {
            addr,
            timeout_ms: timeout.as_millis(),
        },
        _ => Error::Io(e),
    }
}

/// Tries each address in order until one connects, all within `timeout`.
pub(crate) fn tcp(addrs: &[SocketAddr], timeout: Duration) -> Result<Socket> {
    let timeout = timeout.max(Duration::from_millis(1));
    let deadline = Instant::now().checked_add(timeout);
    let mut last = None;
    for &addr in addrs {
        let left = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => timeout,
        };
        if left.is_zero() {
            last = Some(Error::ConnectTimeout {
                addr,
                timeout_ms: timeout.as_millis(),
            });
            break;
        }
        let sock = Socket::new(
            Domain::for_address(addr),
            Type::STREAM,
            Some(socket2::Protocol::TCP),
        )?;
        match sock.connect_timeout(&addr.into(), left) {
            Ok(()) => return Ok(sock),
            Err(e) => last = Some(connect_error(e, addr, timeout)),
        }
    }
    Err(last.unwrap_or_else(|| Error::InvalidArgument("no address to connect to".into())))
}

/// A connected UDP socket: it sends to and receives from that peer only.
pub(crate) fn udp(addrs: &[SocketAddr]) -> Result<Socket> {
    let mut last = None;
    for &addr in addrs {
        let any: SocketAddr = match addr {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let sock = Socket::new(
            Domain::for_address(addr),
            Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )?;
        let res = sock
            .bind(&any.into())
            .and_then(|()| sock.connect(&addr.into()));
        match res {
            Ok(()) => return Ok(sock),
            Err(e) => last = Some(connect_error(e, addr, Duration::ZERO)),
        }
    }
    Err(last.unwrap_or_else(|| Error::InvalidArgument("no address to connect to".into())))
}

#[cfg(test)]
mod tests {
    //! The address list of a name, without depending on what the resolver
    //! of this machine returns for any name.
    use super::*;
    use std::net::{TcpListener, TcpStream};

    /// A loopback address whose listener drops SYNs (full accept queue).
    fn silent() -> (Socket, Vec<TcpStream>, SocketAddr) {
        let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        l.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        l.listen(0).unwrap();
        let addr = l.local_addr().unwrap().as_socket().unwrap();
        let mut fillers = Vec::new();
        for _ in 0..64 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(s) => fillers.push(s),
                Err(_) => return (l, fillers, addr),
            }
        }
        panic!("the kernel never dropped a SYN on a full accept queue");
    }

    fn refused() -> SocketAddr {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }

    #[test]
    fn addresses_are_tried_in_order_until_one_connects() {
        let good = TcpListener::bind("127.0.0.1:0").unwrap();
        let good_addr = good.local_addr().unwrap();
        let sock = tcp(&[refused(), good_addr], Duration::from_secs(2)).unwrap();
        assert_eq!(sock.peer_addr().unwrap().as_socket(), Some(good_addr));
    }

    #[test]
    fn the_last_error_is_reported_when_every_address_fails() {
        let last = refused();
        let err = tcp(&[refused(), last], Duration::from_secs(2)).unwrap_err();
        assert!(
            matches!(err, Error::Refused { addr } if addr == last),
            "{err}"
        );
    }

    #[test]
    fn one_timeout_covers_all_addresses() {
        let (_l1, _f1, first) = silent();
        let (_l2, _f2, second) = silent();
        let start = Instant::now();
        let err = tcp(&[first, second], Duration::from_millis(400)).unwrap_err();
        let took = start.elapsed();
        assert!(
            matches!(
                err,
                Error::ConnectTimeout {
                    timeout_ms: 400,
                    ..
                }
            ),
            "{err}"
        );
        // Two silent addresses, one timeout: well under twice 400 ms.
        assert!(took >= Duration::from_millis(380), "{took:?}");
        assert!(took < Duration::from_millis(750), "{took:?}");
    }
}
