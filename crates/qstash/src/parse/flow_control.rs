//! `Upstash-Flow-Control-Value`: `parallelism=<n>, rate=<n>, period=<duration>`, any subset in
//! any order, separated by commas with optional spaces. `ratePerSecond` is the legacy name of
//! `rate`. Keys are case-insensitive.

use std::fmt;

use super::duration::parse_duration;
use super::ParseError;

/// The longest flow-control period: one week, in seconds.
pub const MAX_PERIOD_SECS: u64 = 7 * 24 * 60 * 60;

/// The period used when `rate` is given without one, in seconds.
pub const DEFAULT_PERIOD_SECS: u64 = 1;

/// A parsed `Upstash-Flow-Control-Value`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowControlValue {
    /// At most this many deliveries in flight at once for the key.
    pub parallelism: Option<u32>,
    /// At most this many deliveries started per `period_secs`.
    pub rate: Option<u32>,
    /// The rate's window in seconds: as given, or [`DEFAULT_PERIOD_SECS`] when `rate` is set
    /// without a period.
    pub period_secs: Option<u64>,
}

impl FlowControlValue {
    /// Parses a header value such as `parallelism=2, rate=10, period=1m`.
    ///
    /// `parallelism` and `rate` are whole numbers from 1 to `u32::MAX`; `period` is a duration
    /// ([`parse_duration`]) of whole seconds from 1 s to one week. Empty items (a trailing comma)
    /// are ignored; an empty value, unknown or repeated keys, and bad numbers are errors.
    pub fn parse(input: &str) -> Result<FlowControlValue, ParseError> {
        let mut value = FlowControlValue::default();
        let mut seen_any = false;
        for item in input.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            seen_any = true;
            let Some((key, raw)) = item.split_once('=') else {
                return Err(ParseError::flow_control(input, format!("{:?} is not of the form key=value", super::shown(item))));
            };
            let (key, raw) = (key.trim(), raw.trim());
            if key.eq_ignore_ascii_case("parallelism") {
                set_once(&mut value.parallelism, positive(input, "parallelism", raw)?, input, "parallelism")?;
            } else if key.eq_ignore_ascii_case("rate") || key.eq_ignore_ascii_case("ratePerSecond") {
                set_once(&mut value.rate, positive(input, key, raw)?, input, "rate")?;
            } else if key.eq_ignore_ascii_case("period") {
                set_once(&mut value.period_secs, period_secs(input, raw)?, input, "period")?;
            } else {
                let shown = super::shown(key);
                return Err(ParseError::flow_control(
                    input,
                    format!("unknown key {shown:?}; use parallelism, rate (or ratePerSecond) and period"),
                ));
            }
        }
        if !seen_any {
            return Err(ParseError::flow_control(input, "the value is empty; set parallelism, rate or both, e.g. parallelism=2, rate=10"));
        }
        if value.rate.is_some() && value.period_secs.is_none() {
            value.period_secs = Some(DEFAULT_PERIOD_SECS);
        }
        Ok(value)
    }
}

impl fmt::Display for FlowControlValue {
    /// The canonical header form, e.g. `parallelism=2, rate=10, period=60s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = [
            self.parallelism.map(|n| format!("parallelism={n}")),
            self.rate.map(|n| format!("rate={n}")),
            self.period_secs.map(|secs| format!("period={secs}s")),
        ];
        let parts: Vec<String> = parts.into_iter().flatten().collect();
        f.write_str(&parts.join(", "))
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, input: &str, key: &str) -> Result<(), ParseError> {
    if slot.is_some() {
        return Err(ParseError::flow_control(input, format!("{key} is given more than once")));
    }
    *slot = Some(value);
    Ok(())
}

fn positive(input: &str, key: &str, raw: &str) -> Result<u32, ParseError> {
    match raw.parse::<u32>() {
        Ok(0) => Err(ParseError::flow_control(input, format!("{key} must be at least 1"))),
        Ok(n) if raw.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => {
            let shown = super::shown(raw);
            Err(ParseError::flow_control(input, format!("{key} must be a whole number from 1 to {}, not {shown:?}", u32::MAX)))
        }
    }
}

fn period_secs(input: &str, raw: &str) -> Result<u64, ParseError> {
    let period = parse_duration(raw).map_err(|error| ParseError::flow_control(input, format!("period: {error}")))?;
    if period.subsec_nanos() != 0 {
        return Err(ParseError::flow_control(input, "period must be a whole number of seconds"));
    }
    match period.as_secs() {
        0 => Err(ParseError::flow_control(input, "period must be at least 1s")),
        secs if secs > MAX_PERIOD_SECS => Err(ParseError::flow_control(input, "period must be at most 1 week (7d)")),
        secs => Ok(secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> FlowControlValue {
        match FlowControlValue::parse(text) {
            Ok(value) => value,
            Err(error) => panic!("{text}: {error}"),
        }
    }

    fn error(text: &str) -> String {
        match FlowControlValue::parse(text) {
            Ok(value) => panic!("{text} parsed as {value:?}"),
            Err(error) => error.to_string(),
        }
    }

    fn value(parallelism: Option<u32>, rate: Option<u32>, period_secs: Option<u64>) -> FlowControlValue {
        FlowControlValue { parallelism, rate, period_secs }
    }

    #[test]
    fn sdk_forms() {
        assert_eq!(parse("parallelism=2, rate=10, period=1m"), value(Some(2), Some(10), Some(60)));
        assert_eq!(parse("parallelism=5, rate=100, period=60s"), value(Some(5), Some(100), Some(60)));
        assert_eq!(parse("parallelism=3"), value(Some(3), None, None));
        assert_eq!(parse("rate=7"), value(None, Some(7), Some(1)));
        assert_eq!(parse("ratePerSecond=7"), value(None, Some(7), Some(1)));
    }

    #[test]
    fn spacing_order_and_case() {
        assert_eq!(parse("period=1d,rate=1"), value(None, Some(1), Some(86_400)));
        assert_eq!(parse(" rate = 4 ,  parallelism=1 "), value(Some(1), Some(4), Some(1)));
        assert_eq!(parse("Parallelism=2,RATE=3"), value(Some(2), Some(3), Some(1)));
        assert_eq!(parse("parallelism=2,"), value(Some(2), None, None));
        assert_eq!(parse("period=7d"), value(None, None, Some(MAX_PERIOD_SECS)));
        assert_eq!(parse(&format!("rate={}", u32::MAX)), value(None, Some(u32::MAX), Some(1)));
    }

    #[test]
    fn displays_canonically() {
        assert_eq!(parse("period=1m, rate=2, parallelism=3").to_string(), "parallelism=3, rate=2, period=60s");
        assert_eq!(parse("parallelism=3").to_string(), "parallelism=3");
    }

    #[test]
    fn rejects_bad_values() {
        assert!(error("").contains("empty"));
        assert!(error(" , ").contains("empty"));
        assert!(error("parallelism").contains("key=value"));
        assert!(error("parallelism=0").contains("parallelism must be at least 1"));
        assert!(error("rate=0").contains("rate must be at least 1"));
        assert!(error("parallelism=-1").contains("whole number"));
        assert!(error("parallelism=+1").contains("whole number"));
        assert!(error("rate=1.5").contains("whole number"));
        assert!(error("rate=4294967296").contains("whole number"));
        assert!(error("rate=").contains("whole number"));
        assert!(error("rate=1, rate=2").contains("rate is given more than once"));
        assert!(error("rate=1, ratePerSecond=2").contains("more than once"));
        assert!(error("burst=3").contains("unknown key \"burst\""));
        assert!(error("rate=1, period=0s").contains("at least 1s"));
        assert!(error("rate=1, period=8d").contains("at most 1 week"));
        assert!(error("rate=1, period=1500ms").contains("whole number of seconds"));
        assert!(error("rate=1, period=1x").contains("period: invalid duration \"1x\""));
        assert!(error("rate=1; period=1s").contains("whole number"));
    }
}
