//! The no-data-lost guarantee, as a property: a random byte stream, cut
//! into random segments sent with random pauses, read back by a random
//! sequence of modes and timeouts, is delivered exactly once and in order.
//! Every returned unit is checked against a model of the stream, so a lost,
//! repeated, reordered or wrongly split byte fails the case.
mod common;
use common::*;
use proptest::prelude::*;
use renoise_socket::{ClientBuilder, Error, Mode};
use std::io::Write;
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Op {
    mode: Mode,
    timeout: Duration,
}

fn op() -> impl Strategy<Value = Op> {
    let mode = prop_oneof![
        3 => Just(Mode::Line),
        2 => Just(Mode::All),
        2 => (1usize..64).prop_map(Mode::Bytes),
    ];
    let timeout = prop_oneof![Just(Duration::ZERO), Just(ms(1)), Just(ms(4)), Just(ms(40)),];
    (mode, timeout).prop_map(|(mode, timeout)| Op { mode, timeout })
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![8 => any::<u8>(), 2 => Just(b'\n'), 2 => Just(b'\r')],
        0..3000,
    )
}

/// Where the terminator of the line starting at `at` begins, if any.
fn line_end(data: &[u8], at: usize) -> Option<usize> {
    data[at..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map(|i| at + i)
}

/// Checks one returned unit against the stream and advances the cursor.
fn check(data: &[u8], cur: &mut usize, mode: Mode, got: &[u8], chunk: usize) {
    let rest = &data[*cur..];
    assert!(got.len() <= rest.len(), "more bytes than were sent");
    assert_eq!(got, &rest[..got.len()], "bytes differ at offset {cur}");
    match mode {
        Mode::Line => {
            let end = *cur + got.len();
            assert_eq!(
                line_end(data, *cur).unwrap_or(data.len()),
                end,
                "line cut wrongly at {cur}"
            );
            *cur = end;
            if end < data.len() {
                *cur += if data[end] == b'\r' && data.get(end + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
            }
        }
        Mode::All => {
            assert!(!got.is_empty() && got.len() <= chunk);
            *cur += got.len();
        }
        Mode::Bytes(n) => {
            assert!(got.len() == n || (got.len() < n && *cur + got.len() == data.len()));
            *cur += got.len();
        }
    }
}

fn run_case(
    data: Vec<u8>,
    cuts: Vec<usize>,
    pauses: Vec<u64>,
    ops: Vec<Op>,
    max_line: usize,
    chunk: usize,
) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = addr_of(&listener).port();
    let sent = data.clone();
    let peer = thread::spawn(move || {
        let mut s = accept(&listener);
        let (mut at, mut i) = (0, 0);
        while at < sent.len() {
            let n = cuts[i % cuts.len()].min(sent.len() - at);
            s.write_all(&sent[at..at + n]).unwrap();
            s.flush().unwrap();
            thread::sleep(ms(pauses[i % pauses.len()]));
            at += n;
            i += 1;
        }
    });
    let mut c = ClientBuilder::new()
        .max_line_length(max_line)
        .all_chunk_size(chunk)
        .connect("127.0.0.1", port)
        .unwrap();
    let mut cur = 0usize;
    let start = Instant::now();
    let mut force_all = false;
    for i in 0.. {
        assert!(start.elapsed() < BOUND, "did not finish");
        let mut o = ops[i % ops.len()];
        if force_all {
            o.mode = Mode::All;
            force_all = false;
        }
        match c.receive(o.mode, o.timeout) {
            Ok(got) => check(&data, &mut cur, o.mode, got, chunk),
            Err(Error::Timeout) => assert!(c.is_open()),
            Err(Error::LineTooLong) => {
                let end = line_end(&data, cur).unwrap_or(data.len());
                assert!(
                    end - cur > max_line,
                    "line of {} reported too long",
                    end - cur
                );
                force_all = true;
            }
            Err(Error::Disconnected) => break,
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(
        cur,
        data.len(),
        "disconnected before every byte was delivered"
    );
    assert!(!c.is_open());
    peer.join().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_byte_is_delivered_once_in_order(
        data in stream(),
        cuts in proptest::collection::vec(1usize..700, 1..16),
        pauses in proptest::collection::vec(0u64..3, 1..16),
        ops in proptest::collection::vec(op(), 1..12),
        max_line in prop_oneof![Just(16usize << 20), 8usize..200],
        chunk in prop_oneof![Just(64usize << 10), 1usize..100],
    ) {
        run_case(data, cuts, pauses, ops, max_line, chunk);
    }
}

#[test]
fn crlf_cut_between_segments_at_every_position_is_one_terminator() {
    let data = b"ab\r\ncd\r\n\r\nef\rg\n".to_vec();
    for cut in 1..data.len() {
        let ops = vec![Op {
            mode: Mode::Line,
            timeout: LONG,
        }];
        run_case(
            data.clone(),
            vec![cut, 100],
            vec![20],
            ops,
            1 << 20,
            1 << 16,
        );
    }
}
