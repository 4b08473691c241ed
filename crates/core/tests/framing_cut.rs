//! Cutting one frame at a time off a receive buffer: SLIP, size prefix and
//! no framing, with partial data, several frames and hostile peers.

mod common;
use common::framed;
use renoise_socket::framing::{
    decode_frame, encode_frame, Deframer, Framing, MIN_SKIP, SLIP_END, SLIP_ESC,
};
use renoise_socket::Error;
use std::borrow::Cow;

const MAX: usize = 1 << 16;

fn frame_err(framing: Framing, data: &[u8], max: usize) -> String {
    match decode_frame(framing, data, max) {
        Err(Error::Framing(why)) => why,
        other => panic!("expected a framing error for {data:?}, got {other:?}"),
    }
}

#[test]
fn framing_names_parse_and_display() {
    for (name, f) in [
        ("none", Framing::None),
        ("slip", Framing::Slip),
        ("size", Framing::SizePrefix),
    ] {
        assert_eq!(name.parse::<Framing>().unwrap(), f);
        assert_eq!(f.to_string(), name);
        assert_eq!(f.name(), name);
    }
    for bad in ["", "Slip", "size-prefix", "tcp"] {
        assert!(matches!(
            bad.parse::<Framing>(),
            Err(Error::InvalidArgument(_))
        ));
    }
    assert_eq!(Framing::default(), Framing::None);
}

#[test]
fn slip_encoding_puts_end_before_and_after_and_escapes_end_and_esc() {
    let out = framed(Framing::Slip, &[&[0xC0, 0x01, 0xDB, 0xDC, 0xDD]]);
    assert_eq!(out, [0xC0, 0xDB, 0xDC, 0x01, 0xDB, 0xDD, 0xDC, 0xDD, 0xC0]);
}

#[test]
fn size_prefix_encoding_is_a_big_endian_u32_length() {
    let out = framed(Framing::SizePrefix, &[&[7; 258]]);
    assert_eq!(&out[..4], &[0, 0, 1, 2]);
    assert_eq!(&out[4..], &[7; 258][..]);
}

#[test]
fn no_framing_encodes_the_packet_unchanged() {
    assert_eq!(framed(Framing::None, &[b"ab", b"cd"]), b"abcd");
}

#[test]
fn slip_frame_without_escapes_is_borrowed_and_with_escapes_unescaped() {
    let data = framed(Framing::Slip, &[b"plain"]);
    let (used, p) = decode_frame(Framing::Slip, &data, MAX).unwrap().unwrap();
    assert_eq!(used, data.len());
    assert!(matches!(p, Cow::Borrowed(b"plain")));

    let data = framed(Framing::Slip, &[&[1, 0xC0, 2, 0xDB]]);
    let (used, p) = decode_frame(Framing::Slip, &data, MAX).unwrap().unwrap();
    assert_eq!(used, data.len());
    assert_eq!(&p[..], [1, 0xC0, 2, 0xDB]);
}

#[test]
fn size_prefix_frame_is_borrowed() {
    let data = framed(Framing::SizePrefix, &[b"abc"]);
    let (used, p) = decode_frame(Framing::SizePrefix, &data, MAX)
        .unwrap()
        .unwrap();
    assert_eq!(used, 7);
    assert!(matches!(p, Cow::Borrowed(b"abc")));
}

#[test]
fn slip_frame_without_leading_end_is_accepted() {
    let (used, p) = decode_frame(Framing::Slip, b"abc\xC0", MAX)
        .unwrap()
        .unwrap();
    assert_eq!((used, &p[..]), (4, &b"abc"[..]));
}

#[test]
fn slip_empty_frames_between_ends_are_skipped_and_consumed() {
    let data = b"\xC0\xC0\xC0\xC0ab\xC0\xC0";
    let (used, p) = decode_frame(Framing::Slip, data, MAX).unwrap().unwrap();
    assert_eq!((used, &p[..]), (7, &b"ab"[..]));
    assert!(decode_frame(Framing::Slip, &data[used..], MAX)
        .unwrap()
        .is_none());
}

#[test]
fn size_prefix_empty_frames_are_skipped_and_consumed() {
    let data = b"\0\0\0\0\0\0\0\0\0\0\0\x01z";
    let (used, p) = decode_frame(Framing::SizePrefix, data, MAX)
        .unwrap()
        .unwrap();
    assert_eq!((used, &p[..]), (13, &b"z"[..]));
}

#[test]
fn partial_frames_need_more_data() {
    for framing in [Framing::Slip, Framing::SizePrefix] {
        let data = framed(framing, &[b"0123456789"]);
        for len in 0..data.len() {
            assert!(
                decode_frame(framing, &data[..len], MAX).unwrap().is_none(),
                "{framing} at {len}"
            );
        }
    }
}

#[test]
fn several_frames_in_one_buffer_are_cut_one_at_a_time() {
    let packets: [&[u8]; 4] = [b"first", &[0xC0; 3], b"", b"last\xDB"];
    for framing in [Framing::Slip, Framing::SizePrefix] {
        let data = framed(framing, &packets);
        let mut rest = &data[..];
        let mut got = Vec::new();
        while let Some((used, p)) = decode_frame(framing, rest, MAX).unwrap() {
            got.push(p.into_owned());
            rest = &rest[used..];
        }
        assert!(rest.is_empty(), "{framing}: {rest:?} left");
        // The empty packet is an empty frame: skipped.
        assert_eq!(got, [&b"first"[..], &[0xC0; 3], b"last\xDB"], "{framing}");
    }
}

#[test]
fn no_framing_hands_over_everything_up_to_max_len() {
    assert!(decode_frame(Framing::None, b"", MAX).unwrap().is_none());
    let (used, p) = decode_frame(Framing::None, b"abcdef", 4).unwrap().unwrap();
    assert_eq!((used, &p[..]), (4, &b"abcd"[..]));
    let (used, p) = decode_frame(Framing::None, b"ab", 4).unwrap().unwrap();
    assert_eq!((used, &p[..]), (2, &b"ab"[..]));
}

#[test]
fn hostile_size_prefix_above_max_len_is_refused_before_the_data_arrives() {
    assert!(frame_err(Framing::SizePrefix, b"\xff\xff\xff\xff", MAX).contains("4294967295"));
    frame_err(Framing::SizePrefix, &(MAX as u32 + 1).to_be_bytes(), MAX);
    // Exactly max_len is fine.
    let data = framed(Framing::SizePrefix, &[&[1; 100]]);
    assert!(decode_frame(Framing::SizePrefix, &data, 100)
        .unwrap()
        .is_some());
    frame_err(Framing::SizePrefix, &data, 99);
}

#[test]
fn slip_frame_longer_than_max_len_is_refused() {
    let data = framed(Framing::Slip, &[&[5; 101]]);
    frame_err(Framing::Slip, &data, 100);
    // Escapes count once: 100 ENDs are 200 bytes on the wire.
    let data = framed(Framing::Slip, &[&[0xC0; 100]]);
    assert_eq!(
        decode_frame(Framing::Slip, &data, 100)
            .unwrap()
            .unwrap()
            .1
            .len(),
        100
    );
}

#[test]
fn slip_data_growing_beyond_max_len_without_end_is_refused_early() {
    let mut data = vec![SLIP_END];
    data.extend_from_slice(&[b'x'; 100]);
    assert!(decode_frame(Framing::Slip, &data, 100).unwrap().is_none());
    data.push(b'x');
    assert!(frame_err(Framing::Slip, &data, 100).contains("no END"));
}

#[test]
fn slip_bad_escapes_are_refused() {
    frame_err(Framing::Slip, b"\xC0a\xDBb\xC0", MAX);
    frame_err(Framing::Slip, b"\xC0a\xDB\xDB\xDC\xC0", MAX);
    assert!(frame_err(Framing::Slip, b"\xC0a\xDB\xC0", MAX).contains("escape"));
}

#[test]
fn endless_empty_frames_are_refused_after_the_skip_limit() {
    // Kept by the caller from call to call: refused once more than the
    // limit is left from earlier calls.
    for (framing, empty) in [
        (Framing::Slip, &[SLIP_END][..]),
        (Framing::SizePrefix, &[0; 4][..]),
    ] {
        let mut d = Deframer::new(framing, 10);
        let mut buf = empty.repeat(MIN_SKIP / empty.len());
        assert!(d.next_frame(&buf).unwrap().is_none(), "{framing}");
        buf.extend_from_slice(empty);
        // The limit exactly, from the first call: still taken.
        assert!(d.next_frame(&buf).unwrap().is_none(), "{framing}");
        buf.extend_from_slice(empty);
        let e = d.next_frame(&buf).unwrap_err().to_string();
        assert!(
            e.contains("bytes of empty frames and no packet"),
            "{framing}: {e}"
        );
        // With a larger max_len the limit is max_len.
        let mut d = Deframer::new(framing, MIN_SKIP * 2);
        assert!(d.next_frame(&buf).unwrap().is_none(), "{framing}");
        assert!(d.next_frame(&buf).unwrap().is_none(), "{framing}");
    }
}

#[test]
fn empty_frames_dropped_as_they_come_are_never_refused() {
    // One call may find any number (one read can bring them all), and a
    // caller that drops them after each call is never refused; the frame
    // after them is whole, however the stream was cut.
    for framing in [Framing::Slip, Framing::SizePrefix] {
        let empty: &[u8] = if framing == Framing::Slip {
            &[SLIP_END]
        } else {
            &[0; 4]
        };
        let mut stream = empty.repeat(20 * MIN_SKIP);
        encode_frame(framing, b"/a\0\0,i\0\0\0\0\0\x01", &mut stream).unwrap();
        for piece in [1, 7, 4096, stream.len()] {
            let mut d = Deframer::new(framing, 16);
            let mut buf = Vec::new();
            let mut got = None;
            for chunk in stream.chunks(piece) {
                buf.extend_from_slice(chunk);
                match d.next_frame(&buf).unwrap() {
                    Some((used, payload)) => {
                        got = Some(payload.into_owned());
                        buf.drain(..used);
                        break;
                    }
                    None => {
                        let n = d.take_skipped();
                        buf.drain(..n);
                        assert!(
                            buf.len() < 16 + empty.len(),
                            "{framing}: kept {}",
                            buf.len()
                        );
                    }
                }
            }
            assert_eq!(
                got.as_deref(),
                Some(&b"/a\0\0,i\0\0\0\0\0\x01"[..]),
                "{framing} {piece}"
            );
        }
    }
}

#[test]
fn deframer_resumes_a_partial_slip_frame_and_resets_after_a_frame() {
    let mut d = Deframer::new(Framing::Slip, MAX);
    let mut buf = b"\xC0\xC0ab\xDB".to_vec();
    assert!(d.next_frame(&buf).unwrap().is_none());
    buf.extend_from_slice(b"\xDCcd");
    assert!(d.next_frame(&buf).unwrap().is_none());
    buf.extend_from_slice(b"\xC0\xC0ef\xC0");
    let (used, p) = d.next_frame(&buf).unwrap().unwrap();
    assert_eq!((used, &p[..]), (9, &b"ab\xC0cd"[..]));
    buf.drain(..used);
    let (used, p) = d.next_frame(&buf).unwrap().unwrap();
    assert_eq!((used, &p[..]), (4, &b"ef"[..]));
}

#[test]
fn deframer_counts_the_max_len_across_calls() {
    let mut d = Deframer::new(Framing::Slip, 10);
    let mut buf = b"\xC0".to_vec();
    for _ in 0..10 {
        buf.push(b'x');
        assert!(d.next_frame(&buf).unwrap().is_none());
    }
    buf.push(b'x');
    assert!(matches!(d.next_frame(&buf), Err(Error::Framing(_))));
}

#[test]
fn deframer_survives_a_buffer_that_shrank_against_the_contract() {
    let mut d = Deframer::new(Framing::Slip, MAX);
    assert!(d.next_frame(&[b'x'; 50]).unwrap().is_none());
    let (used, p) = d.next_frame(b"ab\xC0").unwrap().unwrap();
    assert_eq!((used, &p[..]), (3, &b"ab"[..]));
}

#[test]
fn deframer_state_starts_over_after_an_error() {
    let mut d = Deframer::new(Framing::Slip, MAX);
    assert!(d.next_frame(b"a\xDBz\xC0").is_err());
    let (_, p) = d.next_frame(b"ok\xC0").unwrap().unwrap();
    assert_eq!(&p[..], b"ok");
}

#[test]
fn esc_at_the_end_of_a_partial_frame_waits_for_its_pair() {
    let mut d = Deframer::new(Framing::Slip, MAX);
    let mut buf = vec![SLIP_END, b'a', SLIP_ESC];
    assert!(d.next_frame(&buf).unwrap().is_none());
    buf.extend_from_slice(&[0xDD, SLIP_END]);
    assert_eq!(
        &d.next_frame(&buf).unwrap().unwrap().1[..],
        [b'a', SLIP_ESC]
    );
}

#[test]
fn leftover_empty_frames_are_not_a_partial_frame() {
    use renoise_socket::framing::only_empty_frames;
    let data = b"\xC0ab\xC0\xC0";
    let (used, _) = decode_frame(Framing::Slip, data, MAX).unwrap().unwrap();
    assert!(only_empty_frames(Framing::Slip, &data[used..]));
    assert!(!only_empty_frames(Framing::Slip, b"\xC0a"));
    assert!(only_empty_frames(Framing::SizePrefix, &[0; 8]));
    assert!(!only_empty_frames(Framing::SizePrefix, &[0; 7]));
    assert!(!only_empty_frames(Framing::SizePrefix, b"\0\0\0\x01"));
    assert!(!only_empty_frames(Framing::None, b"x"));
}

#[test]
fn a_deframer_fed_a_changed_buffer_still_never_returns_more_than_its_maximum() {
    use renoise_socket::framing::{Deframer, Framing};
    // Breaking the contract (only appends between calls): the bytes the
    // deframer counted as escapes are no longer there.
    let mut d = Deframer::new(Framing::Slip, 4);
    assert!(d
        .next_frame(b"\xC0\xDB\xDC\xDB\xDC\xDB\xDC")
        .unwrap()
        .is_none());
    match d.next_frame(b"\xC0abcdefg\xC0") {
        Ok(Some((_, payload))) => panic!("{} bytes returned, maximum 4", payload.len()),
        Ok(None) => panic!("a whole frame is there"),
        Err(e) => assert!(e.to_string().contains("more than the maximum of 4"), "{e}"),
    }
}
