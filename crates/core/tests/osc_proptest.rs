//! Random packets: they round-trip through our codec, and wherever rosc can
//! express them, our bytes are rosc's bytes and rosc decodes ours.

use proptest::prelude::*;
use renoise_socket::osc::{
    seconds_to_timetag, timetag_to_seconds, Arg, Bundle, Message, Packet, MAX_BUNDLE_DEPTH,
};

/// What the generated packets may hold.
#[derive(Clone, Copy)]
struct Gen {
    /// NaN floats and doubles (not equal to themselves).
    nan: bool,
    /// Only what rosc can express: UTF-8 strings, no `S`.
    rosc: bool,
}

const ALL: Gen = Gen {
    nan: false,
    rosc: false,
};

/// Bytes an OSC string can hold: anything but NUL; for rosc, UTF-8.
fn osc_bytes(g: Gen, max: usize) -> BoxedStrategy<Vec<u8>> {
    if g.rosc {
        prop::collection::vec(any::<char>().prop_filter("no NUL", |c| *c != '\0'), 0..=max)
            .prop_map(|cs| cs.into_iter().collect::<String>().into_bytes())
            .boxed()
    } else {
        prop::collection::vec(1u8..=255, 0..=max).boxed()
    }
}

/// Times that decode back to themselves: every timetag below 2^52
/// decodes to a double that encodes back to it.
fn time() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0u64..1 << 52).prop_map(timetag_to_seconds),
        (0u32..100_000, 0u32..1000).prop_map(|(s, ms)| f64::from(s) + f64::from(ms) / 1000.0),
    ]
    .prop_filter("round-trips", |t| {
        seconds_to_timetag(*t).map(timetag_to_seconds).ok() == Some(*t)
    })
}

fn arg(g: Gen) -> impl Strategy<Value = Arg> {
    let float = any::<f32>().prop_filter("no NaN", move |f| g.nan || !f.is_nan());
    let double = any::<f64>().prop_filter("no NaN", move |d| g.nan || !d.is_nan());
    let symbol = if g.rosc {
        Just(Arg::Nil).boxed()
    } else {
        osc_bytes(g, 20).prop_map(Arg::Symbol).boxed()
    };
    prop_oneof![
        any::<i32>().prop_map(Arg::Int),
        float.prop_map(Arg::Float),
        osc_bytes(g, 20).prop_map(Arg::String),
        prop::collection::vec(any::<u8>(), 0..20).prop_map(Arg::Blob),
        any::<i64>().prop_map(Arg::Long),
        time().prop_map(Arg::Time),
        double.prop_map(Arg::Double),
        symbol,
        any::<u8>().prop_map(Arg::Char),
        any::<u32>().prop_map(Arg::Color),
        any::<u32>().prop_map(Arg::Midi),
        Just(Arg::True),
        Just(Arg::False),
        Just(Arg::Nil),
        Just(Arg::Inf),
    ]
}

fn message(g: Gen) -> impl Strategy<Value = Message> {
    (osc_bytes(g, 16), prop::collection::vec(arg(g), 0..8)).prop_map(|(mut pattern, args)| {
        pattern.insert(0, b'/');
        Message { pattern, args }
    })
}

fn packet(g: Gen) -> impl Strategy<Value = Packet> {
    let leaf = message(g).prop_map(Packet::Message);
    leaf.prop_recursive(4, 32, 5, |inner| {
        (time(), prop::collection::vec(inner, 0..5))
            .prop_map(|(timetag, elements)| Packet::Bundle(Bundle { timetag, elements }))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn random_packets_round_trip(p in packet(ALL)) {
        let bytes = p.to_bytes().unwrap();
        prop_assert_eq!(bytes.len() % 4, 0);
        prop_assert_eq!(Packet::decode(&bytes).unwrap(), p);
    }

    #[test]
    fn random_packets_with_nan_round_trip_byte_for_byte(p in packet(Gen { nan: true, ..ALL })) {
        let bytes = p.to_bytes().unwrap();
        prop_assert_eq!(Packet::decode(&bytes).unwrap().to_bytes().unwrap(), bytes);
    }

    #[test]
    fn display_never_panics(p in packet(Gen { nan: true, ..ALL })) {
        let _ = p.to_string();
    }

    #[test]
    fn decoded_random_bytes_re_encode_to_a_stable_packet(
        data in prop::collection::vec(any::<u8>(), 0..64),
        prefix in prop_oneof![Just(&b""[..]), Just(&b"/a\0\0,"[..]), Just(&b"#bundle\0"[..])],
    ) {
        let data = [prefix, &data[..]].concat();
        if let Ok(p) = Packet::decode(&data) {
            let once = p.to_bytes().unwrap();
            let twice = Packet::decode(&once).unwrap().to_bytes().unwrap();
            prop_assert_eq!(once, twice);
        }
    }

    #[test]
    fn messages_sent_one_after_another_are_cut_where_each_ends(
        msgs in prop::collection::vec(message(ALL), 1..6),
    ) {
        let parts: Vec<Vec<u8>> = msgs.iter().map(|m| m.to_bytes().unwrap()).collect();
        let stream = parts.concat();
        let mut at = 0;
        for (m, part) in msgs.iter().zip(&parts) {
            // Every cut inside the message asks for more (an error would
            // drop a message that was only half there yet).
            for end in at + 1..at + part.len() {
                prop_assert_eq!(Message::stream_len(&stream[at..end]).ok(), Some(None));
            }
            let len = Message::stream_len(&stream[at..]).unwrap();
            prop_assert_eq!(len, Some(part.len()));
            prop_assert_eq!(Packet::decode(&stream[at..at + part.len()]).unwrap(), Packet::Message(m.clone()));
            at += part.len();
        }
    }

    #[test]
    fn cutting_a_stream_never_panics(data in prop::collection::vec(any::<u8>(), 0..64)) {
        let data = [&b"/a\0\0,"[..], &data[..]].concat();
        if let Ok(Some(n)) = Message::stream_len(&data) {
            prop_assert!(n <= data.len());
        }
    }

    #[test]
    fn corrupting_one_byte_never_panics(p in packet(Gen { nan: true, ..ALL }), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = p.to_bytes().unwrap();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let _ = Packet::decode(&bytes);
    }

    #[test]
    fn our_bytes_are_roscs_bytes_and_rosc_decodes_them(
        p in packet(Gen { rosc: true, ..ALL }),
    ) {
        let r = to_rosc(&p).expect("generated for rosc");
        let ours = p.to_bytes().unwrap();
        prop_assert_eq!(&rosc::encoder::encode(&r).unwrap(), &ours);
        let (rest, decoded) = rosc::decoder::decode_udp(&ours).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(decoded, r);
    }

    #[test]
    fn we_decode_roscs_bytes(p in packet(Gen { rosc: true, ..ALL })) {
        let r = to_rosc(&p).expect("generated for rosc");
        let theirs = rosc::encoder::encode(&r).unwrap();
        prop_assert_eq!(Packet::decode(&theirs).unwrap(), p);
    }
}

/// Our packet as rosc's, or `None` where rosc cannot express it (`S`,
/// strings that are not UTF-8).
fn to_rosc(p: &Packet) -> Option<rosc::OscPacket> {
    use rosc::{OscBundle, OscColor, OscMessage, OscMidiMessage, OscPacket, OscTime, OscType};
    let time = |t: f64| {
        let tt = seconds_to_timetag(t).ok()?;
        Some(OscTime::from(((tt >> 32) as u32, tt as u32)))
    };
    Some(match p {
        Packet::Message(m) => OscPacket::Message(OscMessage {
            addr: String::from_utf8(m.pattern.clone()).ok()?,
            args: m
                .args
                .iter()
                .map(|a| {
                    Some(match a {
                        Arg::Int(v) => OscType::Int(*v),
                        Arg::Float(v) => OscType::Float(*v),
                        Arg::String(v) => OscType::String(String::from_utf8(v.clone()).ok()?),
                        Arg::Blob(v) => OscType::Blob(v.clone()),
                        Arg::Long(v) => OscType::Long(*v),
                        Arg::Time(v) => OscType::Time(time(*v)?),
                        Arg::Double(v) => OscType::Double(*v),
                        Arg::Symbol(_) => return None,
                        Arg::Char(v) => OscType::Char(char::from(*v)),
                        Arg::Color(v) => {
                            let [red, green, blue, alpha] = v.to_be_bytes();
                            OscType::Color(OscColor {
                                red,
                                green,
                                blue,
                                alpha,
                            })
                        }
                        Arg::Midi(v) => {
                            let [port, status, data1, data2] = v.to_be_bytes();
                            OscType::Midi(OscMidiMessage {
                                port,
                                status,
                                data1,
                                data2,
                            })
                        }
                        Arg::True => OscType::Bool(true),
                        Arg::False => OscType::Bool(false),
                        Arg::Nil => OscType::Nil,
                        Arg::Inf => OscType::Inf,
                    })
                })
                .collect::<Option<_>>()?,
        }),
        Packet::Bundle(b) => OscPacket::Bundle(OscBundle {
            timetag: time(b.timetag)?,
            content: b.elements.iter().map(to_rosc).collect::<Option<_>>()?,
        }),
    })
}

#[test]
fn deepest_allowed_nesting_round_trips() {
    let mut p = Packet::from(Message::new("/deep", vec![Arg::Int(1)]));
    for _ in 0..MAX_BUNDLE_DEPTH {
        p = Bundle::new(1.0, vec![p]).into();
    }
    assert_eq!(Packet::decode(&p.to_bytes().unwrap()).unwrap(), p);
}
