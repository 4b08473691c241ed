//! Encoding and decoding of well-formed OSC packets.

use renoise_socket::osc::{Arg, Bundle, Message, Packet, Tag, IMMEDIATELY};
use renoise_socket::Error;

fn roundtrip(p: &Packet) -> Packet {
    let bytes = p.to_bytes().expect("encodes");
    assert_eq!(bytes.len() % 4, 0, "packets are 4-byte aligned");
    Packet::decode(&bytes).expect("decodes")
}

fn one_arg(arg: Arg) -> Arg {
    let p = Packet::from(Message::new("/x", vec![arg]));
    match roundtrip(&p) {
        Packet::Message(mut m) => {
            assert_eq!(m.pattern, b"/x");
            assert_eq!(m.args.len(), 1);
            m.args.remove(0)
        }
        other => panic!("expected a message, got {other}"),
    }
}

#[test]
fn every_tag_round_trips_alone() {
    let samples = [
        Arg::Int(i32::MIN),
        Arg::Int(-1),
        Arg::Int(i32::MAX),
        Arg::Float(2.5),
        Arg::Float(f32::MIN_POSITIVE),
        Arg::Float(f32::INFINITY),
        Arg::String(Vec::new()),
        Arg::String(b"abc".to_vec()),
        Arg::String(b"abcd".to_vec()),
        Arg::Blob(Vec::new()),
        Arg::Blob(vec![0, 1, 2]),
        Arg::Blob(vec![0xff; 4]),
        Arg::Long(i64::MIN),
        Arg::Long(i64::MAX),
        Arg::Time(0.0),
        Arg::Time(123.456789),
        Arg::Time(IMMEDIATELY),
        Arg::Double(-0.1),
        Arg::Double(f64::MAX),
        Arg::Symbol(b"sym".to_vec()),
        Arg::Char(b'a'),
        Arg::Char(0),
        Arg::Char(0xff),
        Arg::Color(0xff80_00ff),
        Arg::Midi(0x0090_3c7f),
        Arg::True,
        Arg::False,
        Arg::Nil,
        Arg::Inf,
    ];
    let mut seen = std::collections::HashSet::new();
    for arg in samples {
        seen.insert(arg.kind());
        assert_eq!(one_arg(arg.clone()), arg);
    }
    assert_eq!(seen.len(), Tag::ALL.len(), "every tag is sampled");
}

#[test]
fn nan_float_and_double_keep_their_bits() {
    let f = f32::from_bits(0x7fc0_1234);
    let d = f64::from_bits(0x7ff8_0000_0000_beef);
    match one_arg(Arg::Float(f)) {
        Arg::Float(g) => assert_eq!(g.to_bits(), f.to_bits()),
        other => panic!("{other:?}"),
    }
    match one_arg(Arg::Double(d)) {
        Arg::Double(e) => assert_eq!(e.to_bits(), d.to_bits()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn all_tags_in_one_message_round_trip() {
    let args: Vec<Arg> = vec![
        Arg::Int(1),
        Arg::Float(2.5),
        "hello".into(),
        Arg::Blob(vec![1, 2, 3, 4, 5]),
        Arg::Long(-2),
        Arg::Time(2.5),
        Arg::Double(3.25),
        Arg::Symbol(b"sym".to_vec()),
        Arg::Char(b'c'),
        Arg::Color(0x1122_3344),
        Arg::Midi(0x0190_3c7f),
        Arg::True,
        Arg::False,
        Arg::Nil,
        Arg::Inf,
    ];
    let m = Message::new("/all/tags", args);
    let p = Packet::from(m.clone());
    assert_eq!(roundtrip(&p), p);
    assert!(m
        .to_string()
        .starts_with("/all/tags ,ifsbhtdScrmTFNI 1 2.5 \"hello\""));
}

#[test]
fn extreme_floats_read_as_exponents_not_hundreds_of_digits() {
    let m = Message::new(
        "/f",
        vec![
            Arg::Float(2.5),
            Arg::Float(440.0),
            Arg::Float(3.0e38),
            Arg::Double(0.1),
            Arg::Double(1e308),
            Arg::Double(5e-324),
            Arg::Double(-1.5e-9),
            Arg::Double(0.0),
            Arg::Double(f64::INFINITY),
            Arg::Float(f32::NEG_INFINITY),
            Arg::Float(f32::NAN),
            Arg::Double(-f64::NAN),
        ],
    );
    assert_eq!(
        m.to_string(),
        "/f ,fffddddddffd 2.5 440 3e38 0.1 1e308 5e-324 -1.5e-9 0 inf -inf nan nan"
    );
}

#[test]
fn strings_symbols_and_patterns_are_bytes_not_utf8() {
    let m = Message::new(
        b"/caf\xe9".to_vec(),
        vec![
            Arg::String(b"\xff\xfe\x80".to_vec()),
            Arg::Symbol(b"\xc0\xdb".to_vec()),
        ],
    );
    let p = Packet::from(m);
    assert_eq!(roundtrip(&p), p);
    assert_eq!(p.to_string(), r#"/caf\xe9 ,sS "\xff\xfe\x80" "\xc0\xdb""#);
}

#[test]
fn symbol_keeps_its_capital_s_tag_on_the_wire() {
    let bytes = Message::new("/s", vec![Arg::Symbol(b"ab".to_vec())])
        .to_bytes()
        .unwrap();
    assert_eq!(bytes, b"/s\0\0,S\0\0ab\0\0");
}

#[test]
fn char_is_sent_as_a_32_bit_integer_like_liblo() {
    let bytes = Message::new("/c", vec![Arg::Char(0xc3)])
        .to_bytes()
        .unwrap();
    assert_eq!(bytes, b"/c\0\0,c\0\0\0\0\0\xc3");
}

#[test]
fn a_char_sign_extended_from_a_signed_c_char_decodes_as_its_byte() {
    let p = Packet::decode(b"/c\0\0,cc\0\xff\xff\xff\xe9\0\0\0\x41").unwrap();
    let want = Packet::from(Message::new("/c", vec![Arg::Char(0xe9), Arg::Char(b'A')]));
    assert_eq!(p, want);
    // Code points beyond a byte are still refused.
    assert!(Packet::decode(b"/c\0\0,c\0\0\0\0\x01\x00").is_err());
    assert!(Packet::decode(b"/c\0\0,c\0\0\xff\xff\xff\x7f").is_err());
}

#[test]
fn color_and_midi_put_the_first_component_in_the_most_significant_byte() {
    let bytes = Message::new("/r", vec![Arg::Color(0x1122_3344), Arg::Midi(0x0190_3c7f)])
        .to_bytes()
        .unwrap();
    assert_eq!(bytes, b"/r\0\0,rm\0\x11\x22\x33\x44\x01\x90\x3c\x7f");
}

#[test]
fn message_without_arguments_round_trips() {
    let p = Packet::from(Message::new("/", vec![]));
    assert_eq!(p.to_bytes().unwrap(), b"/\0\0\0,\0\0\0");
    assert_eq!(roundtrip(&p), p);
}

#[test]
fn message_without_type_tag_string_decodes_with_no_arguments() {
    assert_eq!(
        Packet::decode(b"/old\0\0\0\0").unwrap(),
        Packet::from(Message::new("/old", vec![]))
    );
}

#[test]
fn bundle_with_several_messages_round_trips() {
    let b = Bundle::of_messages(
        1.5,
        vec![
            Message::new("/a", vec![Arg::Int(1)]),
            Message::new("/b", vec!["x".into(), Arg::True]),
            Message::new("/c", vec![]),
        ],
    );
    let p = Packet::from(b);
    assert_eq!(roundtrip(&p), p);
    assert_eq!(
        p.to_string(),
        r#"#bundle 1.5 [/a ,i 1; /b ,sT "x" true; /c ,]"#
    );
}

#[test]
fn empty_bundle_round_trips() {
    let p = Packet::from(Bundle::new(0.0, vec![]));
    assert_eq!(p.to_bytes().unwrap(), b"#bundle\0\0\0\0\0\0\0\0\0");
    assert_eq!(roundtrip(&p), p);
}

/// Built by hand (not by our encoder) to pin the nested layout.
#[test]
fn nested_bundles_decode_from_bytes() {
    let msg = b"/in\0,i\0\0\0\0\0\x05";
    let mut inner = b"#bundle\0\0\0\0\x02\0\0\0\0".to_vec();
    inner.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    inner.extend_from_slice(msg);
    let mut outer = b"#bundle\0\0\0\0\x01\x80\0\0\0".to_vec();
    outer.extend_from_slice(&(inner.len() as u32).to_be_bytes());
    outer.extend_from_slice(&inner);
    let out_msg = b"/out\0\0\0\0,\0\0\0";
    outer.extend_from_slice(&(out_msg.len() as u32).to_be_bytes());
    outer.extend_from_slice(out_msg);

    let expected = Packet::from(Bundle::new(
        1.5,
        vec![
            Bundle::of_messages(2.0, vec![Message::new("/in", vec![Arg::Int(5)])]).into(),
            Message::new("/out", vec![]).into(),
        ],
    ));
    let decoded = Packet::decode(&outer).unwrap();
    assert_eq!(decoded, expected);
    assert_eq!(expected.to_bytes().unwrap(), outer);
    assert_eq!(
        decoded.to_string(),
        "#bundle 1.5 [#bundle 2 [/in ,i 5]; /out ,]"
    );
}

#[test]
fn encode_into_appends_and_pads_relative_to_the_packet_start() {
    let m = Message::new("/a", vec![Arg::String(b"x".to_vec())]);
    let mut out = b"abc".to_vec();
    m.encode_into(&mut out).unwrap();
    assert_eq!(&out[..3], b"abc");
    assert_eq!(&out[3..], &m.to_bytes().unwrap()[..]);
}

#[test]
fn pattern_without_leading_slash_is_an_encode_error() {
    for pattern in [&b""[..], b"a", b"#bundle"] {
        let err = Message::new(pattern, vec![]).to_bytes().unwrap_err();
        assert!(matches!(err, Error::OscEncode(_)), "{err}");
    }
}

#[test]
fn nul_in_pattern_string_or_symbol_is_an_encode_error() {
    let cases = [
        Message::new(b"/a\0b".to_vec(), vec![]),
        Message::new("/a", vec![Arg::String(b"x\0".to_vec())]),
        Message::new("/a", vec![Arg::Symbol(b"\0".to_vec())]),
    ];
    for m in cases {
        let err = m.to_bytes().unwrap_err();
        assert!(matches!(err, Error::OscEncode(_)), "{err}");
    }
}

#[test]
fn blob_may_hold_nul_bytes() {
    assert_eq!(one_arg(Arg::Blob(vec![0, 0, 0])), Arg::Blob(vec![0, 0, 0]));
}

#[test]
fn time_out_of_range_is_an_encode_error_and_leaves_the_output_unchanged() {
    for t in [-0.5, f64::NAN, f64::INFINITY, 4_294_967_296.0] {
        let mut out = b"keep".to_vec();
        let m = Message::new("/t", vec![Arg::Int(1), Arg::Time(t)]);
        assert!(matches!(m.encode_into(&mut out), Err(Error::OscEncode(_))));
        assert_eq!(out, b"keep");
        let b = Bundle::new(t, vec![]);
        assert!(matches!(b.encode_into(&mut out), Err(Error::OscEncode(_))));
        assert_eq!(out, b"keep");
    }
}

#[test]
fn error_inside_a_bundle_element_fails_the_whole_bundle() {
    let b = Bundle::new(1.0, vec![Message::new("nope", vec![]).into()]);
    assert!(matches!(b.to_bytes(), Err(Error::OscEncode(_))));
}

#[test]
fn display_shows_every_kind_of_argument_readably() {
    let m = Message::new(
        "/d",
        vec![
            Arg::Int(-3),
            Arg::Float(0.5),
            Arg::String(b"q\"uote\n".to_vec()),
            Arg::Blob((0..40).collect()),
            Arg::Long(1 << 40),
            Arg::Time(1.25),
            Arg::Double(1e100),
            Arg::Symbol(b"s".to_vec()),
            Arg::Char(b'\''),
            Arg::Char(0xe9),
            Arg::Color(0xff00_00ff),
            Arg::Midi(0x0090_3c7f),
            Arg::True,
            Arg::False,
            Arg::Nil,
            Arg::Inf,
        ],
    );
    let blob: String = (0..32).map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        m.to_string(),
        format!(
            "/d ,ifsbhtdSccrmTFNI -3 0.5 \"q\\\"uote\\n\" <{blob}... 40 bytes> 1099511627776 \
             1.25 1e100 \"s\" '\\'' '\\xe9' #ff0000ff midi:00903c7f true false nil inf"
        )
    );
}

#[test]
fn tag_mapping_is_consistent_for_every_tag() {
    for tag in Tag::ALL {
        assert_eq!(Tag::from_char(tag.as_char()), Some(tag));
        assert_eq!(Tag::from_byte(tag.as_byte()), Some(tag));
        assert_eq!(
            Arg::without_value(tag).is_some(),
            !tag.takes_value(),
            "{tag:?}"
        );
        if let Some(arg) = Arg::without_value(tag) {
            assert_eq!(arg.kind(), tag);
            assert_eq!(arg.tag(), tag.as_char());
        }
    }
    for c in ['[', ']', 'x', 'u', 'é', '\0'] {
        assert_eq!(Tag::from_char(c), None, "{c:?}");
    }
}

#[test]
fn a_time_reads_the_same_as_an_argument_and_as_a_bundles_time() {
    for (t, text) in [(1e-6, "1e-6"), (2e-10, "2e-10"), (2.5, "2.5"), (0.0, "0")] {
        let m = Message::new("/a", vec![Arg::Time(t)]);
        assert_eq!(m.to_string(), format!("/a ,t {text}"));
        assert_eq!(
            Bundle::new(t, vec![]).to_string(),
            format!("#bundle {text} []")
        );
    }
}

#[test]
fn control_characters_of_a_pattern_are_shown_escaped() {
    let m = Message::new("/a\nb\u{1b}[31m", vec!["x\ny".into()]);
    assert_eq!(m.to_string(), "/a\\nb\\u{1b}[31m ,s \"x\\ny\"");
}

#[test]
fn a_message_without_type_tags_ends_where_the_next_packet_starts() {
    let bundle = Bundle::of_messages(1.0, vec![Message::new("/b", vec![])])
        .to_bytes()
        .unwrap();
    let message = Message::new("/m", vec![]).to_bytes().unwrap();
    for next in [&bundle[..], &message[..]] {
        let stream = [&b"/tagless\0\0\0\0"[..], next].concat();
        assert_eq!(Message::stream_len(&stream).unwrap(), Some(12));
        // What follows is a message again, or a bundle (not cut this way).
        assert_eq!(Message::stream_len(&stream[12..]).is_ok(), next[0] == b'/');
    }
    // At the end of what came, its tags may be on their way.
    assert_eq!(Message::stream_len(b"/tagless\0\0\0\0").unwrap(), None);
}

#[test]
fn an_empty_stream_is_a_message_still_to_come() {
    // What a cutter has left after taking a whole message off: wait for
    // more, not a stream that is no OSC.
    assert_eq!(Message::stream_len(b"").unwrap(), None);
    assert!(Message::stream_len(b"x").is_err());
}
