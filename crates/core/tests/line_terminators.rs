//! Every line terminator of the spec, including a `\r\n` cut in two.
mod common;
use common::*;

fn lines_of(wire: &[u8], n: usize) -> Vec<Vec<u8>> {
    let (mut c, peer) = pair(send_and_hold(wire.to_vec()));
    let out = (0..n)
        .map(|_| c.receive_line(LONG).unwrap().to_vec())
        .collect();
    c.close();
    peer.join().unwrap();
    out
}

#[test]
fn lf_crlf_and_lone_cr_each_end_a_line() {
    let got = lines_of(b"a\nb\r\nc\rd\n", 4);
    assert_eq!(
        got,
        vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), b"d".to_vec()]
    );
}

#[test]
fn empty_lines_come_back_as_empty_strings() {
    let got = lines_of(b"\n\r\n\r\rx\n", 5);
    assert_eq!(got, vec![vec![], vec![], vec![], vec![], b"x".to_vec()]);
}

#[test]
fn lf_then_cr_is_two_terminators() {
    // "\n\r" is not a terminator pair: it ends one line and then an empty one.
    let got = lines_of(b"a\n\rb\n", 3);
    assert_eq!(got, vec![b"a".to_vec(), vec![], b"b".to_vec()]);
}

#[test]
fn crlf_split_across_two_segments_is_one_terminator() {
    let parts = vec![b"one\r".to_vec(), b"\ntwo\n".to_vec()];
    let (mut c, peer) = pair(chunks(parts, ms(150)));
    assert_eq!(c.receive_line(LONG).unwrap(), b"one");
    assert_eq!(c.receive_line(LONG).unwrap(), b"two", "no extra empty line");
    peer.join().unwrap();
}

#[test]
fn split_crlf_lf_is_dropped_for_every_mode_that_follows() {
    for mode in 0..2 {
        let parts = vec![b"one\r".to_vec(), b"\nXY".to_vec()];
        let (mut c, peer) = pair(chunks(parts, ms(120)));
        assert_eq!(c.receive_line(LONG).unwrap(), b"one");
        let next = if mode == 0 {
            c.receive_exact(2, LONG).unwrap().to_vec()
        } else {
            let mut v = Vec::new();
            while v.len() < 2 {
                v.extend_from_slice(c.receive_all(LONG).unwrap());
            }
            v
        };
        assert_eq!(next, b"XY");
        peer.join().unwrap();
    }
}

#[test]
fn lone_cr_before_a_pause_does_not_wait_for_the_next_byte() {
    let parts = vec![b"one\r".to_vec(), b"two\n".to_vec()];
    let (mut c, peer) = pair(chunks(parts, ms(300)));
    let t = std::time::Instant::now();
    assert_eq!(c.receive_line(LONG).unwrap(), b"one");
    assert!(t.elapsed() < ms(250), "the line ended at the \\r");
    assert_eq!(c.receive_line(LONG).unwrap(), b"two");
    peer.join().unwrap();
}

#[test]
fn lines_longer_than_the_buffer_arrive_whole() {
    let long: Vec<u8> = (0..300_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut wire = long.clone();
    wire.extend_from_slice(b"\r\nshort\n");
    let got = lines_of(&wire, 2);
    assert_eq!(got[0], long);
    assert_eq!(got[1], b"short");
}
