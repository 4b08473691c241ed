//! Random packets framed, concatenated and delivered in random pieces come
//! back exactly; random bytes never panic the deframer.

use proptest::prelude::*;
use renoise_socket::framing::{decode_frame, encode_frame, Deframer, Framing};

const MAX: usize = 4096;

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![Just(Framing::Slip), Just(Framing::SizePrefix)]
}

/// Packets rich in SLIP's special bytes; never empty (empty frames are
/// skipped by design).
fn packets() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let byte = prop_oneof![
        Just(0xC0u8),
        Just(0xDB),
        Just(0xDC),
        Just(0xDD),
        any::<u8>()
    ];
    prop::collection::vec(prop::collection::vec(byte, 1..200), 1..8)
}

/// Feeds `stream` to a deframer in pieces cut at `cuts`, as a receive
/// buffer would fill up, and collects the frames.
fn receive(framing: Framing, stream: &[u8], cuts: &[usize], fresh: bool) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.push(stream.len());
    points.sort_unstable();

    let mut d = Deframer::new(framing, MAX);
    let mut buf = Vec::new();
    let mut fed = 0;
    let mut out = Vec::new();
    for p in points {
        buf.extend_from_slice(&stream[fed..p]);
        fed = p;
        loop {
            let next = if fresh {
                decode_frame(framing, &buf, MAX)
            } else {
                d.next_frame(&buf)
            };
            match next.expect("well-formed stream") {
                Some((used, payload)) => {
                    out.push(payload.into_owned());
                    buf.drain(..used);
                }
                None => break,
            }
        }
    }
    assert!(buf.is_empty(), "left over: {buf:?}");
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn concatenated_frames_split_at_random_points_are_cut_back_exactly(
        f in framing(),
        packets in packets(),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
        fresh in any::<bool>(),
    ) {
        let mut stream = Vec::new();
        for p in &packets {
            encode_frame(f, p, &mut stream).unwrap();
        }
        prop_assert_eq!(receive(f, &stream, &cuts, fresh), packets);
    }

    #[test]
    fn random_bytes_never_panic_and_never_exceed_max_len(
        f in prop_oneof![Just(Framing::None), Just(Framing::Slip), Just(Framing::SizePrefix)],
        data in prop::collection::vec(
            prop_oneof![Just(0xC0u8), Just(0xDB), Just(0xDC), Just(0), any::<u8>()],
            0..300,
        ),
        max in 0usize..64,
    ) {
        let mut rest = &data[..];
        while let Ok(Some((used, payload))) = decode_frame(f, rest, max) {
            prop_assert!(payload.len() <= max);
            prop_assert!(used > 0 && used <= rest.len());
            rest = &rest[used..];
        }
    }

    #[test]
    fn incremental_and_fresh_deframing_agree(
        f in framing(),
        data in prop::collection::vec(
            prop_oneof![Just(0xC0u8), Just(0xDB), Just(0xDC), Just(0xDD), any::<u8>()],
            0..300,
        ),
        step in 1usize..16,
    ) {
        // Grow the buffer `step` bytes at a time; at every size the
        // resumable deframer must say what a fresh one says.
        let mut d = Deframer::new(f, 64);
        let mut start = 0;
        let mut end = 0;
        while end < data.len() {
            end = (end + step).min(data.len());
            loop {
                let buf = &data[start..end];
                let fresh = decode_frame(f, buf, 64);
                let resumed = d.next_frame(buf);
                match (fresh, resumed) {
                    (Ok(Some((a, p))), Ok(Some((b, q)))) => {
                        prop_assert_eq!((a, p), (b, q));
                        start += a;
                    }
                    (Ok(None), Ok(None)) => break,
                    (Err(_), Err(_)) => return Ok(()),
                    (x, y) => prop_assert!(false, "fresh {:?} vs resumed {:?}", x, y),
                }
            }
        }
    }
}

proptest! {
    // Slow in a debug build: one deframer call per byte.
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn byte_by_byte_delivery_cuts_the_same_frames(f in framing(), packets in packets()) {
        let mut stream = Vec::new();
        for p in &packets {
            encode_frame(f, p, &mut stream).unwrap();
        }
        let cuts: Vec<usize> = (0..stream.len()).collect();
        prop_assert_eq!(receive(f, &stream, &cuts, false), packets);
    }
}
