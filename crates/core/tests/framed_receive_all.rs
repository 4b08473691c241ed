//! With framing on, `receive_all` returns exactly one whole packet and
//! `send` frames what it sends, whatever the segmentation.
mod common;
use common::*;
use renoise_socket::framing::{encode_frame, Framing};
use renoise_socket::{ClientBuilder, Error};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

fn framed_client(
    framing: Framing,
    wire: Vec<Vec<u8>>,
) -> (renoise_socket::Client, thread::JoinHandle<Vec<u8>>) {
    framed_client_with(ClientBuilder::new().framing(framing), wire)
}

/// A client built by `builder` whose peer writes `wire`, a part every
/// 30 ms, then half-closes and returns all the client sent.
fn framed_client_with(
    builder: ClientBuilder,
    wire: Vec<Vec<u8>>,
) -> (renoise_socket::Client, thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = addr_of(&listener).port();
    let peer = thread::spawn(move || {
        let mut s = accept(&listener);
        for part in wire {
            s.write_all(&part).unwrap();
            thread::sleep(ms(30));
        }
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        got
    });
    let c = builder.connect("127.0.0.1", port).unwrap();
    (c, peer)
}

fn packets() -> Vec<Vec<u8>> {
    vec![
        b"/a\0\0,i\0\0\0\0\0\x01".to_vec(),
        vec![0xC0, 0xDB, 0, 0xC0, 0xDC, 0xDD],
        vec![7u8; 3000],
    ]
}

#[test]
fn each_receive_all_is_one_packet_across_splits_and_batches() {
    for framing in [Framing::Slip, Framing::SizePrefix] {
        let mut stream = Vec::new();
        for p in packets() {
            encode_frame(framing, &p, &mut stream).unwrap();
        }
        // Cut the stream at awkward places: inside a prefix, inside an
        // escape, and several frames in one write.
        let cuts = [0, 2, 13, 15, 20, stream.len()];
        let wire: Vec<Vec<u8>> = cuts
            .windows(2)
            .map(|w| stream[w[0]..w[1]].to_vec())
            .collect();
        let (mut c, peer) = framed_client(framing, wire);
        for p in packets() {
            assert_eq!(c.receive_all(LONG).unwrap(), &p[..], "{framing}");
        }
        assert!(matches!(c.receive_all(LONG), Err(Error::Disconnected)));
        drop(c);
        peer.join().unwrap();
    }
}

#[test]
fn a_partial_packet_is_a_timeout_and_stays_buffered() {
    let mut stream = Vec::new();
    encode_frame(Framing::SizePrefix, b"hello", &mut stream).unwrap();
    let (mut c, peer) = framed_client(
        Framing::SizePrefix,
        vec![stream[..6].to_vec(), stream[6..].to_vec()],
    );
    // The first write is there, the second comes 30 ms later.
    assert!(matches!(c.receive_all(ms(0)), Err(Error::Timeout)));
    assert_eq!(c.receive_all(LONG).unwrap(), b"hello");
    drop(c);
    peer.join().unwrap();
}

#[test]
fn send_frames_each_message() {
    for framing in [Framing::Slip, Framing::SizePrefix] {
        let (mut c, peer) = framed_client(framing, vec![]);
        let mut want = Vec::new();
        for p in packets() {
            c.send(&p).unwrap();
            encode_frame(framing, &p, &mut want).unwrap();
        }
        c.close();
        assert_eq!(peer.join().unwrap(), want);
    }
}

#[test]
fn hostile_size_prefix_closes_the_socket_with_an_error() {
    let (mut c, peer) = framed_client(
        Framing::SizePrefix,
        vec![vec![0xff, 0xff, 0xff, 0xff, 1, 2]],
    );
    let e = c.receive_all(LONG).unwrap_err();
    assert!(matches!(e, Error::Framing(_)), "{e}");
    assert!(!c.is_open());
    peer.join().unwrap();
}

#[test]
fn stream_ending_inside_a_frame_is_an_error_not_a_packet() {
    let (mut c, peer) = framed_client(Framing::Slip, vec![vec![0xC0, b'a', b'b']]);
    let e = c.receive_all(LONG).unwrap_err();
    assert!(matches!(e, Error::Framing(_)), "{e}");
    assert!(!c.is_open());
    peer.join().unwrap();
}

#[test]
fn line_mode_still_reads_the_raw_stream() {
    let (mut c, peer) = framed_client(Framing::Slip, vec![b"raw line\n".to_vec()]);
    assert_eq!(c.receive_line(LONG).unwrap(), b"raw line");
    drop(c);
    peer.join().unwrap();
}

#[test]
fn trailing_empty_slip_frames_are_a_clean_end() {
    let (mut c, peer) = framed_client(Framing::Slip, vec![vec![0xC0, b'x', 0xC0, 0xC0, 0xC0]]);
    assert_eq!(c.receive_all(LONG).unwrap(), b"x");
    assert!(matches!(c.receive_all(LONG), Err(Error::Disconnected)));
    peer.join().unwrap();
}

/// The deframer keeps its progress through a frame that arrives in many
/// reads (scanned once), but only while nothing else takes bytes: after
/// another mode took some, the next packet is cut afresh from there.
#[test]
fn a_frame_scanned_in_part_is_cut_afresh_after_other_modes_take_bytes() {
    let (mut c, peer) = framed_client(
        Framing::Slip,
        vec![b"\xC0abcdef".to_vec(), b"\nghijklmnop\xC0".to_vec()],
    );
    // Wait for the first write and scan it as a frame (no END yet). The
    // empty frame before it (the leading END) is dropped as it is found.
    let start = std::time::Instant::now();
    while c.buffered() < 6 {
        assert!(start.elapsed() < BOUND, "first write never came");
        assert!(matches!(c.receive_all(ms(5)), Err(Error::Timeout)));
    }
    // A line read brings in the second write and takes the first: what is
    // left is longer than what was scanned, but none of it was.
    assert_eq!(c.receive_line(LONG).unwrap(), b"abcdef", "the END is gone");
    assert_eq!(c.receive_all(LONG).unwrap(), b"ghijklmnop");
    drop(c);
    peer.join().unwrap();
}

#[test]
fn a_frame_arriving_in_many_pieces_between_polls_is_whole() {
    let mut stream = Vec::new();
    let payload: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    encode_frame(Framing::Slip, &payload, &mut stream).unwrap();
    let wire: Vec<Vec<u8>> = stream.chunks(700).map(<[u8]>::to_vec).collect();
    let (mut c, peer) = framed_client(Framing::Slip, wire);
    let start = std::time::Instant::now();
    let got = loop {
        assert!(start.elapsed() < BOUND, "the frame never came whole");
        match c.receive_all(ms(0)) {
            Ok(p) => break p.to_vec(),
            Err(Error::Timeout) => thread::sleep(ms(3)),
            Err(e) => panic!("{e}"),
        }
    };
    assert!(got == payload, "payload differs ({} bytes)", got.len());
    drop(c);
    peer.join().unwrap();
}

#[test]
fn keepalive_empty_frames_never_end_a_connection() {
    // A sender that keeps the line alive with empty frames between rare
    // packets: thousands of them, far more than the skip limit of one
    // call, arriving a few at a time while a receive waits.
    for framing in [Framing::Slip, Framing::SizePrefix] {
        let empty: &[u8] = if framing == Framing::Slip {
            b"\xC0"
        } else {
            b"\0\0\0\0"
        };
        let mut wire: Vec<Vec<u8>> = (0..40).map(|_| empty.repeat(2000)).collect();
        let mut last = Vec::new();
        encode_frame(framing, b"/a\0\0,i\0\0\0\0\0\x01", &mut last).unwrap();
        wire.push(last);
        let builder = ClientBuilder::new().framing(framing).max_receive_size(64);
        let (mut c, peer) = framed_client_with(builder, wire);
        assert_eq!(
            c.receive_all(LONG).unwrap(),
            b"/a\0\0,i\0\0\0\0\0\x01",
            "{framing}"
        );
        // Nothing of the empty frames is left buffered.
        assert_eq!(c.buffered(), 0, "{framing}");
        c.close();
        peer.join().unwrap();
    }
}
