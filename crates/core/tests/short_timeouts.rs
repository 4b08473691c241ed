//! A short timeout ends at its deadline, not at the kernel's next
//! scheduler tick: `SO_RCVTIMEO` is counted in ticks (4 ms at HZ=250, more
//! under some hypervisors), and a 1 ms receive once took 7-12 ms. Its own
//! test binary, so no other test of ours competes for the CPU meanwhile;
//! the rest of a loaded machine is measured with a plain sleep beside it.
mod common;
use common::*;
use renoise_socket::Error;
use std::time::{Duration, Instant};

#[test]
fn a_short_timeout_ends_near_its_deadline_and_never_before() {
    let (mut c, peer) = pair(send_and_hold(Vec::new()));
    for asked in [ms(1), ms(3)] {
        // Each receive is paired with a plain sleep as long, which shows
        // how late this machine wakes a thread right now: on a loaded CI
        // machine every wake-up is late by several milliseconds, whoever
        // waits. A wait counted in scheduler ticks is late on top of that.
        let (mut took, mut slept): (Vec<Duration>, Vec<Duration>) = (0..21)
            .map(|_| {
                let t = Instant::now();
                assert!(matches!(c.receive_line(asked), Err(Error::Timeout)));
                let took = t.elapsed();
                let t = Instant::now();
                std::thread::sleep(asked);
                (took, t.elapsed())
            })
            .unzip();
        took.sort();
        slept.sort();
        assert!(took[0] >= asked, "{asked:?} returned after {:?}", took[0]);
        // The medians, so that a descheduled run or two do not count.
        let median = took[took.len() / 2];
        let wake = slept[slept.len() / 2].max(asked);
        assert!(
            median < wake + ms(4),
            "{asked:?}: median {median:?} of {took:?}; a sleep took {wake:?} ({slept:?})"
        );
    }
    // The other modes wait the same way.
    let t = Instant::now();
    assert!(matches!(c.receive_all(ms(2)), Err(Error::Timeout)));
    assert!(matches!(c.receive_exact(5, ms(2)), Err(Error::Timeout)));
    assert!(t.elapsed() >= ms(4));
    assert!(c.is_open());
    c.close();
    peer.join().unwrap();
}
