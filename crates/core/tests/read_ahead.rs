//! Read-ahead: a reader that falls behind its sender and takes the data in
//! small pieces reads in larger gulps, up to `ClientBuilder::read_ahead`,
//! without changing what any call returns; and a program polling `"*all"`
//! less often than its sender fills the buffer gets larger chunks, up to
//! `ClientBuilder::all_chunk_size`.
mod common;
use common::*;
use renoise_socket::{Client, ClientBuilder};
use std::io::Write;
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

const LINES: usize = 40_000;
const INITIAL: usize = 32 << 10;

/// Line `i`: its number and filler, 100 bytes in all with the `\n`.
fn line(i: usize) -> Vec<u8> {
    let mut l = format!("{i:08}").into_bytes();
    l.resize(99, b'a' + (i % 26) as u8);
    l.push(b'\n');
    l
}

/// A peer that writes `total` bytes of [`range_byte`] as fast as it can,
/// then closes; its port and thread.
fn serve_range(total: usize) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = addr_of(&listener).port();
    let peer = thread::spawn(move || {
        let mut s = accept(&listener);
        let data: Vec<u8> = (0..total).map(range_byte).collect();
        s.write_all(&data).unwrap();
    });
    (port, peer)
}

/// Byte `i` of the stream [`serve_range`] sends.
fn range_byte(i: usize) -> u8 {
    (i % 251) as u8
}

/// Checks that `got` is the stream from offset `at` on.
fn assert_range(got: &[u8], at: usize) {
    for (k, b) in got.iter().enumerate() {
        assert_eq!(*b, range_byte(at + k), "byte {}", at + k);
    }
}

/// Reads every line from a writer that sends 4 MB as fast as it can,
/// pausing now and then so the kernel's queue fills up behind it, as it
/// does behind an interpreter. The buffer starts at 32 KiB,
/// so two full reads in a row need only a small queue, whatever TCP's
/// window tuning does on a loaded machine. Returns the client, still
/// connected (the peer then writes whatever comes through the sender, and
/// closes when the sender is dropped), and the largest buffer seen.
fn read_behind(builder: ClientBuilder) -> (Client, usize, mpsc::Sender<Vec<u8>>, JoinHandle<()>) {
    let builder = builder.all_chunk_size(INITIAL);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = addr_of(&listener).port();
    let (more, then) = mpsc::channel::<Vec<u8>>();
    let peer = thread::spawn(move || {
        let mut s = accept(&listener);
        let all: Vec<u8> = (0..LINES).flat_map(line).collect();
        s.write_all(&all).unwrap();
        for data in then {
            s.write_all(&data).unwrap();
        }
    });
    let mut c: Client = builder.connect("127.0.0.1", port).unwrap();
    let mut biggest = 0;
    for i in 0..LINES {
        if i % 500 == 0 {
            thread::sleep(Duration::from_millis(5));
        }
        let got = c.receive_line(LONG).unwrap();
        assert_eq!(got, &line(i)[..99], "line {i}");
        biggest = biggest.max(c.buffer_capacity());
    }
    (c, biggest, more, peer)
}

/// [`read_behind`] to the end of the stream; the largest buffer seen.
fn slow_reader(builder: ClientBuilder) -> usize {
    let (mut c, biggest, more, peer) = read_behind(builder);
    drop(more);
    assert!(c.receive_line(LONG).unwrap_err().is_disconnected());
    peer.join().unwrap();
    biggest
}

/// A client whose buffer grew past its initial size and is now empty.
fn grown() -> (Client, mpsc::Sender<Vec<u8>>, JoinHandle<()>) {
    let (c, biggest, more, peer) = read_behind(ClientBuilder::new().read_ahead(256 << 10));
    assert!(biggest > INITIAL, "the buffer stayed at {biggest} bytes");
    assert!(c.buffer_capacity() > INITIAL);
    assert_eq!(c.buffered(), 0);
    (c, more, peer)
}

#[test]
fn a_reader_that_falls_behind_grows_its_buffer_up_to_the_read_ahead() {
    let cap = slow_reader(ClientBuilder::new().read_ahead(256 << 10));
    assert!(cap > INITIAL, "the buffer stayed at {cap} bytes");
    assert!(cap <= 256 << 10, "the buffer grew to {cap} bytes");
}

#[test]
fn by_default_the_buffer_stays_at_its_initial_size() {
    let cap = slow_reader(ClientBuilder::new());
    assert_eq!(cap, INITIAL);
}

#[test]
fn a_reader_taking_whole_chunks_keeps_its_small_buffer() {
    const TOTAL: usize = 8 << 20;
    let (port, peer) = serve_range(TOTAL);
    let mut c = ClientBuilder::new()
        .read_ahead(1 << 20)
        .connect("127.0.0.1", port)
        .unwrap();
    thread::sleep(Duration::from_millis(20));
    let (mut total, mut biggest, mut cap) = (0usize, 0usize, 0usize);
    loop {
        cap = cap.max(c.buffer_capacity());
        match c.receive_all(LONG) {
            Ok(d) => {
                assert_range(d, total);
                total += d.len();
                biggest = biggest.max(d.len());
            }
            Err(e) if e.is_disconnected() => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(total, TOTAL);
    assert!(biggest <= 64 << 10, "one call returned {biggest} bytes");
    assert_eq!(cap, 64 << 10);
    peer.join().unwrap();
}

#[test]
fn a_grown_buffer_is_given_back_when_a_receive_waits_its_whole_timeout() {
    let (mut c, more, peer) = grown();
    assert!(c.receive_line(ms(50)).unwrap_err().is_timeout());
    assert_eq!(c.buffer_capacity(), 0);
    // The next read starts again at the initial size, and nothing is lost.
    more.send(b"after\n".to_vec()).unwrap();
    assert_eq!(c.receive_line(LONG).unwrap(), b"after");
    assert_eq!(c.buffer_capacity(), INITIAL);
    drop(more);
    assert!(c.receive_line(LONG).unwrap_err().is_disconnected());
    peer.join().unwrap();
}

#[test]
fn a_grown_buffer_is_given_back_after_eight_idle_polls_in_a_row() {
    let (mut c, more, peer) = grown();
    let cap = c.buffer_capacity();
    for _ in 0..7 {
        assert!(c.receive_line(Duration::ZERO).unwrap_err().is_timeout());
    }
    // A program that drains what is pending and polls again keeps its buffer.
    assert_eq!(c.buffer_capacity(), cap);
    assert!(c.receive_line(Duration::ZERO).unwrap_err().is_timeout());
    assert_eq!(c.buffer_capacity(), 0);
    more.send(b"after\n".to_vec()).unwrap();
    assert_eq!(c.receive_line(LONG).unwrap(), b"after");
    drop(more);
    peer.join().unwrap();
}

#[test]
fn a_grown_buffer_holding_part_of_a_line_keeps_it_through_a_timeout() {
    let (mut c, more, peer) = grown();
    let cap = c.buffer_capacity();
    more.send(b"half of a ".to_vec()).unwrap();
    assert!(c.receive_line(ms(300)).unwrap_err().is_timeout());
    assert_eq!(c.buffered(), 10, "the partial line must stay buffered");
    assert_eq!(c.buffer_capacity(), cap);
    for _ in 0..10 {
        assert!(c.receive_line(Duration::ZERO).unwrap_err().is_timeout());
    }
    assert_eq!(c.buffer_capacity(), cap);
    more.send(b"line\n".to_vec()).unwrap();
    assert_eq!(c.receive_line(LONG).unwrap(), b"half of a line");
    drop(more);
    peer.join().unwrap();
}

/// Reads 4 MB in records of `size` bytes, pausing now and then as
/// [`read_behind`] does; checks every byte, returns the largest buffer.
fn record_reader(size: usize) -> usize {
    const TOTAL: usize = 4 << 20;
    let (port, peer) = serve_range(TOTAL);
    let mut c = ClientBuilder::new()
        .all_chunk_size(INITIAL)
        .read_ahead(256 << 10)
        .connect("127.0.0.1", port)
        .unwrap();
    let (mut total, mut biggest) = (0, 0);
    while total < TOTAL {
        if (total / size) % 500 == 0 {
            thread::sleep(Duration::from_millis(5));
        }
        let got = c.receive_exact(size, LONG).unwrap();
        assert_eq!(got.len(), size.min(TOTAL - total));
        assert_range(got, total);
        total += got.len();
        biggest = biggest.max(c.buffer_capacity());
    }
    assert!(c.receive_exact(size, LONG).unwrap_err().is_disconnected());
    peer.join().unwrap();
    biggest
}

#[test]
fn a_reader_of_small_records_that_falls_behind_grows_its_buffer() {
    let cap = record_reader(64);
    assert!(cap > INITIAL, "the buffer stayed at {cap} bytes");
    assert!(cap <= 256 << 10, "the buffer grew to {cap} bytes");
}

#[test]
fn a_reader_of_records_too_large_for_sixteen_to_a_read_keeps_its_buffer() {
    // 4 KiB records: eight to a 32 KiB read. The buffer may grow to hold
    // one record, never for read-ahead.
    assert_eq!(record_reader(4 << 10), INITIAL);
}

/// Polls `receive_all` every few milliseconds, as a tool polls `"*all"`
/// once per idle tick, from a writer of `TOTAL` bytes that is faster;
/// checks every byte and returns the largest call and buffer.
fn all_poller(builder: ClientBuilder) -> (usize, usize) {
    const TOTAL: usize = 8 << 20;
    let (port, peer) = serve_range(TOTAL);
    let mut c = builder.connect("127.0.0.1", port).unwrap();
    let (mut total, mut biggest, mut cap) = (0usize, 0usize, 0usize);
    loop {
        thread::sleep(Duration::from_millis(10));
        match c.receive_all(Duration::ZERO) {
            Ok(d) => {
                assert_range(d, total);
                total += d.len();
                biggest = biggest.max(d.len());
            }
            Err(e) if e.is_timeout() => {}
            Err(e) if e.is_disconnected() => break,
            Err(e) => panic!("{e}"),
        }
        cap = cap.max(c.buffer_capacity());
    }
    assert_eq!(total, TOTAL);
    peer.join().unwrap();
    (biggest, cap)
}

#[test]
fn an_all_poller_that_falls_behind_gets_chunks_up_to_the_chunk_size() {
    let (biggest, cap) = all_poller(ClientBuilder::new().all_chunk_size(256 << 10));
    assert!(biggest > 64 << 10, "calls stayed at {biggest} bytes");
    assert!(biggest <= 256 << 10, "one call returned {biggest} bytes");
    assert!(cap <= 256 << 10, "the buffer grew to {cap} bytes");
}

#[test]
fn by_default_an_all_poller_that_falls_behind_gets_64_kib_chunks() {
    let (biggest, cap) = all_poller(ClientBuilder::new().read_ahead(1 << 20));
    assert_eq!(biggest, 64 << 10);
    assert_eq!(cap, 64 << 10);
}

#[test]
fn a_large_chunk_size_takes_memory_only_once_a_poller_falls_behind() {
    let (mut c, peer) = pair_with(
        ClientBuilder::new().all_chunk_size(1 << 20),
        send_and_hold(vec![b'x'; 1000]),
    );
    assert_eq!(c.receive_all(LONG).unwrap(), &[b'x'; 1000][..]);
    assert_eq!(c.buffer_capacity(), 64 << 10);
    c.close();
    peer.join().unwrap();
}

#[test]
fn whole_chunks_between_small_reads_end_a_run_of_full_reads() {
    // The peer's data is all queued: every read below comes back full.
    const SMALL: usize = 16 << 10;
    let (mut c, peer) = pair_with(
        ClientBuilder::new()
            .all_chunk_size(SMALL)
            .read_ahead(1 << 20),
        send_and_hold(vec![b'x'; 256 << 10]),
    );
    thread::sleep(Duration::from_millis(50));
    for _ in 0..2 {
        assert_eq!(c.receive_exact(1, LONG).unwrap().len(), 1);
        assert_eq!(c.receive_exact(SMALL - 1, LONG).unwrap().len(), SMALL - 1);
        assert_eq!(c.receive_all(Duration::ZERO).unwrap().len(), SMALL);
    }
    // Two full reads for small pieces, but not in a row: no growth.
    assert_eq!(c.buffer_capacity(), SMALL);
    c.close();
    peer.join().unwrap();
}

#[test]
fn a_read_by_another_call_between_two_polls_keeps_the_second_to_64_kib() {
    let (port, peer) = serve_range(8 << 20);
    let mut c = ClientBuilder::new()
        .all_chunk_size(1 << 20)
        .connect("127.0.0.1", port)
        .unwrap();
    let mut at = 0;
    let mut take = |c: &mut Client, timeout: Duration| {
        thread::sleep(Duration::from_millis(20));
        let d = c.receive_all(timeout).unwrap();
        assert_range(d, at);
        at += d.len();
        d.len()
    };
    take(&mut c, LONG); // the peer has started
    take(&mut c, Duration::ZERO);
    // Not a poll: the next one is not "5 ms after the last", whatever the
    // clock says, and reads what one read brings.
    take(&mut c, LONG);
    let n = take(&mut c, Duration::ZERO);
    assert!(n <= 64 << 10, "the poll returned {n} bytes");
    loop {
        match c.receive_all(LONG) {
            Ok(d) => {
                assert_range(d, at);
                at += d.len();
            }
            Err(e) if e.is_disconnected() => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(at, 8 << 20);
    peer.join().unwrap();
}
