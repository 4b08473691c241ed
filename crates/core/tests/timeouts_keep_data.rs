//! Timeouts: one deadline per call, zero means "only what is pending", and
//! nothing read before a timeout is ever lost.
mod common;
use common::*;
use renoise_socket::Error;
use std::time::Instant;

#[test]
fn zero_timeout_on_an_empty_socket_returns_timeout_at_once() {
    let (mut c, peer) = pair(send_and_hold(Vec::new()));
    for _ in 0..3 {
        let t = Instant::now();
        assert!(matches!(c.receive_line(ms(0)), Err(Error::Timeout)));
        assert!(matches!(c.receive_all(ms(0)), Err(Error::Timeout)));
        assert!(matches!(c.receive_exact(5, ms(0)), Err(Error::Timeout)));
        assert!(t.elapsed() < ms(100), "zero timeout must not wait");
    }
    assert!(c.is_open(), "a timeout leaves the socket open");
    c.close();
    peer.join().unwrap();
}

#[test]
fn a_timeout_waits_about_as_long_as_asked() {
    let (mut c, peer) = pair(send_and_hold(Vec::new()));
    let t = Instant::now();
    assert!(matches!(c.receive_line(ms(200)), Err(Error::Timeout)));
    let took = t.elapsed();
    assert!(took >= ms(195), "returned after {took:?}");
    assert!(took < ms(2000), "returned after {took:?}");
    c.close();
    peer.join().unwrap();
}

#[test]
fn partial_line_survives_a_timeout() {
    let parts = vec![b"hel".to_vec(), b"lo\n".to_vec()];
    let (mut c, peer) = pair(chunks(parts, ms(300)));
    assert!(matches!(c.receive_line(ms(100)), Err(Error::Timeout)));
    assert_eq!(c.buffered(), 3, "\"hel\" is kept");
    assert_eq!(c.receive_line(LONG).unwrap(), b"hello");
    peer.join().unwrap();
}

#[test]
fn deadline_covers_the_whole_call_against_a_dripping_peer() {
    // One byte every 40 ms never lets a per-read timeout of 200 ms fire; the
    // call's deadline must.
    let parts: Vec<Vec<u8>> = (0..40u8).map(|i| vec![b'a' + (i % 26)]).collect();
    let (mut c, peer) = pair(chunks(parts, ms(40)));
    let t = Instant::now();
    assert!(matches!(c.receive_exact(30, ms(200)), Err(Error::Timeout)));
    let took = t.elapsed();
    assert!(took >= ms(195) && took < ms(1000), "took {took:?}");
    let kept = c.buffered();
    assert!(
        (2..30).contains(&kept),
        "bytes read so far stay buffered: {kept}"
    );
    // Everything arrives in order once the peer is done.
    let all = c.receive_exact(40, LONG).unwrap().to_vec();
    let want: Vec<u8> = (0..40u8).map(|i| b'a' + (i % 26)).collect();
    assert_eq!(all, want);
    peer.join().unwrap();
}

#[test]
fn line_deadline_holds_against_a_dripping_peer() {
    let parts: Vec<Vec<u8>> = (0..30)
        .map(|_| b"x".to_vec())
        .chain([b"\n".to_vec()])
        .collect();
    let (mut c, peer) = pair(chunks(parts, ms(30)));
    let t = Instant::now();
    assert!(matches!(c.receive_line(ms(150)), Err(Error::Timeout)));
    assert!(t.elapsed() < ms(800));
    assert_eq!(c.receive_line(LONG).unwrap(), vec![b'x'; 30]);
    peer.join().unwrap();
}

#[test]
fn partial_record_survives_a_timeout() {
    let parts = vec![b"abcd".to_vec(), b"efgh".to_vec()];
    let (mut c, peer) = pair(chunks(parts, ms(300)));
    assert!(matches!(c.receive_exact(8, ms(100)), Err(Error::Timeout)));
    assert!(matches!(c.receive_exact(8, ms(0)), Err(Error::Timeout)));
    assert_eq!(c.receive_exact(8, LONG).unwrap(), b"abcdefgh");
    peer.join().unwrap();
}

#[test]
fn zero_timeout_polls_deliver_everything_in_order() {
    let parts: Vec<Vec<u8>> = (0..20)
        .map(|i| format!("line {i}\n").into_bytes())
        .collect();
    let (mut c, peer) = pair(chunks(parts, ms(5)));
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < 20 {
        assert!(start.elapsed() < BOUND);
        match c.receive_line(ms(0)) {
            Ok(l) => got.push(String::from_utf8(l.to_vec()).unwrap()),
            Err(Error::Timeout) => std::thread::sleep(ms(1)),
            Err(e) => panic!("{e}"),
        }
    }
    let want: Vec<String> = (0..20).map(|i| format!("line {i}")).collect();
    assert_eq!(got, want);
    peer.join().unwrap();
}

#[test]
fn duration_max_waits_without_deadline_and_a_later_timeout_still_holds() {
    // The peer answers late, then holds the connection until we close it.
    let (mut c, peer) = pair(|mut s| {
        std::thread::sleep(ms(150));
        std::io::Write::write_all(&mut s, b"late\n").unwrap();
        let mut sink = [0u8; 64];
        let _ = std::io::Read::read(&mut s, &mut sink);
    });
    let t = Instant::now();
    assert_eq!(c.receive_line(std::time::Duration::MAX).unwrap(), b"late");
    assert!(t.elapsed() >= ms(140), "returned after {:?}", t.elapsed());
    // The socket's own timeout follows the next call's.
    let t = Instant::now();
    assert!(matches!(c.receive_line(ms(200)), Err(Error::Timeout)));
    let took = t.elapsed();
    assert!(
        took >= ms(195) && took < ms(2000),
        "returned after {took:?}"
    );
    c.close();
    peer.join().unwrap();
}

#[test]
fn huge_timeouts_do_not_overflow() {
    let (mut c, peer) = pair(send_and_hold(b"ok\n".to_vec()));
    assert_eq!(c.receive_line(std::time::Duration::MAX).unwrap(), b"ok");
    c.close();
    peer.join().unwrap();
}
