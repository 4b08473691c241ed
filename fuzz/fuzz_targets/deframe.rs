//! Any bytes, as a receive buffer filled in pieces: SLIP and size-prefix
//! deframing must not panic, must never hand out more than `max_len`
//! bytes, and the resumable `Deframer` must agree with a fresh
//! `decode_frame` at every step. Frames that come out are also decoded as
//! OSC, as the socket client will.
//!
//! Input layout: byte 0 picks the framing (bit 0 clear: SLIP, set: size
//! prefix) and whether empty frames are dropped as they come (bit 1 clear:
//! `take_skipped`, as the socket client does; set: kept, so that a run of
//! them past the limit is refused where a fresh decode is not), byte 1
//! the max length, byte 2 how many bytes arrive per read; the rest is the
//! stream.

#![no_main]

use libfuzzer_sys::fuzz_target;
use renoise_socket::framing::{decode_frame, Deframer, Framing};
use renoise_socket::osc::Packet;

fuzz_target!(|data: &[u8]| {
    let [mode, max, step, stream @ ..] = data else {
        return;
    };
    let framing = if mode % 2 == 0 {
        Framing::Slip
    } else {
        Framing::SizePrefix
    };
    let drop_empty = mode & 2 == 0;
    let max_len = usize::from(*max) * 4;
    let step = usize::from(*step).max(1);

    let mut deframer = Deframer::new(framing, max_len);
    let mut start = 0;
    let mut end = 0;
    while end < stream.len() {
        end = (end + step).min(stream.len());
        loop {
            let buf = &stream[start..end];
            let fresh = decode_frame(framing, buf, max_len);
            let resumed = deframer.next_frame(buf);
            match (fresh, resumed) {
                (Ok(Some((a, p))), Ok(Some((b, q)))) => {
                    assert_eq!((a, &p), (b, &q));
                    assert!(p.len() <= max_len);
                    assert!(a > 0 && a <= buf.len());
                    let _ = Packet::decode(&p);
                    start += a;
                }
                (Ok(None), Ok(None)) => {
                    if drop_empty {
                        start += deframer.take_skipped();
                    }
                    break;
                }
                (Err(_), Err(_)) => return,
                // Empty frames kept from earlier calls past the limit: a
                // fresh decode of the same bytes has no earlier calls.
                (Ok(None), Err(e)) if !drop_empty && e.to_string().contains("empty frames") => {
                    return
                }
                (x, y) => panic!("fresh {x:?} vs resumed {y:?}"),
            }
        }
    }
});
