//! `io::Read` and `io::Write` for `Client`, and `Error` as an `io::Error`:
//! a byte stream that loses nothing, whatever the caller's buffer size and
//! however it is mixed with the `receive_*` calls.
mod common;
use common::*;
use renoise_socket::framing::Framing;
use renoise_socket::{Client, ClientBuilder, Error, Protocol};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn read_through_a_small_buffer_delivers_every_byte() {
    let data = pattern(200_000);
    let (mut c, peer) = pair(chunks(vec![data.clone()], ms(0)));
    c.set_read_timeout(Some(LONG)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 7];
    loop {
        let n = c.read(&mut buf).unwrap();
        assert!(n <= 7);
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes differ");
    join(peer);
}

#[test]
fn read_after_receive_line_drops_the_lf_of_a_split_crlf() {
    let (mut c, peer) = pair(chunks(
        vec![b"first\r".to_vec(), b"\nrest".to_vec()],
        ms(50),
    ));
    assert_eq!(c.receive_line(LONG).unwrap(), b"first");
    c.set_read_timeout(Some(LONG)).unwrap();
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"rest");
    join(peer);
}

#[test]
fn receive_after_read_gets_what_the_read_left_buffered() {
    let (mut c, peer) = pair(send_and_hold(b"abcdef\nline two\n".to_vec()));
    c.set_read_timeout(Some(LONG)).unwrap();
    let mut three = [0u8; 3];
    c.read_exact(&mut three).unwrap();
    assert_eq!(&three, b"abc");
    assert_eq!(c.receive_line(LONG).unwrap(), b"def");
    assert_eq!(c.receive_line(LONG).unwrap(), b"line two");
    c.close();
    join(peer);
}

#[test]
fn end_of_stream_reads_as_zero_every_time_and_leaves_the_client_open() {
    let (mut c, peer) = pair(chunks(vec![b"x".to_vec()], ms(0)));
    c.set_read_timeout(Some(LONG)).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(c.read(&mut buf).unwrap(), 1);
    assert_eq!(buf[0], b'x');
    assert_eq!(c.read(&mut buf).unwrap(), 0);
    assert_eq!(c.read(&mut buf).unwrap(), 0);
    assert!(c.is_open());
    assert!(!c.is_connected());
    // A receive call reports the end as always, and closes.
    assert!(matches!(c.receive_line(LONG), Err(Error::Disconnected)));
    assert!(!c.is_open());
    join(peer);
}

#[test]
fn a_peer_that_half_closed_can_still_be_answered() {
    let (tx, rx) = mpsc::channel();
    let (mut c, peer) = pair(move |mut s: TcpStream| {
        s.write_all(b"question").unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        tx.send(read_to_end_bounded(&mut s).unwrap()).unwrap();
    });
    c.set_read_timeout(Some(LONG)).unwrap();
    let mut question = Vec::new();
    c.read_to_end(&mut question).unwrap();
    assert_eq!(question, b"question");
    c.write_all(b"answer").unwrap();
    c.close();
    assert_eq!(rx.recv_timeout(BOUND).unwrap(), b"answer");
    join(peer);
}

#[test]
fn a_reset_is_connection_reset_after_every_byte_before_it() {
    // As from a std TcpStream: a body cut off by a reset must not read as
    // a clean end of stream.
    for host in LOOPBACKS {
        let data = pattern(1000);
        let sent = data.clone();
        // The reset may come before connect has looked at the handshake
        // (it then takes the reset: the client must keep it for the end).
        let (mut c, peer) = pair_on(&format!("{host}:0"), send_then_reset(sent));
        peer.join().unwrap();
        // Whether the reset is there before the data is read or comes
        // while the read waits, the data comes first, then the reset.
        c.set_read_timeout(Some(LONG)).unwrap();
        let mut got = Vec::new();
        let e = c.read_to_end(&mut got).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{host}: {e}");
        assert_eq!(got, data, "{host}");
        // Then closed, as after any error.
        assert_eq!(
            c.read(&mut [0; 8]).unwrap_err().kind(),
            io::ErrorKind::NotConnected
        );
    }
}

/// A peer that sends `data` and resets once the client's system has it.
fn send_then_reset(data: Vec<u8>) -> impl FnOnce(TcpStream) + Send + 'static {
    move |s| {
        (&s).write_all(&data).unwrap();
        until_acknowledged(&s);
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    }
}

#[test]
fn a_reset_a_send_met_first_is_still_the_end_after_the_data() {
    // The system reports a reset once; the send that met it took it, and
    // reads then find a plain end after the data.
    let data = pattern(1000);
    let (mut c, peer) = pair(send_then_reset(data.clone()));
    peer.join().unwrap();
    let until = Instant::now() + BOUND;
    loop {
        match c.write(b"x") {
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::BrokenPipe, "{e}");
                break;
            }
            // The reset had not come yet.
            Ok(_) => assert!(Instant::now() < until, "the reset never came"),
        }
        thread::sleep(Duration::from_millis(1));
    }
    c.set_read_timeout(Some(LONG)).unwrap();
    let mut got = Vec::new();
    let e = c.read_to_end(&mut got).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
    assert_eq!(got, data);
}

#[test]
fn is_connected_leaves_the_reset_for_the_read() {
    let (mut c, peer) = pair(send_then_reset(Vec::new()));
    peer.join().unwrap();
    let until = Instant::now() + BOUND;
    while c.is_connected() {
        assert!(Instant::now() < until, "the reset never showed");
        thread::sleep(Duration::from_millis(1));
    }
    c.set_read_timeout(Some(LONG)).unwrap();
    let e = c.read(&mut [0; 8]).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
}

#[test]
fn a_reset_is_still_the_end_for_receive() {
    let (mut c, peer) = pair(|s| {
        (&s).write_all(b"last words\n").unwrap();
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    });
    peer.join().unwrap();
    assert_eq!(c.receive_line(LONG).unwrap(), b"last words");
    assert!(matches!(c.receive_line(LONG), Err(Error::Disconnected)));
}

#[test]
fn a_closed_client_fails_not_connected_on_read() {
    let (mut c, peer) = pair(send_and_hold(b"unread".to_vec()));
    c.close();
    let e = c.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotConnected, "{e}");
    join(peer);
}

#[test]
fn a_write_that_stalls_part_way_reports_the_part_then_the_stall() {
    let (done, hold) = mpsc::channel::<()>();
    let (listener, port) = listen("127.0.0.1");
    // A peer that never reads, until told to go.
    let peer = serve_one(listener, move |s: TcpStream| {
        let _ = hold.recv_timeout(BOUND);
        drop(s);
    });
    let mut c = ClientBuilder::new()
        .send_timeout(Some(ms(200)))
        .connect("127.0.0.1", port)
        .unwrap();
    // An odd size, so the kernel's buffer all but never fills exactly at
    // the end of a write.
    let chunk = vec![b'y'; 1_000_003];
    let start = Instant::now();
    let part = loop {
        assert!(start.elapsed() < BOUND, "the socket never filled");
        match c.write(&chunk) {
            Ok(n) if n == chunk.len() => {}
            Ok(n) => break n,
            Err(e) => panic!("a write failed with nothing of it written: {e}"),
        }
    };
    assert!(part > 0 && part < chunk.len());
    assert!(!c.is_open(), "a stalled stream is closed");
    let e = c.write(&chunk).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<Error>());
    assert!(
        matches!(inner, Some(Error::SendStalled { written, .. }) if *written == part),
        "{e:?}"
    );
    let e = c.write(&chunk).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotConnected, "{e}");
    // Closed by an error: never a clean end of stream.
    let e = c.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotConnected, "{e}");
    done.send(()).unwrap();
    join(peer);
}

#[test]
fn an_empty_buffer_reads_nothing_and_consumes_nothing() {
    let (mut c, peer) = pair(send_and_hold(b"kept\n".to_vec()));
    assert_eq!(c.read(&mut []).unwrap(), 0);
    assert_eq!(c.receive_line(LONG).unwrap(), b"kept");
    c.close();
    join(peer);
}

#[test]
fn read_timeout_fails_timed_out_and_loses_nothing() {
    let (go, wait) = mpsc::channel::<()>();
    let (mut c, peer) = pair(move |mut s: TcpStream| {
        wait.recv_timeout(BOUND).unwrap();
        s.write_all(b"late").unwrap();
        let _ = s.read(&mut [0u8; 1]);
    });
    assert_eq!(c.read_timeout(), None);
    c.set_read_timeout(Some(ms(50))).unwrap();
    assert_eq!(c.read_timeout(), Some(ms(50)));
    let start = Instant::now();
    let e = c.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
    assert!(
        start.elapsed() >= ms(40),
        "returned after {:?}",
        start.elapsed()
    );
    assert!(c.is_open());
    c.set_read_timeout(Some(Duration::ZERO)).unwrap();
    let e = c.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
    go.send(()).unwrap();
    c.set_read_timeout(Some(LONG)).unwrap();
    let mut buf = [0u8; 8];
    let mut got = Vec::new();
    while got.len() < 4 {
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"late");
    c.set_read_timeout(None).unwrap();
    assert_eq!(c.read_timeout(), None);
    c.close();
    join(peer);
}

#[test]
fn buf_reader_lines_over_a_client() {
    let text = b"alpha\nbeta\r\ngamma".to_vec();
    let (mut c, peer) = pair(chunks(vec![text], ms(0)));
    c.set_read_timeout(Some(LONG)).unwrap();
    let lines: Vec<String> = BufReader::new(c).lines().map(Result::unwrap).collect();
    assert_eq!(lines, ["alpha", "beta", "gamma"]);
    join(peer);
}

#[test]
fn write_all_and_write_macro_reach_the_peer() {
    let (tx, rx) = mpsc::channel();
    let (mut c, peer) = pair(move |mut s: TcpStream| {
        tx.send(read_to_end_bounded(&mut s).unwrap()).unwrap();
    });
    let big = pattern(300_000);
    c.write_all(&big).unwrap();
    let word = String::from("ab");
    write!(c, "{}-{word}", 12).unwrap();
    assert_eq!(c.write(&[]).unwrap(), 0);
    c.flush().unwrap();
    c.close();
    let got = rx.recv_timeout(BOUND).unwrap();
    assert_eq!(got.len(), big.len() + 5);
    assert!(got[..big.len()] == big[..], "bytes differ");
    assert_eq!(&got[big.len()..], b"12-ab");
    join(peer);
}

#[test]
fn writing_to_a_peer_that_has_gone_is_broken_pipe() {
    let (mut c, peer) = pair(drop);
    join(peer);
    let start = Instant::now();
    let e = loop {
        // The first writes may reach the kernel before the peer's reset.
        match c.write_all(b"anyone there?\n") {
            Ok(()) => {
                assert!(start.elapsed() < BOUND, "writes never failed");
                thread::sleep(ms(5));
            }
            Err(e) => break e,
        }
    };
    assert_eq!(e.kind(), io::ErrorKind::BrokenPipe, "{e}");
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<Error>());
    assert!(matches!(inner, Some(Error::Disconnected)), "{e:?}");
    assert!(!c.is_open());
}

#[test]
fn after_a_broken_pipe_the_end_reads_as_zero_every_time() {
    let (mut c, peer) = pair(drop);
    join(peer);
    let start = Instant::now();
    while c.write_all(b"anyone there?\n").is_ok() {
        assert!(start.elapsed() < BOUND, "writes never failed");
        thread::sleep(ms(5));
    }
    c.set_read_timeout(Some(LONG)).unwrap();
    let mut buf = [0u8; 16];
    // As on a std `TcpStream`: the end, as often as it is read.
    for i in 0..3 {
        let n = c
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("read {i}: {e:?}"));
        assert_eq!(n, 0, "read {i}");
    }
    // A `receive_*` call still reports it, and then the client is closed.
    assert!(matches!(c.receive_all(LONG), Err(Error::Disconnected)));
    assert!(matches!(c.receive_all(LONG), Err(Error::Closed)));
    assert_eq!(
        c.read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::NotConnected
    );
}

#[test]
fn writing_to_a_closed_client_is_not_connected() {
    let (mut c, peer) = pair(send_and_hold(Vec::new()));
    c.close();
    let e = c.write(b"x").unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotConnected, "{e}");
    assert_eq!(e.to_string(), "socket is closed");
    // Nothing to write fails too, as `send(b"")` does.
    let e = c.write(b"").unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotConnected, "{e}");
    join(peer);
}

#[test]
fn writing_nothing_to_an_open_client_writes_nothing() {
    let (mut c, peer) = pair(send_and_hold(Vec::new()));
    assert_eq!(c.write(b"").unwrap(), 0);
    assert!(c.is_open());
    join(peer);
}

#[test]
fn a_framed_client_refuses_the_byte_stream() {
    let (listener, port) = listen("127.0.0.1");
    let peer = serve_one(listener, send_and_hold(Vec::new()));
    let mut c = ClientBuilder::new()
        .framing(Framing::Slip)
        .connect("127.0.0.1", port)
        .unwrap();
    c.set_read_timeout(Some(LONG)).unwrap();
    let e = c.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{e}");
    assert!(e.to_string().contains("receive_all"), "{e}");
    let e = c.write(b"x").unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{e}");
    assert!(c.is_open());
    c.close();
    join(peer);
}

#[test]
fn udp_read_cuts_a_datagram_and_keeps_the_rest() {
    let peer = udp_peer("127.0.0.1");
    let port = peer.local_addr().unwrap().port();
    let mut c = Client::builder()
        .protocol(Protocol::Udp)
        .connect("127.0.0.1", port)
        .unwrap();
    c.set_read_timeout(Some(LONG)).unwrap();
    peer.send_to(b"hello", c.local_addr()).unwrap();
    peer.send_to(b"world", c.local_addr()).unwrap();
    let mut buf = [0u8; 3];
    let mut parts = Vec::new();
    for _ in 0..4 {
        let n = c.read(&mut buf).unwrap();
        parts.push(buf[..n].to_vec());
    }
    assert_eq!(parts, [&b"hel"[..], b"lo", b"wor", b"ld"]);
    c.write_all(b"reply").unwrap();
    let mut got = [0u8; 16];
    let (n, from): (usize, SocketAddr) = peer.recv_from(&mut got).unwrap();
    assert_eq!(&got[..n], b"reply");
    assert_eq!(from, c.local_addr());
    // `write!` formats first and sends once: one datagram, not one a piece.
    let (word, n, ch) = ("a", 1, 'b');
    write!(c, "{word}-{n}-{ch}").unwrap();
    let n = peer.recv(&mut got).unwrap();
    assert_eq!(&got[..n], b"a-1-b");
}

#[test]
fn errors_become_io_errors_of_the_nearest_kind() {
    use io::ErrorKind as K;
    let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let cases = [
        (Error::Timeout, K::TimedOut),
        (Error::Disconnected, K::UnexpectedEof),
        (Error::Closed, K::NotConnected),
        (Error::LineTooLong, K::InvalidData),
        (Error::InvalidArgument("bad mode".into()), K::InvalidInput),
        (Error::Refused { addr }, K::ConnectionRefused),
        (Error::Unreachable { addr }, K::HostUnreachable),
        (
            Error::UnknownHost {
                host: "nowhere".into(),
            },
            K::NotFound,
        ),
        (
            Error::ConnectTimeout {
                addr,
                timeout_ms: 5,
            },
            K::TimedOut,
        ),
        (
            Error::SendStalled {
                written: 1,
                total: 2,
            },
            K::TimedOut,
        ),
        (Error::MessageTooLarge { len: 9, max: 8 }, K::InvalidInput),
        (Error::OscDecode("x".into()), K::InvalidData),
        (Error::OscEncode("x".into()), K::InvalidInput),
        (Error::Framing("x".into()), K::InvalidData),
    ];
    for (e, kind) in cases {
        let text = e.to_string();
        let io = io::Error::from(e);
        assert_eq!(io.kind(), kind, "{text}");
        assert_eq!(io.to_string(), text);
        assert!(io.get_ref().is_some_and(|i| i.is::<Error>()), "{text}");
    }
    // The operating system's own error comes back as it was.
    let os = io::Error::from(Error::Io(io::Error::from_raw_os_error(libc_eacces())));
    assert_eq!(os.raw_os_error(), Some(libc_eacces()));
    assert_eq!(os.kind(), K::PermissionDenied);
}

/// EACCES on Linux.
fn libc_eacces() -> i32 {
    13
}

#[test]
fn question_marks_both_ways_keep_the_variant() {
    fn inner(c: &mut Client) -> io::Result<usize> {
        c.read(&mut [0u8; 4])
    }
    fn outer(c: &mut Client) -> renoise_socket::Result<usize> {
        Ok(inner(c)?)
    }
    let (mut c, peer) = pair(send_and_hold(Vec::new()));
    c.set_read_timeout(Some(ms(20))).unwrap();
    let e = outer(&mut c).unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    c.close();
    let e = outer(&mut c).unwrap_err();
    assert!(matches!(e, Error::Closed), "{e:?}");
    // A plain operating-system error stays one.
    let e = Error::from(io::Error::from(io::ErrorKind::PermissionDenied));
    assert!(matches!(e, Error::Io(ref io) if io.kind() == io::ErrorKind::PermissionDenied));
    join(peer);
}

#[test]
fn a_real_refused_connect_converts_with_question_mark() {
    fn dial(port: u16) -> io::Result<Client> {
        Ok(Client::connect("127.0.0.1", port)?)
    }
    let e = dial(closed_tcp_port("127.0.0.1")).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
}
