//! Bounded memory: the longest line, the largest read and the "*all" chunk.
mod common;
use common::*;
use renoise_socket::{ClientBuilder, Error};
use std::io::Write;

#[test]
fn too_long_line_is_an_error_and_the_data_stays_buffered() {
    let (mut c, peer) = pair_with(
        ClientBuilder::new().max_line_length(5),
        send_and_hold(b"abcdefghij\nok\n".to_vec()),
    );
    let e = c.receive_line(LONG).unwrap_err();
    assert!(matches!(e, Error::LineTooLong), "{e}");
    assert_eq!(e.to_string(), "line too long");
    assert!(c.is_open());
    assert_eq!(c.receive_exact(11, LONG).unwrap(), b"abcdefghij\n");
    assert_eq!(c.receive_line(LONG).unwrap(), b"ok");
    c.close();
    peer.join().unwrap();
}

#[test]
fn line_of_exactly_the_maximum_is_accepted() {
    let (mut c, peer) = pair_with(
        ClientBuilder::new().max_line_length(5),
        send_and_hold(b"abcde\r\n".to_vec()),
    );
    assert_eq!(c.receive_line(LONG).unwrap(), b"abcde");
    c.close();
    peer.join().unwrap();
}

#[test]
fn all_mode_returns_at_most_one_chunk_per_call() {
    let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    let (mut c, peer) = pair_with(
        ClientBuilder::new().all_chunk_size(1000),
        chunks(vec![data.clone()], ms(0)),
    );
    let mut got = Vec::new();
    loop {
        match c.receive_all(LONG) {
            Ok(d) => {
                assert!(!d.is_empty() && d.len() <= 1000, "chunk of {}", d.len());
                got.extend_from_slice(d);
            }
            Err(Error::Disconnected) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, data);
    peer.join().unwrap();
}

#[test]
fn all_loop_over_a_fast_writer_keeps_memory_bounded() {
    const TOTAL: usize = 256 << 20;
    let (mut c, peer) = pair(|mut s| {
        let block = vec![7u8; 1 << 20];
        for _ in 0..TOTAL >> 20 {
            s.write_all(&block).unwrap();
        }
    });
    let (mut total, mut biggest, mut cap) = (0usize, 0usize, 0usize);
    loop {
        match c.receive_all(ms(0)) {
            Ok(d) => {
                total += d.len();
                biggest = biggest.max(d.len());
            }
            Err(Error::Timeout) => {
                // Nothing pending: block for one byte, as pollers do.
                match c.receive_exact(1, LONG) {
                    Ok(_) => total += 1,
                    Err(Error::Disconnected) => break,
                    Err(e) => panic!("{e}"),
                }
            }
            Err(Error::Disconnected) => break,
            Err(e) => panic!("{e}"),
        }
        cap = cap.max(c.buffer_capacity());
    }
    assert_eq!(total, TOTAL);
    assert!(biggest <= 64 * 1024, "one call returned {biggest} bytes");
    assert!(cap <= 1 << 20, "buffer grew to {cap} bytes");
    peer.join().unwrap();
}

#[test]
fn a_long_partial_line_grows_the_buffer_only_up_to_the_limit() {
    let (mut c, peer) = pair_with(ClientBuilder::new().max_line_length(100_000), |mut s| {
        // Far more than the limit, no terminator; the client must stop
        // reading into memory once the line is known to be too long.
        let _ = s.write_all(&vec![b'z'; 8 << 20]);
    });
    assert!(matches!(c.receive_line(LONG), Err(Error::LineTooLong)));
    assert!(
        c.buffer_capacity() < 400_000,
        "capacity {}",
        c.buffer_capacity()
    );
    c.close();
    peer.join().unwrap();
}

#[test]
fn a_line_limit_of_usize_max_means_no_limit() {
    let (mut c, peer) = pair_with(
        ClientBuilder::new().max_line_length(usize::MAX),
        send_and_hold(b"abc\n".to_vec()),
    );
    assert_eq!(c.receive_line(LONG).unwrap(), b"abc");
    c.close();
    peer.join().unwrap();
}

#[test]
fn a_huge_exact_read_takes_memory_as_data_arrives_not_ahead() {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (mut c, peer) = pair_with(
        ClientBuilder::new().max_receive_size(usize::MAX),
        move |mut s| {
            rx.recv().unwrap();
            s.write_all(&[7; 3 << 20]).unwrap();
        },
    );
    // 1 TiB on a quiet socket: a timeout, not an allocation of 1 TiB.
    assert!(matches!(
        c.receive_exact(1 << 40, ms(100)),
        Err(Error::Timeout)
    ));
    assert!(c.buffer_capacity() <= 2 << 20, "{}", c.buffer_capacity());
    tx.send(()).unwrap();
    // The peer sends 3 MiB and closes: the short record is all there is.
    let got = c.receive_exact(1 << 40, LONG).unwrap();
    assert_eq!(got.len(), 3 << 20);
    assert!(got.iter().all(|&b| b == 7));
    assert!(c.buffer_capacity() <= 16 << 20, "{}", c.buffer_capacity());
    assert!(matches!(c.receive_exact(1, LONG), Err(Error::Disconnected)));
    peer.join().unwrap();
}
