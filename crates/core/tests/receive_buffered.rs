//! `Client::receive_buffered`: what `receive` would return without a
//! system call, or `None` consuming nothing; mixed with `receive` on any
//! split of any stream it changes no result.
mod common;
use common::*;
use proptest::prelude::*;
use renoise_socket::{Client, ClientBuilder, Error, Mode};
use std::io::Write;
use std::sync::mpsc;

#[test]
fn takes_what_a_read_brought_and_leaves_the_rest() {
    for addr in loopbacks() {
        let (more, then) = mpsc::channel::<()>();
        let (mut c, peer) = pair_on(addr, move |mut s| {
            // One write: one segment on loopback, read whole by the first
            // receive.
            s.write_all(b"a\nb\r\nrecord-part").unwrap();
            then.recv_timeout(BOUND).unwrap();
            s.write_all(b"\n").unwrap();
            then.recv_timeout(BOUND).unwrap();
        });
        assert_eq!(c.receive_buffered(Mode::Line), None, "nothing read yet");
        assert_eq!(c.receive_line(LONG).unwrap(), b"a");
        assert_eq!(c.receive_buffered(Mode::Line), Some(&b"b"[..]));
        assert_eq!(c.receive_buffered(Mode::Bytes(6)), Some(&b"record"[..]));
        // "-part" has no terminator and only 5 bytes: nothing is taken.
        assert_eq!(c.receive_buffered(Mode::Line), None);
        assert_eq!(c.receive_buffered(Mode::Bytes(6)), None);
        assert_eq!(c.receive_buffered(Mode::All), None);
        assert_eq!(c.receive_buffered(Mode::Bytes(0)), None);
        more.send(()).unwrap();
        assert_eq!(c.receive_line(LONG).unwrap(), b"-part");
        assert_eq!(c.receive_buffered(Mode::Line), None);
        c.close();
        assert_eq!(c.receive_buffered(Mode::Bytes(1)), None);
        assert!(matches!(c.receive_line(ms(0)), Err(Error::Closed)));
        more.send(()).unwrap();
        peer.join().unwrap();
    }
}

#[test]
fn leaves_limits_to_receive() {
    let (listener, port) = listen("127.0.0.1");
    let peer = serve_one(
        listener,
        send_and_hold(b"xtoolong\nok\n0123456789".to_vec()),
    );
    let mut c = ClientBuilder::new()
        .max_line_length(4)
        .max_receive_size(8)
        .connect("127.0.0.1", port)
        .unwrap();
    assert_eq!(c.receive_exact(1, LONG).unwrap(), b"x");
    assert_eq!(c.receive_buffered(Mode::Line), None, "too long");
    assert!(matches!(c.receive_line(ms(0)), Err(Error::LineTooLong)));
    assert_eq!(c.receive_exact(8, LONG).unwrap(), b"toolong\n");
    assert_eq!(c.receive_buffered(Mode::Line), Some(&b"ok"[..]));
    assert_eq!(c.receive_buffered(Mode::Bytes(9)), None, "over the limit");
    assert!(matches!(
        c.receive_exact(9, ms(0)),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(c.receive_buffered(Mode::Bytes(8)), Some(&b"01234567"[..]));
    c.close();
    peer.join().unwrap();
}

/// One call of a reader: a mode, and whether to try `receive_buffered`
/// first.
#[derive(Clone, Copy, Debug)]
struct Step {
    mode: Mode,
    buffered_first: bool,
}

/// What a call gave, comparable across readers.
#[derive(Debug, PartialEq)]
enum Got {
    Bytes(Vec<u8>),
    Failed(String),
}

/// Connects to a peer that sends `parts` with pauses between them (so
/// reads split where the parts do, whatever the timing) and runs `steps`,
/// then reads lines until the end.
fn run(parts: &[Vec<u8>], steps: &[Step]) -> Vec<Got> {
    let (mut c, peer) = pair(chunks(parts.to_vec(), ms(3)));
    let mut got = Vec::new();
    let mut take = |c: &mut Client, step: Step| -> bool {
        if step.buffered_first {
            if let Some(b) = c.receive_buffered(step.mode) {
                got.push(Got::Bytes(b.to_vec()));
                return true;
            }
        }
        match c.receive(step.mode, LONG) {
            Ok(b) => got.push(Got::Bytes(b.to_vec())),
            Err(e) => {
                got.push(Got::Failed(e.to_string()));
                if matches!(e, Error::Disconnected) {
                    return false;
                }
            }
        }
        true
    };
    let mut open = true;
    for &s in steps {
        open = take(&mut c, s);
        if !open {
            break;
        }
    }
    while open {
        open = take(
            &mut c,
            Step {
                mode: Mode::Line,
                buffered_first: true,
            },
        );
    }
    peer.join().unwrap();
    got
}

fn part() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'x'), any::<u8>()];
    prop::collection::vec(byte, 1..40)
}

fn step() -> impl Strategy<Value = Step> {
    // No `*all`: what it returns depends on how reads split the stream,
    // and `receive_buffered` never takes it.
    let mode = prop_oneof![Just(Mode::Line), (1usize..12).prop_map(Mode::Bytes)];
    (mode, any::<bool>()).prop_map(|(mode, buffered_first)| Step {
        mode,
        buffered_first,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The same stream and the same modes, read by `receive` alone and by
    /// a reader that tries `receive_buffered` first: the same results.
    #[test]
    fn mixed_with_receive_it_changes_nothing(
        parts in prop::collection::vec(part(), 1..6),
        steps in prop::collection::vec(step(), 1..30),
    ) {
        let plain: Vec<Step> = steps
            .iter()
            .map(|s| Step { buffered_first: false, ..*s })
            .collect();
        let want = run(&parts, &plain);
        let got = run(&parts, &steps);
        prop_assert_eq!(got, want);
    }
}
