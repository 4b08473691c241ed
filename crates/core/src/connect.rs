//! Name resolution and connecting, with errors a person can read.

use crate::{Error, Result};
use socket2::{Domain, Socket, Type};
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

/// The addresses of `host`: an IP literal at once, a name through the
/// system resolver, waiting for it at most `timeout` (at least 1 ms, as
/// for connecting).
pub(crate) fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>> {
    resolve_in(&ABANDONED, host, port, timeout)
}

/// [`resolve`] counting abandoned lookups in `abandoned`.
fn resolve_in(
    abandoned: &'static AtomicUsize,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Vec<SocketAddr>> {
    let timeout = timeout.max(Duration::from_millis(1));
    check_port(port)?;
    let name = unbracket(host)?;
    if name.is_empty() {
        return Err(Error::InvalidArgument("address must not be empty".into()));
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    look_up(abandoned, host, name, port, timeout, || {
        Error::ResolveTimeout {
            host: host.to_string(),
            timeout_ms: timeout.as_millis(),
        }
    })
}

/// The addresses of the name `host` given to a bind (`name`: without
/// brackets), waiting for the system resolver at most `timeout`.
pub(crate) fn resolve_to_bind(
    host: &str,
    name: &str,
    port: u16,
    timeout: Duration,
) -> Result<Vec<SocketAddr>> {
    look_up(&ABANDONED, host, name, port, timeout, || {
        let why = format!(
            "the system resolver did not answer within {} ms",
            timeout.as_millis()
        );
        cannot_resolve(host, io::Error::new(io::ErrorKind::TimedOut, why))
    })
}

/// Looks the name `name` (`host` without brackets) up in a helper thread
/// (see [`bounded_in`]); `timed_out` makes the error for a lookup that
/// outlived `timeout`.
fn look_up(
    abandoned: &'static AtomicUsize,
    host: &str,
    name: &str,
    port: u16,
    timeout: Duration,
    timed_out: impl FnOnce() -> Error,
) -> Result<Vec<SocketAddr>> {
    let owned = name.to_owned();
    let looked_up = bounded_in(abandoned, MAX_ABANDONED, timeout, move || {
        (owned.as_str(), port)
            .to_socket_addrs()
            .map(Iterator::collect::<Vec<_>>)
    });
    match looked_up {
        Ok(found) => found_or_why(host, found),
        Err(NotDone::TimedOut) => Err(timed_out()),
        Err(NotDone::Busy) => Err(Error::ResolverBusy {
            host: host.to_string(),
            unfinished: MAX_ABANDONED,
        }),
    }
}

/// The addresses a lookup of `host` found, or why there are none: an
/// unknown name, or a resolver that could not look.
fn found_or_why(host: &str, found: io::Result<Vec<SocketAddr>>) -> Result<Vec<SocketAddr>> {
    match found {
        Ok(addrs) if !addrs.is_empty() => Ok(addrs),
        // The resolver itself failed (EAI_SYSTEM): not a verdict on the name.
        Err(e) if e.raw_os_error().is_some() => Err(cannot_resolve(host, e)),
        // Nor is a resolver that could not ask (no network, no DNS server
        // answering: EAI_AGAIN). std passes on only `gai_strerror`'s text,
        // which glibc gives in the C locale to programs that never call
        // `setlocale` (Rust's, `lua`): other texts stay "unknown host".
        Err(e) if e.to_string().contains(RESOLVER_COULD_NOT_ASK) => Err(cannot_resolve(host, e)),
        // glibc reports a name it could not look up for want of a file
        // descriptor (to read /etc/hosts, to ask a DNS server) as unknown:
        // one probe tells that case apart.
        _ => match socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                Err(cannot_resolve(host, e))
            }
            _ => Err(Error::UnknownHost {
                host: host.to_string(),
            }),
        },
    }
}

/// glibc's `gai_strerror(EAI_AGAIN)`.
const RESOLVER_COULD_NOT_ASK: &str = "Temporary failure in name resolution";

/// `host` without the brackets of an IPv6 literal: "[::1]" is how people
/// write one next to a port. Anything else in brackets (an IPv4 address,
/// a name) is no host, as for the system resolver, URLs and `SocketAddr`;
/// dropping the brackets would accept a mistake silently.
pub(crate) fn unbracket(host: &str) -> Result<&str> {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        None => Ok(host),
        // Empty is refused by the caller, with its own message.
        Some(inner) if inner.is_empty() || inner.contains(':') => Ok(inner),
        Some(_) => Err(Error::UnknownHost {
            host: host.to_string(),
        }),
    }
}

/// Port 0 cannot be connected to.
pub(crate) fn check_port(port: u16) -> Result<()> {
    if port == 0 {
        return Err(Error::InvalidArgument(
            "port must be between 1 and 65535, got 0".into(),
        ));
    }
    Ok(())
}

/// A lookup that failed for a reason of the system's, not of the name.
#[cold]
fn cannot_resolve(host: &str, e: std::io::Error) -> Error {
    Error::os(format_args!("cannot resolve '{}'", host.escape_debug()), e)
}

/// Lookups whose caller stopped waiting and that have not finished yet.
static ABANDONED: AtomicUsize = AtomicUsize::new(0);
/// With this many abandoned lookups unfinished the resolver is not
/// answering: a program retrying every few milliseconds must not pile up
/// threads stuck in it, so no new lookup starts until one finishes.
const MAX_ABANDONED: usize = 16;

/// Why [`bounded_in`] has no result.
#[derive(Debug, PartialEq)]
enum NotDone {
    /// The wait ended first.
    TimedOut,
    /// Too many earlier lookups are unfinished: none was started.
    Busy,
}

/// A lookup's state, shared by its caller and its thread.
const WAITING: u8 = 0;
const ABANDONED_BY_CALLER: u8 = 1;
const FINISHED: u8 = 2;

/// Marks the lookup finished when the thread ends, even by a panic, and
/// takes it off the abandoned count if its caller had left.
struct Finish {
    state: Arc<AtomicU8>,
    abandoned: &'static AtomicUsize,
}

impl Drop for Finish {
    fn drop(&mut self) {
        if self.state.swap(FINISHED, Ordering::AcqRel) == ABANDONED_BY_CALLER {
            self.abandoned.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Runs `f` in a helper thread and waits for its result at most `timeout`
/// (`NotDone::TimedOut` after that). `getaddrinfo` cannot be cancelled
/// and may wait for an unanswering DNS server for many seconds, longer
/// than any connect timeout; the caller must not. A lookup that outlives
/// the wait finishes in the background and its result is dropped; such
/// lookups are counted in `abandoned`, and while `max` of them are
/// unfinished none is started (`NotDone::Busy` at once). If no thread can
/// be started, `f` runs on the caller's thread.
fn bounded_in<T, F>(
    abandoned: &'static AtomicUsize,
    max: usize,
    timeout: Duration,
    f: F,
) -> Result<T, NotDone>
where
    T: Send + 'static,
    F: Fn() -> T + Send + Sync + 'static,
{
    if abandoned.load(Ordering::Acquire) >= max {
        return Err(NotDone::Busy);
    }
    let f = Arc::new(f);
    let theirs = Arc::clone(&f);
    let state = Arc::new(AtomicU8::new(WAITING));
    let finish = Finish {
        state: Arc::clone(&state),
        abandoned,
    };
    let (tx, rx) = mpsc::sync_channel(1);
    let spawned = thread::Builder::new()
        .name("renoise-socket-resolve".into())
        .spawn(move || {
            let _finish = finish;
            let _ = tx.send(theirs());
        });
    if spawned.is_err() {
        return Ok(f());
    }
    match rx.recv_timeout(timeout) {
        Ok(v) => Ok(v),
        Err(_) => {
            // Leaving: counted as abandoned unless it finished meanwhile.
            if state
                .compare_exchange(
                    WAITING,
                    ABANDONED_BY_CALLER,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                abandoned.fetch_add(1, Ordering::AcqRel);
            }
            Err(NotDone::TimedOut)
        }
    }
}

/// `cannot connect to ADDR: why`, the address written as the properties
/// write it.
#[cold]
fn cannot_connect(addr: SocketAddr, e: io::Error) -> Error {
    Error::os(
        format_args!(
            "cannot connect to {}{}",
            crate::socket_address_text(&addr),
            zone_hint(&addr, &e)
        ),
        e,
    )
}

/// What the system's bare EINVAL means for a link-local IPv6 address
/// without a zone: which interface it is on is not said.
pub(crate) fn zone_hint(addr: &SocketAddr, e: &io::Error) -> &'static str {
    match addr {
        SocketAddr::V6(v6)
            if v6.scope_id() == 0
                && (v6.ip().segments()[0] & 0xffc0) == 0xfe80
                && e.raw_os_error() == Some(libc::EINVAL) =>
        {
            " (a link-local address needs its zone, such as fe80::1%eth0)"
        }
        _ => "",
    }
}

fn connect_error(e: io::Error, addr: SocketAddr, timeout: Duration) -> Error {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => return Error::Refused { addr },
        Some(libc::ENETUNREACH) | Some(libc::EHOSTUNREACH) => return Error::Unreachable { addr },
        // The system gave up before our timeout did (its SYN retries take
        // about two minutes): "no answer within <timeout>" would be false.
        Some(libc::ETIMEDOUT) => {
            return Error::os(
                format_args!(
                    "cannot connect to {}: no answer, and the system stopped trying",
                    crate::socket_address_text(&addr)
                ),
                e,
            )
        }
        _ => {}
    }
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Error::Refused { addr },
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::ConnectTimeout {
            addr,
            timeout_ms: timeout.as_millis(),
        },
        _ => cannot_connect(addr, e),
    }
}

/// The least time an address that is not the last is given to answer
/// (when that much is left). Go's dialer splits its deadline the same way,
/// with 2 s; Renoise's default connect timeout is 1 s, so a loopback or LAN
/// answer (well under a millisecond) is what it must leave room for.
const MIN_SHARE: Duration = Duration::from_millis(500);

/// Tries each address in order until one connects, all within `timeout`
/// counted from `start` (so that resolving the name counts too). Each
/// address gets an equal share of the time left, at least [`MIN_SHARE`]:
/// an address that never answers (say, `::1` behind a full accept queue,
/// or a black-holed IPv6 route) leaves time for the next one, which the
/// whole deadline spent on the first would not.
/// Returns the socket, the address it connected to (asking the socket
/// for it would fail once a peer that accepted has already reset) and the
/// reset, if connect took it (the system reports a reset once: the reads
/// after it would find a plain end).
pub(crate) fn tcp(
    addrs: &[SocketAddr],
    timeout: Duration,
    start: Instant,
) -> Result<(Socket, SocketAddr, Option<io::Error>)> {
    let timeout = timeout.max(Duration::from_millis(1));
    let deadline = start.checked_add(timeout);
    let mut last = None;
    // The first address that timed out: it had the larger share, a later
    // one may have had a moment, so a timeout names it.
    let mut first_silent = None;
    for (i, &addr) in addrs.iter().enumerate() {
        let left = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => timeout,
        };
        if left.is_zero() {
            // The error of the last address tried stands; if none was
            // (resolving took all the time), this one had no time.
            last.get_or_insert(Error::ConnectTimeout {
                addr,
                timeout_ms: timeout.as_millis(),
            });
            break;
        }
        let share = left / u32::try_from(addrs.len() - i).unwrap_or(u32::MAX);
        let this = if share < MIN_SHARE {
            left.min(MIN_SHARE)
        } else {
            share
        };
        let sock = Socket::new(
            Domain::for_address(addr),
            Type::STREAM,
            Some(socket2::Protocol::TCP),
        )
        .map_err(|e| cannot_connect(addr, e))?;
        match sock.connect_timeout(&addr.into(), this) {
            // Connecting to a free port of the local ephemeral range can
            // meet itself (TCP's simultaneous open): nothing listens
            // there, so it is refused, as Go's dialer has it.
            Ok(()) if connected_to_itself(&sock) => {
                last = Some(Error::Refused { addr });
            }
            Ok(()) => return Ok((sock, addr, None)),
            // The handshake completed and the peer reset before connect
            // looked (a refused handshake is ECONNREFUSED): a connection
            // that ended at once, as if the reset came a moment later.
            // Its receives deliver what the peer sent, then the reset.
            Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => {
                return Ok((sock, addr, Some(e)))
            }
            Err(e) => {
                let err = connect_error(e, addr, timeout);
                if matches!(err, Error::ConnectTimeout { .. }) {
                    first_silent.get_or_insert(addr);
                }
                last = Some(err);
            }
        }
    }
    Err(match (last, first_silent) {
        (Some(Error::ConnectTimeout { timeout_ms, .. }), Some(addr)) => {
            Error::ConnectTimeout { addr, timeout_ms }
        }
        (last, _) => {
            last.unwrap_or_else(|| Error::InvalidArgument("no address to connect to".into()))
        }
    })
}

/// How many sockets a UDP connect tries before giving up on a local port
/// other than the peer's own.
const SELF_CONNECT_TRIES: usize = 4;

/// True when the socket's local address is its peer's.
fn connected_to_itself(sock: &Socket) -> bool {
    match (sock.local_addr(), sock.peer_addr()) {
        (Ok(l), Ok(p)) => l.as_socket().is_some() && l.as_socket() == p.as_socket(),
        _ => false,
    }
}

/// A connected UDP socket: it sends to and receives from that peer only;
/// to a broadcast address only with `broadcast` on.
pub(crate) fn udp(addrs: &[SocketAddr], broadcast: bool) -> Result<(Socket, SocketAddr)> {
    // Connecting a UDP socket sends nothing, so it cannot tell which
    // address has a server: the first one that connects is it. IPv4 first,
    // as LuaSocket's `udp()` (an IPv4 socket) and most OSC software (bound
    // to 0.0.0.0) have it; a dual-stack server on `::` takes IPv4 too.
    // With `::1` first (glibc's order for "localhost" where /etc/hosts has
    // both), datagrams to a server on 127.0.0.1 would go nowhere.
    let mut ordered = addrs.to_vec();
    ordered.sort_by_key(SocketAddr::is_ipv6);
    let mut last = None;
    for addr in ordered {
        let any = SocketAddr::new(crate::client::unspecified_like(addr.ip()), 0);
        // The local port the kernel picks may be the very port asked for
        // (a port of the ephemeral range): a socket that would talk to
        // itself. Another socket gets another port.
        for _ in 0..SELF_CONNECT_TRIES {
            let sock = Socket::new(
                Domain::for_address(addr),
                Type::DGRAM,
                Some(socket2::Protocol::UDP),
            )
            .map_err(|e| cannot_connect(addr, e))?;
            if broadcast {
                sock.set_broadcast(true)
                    .map_err(|e| cannot_connect(addr, e))?;
            }
            let res = sock
                .bind(&any.into())
                .and_then(|()| sock.connect(&addr.into()));
            match res {
                Ok(()) if connected_to_itself(&sock) => {
                    last = Some(cannot_connect(
                        addr,
                        io::Error::from(io::ErrorKind::AddrInUse),
                    ));
                }
                Ok(()) => return Ok((sock, addr)),
                // How Linux refuses a broadcast address without
                // SO_BROADCAST (or a security module refuses the connect).
                Err(e)
                    if e.raw_os_error() == Some(libc::EACCES)
                        && crate::client::canonical(addr).is_ipv4()
                        && !broadcast =>
                {
                    last = Some(Error::os(
                        format_args!(
                            "cannot connect to {} (a broadcast address needs the broadcast option)",
                            crate::socket_address_text(&addr)
                        ),
                        e,
                    ));
                    break;
                }
                Err(e) => {
                    last = Some(connect_error(e, addr, Duration::ZERO));
                    break;
                }
            }
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

    #[test]
    fn a_resolver_that_could_not_ask_is_no_verdict_on_the_name() {
        // What std makes of EAI_AGAIN (its message; the kind is not public).
        let again = io::Error::other(
            "failed to lookup address information: Temporary failure in name resolution",
        );
        let e = found_or_why("example.org", Err(again)).unwrap_err();
        assert!(matches!(e, Error::Io(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "cannot resolve 'example.org': failed to lookup address information: \
             Temporary failure in name resolution"
        );
        // EAI_NONAME is a verdict.
        let none =
            io::Error::other("failed to lookup address information: Name or service not known");
        let e = found_or_why("nowhere.invalid", Err(none)).unwrap_err();
        assert!(matches!(e, Error::UnknownHost { .. }), "{e:?}");
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
        let (sock, addr, _) = tcp(
            &[refused(), good_addr],
            Duration::from_secs(2),
            Instant::now(),
        )
        .unwrap();
        assert_eq!(addr, good_addr);
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
        // Under the least share, the first address had all the time: the
        // error names it, not the second, which had a moment at most.
        assert!(
            matches!(
                err,
                Error::ConnectTimeout {
                    timeout_ms: 400,
                    addr,
                } if addr == first
            ),
            "{err}"
        );
        // Two silent addresses, one timeout: well under twice 400 ms.
        assert!(took >= Duration::from_millis(380), "{took:?}");
        assert!(took < Duration::from_millis(750), "{took:?}");
    }

    #[test]
    fn a_timeout_names_the_first_address_that_did_not_answer() {
        let (_l1, _f1, first) = silent();
        let (_l2, _f2, last) = silent();
        let err = tcp(
            &[first, refused(), last],
            Duration::from_millis(1200),
            Instant::now(),
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::ConnectTimeout { addr, .. } if addr == first),
            "{err}"
        );
    }

    #[test]
    fn a_udp_client_takes_a_names_ipv4_address_first() {
        let v6: SocketAddr = "[::1]:9".parse().unwrap();
        let v4: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let (_, addr) = udp(&[v6, v4], false).unwrap();
        assert_eq!(addr, v4);
    }

    #[test]
    fn an_address_that_never_answers_leaves_time_for_the_next() {
        let (_l, _f, mute) = silent();
        let good = TcpListener::bind("127.0.0.1:0").unwrap();
        let good_addr = good.local_addr().unwrap();
        let start = Instant::now();
        let (_, addr, _) = tcp(&[mute, good_addr], Duration::from_millis(1000), start).unwrap();
        assert_eq!(addr, good_addr);
        // The silent one had its share, half of the timeout.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(480), "{took:?}");
        assert!(took < Duration::from_millis(900), "{took:?}");
        // Three silent ones and a good one in 2 s: half a second each.
        let (_l2, _f2, mute2) = silent();
        let (_l3, _f3, mute3) = silent();
        let start = Instant::now();
        let (_, addr, _) = tcp(
            &[mute, mute2, mute3, good_addr],
            Duration::from_secs(2),
            start,
        )
        .unwrap();
        assert_eq!(addr, good_addr);
        assert!(
            start.elapsed() >= Duration::from_millis(1400),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn a_slow_lookup_is_waited_for_only_until_the_timeout() {
        let start = Instant::now();
        static MINE: AtomicUsize = AtomicUsize::new(0);
        let got = bounded_in(&MINE, 1, Duration::from_millis(100), || {
            thread::sleep(Duration::from_secs(3));
            1
        });
        assert_eq!(got, Err(NotDone::TimedOut));
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(95), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn lookups_waited_for_do_not_count_against_the_limit() {
        static MINE: AtomicUsize = AtomicUsize::new(0);
        // Five callers at once, each waiting long enough: all succeed,
        // though the limit is 2.
        let callers: Vec<_> = (0..5)
            .map(|i| {
                thread::spawn(move || {
                    bounded_in(&MINE, 2, Duration::from_secs(5), move || {
                        thread::sleep(Duration::from_millis(100));
                        i
                    })
                })
            })
            .collect();
        for (i, c) in callers.into_iter().enumerate() {
            assert_eq!(c.join().unwrap(), Ok(i));
        }
        assert_eq!(MINE.load(Ordering::Acquire), 0);
    }

    #[test]
    fn abandoned_lookups_beyond_the_limit_stop_new_ones_until_they_finish() {
        static MINE: AtomicUsize = AtomicUsize::new(0);
        let slow = || {
            thread::sleep(Duration::from_millis(600));
            0
        };
        for _ in 0..3 {
            assert_eq!(
                bounded_in(&MINE, 3, Duration::from_millis(1), slow),
                Err(NotDone::TimedOut)
            );
        }
        let start = Instant::now();
        assert_eq!(
            bounded_in(&MINE, 3, Duration::from_secs(5), || 1),
            Err(NotDone::Busy)
        );
        assert!(start.elapsed() < Duration::from_millis(300));
        // Once they finish, lookups run again.
        let bound = Instant::now() + Duration::from_secs(10);
        while MINE.load(Ordering::Acquire) > 0 && Instant::now() < bound {
            thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(bounded_in(&MINE, 3, Duration::from_secs(5), || 2), Ok(2));
    }

    #[test]
    fn a_lookup_that_panics_leaves_the_count_straight() {
        static MINE: AtomicUsize = AtomicUsize::new(0);
        let boom = || -> u8 {
            thread::sleep(Duration::from_millis(50));
            panic!("resolver bug")
        };
        assert_eq!(
            bounded_in(&MINE, 1, Duration::from_millis(1), boom),
            Err(NotDone::TimedOut)
        );
        let bound = Instant::now() + Duration::from_secs(10);
        while MINE.load(Ordering::Acquire) > 0 && Instant::now() < bound {
            thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(MINE.load(Ordering::Acquire), 0);
        assert_eq!(bounded_in(&MINE, 1, Duration::from_secs(5), || 3), Ok(3));
    }

    #[test]
    fn a_connect_by_name_says_the_resolver_is_stuck_when_too_many_lookups_are() {
        static MINE: AtomicUsize = AtomicUsize::new(MAX_ABANDONED);
        let start = Instant::now();
        let e = resolve_in(&MINE, "localhost", 80, Duration::from_secs(5)).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(
            matches!(
                e,
                Error::ResolverBusy {
                    unfinished: MAX_ABANDONED,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "no address for 'localhost': the system resolver has not answered 16 earlier \
             lookups that timed out (a new one starts once one of those finishes)"
        );
        // Numeric addresses need no lookup.
        assert!(resolve_in(&MINE, "127.0.0.1", 80, Duration::from_secs(5)).is_ok());
        MINE.store(MAX_ABANDONED - 1, Ordering::Release);
        assert!(resolve_in(&MINE, "localhost", 80, Duration::from_secs(5)).is_ok());
    }

    #[test]
    fn a_quick_lookup_returns_its_result() {
        static MINE: AtomicUsize = AtomicUsize::new(0);
        assert_eq!(bounded_in(&MINE, 1, Duration::from_secs(5), || 7), Ok(7));
    }

    #[test]
    fn names_resolve_within_the_timeout() {
        let addrs = resolve("localhost", 80, Duration::from_secs(5)).unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
        // Without a DNS server that answers, the timeout may come first.
        assert!(matches!(
            resolve("no-such-host.invalid", 80, Duration::from_secs(5)),
            Err(Error::UnknownHost { .. } | Error::ResolveTimeout { .. })
        ));
    }

    #[test]
    fn the_systems_own_connect_timeout_is_not_called_ours() {
        let addr: SocketAddr = "192.0.2.1:80".parse().unwrap();
        let e = connect_error(
            io::Error::from_raw_os_error(libc::ETIMEDOUT),
            addr,
            Duration::MAX,
        );
        assert!(!matches!(e, Error::ConnectTimeout { .. }), "{e}");
        assert_eq!(e.raw_os_error(), Some(libc::ETIMEDOUT));
        let text = e.to_string();
        assert!(
            text.starts_with("cannot connect to 192.0.2.1:80: no answer"),
            "{text}"
        );
        assert!(!text.contains("within"), "{text}");
        // Our own deadline (socket2's poll) still is a connect timeout.
        let ours = io::Error::new(io::ErrorKind::TimedOut, "connection timed out");
        let e = connect_error(ours, addr, Duration::from_millis(1000));
        assert!(
            matches!(
                e,
                Error::ConnectTimeout {
                    timeout_ms: 1000,
                    ..
                }
            ),
            "{e}"
        );
    }
}
