//! `Client::give_back`: a binding whose copy of a result failed hands the
//! bytes back, and the next receive, in any mode, starts with them again;
//! nothing is lost or repeated, and anything else is refused unchanged.
mod common;
use common::*;
use renoise_socket::framing::Framing;
use renoise_socket::{ClientBuilder, Error, Mode, Protocol};
use std::sync::mpsc;

#[test]
fn each_mode_returns_the_given_back_bytes_again() {
    for addr in loopbacks() {
        let (more, then) = mpsc::channel::<()>();
        let (mut c, peer) = pair_on(addr, move |mut s| {
            use std::io::Write;
            s.write_all(b"one\ntwo\r").unwrap();
            then.recv_timeout(BOUND).unwrap();
            // The `\n` of a `\r\n` split across two reads, after the line
            // it ends was given back.
            s.write_all(b"\nrecord-tail").unwrap();
        });
        let at = c.receive_line(LONG).unwrap().as_ptr();
        assert!(c.give_back(at));
        assert_eq!(c.receive_line(LONG).unwrap(), b"one");
        let at = c.receive_line(LONG).unwrap().as_ptr();
        assert!(c.give_back(at));
        assert_eq!(c.receive_line(LONG).unwrap(), b"two");
        more.send(()).unwrap();
        let at = c.receive_exact(6, LONG).unwrap().as_ptr();
        assert!(c.give_back(at));
        assert_eq!(
            c.receive_exact(6, LONG).unwrap(),
            b"record",
            "no empty line, no \\n"
        );
        let at = c.receive_all(LONG).unwrap().as_ptr();
        assert!(c.give_back(at));
        assert_eq!(c.receive_all(LONG).unwrap(), b"-tail");
        // Everything was delivered once: then the end.
        assert!(matches!(c.receive_line(LONG), Err(Error::Disconnected)));
        peer.join().unwrap();
    }
}

#[test]
fn the_last_line_before_the_end_is_given_back_before_the_end_is_told() {
    let (mut c, peer) = pair(chunks(vec![b"a\nlast".to_vec()], ms(0)));
    assert_eq!(c.receive_line(LONG).unwrap(), b"a");
    // Unterminated: returned once the end has come.
    let at = c.receive_line(LONG).unwrap().as_ptr();
    assert!(c.give_back(at));
    assert!(c.is_open());
    assert_eq!(c.receive_line(LONG).unwrap(), b"last");
    assert!(matches!(c.receive_line(LONG), Err(Error::Disconnected)));
    peer.join().unwrap();
}

#[test]
fn a_pointer_outside_what_was_handed_out_changes_nothing() {
    let (mut c, peer) = pair(send_and_hold(b"a\nb\nc\n".to_vec()));
    assert_eq!(c.receive_line(LONG).unwrap(), b"a");
    let elsewhere = b"a\n".as_ptr();
    assert!(!c.give_back(elsewhere));
    assert!(!c.give_back(std::ptr::null()));
    // Past what was handed out: "b" was, the second byte of "c\n" not.
    let b_at = c.receive_buffered(Mode::Line).unwrap().as_ptr();
    assert!(!c.give_back(b_at.wrapping_add(3)));
    assert_eq!(c.receive_line(LONG).unwrap(), b"c");
    c.close();
    peer.join().unwrap();
}

#[test]
fn framed_and_udp_clients_keep_no_position_to_go_back_to() {
    let (mut c, peer) = pair_with(
        ClientBuilder::new().framing(Framing::SizePrefix),
        send_and_hold(framed(Framing::SizePrefix, &[b"/a", b"/b"])),
    );
    let at = c.receive_all(LONG).unwrap().as_ptr();
    assert!(!c.give_back(at));
    assert_eq!(c.receive_all(LONG).unwrap(), b"/b");
    c.close();
    peer.join().unwrap();

    let udp = udp_peer("127.0.0.1");
    let mut c = ClientBuilder::new()
        .protocol(Protocol::Udp)
        .connect("127.0.0.1", udp.local_addr().unwrap().port())
        .unwrap();
    c.send(b"hello").unwrap();
    let mut buf = [0u8; 16];
    let (_, from) = udp.recv_from(&mut buf).unwrap();
    udp.send_to(b"one", from).unwrap();
    udp.send_to(b"two", from).unwrap();
    let at = c.receive_all(LONG).unwrap().as_ptr();
    assert!(!c.give_back(at));
    assert_eq!(c.receive_all(LONG).unwrap(), b"two");
}
