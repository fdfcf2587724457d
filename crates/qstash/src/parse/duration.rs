//! Durations: QStash's `<n><unit>` form (`Upstash-Delay`, `Upstash-Timeout`, flow-control
//! `period`) and Go's `time.ParseDuration` form (found in `Retry-After`-style response headers).
//!
//! Both are a sequence of `<number><unit>` terms that add up, e.g. `1d10h30m` or `2h45m`. A
//! number may carry a decimal fraction (`1.5h`, `.5s`). The two differ in their units and in
//! what a bare number means.

use std::time::Duration;

use super::{shown, ParseError};

/// The longest duration either parser accepts: Go's limit, `i64::MAX` nanoseconds (about 292
/// years).
pub const MAX_DURATION: Duration = Duration::from_nanos(i64::MAX as u64);

const NANOS_PER_MS: u64 = 1_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;

/// A unit name and its length in nanoseconds.
type Unit = (&'static str, u64);

/// Units of QStash's durations. The SDKs send seconds (`"{n}s"`).
const QSTASH_UNITS: &[Unit] =
    &[("ms", NANOS_PER_MS), ("s", NANOS_PER_SEC), ("m", 60 * NANOS_PER_SEC), ("h", 3_600 * NANOS_PER_SEC), ("d", 86_400 * NANOS_PER_SEC)];
const QSTASH_UNIT_HINT: &str = "use ms, s, m, h or d, e.g. 10s or 1d10h30m";

/// Units of Go's `time.ParseDuration`, including both spellings of the micro sign.
const GO_UNITS: &[Unit] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", NANOS_PER_MS),
    ("s", NANOS_PER_SEC),
    ("m", 60 * NANOS_PER_SEC),
    ("h", 3_600 * NANOS_PER_SEC),
];
const GO_UNIT_HINT: &str = "use ns, us, ms, s, m or h, e.g. 6m5s";

/// Digits of a fraction beyond this many are ignored (they are below a nanosecond for every unit).
const MAX_FRACTION_DIGITS: usize = 19;

/// Parses a QStash duration such as `10s`, `1d10h30m`, `1.5h` or `300ms`.
///
/// Units are `ms`, `s`, `m`, `h` and `d`; terms add up. A bare integer means seconds (`"30"` is
/// 30 s). Surrounding whitespace is ignored. Empty or negative values, unknown units and values
/// above [`MAX_DURATION`] are errors.
pub fn parse_duration(input: &str) -> Result<Duration, ParseError> {
    let text = input.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = text.parse().map_err(|_| too_large(input))?;
        let duration = Duration::from_secs(secs);
        return if duration > MAX_DURATION { Err(too_large(input)) } else { Ok(duration) };
    }
    sum_terms(input, text, QSTASH_UNITS, QSTASH_UNIT_HINT)
}

/// Parses a Go duration string as `time.ParseDuration` does, e.g. `6m5s`, `1.5h`, `300ms`,
/// `2h45m`, `1us`, `1µs` or `1ns`.
///
/// A leading `+` is allowed, and `0` needs no unit. Negative durations are errors here, since
/// every use in QStash is a wait. Surrounding whitespace is ignored.
pub fn parse_go_duration(input: &str) -> Result<Duration, ParseError> {
    let text = input.trim();
    if text.strip_prefix('+').unwrap_or(text) == "0" {
        return Ok(Duration::ZERO);
    }
    sum_terms(input, text, GO_UNITS, GO_UNIT_HINT)
}

/// Adds up the `<number><unit>` terms of `text`, after an optional `+`.
fn sum_terms(input: &str, text: &str, units: &[Unit], hint: &str) -> Result<Duration, ParseError> {
    if text.is_empty() {
        return Err(ParseError::duration(input, format!("the value is empty; {hint}")));
    }
    if text.starts_with('-') {
        return Err(ParseError::duration(input, "negative durations are not allowed"));
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() {
        return Err(ParseError::duration(input, format!("a number must follow '+'; {hint}")));
    }
    let max_nanos = MAX_DURATION.as_nanos();
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (term, next) = split_term(rest);
        rest = next;
        if term.whole.is_empty() && term.fraction.is_empty() {
            return Err(ParseError::duration(input, format!("expected a number before {:?}; {hint}", shown(term.unit))));
        }
        if term.unit.is_empty() {
            return Err(ParseError::duration(input, format!("missing unit after {}; {hint}", shown(term.number))));
        }
        let Some(&(_, unit_nanos)) = units.iter().find(|(name, _)| *name == term.unit) else {
            return Err(ParseError::duration(input, format!("unknown unit {:?}; {hint}", shown(term.unit))));
        };
        total = term.nanos(unit_nanos).and_then(|nanos| total.checked_add(nanos)).ok_or_else(|| too_large(input))?;
        if total > max_nanos {
            return Err(too_large(input));
        }
    }
    let nanos = u64::try_from(total).map_err(|_| too_large(input))?;
    Ok(Duration::from_nanos(nanos))
}

/// One `<number><unit>` term, split into its text parts.
struct Term<'a> {
    /// The number as written, for messages.
    number: &'a str,
    /// Digits before the decimal point (may be empty, as in `.5s`).
    whole: &'a str,
    /// Digits after the decimal point (empty without one).
    fraction: &'a str,
    /// Everything up to the next digit or `.`.
    unit: &'a str,
}

impl Term<'_> {
    /// The term's length in nanoseconds given its unit's length, or `None` on overflow. Fractions
    /// are truncated to whole nanoseconds, as Go does.
    fn nanos(&self, unit_nanos: u64) -> Option<u128> {
        let unit_nanos = u128::from(unit_nanos);
        let mut whole: u128 = 0;
        for digit in self.whole.bytes() {
            whole = whole.checked_mul(10)?.checked_add(u128::from(digit - b'0'))?;
        }
        let mut fraction: u128 = 0;
        let mut scale: u128 = 1;
        for digit in self.fraction.bytes().take(MAX_FRACTION_DIGITS) {
            fraction = fraction * 10 + u128::from(digit - b'0');
            scale *= 10;
        }
        whole.checked_mul(unit_nanos)?.checked_add(fraction * unit_nanos / scale)
    }
}

/// Splits the leading term off `text`; returns it and the rest.
fn split_term(text: &str) -> (Term<'_>, &str) {
    let whole_len = leading_digits(text);
    let mut number_len = whole_len;
    let mut fraction = "";
    if text[whole_len..].starts_with('.') {
        let after_point = &text[whole_len + 1..];
        let fraction_len = leading_digits(after_point);
        fraction = &after_point[..fraction_len];
        number_len += 1 + fraction_len;
    }
    let after_number = &text[number_len..];
    let unit_len = after_number.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after_number.len());
    let term = Term { number: &text[..number_len], whole: &text[..whole_len], fraction, unit: &after_number[..unit_len] };
    (term, &after_number[unit_len..])
}

/// The length in bytes of the ASCII digits that start `text`.
fn leading_digits(text: &str) -> usize {
    text.bytes().take_while(u8::is_ascii_digit).count()
}

fn too_large(input: &str) -> ParseError {
    ParseError::duration(input, "the duration is too large (the maximum is about 292 years)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn err_text(result: Result<Duration, ParseError>) -> String {
        match result {
            Ok(duration) => panic!("expected an error, got {duration:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn qstash_single_units() {
        assert_eq!(parse_duration("10s"), Ok(secs(10)));
        assert_eq!(parse_duration("5m"), Ok(secs(300)));
        assert_eq!(parse_duration("2h"), Ok(secs(7_200)));
        assert_eq!(parse_duration("1d"), Ok(secs(86_400)));
        assert_eq!(parse_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn qstash_concatenations_add_up() {
        assert_eq!(parse_duration("1d10h30m"), Ok(secs(86_400 + 36_000 + 1_800)));
        assert_eq!(parse_duration("1m30s"), Ok(secs(90)));
        assert_eq!(parse_duration("1s500ms"), Ok(Duration::from_millis(1_500)));
        // Order and repetition are not checked, as in Go.
        assert_eq!(parse_duration("30s1m"), Ok(secs(90)));
        assert_eq!(parse_duration("1s1s"), Ok(secs(2)));
    }

    #[test]
    fn qstash_bare_integer_is_seconds() {
        assert_eq!(parse_duration("30"), Ok(secs(30)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration(" 7 "), Ok(secs(7)));
    }

    #[test]
    fn qstash_fractions_and_plus() {
        assert_eq!(parse_duration("1.5h"), Ok(secs(5_400)));
        assert_eq!(parse_duration(".5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.s"), Ok(secs(1)));
        assert_eq!(parse_duration("+10s"), Ok(secs(10)));
    }

    #[test]
    fn qstash_rejects_bad_values() {
        assert!(err_text(parse_duration("")).contains("empty"));
        assert!(err_text(parse_duration("   ")).contains("empty"));
        assert!(err_text(parse_duration("-5s")).contains("negative"));
        assert!(err_text(parse_duration("10x")).contains("unknown unit \"x\""));
        assert!(err_text(parse_duration("10us")).contains("unknown unit"));
        assert!(err_text(parse_duration("1w")).contains("unknown unit"));
        assert!(err_text(parse_duration("s")).contains("expected a number"));
        assert!(err_text(parse_duration(".s")).contains("expected a number"));
        assert!(err_text(parse_duration("1h30")).contains("missing unit after 30"));
        assert!(err_text(parse_duration("1.5")).contains("missing unit"));
        assert!(err_text(parse_duration("1h 30m")).contains("unknown unit \"h \""));
        assert!(err_text(parse_duration("+")).contains("'+'"));
        assert!(err_text(parse_duration("1..5s")).contains("missing unit after 1."));
    }

    #[test]
    fn qstash_rejects_overflow() {
        assert!(err_text(parse_duration("99999999999999999999999999999999s")).contains("too large"));
        assert!(err_text(parse_duration("99999999999999999999")).contains("too large"));
        assert!(err_text(parse_duration("106752d")).contains("too large"));
        assert!(err_text(parse_duration("106751d106751d")).contains("too large"));
        assert!(parse_duration("106751d").is_ok());
        let many_digits = "9".repeat(500) + "s";
        assert!(err_text(parse_duration(&many_digits)).contains("too large"));
    }

    #[test]
    fn error_messages_quote_the_input_and_are_bounded() {
        assert_eq!(
            err_text(parse_duration("10x")),
            "invalid duration \"10x\": unknown unit \"x\"; use ms, s, m, h or d, e.g. 10s or 1d10h30m"
        );
        let long = "x".repeat(10_000);
        assert!(err_text(parse_duration(&long)).len() < 400);
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("6m5s"), Ok(secs(365)));
        assert_eq!(parse_go_duration("1.5h"), Ok(secs(5_400)));
        assert_eq!(parse_go_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_go_duration("2h45m"), Ok(secs(9_900)));
        assert_eq!(parse_go_duration("1us"), Ok(Duration::from_micros(1)));
        assert_eq!(parse_go_duration("1\u{b5}s"), Ok(Duration::from_micros(1)));
        assert_eq!(parse_go_duration("1\u{3bc}s"), Ok(Duration::from_micros(1)));
        assert_eq!(parse_go_duration("1ns"), Ok(Duration::from_nanos(1)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_go_duration("+0"), Ok(Duration::ZERO));
        assert_eq!(parse_go_duration("+1m"), Ok(secs(60)));
        assert_eq!(parse_go_duration("1.000000001s"), Ok(Duration::from_nanos(1_000_000_001)));
        // Digits below a nanosecond are dropped.
        assert_eq!(parse_go_duration("0.1234567890123456789012s"), Ok(Duration::from_nanos(123_456_789)));
        assert_eq!(parse_go_duration("2562047h"), Ok(secs(2_562_047 * 3_600)));
    }

    #[test]
    fn go_rejects_bad_values() {
        assert!(err_text(parse_go_duration("")).contains("empty"));
        assert!(err_text(parse_go_duration("-1s")).contains("negative"));
        assert!(err_text(parse_go_duration("-0")).contains("negative"));
        assert!(err_text(parse_go_duration("30")).contains("missing unit"));
        assert!(err_text(parse_go_duration("1d")).contains("unknown unit \"d\""));
        assert!(err_text(parse_go_duration(".")).contains("expected a number"));
        assert!(err_text(parse_go_duration("3000000h")).contains("too large"));
        assert!(err_text(parse_go_duration("1\u{e9}s")).contains("unknown unit"));
    }
}
