//! Another thread ends a server's `wait` or `poll` (to close it, say).

use renoise_socket::{Error, Protocol, Server};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(20);

#[test]
fn an_interrupt_ends_a_wait_so_another_thread_can_close_the_server() {
    let server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let stop = server.interrupter().unwrap();
    let server = Arc::new(Mutex::new(server));
    let (tx, rx) = std::sync::mpsc::channel();
    let waiting = {
        let server = server.clone();
        thread::spawn(move || {
            let mut s = server.lock().unwrap();
            tx.send(()).unwrap();
            let start = Instant::now();
            s.wait(LONG).unwrap();
            start.elapsed()
        })
    };
    rx.recv_timeout(LONG).unwrap();
    thread::sleep(Duration::from_millis(50));
    stop.interrupt();
    let took = waiting.join().unwrap();
    assert!(took < LONG / 2, "wait went on for {took:?}");
    server.lock().unwrap().close();
    assert!(!server.lock().unwrap().is_open());
    // Interrupting a closed server does nothing.
    stop.interrupt();
}

#[test]
fn an_interrupt_before_the_call_ends_the_next_call_only() {
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        let mut server = Server::bind(Some("127.0.0.1"), 0, protocol).unwrap();
        let stop = server.interrupter().unwrap();
        stop.interrupt();
        stop.clone().interrupt();
        let start = Instant::now();
        assert!(server.poll(LONG).unwrap().is_empty());
        assert!(start.elapsed() < LONG / 2);
        // Taken: the next call blocks for its timeout again.
        let start = Instant::now();
        assert!(server.wait(Duration::from_millis(100)).unwrap().is_empty());
        assert!(start.elapsed() >= Duration::from_millis(100));
    }
}

#[test]
fn a_closed_server_has_no_interrupter() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    server.close();
    assert!(matches!(server.interrupter(), Err(Error::Closed)));
}
