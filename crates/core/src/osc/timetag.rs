//! Seconds (a Lua number) to and from the 64-bit OSC timetag.
//!
//! # The mapping
//!
//! The OSC timetag is NTP's 32.32 fixed-point format: the upper 32 bits
//! count whole seconds, the lower 32 bits count 2⁻³² s. Renoise code gives a
//! bundle's time as a number of seconds and reads it back as one, so the
//! number is used directly as the fixed-point value, without any epoch
//! shift:
//!
//! * encoding: whole seconds = `floor(t)`, fraction = `round(fract(t) · 2³²)`
//!   (a fraction that rounds up to 2³² carries into the seconds). `t` must
//!   be finite and `0 <= t < 2³²`; anything else is an
//!   [`Error::OscEncode`].
//! * decoding: the number with the **shortest decimal representation** (at
//!   most 10 decimals) that encodes back to the same timetag, falling back
//!   to the double nearest `seconds + fraction / 2³²` (kept below 2³²) if
//!   none does. Every decoded time encodes again, to the same timetag
//!   whenever a double holds it exactly, as it does every timetag below
//!   2²¹ s; above, a double has fewer than 32 bits left for the fraction
//!   (21 for an NTP time of today), and the timetag comes back within half
//!   a step of the double's spacing (a whole step in the last one below
//!   2³², kept below it). [`Message::decode_with_timetags`](crate::osc::Message::decode_with_timetags)
//!   keeps the 64-bit values exactly.
//!
//! A plain `seconds + fraction / 2³²` on decode would turn `0.001` into
//! `0.00099999993108213`: the 2⁻³² grid (about 2.3e-10 s) does not hold
//! decimal fractions. Picking the shortest decimal on the way back undoes
//! that rounding, so `decode(encode(t)) == t` **exactly** for
//!
//! * every `t` with at most 6 decimals in the whole range `[0, 2³²)`, and
//! * every `t` with at most 9 decimals below 2²² s (about 48 days),
//!
//! which covers small integers and `os.clock()` values. Any other value
//! comes back within one timetag step, 2⁻³² s (plus the spacing of `f64`
//! near `t`): both lie in the same step.
//!
//! # Special timetags
//!
//! The timetag `1` (`0x0000000000000001`) means "immediately" in OSC. It
//! decodes to [`IMMEDIATELY`] (`2e-10` s, the shortest decimal in its 2⁻³²
//! step), which encodes back to `1`. Time `0` encodes to the timetag `0`,
//! which OSC receivers treat as a time long past, so also "now".
//!
//! ```
//! use renoise_socket::osc::{seconds_to_timetag, timetag_to_seconds};
//!
//! assert_eq!(seconds_to_timetag(2.5)?, (2 << 32) | 0x8000_0000);
//! assert_eq!(timetag_to_seconds(seconds_to_timetag(0.001)?), 0.001);
//! assert_eq!(timetag_to_seconds(seconds_to_timetag(123.456789)?), 123.456789);
//! # Ok::<(), renoise_socket::Error>(())
//! ```

use crate::error::{Error, Result};
use std::io::Write;

/// The OSC timetag meaning "immediately".
///
/// ```
/// use renoise_socket::osc::{timetag_to_seconds, IMMEDIATELY, TIMETAG_IMMEDIATELY};
/// assert_eq!(timetag_to_seconds(TIMETAG_IMMEDIATELY), IMMEDIATELY);
/// ```
pub const TIMETAG_IMMEDIATELY: u64 = 1;

/// The number of seconds that encodes to [`TIMETAG_IMMEDIATELY`], and that
/// the timetag `1` decodes to.
///
/// ```
/// use renoise_socket::osc::{seconds_to_timetag, IMMEDIATELY, TIMETAG_IMMEDIATELY};
/// assert_eq!(seconds_to_timetag(IMMEDIATELY)?, TIMETAG_IMMEDIATELY);
/// # Ok::<(), renoise_socket::Error>(())
/// ```
pub const IMMEDIATELY: f64 = 2e-10;

const TWO_POW_32: f64 = 4_294_967_296.0;

/// Seconds to a 64-bit OSC timetag (see the [module](self) docs for the
/// mapping).
///
/// Errors with [`Error::OscEncode`] for a negative, non-finite or too large
/// (`>= 2³²`) number.
///
/// ```
/// use renoise_socket::osc::seconds_to_timetag;
/// assert_eq!(seconds_to_timetag(1.0)?, 1 << 32);
/// assert!(seconds_to_timetag(-1.0).is_err());
/// assert!(seconds_to_timetag(f64::NAN).is_err());
/// # Ok::<(), renoise_socket::Error>(())
/// ```
pub fn seconds_to_timetag(seconds: f64) -> Result<u64> {
    // NaN is outside every range too.
    if !(0.0..TWO_POW_32).contains(&seconds) {
        return Err(Error::OscEncode(format!(
            "time {} is not a number of seconds in 0 <= t < 2^32",
            super::display::Seconds(seconds)
        )));
    }
    let whole = seconds.trunc();
    // `seconds - whole` is exact for every f64, and scaling by 2^32 is
    // exact too, so the only rounding is the `round()`.
    let fraction = ((seconds - whole) * TWO_POW_32).round();
    // Both casts are in range: whole < 2^32, fraction <= 2^32.
    let mut secs = whole as u64;
    let mut frac = fraction as u64;
    if frac == 1 << 32 {
        secs += 1;
        frac = 0;
    }
    if secs > u64::from(u32::MAX) {
        return Err(Error::OscEncode(format!(
            "time {seconds} rounds to 2^32 seconds, beyond the OSC timetag"
        )));
    }
    Ok((secs << 32) | frac)
}

/// A 64-bit OSC timetag to seconds (see the [module](self) docs for the
/// mapping). Never fails: every timetag has a value.
///
/// ```
/// use renoise_socket::osc::timetag_to_seconds;
/// assert_eq!(timetag_to_seconds(3 << 32), 3.0);
/// assert_eq!(timetag_to_seconds((1 << 32) | 0x4000_0000), 1.25);
/// ```
pub fn timetag_to_seconds(timetag: u64) -> f64 {
    let secs = timetag >> 32;
    let frac = timetag & 0xFFFF_FFFF;
    if frac == 0 {
        return secs as f64;
    }
    // At 10 decimals the grid (1e-10) is finer than one timetag step
    // (2.3e-10), so a candidate always exists there; fewer digits are tried
    // first so that the shortest one wins.
    let mut scale: u128 = 1;
    for digits in 1..=10usize {
        scale *= 10;
        let center = (u128::from(frac) * scale + (1 << 31)) >> 32;
        for k in [Some(center), center.checked_sub(1), Some(center + 1)]
            .into_iter()
            .flatten()
        {
            if let Some(candidate) = decimal(secs, k, scale, digits) {
                if seconds_to_timetag(candidate).ok() == Some(timetag) {
                    return candidate;
                }
            }
        }
    }
    // Only reached where a double is coarser than the timetag grid (above
    // about 2^22 s); the nearest double is all there is. At the very top
    // it would round up to 2^32, which does not encode: stay below, so
    // that every decoded time can be sent on unchanged.
    let nearest = secs as f64 + frac as f64 / TWO_POW_32;
    if nearest < TWO_POW_32 {
        nearest
    } else {
        f64::from_bits(TWO_POW_32.to_bits() - 1)
    }
}

/// The double nearest to `secs + k / scale`, `scale == 10^digits`.
///
/// `secs as f64 + k as f64 / scale as f64` would round twice and can miss
/// the double the user wrote. One division of two exactly represented
/// integers rounds once, correctly; past 2^53 the standard library's
/// correctly rounded decimal parser does it.
fn decimal(secs: u64, k: u128, scale: u128, digits: usize) -> Option<f64> {
    const EXACT: u128 = 1 << 53;
    let numerator = u128::from(secs) * scale + k;
    if numerator <= EXACT {
        return Some(numerator as f64 / scale as f64);
    }
    let whole = u128::from(secs) + k / scale;
    let rest = k % scale;
    // At most 11 digits, a dot and 10 digits.
    let mut buf = [0u8; 32];
    let len = {
        let mut cursor = &mut buf[..];
        write!(cursor, "{whole}.{rest:0digits$}").ok()?;
        32 - cursor.len()
    };
    std::str::from_utf8(buf.get(..len)?).ok()?.parse().ok()
}
