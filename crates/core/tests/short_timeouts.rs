//! A short timeout ends at its deadline, not at the kernel's next
//! scheduler tick: `SO_RCVTIMEO` is counted in ticks (4 ms at HZ=250, more
//! under some hypervisors), and a 1 ms receive once took 7-12 ms. Its own
//! test binary, so no other test competes for the CPU meanwhile.
mod common;
use common::*;
use renoise_socket::Error;
use std::time::{Duration, Instant};

#[test]
fn a_short_timeout_ends_near_its_deadline_and_never_before() {
    let (mut c, peer) = pair(send_and_hold(Vec::new()));
    for asked in [ms(1), ms(3)] {
        let mut took: Vec<Duration> = (0..21)
            .map(|_| {
                let t = Instant::now();
                assert!(matches!(c.receive_line(asked), Err(Error::Timeout)));
                t.elapsed()
            })
            .collect();
        took.sort();
        assert!(took[0] >= asked, "{asked:?} returned after {:?}", took[0]);
        // The median, so that a descheduled run or two do not count.
        let median = took[took.len() / 2];
        assert!(
            median < asked + ms(4),
            "{asked:?}: median {median:?} of {took:?}"
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
