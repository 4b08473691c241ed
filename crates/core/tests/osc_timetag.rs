//! Seconds <-> OSC timetag: exact round trips for the values Renoise code
//! uses.

use proptest::prelude::*;
use renoise_socket::osc::{
    seconds_to_timetag, timetag_to_seconds, Bundle, Packet, IMMEDIATELY, TIMETAG_IMMEDIATELY,
};

fn back(t: f64) -> f64 {
    timetag_to_seconds(seconds_to_timetag(t).expect("in range"))
}

/// The double nearest to `whole.frac` written with `digits` decimals.
fn decimal(whole: u64, frac: u64, digits: usize) -> f64 {
    format!("{whole}.{frac:0digits$}").parse().unwrap()
}

#[test]
fn values_from_the_spec_round_trip_exactly() {
    for t in [
        0.0,
        1.0,
        2.5,
        123.456789,
        0.001,
        0.1,
        1e-6,
        86_400.5,
        4_294_967_295.0,
    ] {
        assert_eq!(back(t), t, "{t}");
    }
}

#[test]
fn bundle_timetag_round_trips_through_bytes() {
    for t in [0.0, 1.0, 2.5, 123.456789, 0.001, 7.654321] {
        let b = Bundle::new(t, vec![]);
        match Packet::decode(&b.to_bytes().unwrap()).unwrap() {
            Packet::Bundle(d) => assert_eq!(d.timetag, t),
            other => panic!("{other}"),
        }
    }
}

#[test]
fn timetag_layout_is_ntp_seconds_then_fraction() {
    assert_eq!(seconds_to_timetag(0.0).unwrap(), 0);
    assert_eq!(seconds_to_timetag(1.0).unwrap(), 1 << 32);
    assert_eq!(seconds_to_timetag(2.5).unwrap(), (2 << 32) | 0x8000_0000);
    assert_eq!(seconds_to_timetag(0.25).unwrap(), 0x4000_0000);
    assert_eq!(
        seconds_to_timetag(4_294_967_295.5).unwrap(),
        u64::MAX - 0x7fff_ffff
    );
}

#[test]
fn immediately_is_timetag_one_both_ways() {
    assert_eq!(TIMETAG_IMMEDIATELY, 1);
    assert_eq!(timetag_to_seconds(1), IMMEDIATELY);
    assert_eq!(seconds_to_timetag(IMMEDIATELY).unwrap(), 1);
}

#[test]
fn fraction_rounding_up_carries_into_the_seconds() {
    let just_below_two = 2.0 - 1e-12;
    assert_eq!(seconds_to_timetag(just_below_two).unwrap(), 2 << 32);
}

#[test]
fn times_outside_the_timetag_range_are_refused() {
    for t in [
        -1e-9,
        -1.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        4_294_967_296.0,
        // Rounds up to 2^32 seconds.
        4_294_967_296.0 - 1e-7,
    ] {
        assert!(seconds_to_timetag(t).is_err(), "{t}");
    }
}

#[test]
fn negative_zero_is_time_zero() {
    assert_eq!(seconds_to_timetag(-0.0).unwrap(), 0);
}

#[test]
fn largest_timetag_decodes_to_a_time_that_encodes_again() {
    let t = timetag_to_seconds(u64::MAX);
    assert!(t < 4_294_967_296.0);
    assert!(seconds_to_timetag(t).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn six_decimals_round_trip_exactly_over_the_whole_range(
        whole in 0u64..=u64::from(u32::MAX) - 1,
        micros in 0u64..1_000_000,
    ) {
        let t = decimal(whole, micros, 6);
        prop_assert_eq!(back(t), t);
    }

    #[test]
    fn nine_decimals_round_trip_exactly_below_2_pow_22(
        whole in 0u64..(1 << 22),
        nanos in 0u64..1_000_000_000,
    ) {
        let t = decimal(whole, nanos, 9);
        prop_assert_eq!(back(t), t);
    }

    #[test]
    fn os_clock_like_values_round_trip_exactly(t in 0.0f64..100_000.0) {
        // os.clock() returns CPU seconds with microsecond-ish steps.
        let t = (t * 1e6).round() / 1e6;
        prop_assert_eq!(back(t), t);
    }

    #[test]
    fn any_time_comes_back_within_one_timetag_step(t in 0.0f64..4_294_967_295.0) {
        let err = (back(t) - t).abs();
        // Both lie in the same 2^-32 step; plus the double's own spacing.
        let ulp = f64::from_bits(t.to_bits() + 1) - t;
        prop_assert!(err <= 2f64.powi(-32) + ulp, "{} -> {} ({})", t, back(t), err);
    }

    #[test]
    fn every_decoded_timetag_encodes_again(tt in any::<u64>()) {
        prop_assert!(seconds_to_timetag(timetag_to_seconds(tt)).is_ok());
    }

    #[test]
    fn decode_encode_decode_is_stable(tt in any::<u64>()) {
        let once = seconds_to_timetag(timetag_to_seconds(tt)).unwrap();
        let twice = seconds_to_timetag(timetag_to_seconds(once)).unwrap();
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn any_timetag_survives_decode_encode_when_the_double_can_hold_it(tt in any::<u64>()) {
        // Below 2^20 s every timetag step is wider than a double's spacing,
        // so decoding then encoding must give the same timetag.
        let tt = tt & ((1 << 52) - 1);
        prop_assert_eq!(seconds_to_timetag(timetag_to_seconds(tt)).unwrap(), tt);
    }
}

#[test]
fn a_time_out_of_range_is_named_briefly() {
    for (t, shown) in [(1e300, "1e300"), (-1e-300, "-1e-300"), (-2.5, "-2.5")] {
        let e = seconds_to_timetag(t).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "invalid OSC message: time {shown} is not a number of seconds in 0 <= t < 2^32"
            )
        );
    }
}
