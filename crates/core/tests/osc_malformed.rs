//! Data that is not exactly one well-formed OSC packet is an
//! `Error::OscDecode`, never a panic and never a partial result.

use renoise_socket::osc::{Arg, Bundle, Message, Packet, IMMEDIATELY, MAX_BUNDLE_DEPTH};
use renoise_socket::Error;

fn decode_err(data: &[u8]) -> String {
    match Packet::decode(data) {
        Err(Error::OscDecode(why)) => why,
        other => panic!("expected OscDecode for {data:?}, got {other:?}"),
    }
}

fn sample() -> Vec<u8> {
    Message::new(
        "/sample",
        vec![
            Arg::Int(1),
            "str".into(),
            Arg::Blob(vec![9; 5]),
            Arg::Double(1.0),
            Arg::Time(2.0),
        ],
    )
    .to_bytes()
    .unwrap()
}

#[test]
fn empty_data_is_an_error() {
    assert!(decode_err(b"").contains("empty"));
}

#[test]
fn every_truncation_of_a_message_is_an_error() {
    let full = sample();
    for len in 0..full.len() {
        // Cutting right after the address would be a message without a
        // type-tag string, which OSC 1.0 accepts.
        if len == 8 {
            continue;
        }
        decode_err(&full[..len]);
    }
}

#[test]
fn every_truncation_of_a_bundle_is_an_error_except_at_element_boundaries() {
    let b = Bundle::of_messages(
        1.0,
        vec![
            Message::new("/a", vec![Arg::Int(1)]),
            Message::new("/b", vec!["x".into()]),
        ],
    )
    .to_bytes()
    .unwrap();
    let first_end = 16 + 4 + 12;
    for len in 0..b.len() {
        if len == 16 || len == first_end {
            assert!(Packet::decode(&b[..len]).is_ok());
        } else {
            decode_err(&b[..len]);
        }
    }
}

#[test]
fn trailing_garbage_after_a_message_is_an_error() {
    let mut data = sample();
    data.extend_from_slice(&[0, 0, 0, 0]);
    assert!(decode_err(&data).contains("trailing"));
}

#[test]
fn trailing_bytes_inside_a_bundle_are_an_error() {
    let mut data = Bundle::new(1.0, vec![]).to_bytes().unwrap();
    data.extend_from_slice(&[0, 0]);
    decode_err(&data);
}

#[test]
fn packet_not_starting_with_slash_or_bundle_is_an_error() {
    for data in [
        &b"abc\0"[..],
        b"#bun\0\0\0\0",
        b"#bundlX\0\0\0\0\0\0\0\0\0",
        b"\0\0\0\0",
    ] {
        decode_err(data);
    }
}

#[test]
fn type_tag_string_without_leading_comma_is_an_error() {
    assert!(decode_err(b"/a\0\0xi\0\0\0\0\0\x01").contains("','"));
}

#[test]
fn unknown_type_tag_is_an_error() {
    assert!(decode_err(b"/a\0\0,x\0\0").contains("unknown type tag 'x'"));
    decode_err(b"/a\0\0,\xff\0\0");
}

#[test]
fn osc_arrays_are_refused() {
    assert!(decode_err(b"/a\0\0,[i]\0\0\0\0\x01\0\0\0").contains("arrays"));
}

#[test]
fn non_zero_padding_is_an_error() {
    // After the address, after the type tags, after a string, after a blob.
    decode_err(b"/a\0x,\0\0\0");
    decode_err(b"/a\0\0,\0\0x");
    decode_err(b"/a\0\0,s\0\0x\0\0y");
    decode_err(b"/a\0\0,b\0\0\0\0\0\x01\x07\0x\0");
}

#[test]
fn string_without_terminating_nul_is_an_error() {
    decode_err(b"/a\0\0,s\0\0abcd");
    decode_err(b"/abc");
}

#[test]
fn blob_size_beyond_the_data_is_an_error() {
    decode_err(b"/a\0\0,b\0\0\xff\xff\xff\xff");
    decode_err(b"/a\0\0,b\0\0\0\0\0\x08abcd");
}

#[test]
fn char_above_255_is_an_error() {
    assert!(decode_err(b"/a\0\0,c\0\0\0\0\x01\0").contains("char"));
}

#[test]
fn bundle_element_size_not_a_multiple_of_4_is_an_error() {
    let mut data = Bundle::new(0.0, vec![]).to_bytes().unwrap();
    data.extend_from_slice(&[0, 0, 0, 5]);
    data.extend_from_slice(b"/a\0\0,\0\0\0");
    assert!(decode_err(&data).contains("multiple of 4"));
}

#[test]
fn bundle_element_overrunning_the_bundle_is_an_error() {
    let mut data = Bundle::new(0.0, vec![]).to_bytes().unwrap();
    data.extend_from_slice(&[0, 0, 0, 12]);
    data.extend_from_slice(b"/a\0\0,\0\0\0");
    decode_err(&data);
}

#[test]
fn empty_or_malformed_bundle_element_is_an_error_naming_the_element() {
    let mut data = Bundle::new(0.0, vec![]).to_bytes().unwrap();
    data.extend_from_slice(&[0, 0, 0, 0]);
    assert!(decode_err(&data).contains("bundle element 1"));

    let mut data = Bundle::new(0.0, vec![Message::new("/ok", vec![]).into()])
        .to_bytes()
        .unwrap();
    data.extend_from_slice(&[0, 0, 0, 4]);
    data.extend_from_slice(b"bad\0");
    assert!(decode_err(&data).contains("bundle element 2"));
}

/// `levels` bundles, each holding the next, the innermost one empty.
/// Built front to back: copying inner bundles into outer ones would be
/// quadratic in `levels`.
fn nested(levels: usize) -> Vec<u8> {
    const HEADER: &[u8] = b"#bundle\0\0\0\0\0\0\0\0\x01";
    let mut data = Vec::with_capacity(levels * (HEADER.len() + 4));
    for level in (1..levels).rev() {
        // What follows this size field: `level` headers and `level - 1`
        // size fields.
        let inner = level * HEADER.len() + (level - 1) * 4;
        data.extend_from_slice(HEADER);
        data.extend_from_slice(&(inner as u32).to_be_bytes());
    }
    data.extend_from_slice(HEADER);
    data
}

#[test]
fn bundles_nested_up_to_the_limit_decode() {
    let three = Bundle::new(
        IMMEDIATELY,
        vec![Bundle::new(IMMEDIATELY, vec![Bundle::new(IMMEDIATELY, vec![]).into()]).into()],
    );
    assert_eq!(
        nested(3),
        three.to_bytes().unwrap(),
        "the helper nests right"
    );
    assert!(Packet::decode(&nested(MAX_BUNDLE_DEPTH)).is_ok());
}

#[test]
fn bundles_nested_beyond_the_limit_are_an_error() {
    let why = decode_err(&nested(MAX_BUNDLE_DEPTH + 1));
    // One path to the element, then the reason: short enough to be read
    // whole (and not cut by a binding).
    let path = vec!["1"; MAX_BUNDLE_DEPTH].join("/");
    assert_eq!(
        why,
        format!("in bundle element {path}: bundles nested deeper than {MAX_BUNDLE_DEPTH} levels")
    );
}

#[test]
fn data_after_the_address_that_is_not_a_type_tag_string_is_named_so() {
    // OSC 1.0's message without type tags ends after its address.
    assert_eq!(
        decode_err(b"/a\0\0\0\0\0\x01"),
        "type-tag string at byte 4 does not start with ','"
    );
    assert_eq!(
        decode_err(b"/a\0\0abcd"),
        "type-tag string at byte 4 does not start with ','"
    );
}

/// rosc 0.11 recurses without limit here; we must stay within the stack
/// of a test thread.
#[test]
fn hostile_deep_nesting_is_refused_without_exhausting_the_stack() {
    let data = nested(100_000);
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || Packet::decode(&data).is_err())
        .unwrap();
    assert!(handle.join().unwrap());
}

#[test]
fn random_bytes_never_panic() {
    // A cheap deterministic sweep; the proptest and fuzz targets go wider.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 48) as usize;
        let mut data: Vec<u8> = (0..len).map(|i| (x >> (i % 8 * 8)) as u8).collect();
        if x & 1 == 0 {
            data.splice(0..0, b"/a\0\0,".iter().copied());
        }
        let _ = Packet::decode(&data);
    }
}
