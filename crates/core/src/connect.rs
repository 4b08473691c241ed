//! Name resolution and connecting, with errors a person can read.

use crate::{Error, Result};
use socket2::{Domain, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

/// The addresses of `host`: an IP literal at once, a name through the
/// system resolver, waiting for it at most `timeout`.
pub(crate) fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>> {
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
    let owned = name.to_owned();
    let looked_up = bounded(timeout, move || {
        (owned.as_str(), port)
            .to_socket_addrs()
            .map(Iterator::collect::<Vec<_>>)
    });
    let Some(found) = looked_up else {
        return Err(Error::ResolveTimeout {
            host: host.to_string(),
            timeout_ms: timeout.as_millis(),
        });
    };
    match found {
        Ok(addrs) if !addrs.is_empty() => Ok(addrs),
        _ => Err(unknown()),
    }
}

/// Lookups still running in helper threads (see [`bounded`]).
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// More unfinished lookups than this means the resolver is not answering:
/// a program retrying every few milliseconds must not pile up threads.
const MAX_IN_FLIGHT: usize = 16;

/// Runs `f` in a helper thread and waits for its result at most `timeout`
/// (`None` after that). `getaddrinfo` cannot be cancelled and may wait for
/// an unanswering DNS server for many seconds, longer than any connect
/// timeout; the caller must not. A lookup that outlives the wait finishes
/// in the background and its result is dropped. While `MAX_IN_FLIGHT`
/// earlier lookups are still unfinished, none is started (`None` at once).
/// If no thread can be started, `f` runs on the caller's thread.
fn bounded<T, F>(timeout: Duration, f: F) -> Option<T>
where
    T: Send + 'static,
    F: Fn() -> T + Send + Sync + 'static,
{
    bounded_in(&IN_FLIGHT, MAX_IN_FLIGHT, timeout, f)
}

fn bounded_in<T, F>(
    in_flight: &'static AtomicUsize,
    max: usize,
    timeout: Duration,
    f: F,
) -> Option<T>
where
    T: Send + 'static,
    F: Fn() -> T + Send + Sync + 'static,
{
    if in_flight.fetch_add(1, Ordering::AcqRel) >= max {
        in_flight.fetch_sub(1, Ordering::AcqRel);
        return None;
    }
    let f = Arc::new(f);
    let theirs = Arc::clone(&f);
    let (tx, rx) = mpsc::sync_channel(1);
    let spawned = thread::Builder::new()
        .name("renoise-socket-resolve".into())
        .spawn(move || {
            let _ = tx.send(theirs());
            in_flight.fetch_sub(1, Ordering::AcqRel);
        });
    match spawned {
        Ok(_) => rx.recv_timeout(timeout.max(Duration::from_millis(1))).ok(),
        Err(_) => {
            in_flight.fetch_sub(1, Ordering::AcqRel);
            Some(f())
        }
    }
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

/// Tries each address in order until one connects, all within `timeout`
/// counted from `start` (so that resolving the name counts too).
pub(crate) fn tcp(addrs: &[SocketAddr], timeout: Duration, start: Instant) -> Result<Socket> {
    let timeout = timeout.max(Duration::from_millis(1));
    let deadline = start.checked_add(timeout);
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
        let sock = tcp(
            &[refused(), good_addr],
            Duration::from_secs(2),
            Instant::now(),
        )
        .unwrap();
        assert_eq!(sock.peer_addr().unwrap().as_socket(), Some(good_addr));
    }

    #[test]
    fn the_last_error_is_reported_when_every_address_fails() {
        let last = refused();
        let err = tcp(&[refused(), last], Duration::from_secs(2), Instant::now()).unwrap_err();
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
        let err = tcp(&[first, second], Duration::from_millis(400), start).unwrap_err();
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

    #[test]
    fn a_slow_lookup_is_waited_for_only_until_the_timeout() {
        let start = Instant::now();
        let got = bounded(Duration::from_millis(100), || {
            thread::sleep(Duration::from_secs(3));
            1
        });
        assert_eq!(got, None);
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(95), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn unfinished_lookups_beyond_the_limit_are_not_started() {
        static MINE: AtomicUsize = AtomicUsize::new(0);
        let slow = || {
            thread::sleep(Duration::from_millis(600));
            0
        };
        for _ in 0..3 {
            assert_eq!(bounded_in(&MINE, 3, Duration::from_millis(1), slow), None);
        }
        let start = Instant::now();
        assert_eq!(bounded_in(&MINE, 3, Duration::from_secs(5), || 1), None);
        assert!(start.elapsed() < Duration::from_millis(300));
        // Once they finish, lookups run again.
        let bound = Instant::now() + Duration::from_secs(10);
        while MINE.load(Ordering::Acquire) > 0 && Instant::now() < bound {
            thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(bounded_in(&MINE, 3, Duration::from_secs(5), || 2), Some(2));
    }

    #[test]
    fn a_quick_lookup_returns_its_result() {
        assert_eq!(bounded(Duration::from_secs(5), || 7), Some(7));
    }

    #[test]
    fn names_resolve_within_the_timeout() {
        let addrs = resolve("localhost", 80, Duration::from_secs(5)).unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
        assert!(matches!(
            resolve("no-such-host.invalid", 80, Duration::from_secs(5)),
            Err(Error::UnknownHost { .. })
        ));
    }
}
