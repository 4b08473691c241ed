//! Closing a TCP socket that holds bytes never read: the system would
//! reset the connection, so the peer read ECONNRESET instead of the end of
//! the stream and lost what had yet to be sent. `close` reads them first.

mod server_util;

use renoise_socket::{Client, Mode};
use server_util::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

/// Long enough for bytes written on loopback to be in the receiver's
/// queue.
const SETTLE: Duration = Duration::from_millis(100);

fn read_to_end(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    s.set_read_timeout(Some(BOUND))?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(out)
}

#[test]
fn a_server_closing_its_connections_ends_their_streams() {
    let (mut server, mut peer, conn) = server_with_peer();
    peer.write_all(b"never read").unwrap();
    thread::sleep(SETTLE);
    conn.send(b"bye\n").unwrap();
    server.close();
    assert!(!conn.is_open());
    let got = read_to_end(&mut peer).expect("the end of the stream, not a reset");
    assert_eq!(got, b"bye\n");
}

#[test]
fn a_large_reply_sent_before_the_close_arrives_whole() {
    const SIZE: usize = 4 << 20;
    let (mut server, mut peer, conn) = server_with_peer();
    peer.write_all(b"never read").unwrap();
    thread::sleep(SETTLE);
    // The peer starts reading late: most of the reply is still in the
    // server's send queue when the send returns and the server closes.
    let reader = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        read_to_end(&mut peer)
    });
    let reply: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    conn.send(&reply).unwrap();
    server.close();
    let got = reader
        .join()
        .unwrap()
        .expect("the end of the stream, not a reset");
    assert_eq!(got.len(), SIZE);
    assert!(got == reply);
}

#[test]
fn a_client_closing_with_unread_bytes_ends_its_stream() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut c = Client::connect("127.0.0.1", port).unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    peer.write_all(b"never read").unwrap();
    c.send(b"request").unwrap();
    thread::sleep(SETTLE);
    c.close();
    let got = read_to_end(&mut peer).expect("the end of the stream, not a reset");
    assert_eq!(got, b"request");
}

#[test]
fn closing_one_of_two_clones_leaves_the_unread_bytes_to_the_other() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut c = Client::connect("127.0.0.1", port).unwrap();
    let mut clone = c.try_clone().unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    peer.write_all(b"for the clone\n").unwrap();
    thread::sleep(SETTLE);
    c.close();
    assert_eq!(clone.receive(Mode::Line, BOUND).unwrap(), b"for the clone");
}
