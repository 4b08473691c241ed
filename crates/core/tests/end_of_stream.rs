//! End of stream: every remaining byte first, then "disconnected", then a
//! closed client.
mod common;
use common::*;
use renoise_socket::Error;

#[test]
fn unterminated_last_line_is_returned_then_disconnected() {
    let (mut c, peer) = pair(chunks(vec![b"a\nlast".to_vec()], ms(0)));
    assert_eq!(c.receive_line(LONG).unwrap(), b"a");
    assert_eq!(c.receive_line(LONG).unwrap(), b"last");
    let e = c.receive_line(LONG).unwrap_err();
    assert!(matches!(e, Error::Disconnected));
    assert_eq!(e.to_string(), "disconnected");
    assert!(!c.is_open());
    assert!(matches!(c.receive_line(LONG), Err(Error::Closed)));
    peer.join().unwrap();
}

#[test]
fn short_record_at_end_of_stream_is_returned_then_disconnected() {
    let (mut c, peer) = pair(chunks(vec![b"0123456789abc".to_vec()], ms(0)));
    assert_eq!(c.receive_exact(10, LONG).unwrap(), b"0123456789");
    assert_eq!(c.receive_exact(10, LONG).unwrap(), b"abc");
    assert!(matches!(
        c.receive_exact(10, LONG),
        Err(Error::Disconnected)
    ));
    assert!(!c.is_open());
    peer.join().unwrap();
}

#[test]
fn all_mode_returns_the_rest_then_disconnected() {
    let (mut c, peer) = pair(chunks(vec![b"x\nrest".to_vec()], ms(0)));
    assert_eq!(c.receive_line(LONG).unwrap(), b"x");
    peer.join().unwrap();
    let mut rest = Vec::new();
    loop {
        match c.receive_all(LONG) {
            Ok(d) => {
                assert!(!d.is_empty());
                rest.extend_from_slice(d);
            }
            Err(Error::Disconnected) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(rest, b"rest");
    assert!(!c.is_open());
}

#[test]
fn end_of_stream_with_nothing_left_is_disconnected_for_every_mode() {
    for mode in 0..3 {
        let (mut c, peer) = pair(chunks(vec![], ms(0)));
        peer.join().unwrap();
        let r = match mode {
            0 => c.receive_line(LONG).map(|_| ()),
            1 => c.receive_all(LONG).map(|_| ()),
            _ => c.receive_exact(4, LONG).map(|_| ()),
        };
        assert!(matches!(r, Err(Error::Disconnected)), "mode {mode}");
        assert!(!c.is_open());
    }
}

#[test]
fn zero_timeout_sees_end_of_stream_too() {
    let (mut c, peer) = pair(chunks(vec![b"end".to_vec()], ms(0)));
    peer.join().unwrap();
    let start = std::time::Instant::now();
    let mut got = Vec::new();
    loop {
        assert!(start.elapsed() < BOUND);
        match c.receive_all(ms(0)) {
            Ok(d) => got.extend_from_slice(d),
            Err(Error::Timeout) => std::thread::sleep(ms(1)),
            Err(Error::Disconnected) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, b"end");
}

#[test]
fn trailing_cr_at_end_of_stream_ends_the_line() {
    let (mut c, peer) = pair(chunks(vec![b"a\r".to_vec()], ms(0)));
    peer.join().unwrap();
    assert_eq!(c.receive_line(LONG).unwrap(), b"a");
    assert!(matches!(c.receive_line(LONG), Err(Error::Disconnected)));
}

/// Polls `c.is_connected()` until it is false, within a bound.
fn until_not_connected(c: &renoise_socket::Client) -> bool {
    let start = std::time::Instant::now();
    while c.is_connected() {
        if start.elapsed() > ms(5000) {
            return false;
        }
        std::thread::sleep(ms(5));
    }
    true
}

#[test]
fn is_connected_is_false_once_the_peer_closed_and_nothing_is_left() {
    let (mut c, peer) = pair(chunks(vec![b"abc".to_vec()], ms(0)));
    // Sent and closed; the bytes are still to be received: connected, as
    // far as the program is concerned.
    peer.join().unwrap();
    std::thread::sleep(ms(50));
    assert!(c.is_connected());
    assert_eq!(c.receive_exact(2, LONG).unwrap(), b"ab");
    assert!(c.is_connected(), "one byte is still buffered");
    assert_eq!(c.receive_exact(1, LONG).unwrap(), b"c");
    assert!(until_not_connected(&c), "the peer's close was never seen");
    // The look read nothing and closed nothing: the receive reports it.
    assert!(c.is_open());
    assert!(matches!(c.receive_all(LONG), Err(Error::Disconnected)));
    assert!(!c.is_open() && !c.is_connected());
}

#[test]
fn is_connected_is_false_after_a_reset_and_true_while_the_peer_is_there() {
    let (c, peer) = pair(|s: std::net::TcpStream| {
        std::thread::sleep(ms(300));
        socket2::SockRef::from(&s)
            .set_linger(Some(std::time::Duration::ZERO))
            .unwrap();
    });
    assert!(c.is_connected(), "a quiet peer is still there");
    peer.join().unwrap(); // reset
    assert!(until_not_connected(&c));
}
