//! A send to a peer that stopped reading fails after its send timeout even
//! when signals keep interrupting its wait (a host with a handler installed
//! without `SA_RESTART`: each interrupted wait used to start its slice of
//! the timeout again, so signals more frequent than that slice held the
//! send for ever). Its own test binary: the signal handler is
//! process-wide.

use renoise_socket::{Client, Error};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

extern "C" fn nothing(_: libc::c_int) {}

/// Installs a handler for SIGUSR1 without `SA_RESTART`.
fn interruptible_sigusr1() {
    // SAFETY: a zeroed sigaction is valid; the handler does nothing.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = nothing as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = 0;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
}

#[test]
fn a_stalled_send_times_out_while_signals_interrupt_its_wait() {
    interruptible_sigusr1();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    let (id_tx, id_rx) = mpsc::channel();
    // The sending thread stays until the signals stop (signalling a thread
    // that has ended is undefined).
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let sending = std::thread::spawn(move || {
        // SAFETY: the calling thread's id.
        id_tx.send(unsafe { libc::pthread_self() }).unwrap();
        let mut c = Client::builder()
            .send_timeout(Some(Duration::from_millis(400)))
            .connect_addr(addr)
            .unwrap();
        let start = Instant::now();
        let r = c.send(&vec![b'x'; 64 << 20]);
        let _ = tx.send((r, start.elapsed()));
        let _ = done_rx.recv();
    });
    // The peer connects and never reads.
    let _peer = listener.accept().unwrap();
    let sender = id_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let signaller = std::thread::spawn(move || {
        while !stop2.load(Ordering::Relaxed) {
            // SAFETY: the sending thread's id; it lives until `done`.
            unsafe { libc::pthread_kill(sender, libc::SIGUSR1) };
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let got = rx.recv_timeout(Duration::from_secs(15));
    stop.store(true, Ordering::Relaxed);
    signaller.join().unwrap();
    let (r, took) = got.expect("the send was still waiting after 15 s");
    drop(done_tx);
    sending.join().unwrap();
    assert!(
        matches!(r, Err(Error::SendStalled { .. })),
        "{r:?} after {took:?}"
    );
}
