//! Interoperability with liblo (Debian package `liblo-tools`): we decode
//! what `oscsend` sends, and `oscdump` prints what we send.
//!
//! Skipped, with a notice, when the tools are not on `PATH`. Every blocking
//! step has a deadline, and `oscdump` is killed at the end.

use renoise_socket::osc::{Arg, Bundle, Message, Packet};
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(10);

fn tool(name: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
        .unwrap_or(false);
    if !found {
        println!("NOTICE: `{name}` is not on PATH (apt-get install liblo-tools); test skipped");
    }
    found
}

/// Kills the child on every way out of the test, panics included.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a short-lived command to completion within the deadline.
fn run(cmd: &mut Command) {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut child = Reaper(child);
    let start = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            assert!(status.success(), "{cmd:?} failed: {status}");
            return;
        }
        assert!(start.elapsed() < DEADLINE, "{cmd:?} did not finish");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn receive_from_oscsend(types: &str, values: &[&str]) -> Message {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(DEADLINE)).unwrap();
    let port = sock.local_addr().unwrap().port().to_string();
    run(Command::new("oscsend")
        .args(["127.0.0.1", &port, "/liblo/test", types])
        .args(values));
    let mut buf = [0u8; 65536];
    let (n, _) = sock.recv_from(&mut buf).expect("a datagram from oscsend");
    match Packet::decode(&buf[..n]).expect("liblo's packet decodes") {
        Packet::Message(m) => m,
        other => panic!("expected a message, got {other}"),
    }
}

#[test]
fn we_decode_every_type_oscsend_can_send() {
    if !tool("oscsend") {
        return;
    }
    let m = receive_from_oscsend(
        "ihfdsScmTFNI",
        &[
            "-7",
            "-12345678901",
            "2.5",
            "3.25",
            "hello world",
            "sym",
            "a",
            "00903c7f",
        ],
    );
    assert_eq!(m.pattern, b"/liblo/test");
    assert_eq!(
        m.args,
        [
            Arg::Int(-7),
            Arg::Long(-12_345_678_901),
            Arg::Float(2.5),
            Arg::Double(3.25),
            Arg::String(b"hello world".to_vec()),
            Arg::Symbol(b"sym".to_vec()),
            Arg::Char(b'a'),
            Arg::Midi(0x0090_3c7f),
            Arg::True,
            Arg::False,
            Arg::Nil,
            Arg::Inf,
        ]
    );
}

#[test]
fn we_decode_oscsend_strings_that_are_not_ascii() {
    if !tool("oscsend") {
        return;
    }
    let m = receive_from_oscsend("sc", &["caf\u{e9}", "\u{ff}"]);
    // liblo sends the first byte of the argument as the char.
    assert_eq!(
        m.args,
        [
            Arg::String("caf\u{e9}".as_bytes().to_vec()),
            Arg::Char(0xc3)
        ]
    );
}

#[test]
fn we_decode_an_oscsend_message_without_arguments() {
    if !tool("oscsend") {
        return;
    }
    let m = receive_from_oscsend("", &[]);
    assert!(m.args.is_empty());
}

/// Starts `oscdump` on a free UDP port and returns it with a channel of its
/// output lines.
fn start_oscdump() -> (Reaper, u16, mpsc::Receiver<String>) {
    // Port 0 picks a free port; release it for oscdump. Another process
    // could take it in between, which would fail the test loudly, not
    // silently.
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("oscdump")
        .args(["-L", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oscdump");
    let mut child = Reaper(child);
    let (tx, rx) = mpsc::channel();
    let stdout = child.0.stdout.take().expect("piped");
    let stderr = child.0.stderr.take().expect("piped");
    for pipe in [
        Box::new(stdout) as Box<dyn std::io::Read + Send>,
        Box::new(stderr),
    ] {
        let tx = tx.clone();
        // Ends by itself when oscdump is killed and the pipe closes.
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    (child, port, rx)
}

/// Sends `packet` until oscdump prints a line for it (oscdump gives no
/// sign of being ready, and a datagram sent before it binds is lost), and
/// returns the lines printed for the first one that arrived.
fn dump(packet: &Packet, lines: usize) -> Vec<String> {
    let (_oscdump, port, rx) = start_oscdump();
    let bytes = packet.to_bytes().unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let start = Instant::now();
    let first = loop {
        assert!(start.elapsed() < DEADLINE, "oscdump printed nothing");
        let _ = sock.send_to(&bytes, ("127.0.0.1", port));
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            break line;
        }
    };
    let mut out = vec![first];
    while out.len() < lines {
        out.push(rx.recv_timeout(DEADLINE).expect("another line"));
    }
    out
}

/// oscdump prefixes each line with the receive time; drop it.
fn without_time(line: &str) -> &str {
    line.split_once(' ').map_or(line, |(_, rest)| rest)
}

#[test]
fn oscdump_prints_every_type_we_send() {
    if !tool("oscdump") {
        return;
    }
    let m = Message::new(
        "/from/rust",
        vec![
            Arg::Int(-7),
            Arg::Long(1 << 40),
            Arg::Float(2.5),
            Arg::Double(-3.25),
            Arg::String(b"hi there".to_vec()),
            Arg::Symbol(b"sym".to_vec()),
            Arg::Char(b'x'),
            Arg::Midi(0x0190_3c7f),
            Arg::Blob(vec![1, 2, 0xff]),
            Arg::Time(1.5),
            Arg::True,
            Arg::False,
            Arg::Nil,
            Arg::Inf,
        ],
    );
    let lines = dump(&m.into(), 1);
    assert_eq!(
        without_time(&lines[0]),
        "/from/rust ihfdsScmbtTFNI -7 1099511627776 2.500000 -3.250000 \"hi there\" 'sym 'x' \
         MIDI [0x01 0x90 0x3c 0x7f] [3b 0x1 0x2 0xff] 00000001.80000000 #T #F Nil Infinitum"
    );
}

#[test]
fn oscdump_prints_each_message_of_our_bundle() {
    if !tool("oscdump") {
        return;
    }
    let b = Bundle::of_messages(
        1.0,
        vec![
            Message::new("/first", vec![Arg::Int(1)]),
            Message::new("/second", vec![Arg::String(b"two".to_vec())]),
        ],
    );
    let lines = dump(&b.into(), 2);
    assert_eq!(without_time(&lines[0]), "/first i 1");
    assert_eq!(without_time(&lines[1]), "/second s \"two\"");
}
