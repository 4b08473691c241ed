//! Each receive mode, on IPv4 and IPv6 loopback.
mod common;
use common::*;
use renoise_socket::{Error, Mode};

#[test]
fn line_mode_returns_one_line_per_call_without_terminator() {
    for addr in loopbacks() {
        let (mut c, peer) = pair_on(addr, send_and_hold(b"first\nsecond\n".to_vec()));
        assert_eq!(c.receive(Mode::Line, LONG).unwrap(), b"first");
        assert_eq!(c.receive_line(LONG).unwrap(), b"second");
        c.close();
        peer.join().unwrap();
    }
}

#[test]
fn exact_mode_returns_exactly_n_bytes() {
    for addr in loopbacks() {
        let (mut c, peer) = pair_on(addr, send_and_hold(b"0123456789".to_vec()));
        assert_eq!(c.receive(Mode::Bytes(3), LONG).unwrap(), b"012");
        assert_eq!(c.receive_exact(7, LONG).unwrap(), b"3456789");
        c.close();
        peer.join().unwrap();
    }
}

#[test]
fn all_mode_returns_what_is_pending_and_never_empty() {
    for addr in loopbacks() {
        let (mut c, peer) = pair_on(addr, send_and_hold(b"abc".to_vec()));
        assert_eq!(c.receive(Mode::All, LONG).unwrap(), b"abc");
        assert!(matches!(c.receive_all(ms(0)), Err(Error::Timeout)));
        assert!(c.is_open());
        c.close();
        peer.join().unwrap();
    }
}

#[test]
fn all_mode_flushes_what_earlier_calls_left_buffered() {
    let (mut c, peer) = pair(send_and_hold(b"head\ntail-of-it".to_vec()));
    let mut got = c.receive_line(LONG).unwrap().to_vec();
    assert_eq!(got, b"head");
    got.clear();
    // The rest may come from the buffer and the kernel in any split; it
    // must come whole and in order.
    while got.len() < b"tail-of-it".len() {
        got.extend_from_slice(c.receive_all(LONG).unwrap());
    }
    assert_eq!(got, b"tail-of-it");
    c.close();
    peer.join().unwrap();
}

#[test]
fn modes_mix_on_one_stream_in_order() {
    let (mut c, peer) = pair(send_and_hold(b"L1\r\nXYZW rest\nL3\n".to_vec()));
    assert_eq!(c.receive_line(LONG).unwrap(), b"L1");
    assert_eq!(c.receive_exact(4, LONG).unwrap(), b"XYZW");
    assert_eq!(c.receive_line(LONG).unwrap(), b" rest");
    assert_eq!(c.receive_vec(Mode::All, LONG).unwrap(), b"L3\n");
    c.close();
    peer.join().unwrap();
}

#[test]
fn binary_bytes_pass_unchanged_in_every_mode() {
    let mut payload: Vec<u8> = (0u8..=255).filter(|b| *b != b'\n' && *b != b'\r').collect();
    payload.extend_from_slice(&[0, 0, 0xff, 0x80]);
    let mut wire = payload.clone();
    wire.push(b'\n');
    wire.extend_from_slice(&payload);
    wire.extend_from_slice(&payload);
    let (mut c, peer) = pair(send_and_hold(wire));
    assert_eq!(c.receive_line(LONG).unwrap(), &payload[..]);
    assert_eq!(c.receive_exact(payload.len(), LONG).unwrap(), &payload[..]);
    let mut rest = Vec::new();
    while rest.len() < payload.len() {
        rest.extend_from_slice(c.receive_all(LONG).unwrap());
    }
    assert_eq!(rest, payload);
    c.close();
    peer.join().unwrap();
}

#[test]
fn zero_size_and_oversize_reads_are_argument_errors() {
    let (mut c, peer) = pair(send_and_hold(b"x".to_vec()));
    assert!(matches!(
        c.receive(Mode::Bytes(0), LONG),
        Err(Error::InvalidArgument(_))
    ));
    let huge = 16 * 1024 * 1024 + 1;
    assert!(matches!(
        c.receive_exact(huge, LONG),
        Err(Error::InvalidArgument(_))
    ));
    assert!(c.is_open(), "an argument error leaves the socket open");
    assert_eq!(c.receive_exact(1, LONG).unwrap(), b"x");
    c.close();
    peer.join().unwrap();
}

#[test]
fn mode_strings_parse_like_renoise() {
    for (s, m) in [
        ("*line", Mode::Line),
        ("*l", Mode::Line),
        ("*all", Mode::All),
        ("*a", Mode::All),
    ] {
        assert_eq!(s.parse::<Mode>().unwrap(), m);
    }
    for bad in ["0", "-1", "1.5", "*nothing", "", "*LINE"] {
        assert!(bad.parse::<Mode>().is_err(), "{bad:?} must be rejected");
    }
}
