//! Parsers for the small languages of QStash's headers: durations, retry-delay expressions,
//! cron schedules, flow-control values and `Retry-After`-family response headers.
//!
//! Everything here is pure: no clock, no I/O. Functions that need the time take it as unix
//! milliseconds. Errors are [`ParseError`]s whose `Display` text is meant for the `error` field
//! of a `{"error": "..."}` response.

#![warn(missing_docs)]

pub mod backoff;
pub mod cron;
pub mod duration;
pub mod flow_control;
pub mod retry_after;
pub mod retry_delay;

pub use backoff::default_backoff_ms;
pub use cron::CronSchedule;
pub use duration::{parse_duration, parse_go_duration};
pub use flow_control::FlowControlValue;
pub use retry_after::retry_after_ms;
pub use retry_delay::RetryDelay;

/// Why a header value could not be parsed or evaluated.
///
/// Each variant carries the offending input (shortened to [`SHOWN_INPUT_CHARS`] characters) and a
/// reason, so the message alone tells a user what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A duration such as `Upstash-Delay`, `Upstash-Timeout` or a flow-control `period`.
    #[error("invalid duration {input:?}: {reason}")]
    Duration {
        /// The value as received (possibly shortened).
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An `Upstash-Retry-Delay` expression that does not parse.
    #[error("invalid retry delay expression {input:?}: {reason}")]
    RetryDelay {
        /// The expression as received (possibly shortened).
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An `Upstash-Retry-Delay` expression that parses but gives no usable delay.
    #[error("retry delay expression {input:?} {reason}")]
    RetryDelayValue {
        /// The expression (possibly shortened).
        input: String,
        /// What went wrong, phrased to follow the expression, e.g. "gives an infinite value".
        reason: String,
    },
    /// An `Upstash-Cron` schedule.
    #[error("invalid cron expression {input:?}: {reason}")]
    Cron {
        /// The schedule as received (possibly shortened).
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An `Upstash-Flow-Control-Value`.
    #[error("invalid flow control value {input:?}: {reason}")]
    FlowControl {
        /// The value as received (possibly shortened).
        input: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// How many characters of a bad input an error message repeats; longer inputs are cut and end
/// with `…`, so a hostile header cannot blow up a response or a log line.
pub const SHOWN_INPUT_CHARS: usize = 64;

/// The input as quoted in an error message: at most [`SHOWN_INPUT_CHARS`] characters.
fn shown(input: &str) -> String {
    match input.char_indices().nth(SHOWN_INPUT_CHARS) {
        Some((cut, _)) => format!("{}…", &input[..cut]),
        None => input.to_owned(),
    }
}

impl ParseError {
    fn duration(input: &str, reason: impl Into<String>) -> Self {
        ParseError::Duration { input: shown(input), reason: reason.into() }
    }

    fn retry_delay(input: &str, reason: impl Into<String>) -> Self {
        ParseError::RetryDelay { input: shown(input), reason: reason.into() }
    }

    fn retry_delay_value(input: &str, reason: impl Into<String>) -> Self {
        ParseError::RetryDelayValue { input: shown(input), reason: reason.into() }
    }

    fn cron(input: &str, reason: impl Into<String>) -> Self {
        ParseError::Cron { input: shown(input), reason: reason.into() }
    }

    fn flow_control(input: &str, reason: impl Into<String>) -> Self {
        ParseError::FlowControl { input: shown(input), reason: reason.into() }
    }
}

#[cfg(test)]
mod tests;
