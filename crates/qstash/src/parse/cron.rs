//! `Upstash-Cron`: 5-field cron schedules (minute hour day-of-month month day-of-week) with an
//! optional `CRON_TZ=<IANA zone> ` prefix; the default zone is UTC.
//!
//! Crates, and why these versions:
//! * `croner` 4.0.3 (the newest release when this was written) evaluates the pattern. It follows
//!   POSIX/Vixie cron: lists, ranges, steps, JAN-DEC and SUN-SAT names, Sunday as 0 or 7, and the
//!   OR rule when both day fields are restricted. It can be told to refuse a seconds field
//!   (`Seconds::Disallowed`), handles DST gaps and repeated hours through its 4.x civil-time
//!   search, and stops searching at year 5000 instead of looping. Its `chrono` backend is the
//!   default one.
//! * `chrono` 0.4 (>= 0.4.42, which croner 4 requires), without default features: the parsers
//!   never read the clock, so `clock` and its platform crates are left out.
//! * `chrono-tz` 0.10.4 (the newest release) maps IANA names to zones. Its tz database (2025b) is
//!   compiled in, so schedules fire the same on every machine whatever `/usr/share/zoneinfo`
//!   holds, and with default features its build script does nothing.
//!
//! Month and weekday names are resolved here, field by field, before croner sees the pattern
//! (croner would otherwise replace names anywhere in the pattern, so `* * * * MAR` would pass as
//! Wednesday). The croner extensions `L`, `W`, `#` and `?` are accepted; its `+` (AND) modifier
//! and `@every` are not.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::time::days_in_month;
use croner::{Cron, Weekday};

use super::ParseError;

/// The longest schedule accepted, in bytes.
pub const MAX_CRON_LEN: usize = 1024;

/// A parsed cron schedule with its time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    text: String,
    zone: Tz,
    cron: Cron,
}

/// The five fields, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

const FIELDS: [Field; 5] = [Field::Minute, Field::Hour, Field::DayOfMonth, Field::Month, Field::DayOfWeek];

const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
        }
    }

    /// What the field takes, for messages.
    fn takes(self) -> &'static str {
        match self {
            Field::Minute => "0-59",
            Field::Hour => "0-23",
            Field::DayOfMonth => "1-31",
            Field::Month => "1-12 or JAN-DEC",
            Field::DayOfWeek => "0-7 or SUN-SAT (0 and 7 are Sunday)",
        }
    }

    /// Characters the field may hold once names are resolved.
    fn allows(self, c: char) -> bool {
        c.is_ascii_digit()
            || matches!(c, '*' | ',' | '-' | '/')
            || match self {
                Field::DayOfMonth => matches!(c, '?' | 'L' | 'W'),
                Field::DayOfWeek => matches!(c, '?' | 'L' | '#'),
                _ => false,
            }
    }

    /// The number a name stands for in this field, or a letter croner understands itself.
    /// `after_dash` tells whether the name ends a range, where `SUN` is 7 (as in `FRI-SUN`).
    fn resolve_name(self, upper: &str, after_dash: bool) -> Option<String> {
        match self {
            Field::Month => MONTHS.iter().position(|month| *month == upper).map(|i| (i + 1).to_string()),
            Field::DayOfWeek if upper == "SUN" && after_dash => Some("7".to_owned()),
            Field::DayOfWeek if upper == "L" => Some(upper.to_owned()),
            Field::DayOfWeek => WEEKDAYS.iter().position(|day| *day == upper).map(|i| i.to_string()),
            Field::DayOfMonth if upper == "L" || upper == "W" => Some(upper.to_owned()),
            _ => None,
        }
    }
}

impl CronSchedule {
    /// Parses a schedule such as `*/10 * * * *`, `0 9 * * MON-FRI`,
    /// `CRON_TZ=Europe/Berlin 30 8 1 * *` or `@daily`. `TZ=` works like `CRON_TZ=`. Surrounding
    /// whitespace is ignored; a sixth (seconds) field is an error.
    pub fn parse(input: &str) -> Result<CronSchedule, ParseError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(ParseError::cron(input, "the schedule is empty"));
        }
        if text.len() > MAX_CRON_LEN {
            return Err(ParseError::cron(input, format!("the schedule is longer than {MAX_CRON_LEN} characters")));
        }
        let (zone_prefix, zone, pattern) = split_zone(text).map_err(|reason| ParseError::cron(input, reason))?;
        let fields: Vec<&str> = pattern.split_whitespace().collect();
        let cron = parse_fields(&fields).map_err(|reason| ParseError::cron(input, reason))?;
        let joined = fields.join(" ");
        let text = match zone_prefix {
            Some(prefix) => format!("{prefix} {joined}"),
            None => joined,
        };
        Ok(CronSchedule { text, zone, cron })
    }

    /// The schedule as normalized text: trimmed, with single spaces between fields, e.g.
    /// `"*/10 * * * * "` reads back as `"*/10 * * * *"`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The schedule's time zone (UTC unless `CRON_TZ=` names another).
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The first fire time strictly after `after_ms` (unix milliseconds), as unix milliseconds
    /// on a whole minute. `None` when the time is out of range (croner searches up to the year
    /// 5000). Schedules that can never fire, such as `0 0 31 2 *`, are refused by
    /// [`CronSchedule::parse`].
    pub fn next_after(&self, after_ms: u64) -> Option<u64> {
        let after = DateTime::<Utc>::from_timestamp_millis(i64::try_from(after_ms).ok()?)?.with_timezone(&self.zone);
        let next = self.cron.find_next_occurrence(&after, false).ok()?;
        u64::try_from(next.timestamp_millis()).ok()
    }
}

impl fmt::Display for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for CronSchedule {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        CronSchedule::parse(input)
    }
}

/// Splits an optional `CRON_TZ=<zone>` (or `TZ=<zone>`) prefix off a trimmed schedule. Returns
/// the prefix as it will be shown, the zone, and the rest.
fn split_zone(text: &str) -> Result<(Option<String>, Tz, &str), String> {
    let Some(key) = ["CRON_TZ=", "TZ="].into_iter().find(|key| text.starts_with(key)) else {
        return Ok((None, Tz::UTC, text));
    };
    let after_key = &text[key.len()..];
    let name_len = after_key.find(char::is_whitespace).unwrap_or(after_key.len());
    let (name, rest) = after_key.split_at(name_len);
    if name.is_empty() {
        return Err(format!("{key} must be followed by a time zone name, e.g. {key}Europe/Berlin"));
    }
    let zone: Tz = name.parse().map_err(|_| {
        let shown = super::shown(name);
        format!("unknown time zone {shown:?}; use an IANA name such as America/New_York or UTC")
    })?;
    Ok((Some(format!("{key}{name}")), zone, rest.trim_start()))
}

/// Checks the fields and builds croner's pattern from them.
fn parse_fields(fields: &[&str]) -> Result<Cron, String> {
    if let [single] = fields {
        if single.starts_with('@') {
            return compile(nickname(single)?);
        }
    }
    match fields.len() {
        0 => return Err("the schedule has no fields after the time zone".to_owned()),
        5 => {}
        6 => {
            return Err("the schedule has 6 fields, but QStash schedules have 5 (minute hour day-of-month month \
                        day-of-week) and one-minute resolution: a seconds field is not supported"
                .to_owned())
        }
        n => return Err(format!("the schedule has {n} fields; expected 5: minute hour day-of-month month day-of-week")),
    }
    let mut resolved = Vec::with_capacity(5);
    for (field, text) in FIELDS.into_iter().zip(fields) {
        resolved.push(resolve_field(field, text)?);
    }
    let cron = compile(&resolved.join(" ")).map_err(|croner_reason| {
        // Name the first field that is wrong on its own; croner's text does not say which.
        FIELDS
            .into_iter()
            .zip(fields.iter().zip(&resolved))
            .enumerate()
            .find(|(i, (_, (_, value)))| {
                let mut alone = ["*"; 5];
                alone[*i] = value.as_str();
                compile(&alone.join(" ")).is_err()
            })
            .map_or(croner_reason, |(_, (field, (text, _)))| bad_field(field, text))
    })?;
    if fires_on_some_day(&cron) {
        Ok(cron)
    } else {
        Err("the schedule never fires: no date matches its day-of-month, month and day-of-week fields".to_owned())
    }
}

/// Whether some date of 2000-2027 matches the pattern's day and month fields. These 28 years hold
/// every kind of year (leap or not, starting on each weekday), so a pattern that matches none of
/// them never matches. Checking this at parse time keeps `next_after` from searching in vain up
/// to croner's year limit.
fn fires_on_some_day(cron: &Cron) -> bool {
    let pattern = &cron.pattern;
    let mut weekday = Weekday::Saturday; // of 2000-01-01
    for year in 2000..2028 {
        for month in 1..=12 {
            let month_matches = pattern.month_match(month).unwrap_or(false);
            for day in 1..=days_in_month(year, month) {
                if month_matches && pattern.day_match(year, month, day, weekday).unwrap_or(false) {
                    return true;
                }
                weekday = weekday.shift(1);
            }
        }
    }
    false
}

/// The pattern a `@nickname` stands for.
fn nickname(word: &str) -> Result<&'static str, String> {
    let pattern = match word.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => {
            let shown = super::shown(word);
            return Err(format!("unknown shortcut {shown:?}; use @yearly, @monthly, @weekly, @daily or @hourly"));
        }
    };
    Ok(pattern)
}

/// Replaces month and weekday names in one field by numbers, and checks its characters.
fn resolve_field(field: Field, text: &str) -> Result<String, String> {
    let mut resolved = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(char::is_alphabetic) {
        resolved.push_str(&rest[..start]);
        let word_and_rest = &rest[start..];
        let word_len = word_and_rest.find(|c: char| !c.is_alphabetic()).unwrap_or(word_and_rest.len());
        let word = word_and_rest[..word_len].to_uppercase();
        let value = field.resolve_name(&word, resolved.ends_with('-')).ok_or_else(|| bad_field(field, text))?;
        resolved.push_str(&value);
        rest = &word_and_rest[word_len..];
    }
    resolved.push_str(rest);
    // Croner lets an empty list item (`1,,2`) pass; cron does not.
    if resolved.split(',').all(|item| !item.is_empty()) && resolved.chars().all(|c| field.allows(c)) {
        Ok(resolved)
    } else {
        Err(bad_field(field, text))
    }
}

fn bad_field(field: Field, text: &str) -> String {
    let shown = super::shown(text);
    format!(
        "the {} field {shown:?} is not valid; it takes {}, as single values, lists (1,5), ranges (1-5) or steps (*/10, 1-30/5)",
        field.name(),
        field.takes()
    )
}

fn compile(pattern: &str) -> Result<Cron, String> {
    CronParser::builder().seconds(Seconds::Disallowed).year(Year::Disallowed).build().parse(pattern).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix ms of a UTC date and time.
    fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> u64 {
        use chrono::TimeZone;
        let Some(time) = Utc.with_ymd_and_hms(year, month, day, hour, minute, 0).single() else {
            panic!("bad test date");
        };
        match u64::try_from(time.timestamp_millis()) {
            Ok(ms) => ms,
            Err(_) => panic!("date before 1970"),
        }
    }

    fn schedule(text: &str) -> CronSchedule {
        match CronSchedule::parse(text) {
            Ok(schedule) => schedule,
            Err(error) => panic!("{text}: {error}"),
        }
    }

    fn error(text: &str) -> String {
        match CronSchedule::parse(text) {
            Ok(schedule) => panic!("{text} parsed as {schedule:?}"),
            Err(error) => error.to_string(),
        }
    }

    /// The next `count` fire times after `from`.
    fn fires(text: &str, from: u64, count: usize) -> Vec<u64> {
        let schedule = schedule(text);
        let mut times = Vec::new();
        let mut after = from;
        for _ in 0..count {
            let Some(next) = schedule.next_after(after) else { break };
            times.push(next);
            after = next;
        }
        times
    }

    #[test]
    fn normalizes_text() {
        assert_eq!(schedule("*/10 * * * * ").as_str(), "*/10 * * * *");
        assert_eq!(schedule("  0   9 *\t* MON-FRI\n").as_str(), "0 9 * * MON-FRI");
        assert_eq!(schedule("CRON_TZ=Europe/Berlin   30 8 1 * *").as_str(), "CRON_TZ=Europe/Berlin 30 8 1 * *");
        assert_eq!(schedule("@daily").to_string(), "@daily");
        assert_eq!(schedule("0 0 * * *").zone(), Tz::UTC);
        assert_eq!(schedule("TZ=Asia/Tokyo 0 0 * * *").zone(), Tz::Asia__Tokyo);
    }

    #[test]
    fn every_ten_minutes() {
        let start = utc(2024, 5, 1, 12, 3);
        assert_eq!(fires("*/10 * * * *", start, 3), vec![utc(2024, 5, 1, 12, 10), utc(2024, 5, 1, 12, 20), utc(2024, 5, 1, 12, 30)]);
    }

    #[test]
    fn strictly_after_and_on_whole_minutes() {
        let schedule = schedule("* * * * *");
        let noon = utc(2024, 5, 1, 12, 0);
        assert_eq!(schedule.next_after(noon), Some(noon + 60_000));
        assert_eq!(schedule.next_after(noon - 1), Some(noon));
        assert_eq!(schedule.next_after(noon + 59_999), Some(noon + 60_000));
        assert_eq!(schedule.next_after(noon + 500), Some(noon + 60_000));
        assert_eq!(schedule.next_after(0), Some(60_000));
    }

    #[test]
    fn lists_ranges_steps_and_names() {
        let start = utc(2024, 1, 1, 0, 0); // a Monday
        assert_eq!(fires("0 9,17 * * *", start, 2), vec![utc(2024, 1, 1, 9, 0), utc(2024, 1, 1, 17, 0)]);
        assert_eq!(fires("15 10-12/2 * * *", start, 2), vec![utc(2024, 1, 1, 10, 15), utc(2024, 1, 1, 12, 15)]);
        assert_eq!(fires("0 0 1 jan,Jul *", start, 2), vec![utc(2024, 7, 1, 0, 0), utc(2025, 1, 1, 0, 0)]);
        assert_eq!(fires("0 12 * * SAT-SUN", start, 2), vec![utc(2024, 1, 6, 12, 0), utc(2024, 1, 7, 12, 0)]);
        assert_eq!(fires("0 12 * * FRI-SUN", start, 3), vec![utc(2024, 1, 5, 12, 0), utc(2024, 1, 6, 12, 0), utc(2024, 1, 7, 12, 0)]);
        assert_eq!(fires("0 12 * FEB-MAR MON", start, 1), vec![utc(2024, 2, 5, 12, 0)]);
        assert_eq!(fires("@hourly", start, 1), vec![utc(2024, 1, 1, 1, 0)]);
        assert_eq!(fires("@weekly", start, 1), vec![utc(2024, 1, 7, 0, 0)]);
        assert_eq!(fires("@YEARLY", start, 1), vec![utc(2025, 1, 1, 0, 0)]);
    }

    #[test]
    fn sunday_is_zero_or_seven() {
        let start = utc(2024, 1, 1, 0, 0);
        let sunday = vec![utc(2024, 1, 7, 0, 0)];
        assert_eq!(fires("0 0 * * 0", start, 1), sunday);
        assert_eq!(fires("0 0 * * 7", start, 1), sunday);
        assert_eq!(fires("0 0 * * sun", start, 1), sunday);
        assert_eq!(fires("0 0 * * 5-7", start, 3)[2], sunday[0]);
    }

    #[test]
    fn day_fields_or_when_both_restricted() {
        // The 13th, or any Friday: 2024-09-06 is a Friday, then Friday the 13th, then the 20th.
        let start = utc(2024, 9, 1, 0, 0);
        assert_eq!(
            fires("0 0 13 * FRI", start, 4),
            vec![utc(2024, 9, 6, 0, 0), utc(2024, 9, 13, 0, 0), utc(2024, 9, 20, 0, 0), utc(2024, 9, 27, 0, 0)]
        );
        // With one of them '*', only the other restricts.
        assert_eq!(fires("0 0 13 * *", start, 1), vec![utc(2024, 9, 13, 0, 0)]);
        assert_eq!(fires("0 0 * * FRI", start, 1), vec![utc(2024, 9, 6, 0, 0)]);
    }

    #[test]
    fn time_zones() {
        // 09:00 in New York is 13:00 UTC in summer and 14:00 UTC in winter.
        let summer = utc(2024, 7, 1, 0, 0);
        assert_eq!(fires("CRON_TZ=America/New_York 0 9 * * *", summer, 1), vec![utc(2024, 7, 1, 13, 0)]);
        let winter = utc(2024, 1, 1, 0, 0);
        assert_eq!(fires("CRON_TZ=America/New_York 0 9 * * *", winter, 1), vec![utc(2024, 1, 1, 14, 0)]);
        assert_eq!(fires("CRON_TZ=Asia/Kolkata 0 0 * * *", winter, 1), vec![utc(2024, 1, 1, 18, 30)]);
        assert_eq!(fires("CRON_TZ=UTC 0 0 * * *", winter, 1), vec![utc(2024, 1, 2, 0, 0)]);
    }

    #[test]
    fn dst_transitions_do_not_panic_and_move_forward() {
        // 2024-03-10 02:30 does not exist in New York; 2024-11-03 01:30 happens twice.
        for text in ["CRON_TZ=America/New_York 30 2 * * *", "CRON_TZ=America/New_York 30 1 * * *", "CRON_TZ=America/New_York */15 * * * *"]
        {
            for start in [utc(2024, 3, 9, 0, 0), utc(2024, 11, 2, 0, 0)] {
                let times = fires(text, start, 200);
                assert_eq!(times.len(), 200, "{text}");
                assert!(times.windows(2).all(|pair| pair[0] < pair[1]), "{text}");
                assert!(times.iter().all(|t| t % 60_000 == 0), "{text}");
            }
        }
        // Daily 02:30 fires at the end of the spring gap, 03:00 EDT (07:00 UTC).
        assert_eq!(
            fires("CRON_TZ=America/New_York 30 2 * * *", utc(2024, 3, 9, 12, 0), 2),
            vec![utc(2024, 3, 10, 7, 0), utc(2024, 3, 11, 6, 30)]
        );
        // Daily 01:30 fires once when 01:30 repeats in the fall, at the first one (EDT).
        assert_eq!(
            fires("CRON_TZ=America/New_York 30 1 * * *", utc(2024, 11, 2, 12, 0), 2),
            vec![utc(2024, 11, 3, 5, 30), utc(2024, 11, 4, 6, 30)]
        );
    }

    #[test]
    fn never_firing_and_out_of_range() {
        for never in ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30,31 FEB ?"] {
            assert!(error(never).contains("never fires"), "{never}");
        }
        // The OR rule: Fridays in February do exist.
        assert!(schedule("0 0 30 2 FRI").next_after(0).is_some());
        assert!(schedule("0 0 29 2 *").next_after(0).is_some());
        assert!(schedule("0 0 * * 5#5").next_after(0).is_some());
        assert_eq!(schedule("* * * * *").next_after(utc(6000, 1, 1, 0, 0)), None);
        assert_eq!(schedule("* * * * *").next_after(u64::MAX), None);
        assert_eq!(schedule("0 0 29 2 *").next_after(utc(2024, 3, 1, 0, 0)), Some(utc(2028, 2, 29, 0, 0)));
    }

    #[test]
    fn rejects_bad_schedules() {
        assert!(error("").contains("empty"));
        assert!(error("* * * *").contains("4 fields; expected 5"));
        assert!(error("* * * * * * *").contains("7 fields"));
        assert!(error("*/5 * * * * *").contains("seconds field is not supported"));
        assert!(error("60 * * * *").contains("the minute field \"60\" is not valid; it takes 0-59"));
        assert!(error("* 24 * * *").contains("hour field"));
        assert!(error("* * 0 * *").contains("day-of-month field"));
        assert!(error("* * 32 * *").contains("day-of-month field"));
        assert!(error("* * * 13 *").contains("month field"));
        assert!(error("* * * * 8").contains("day-of-week field"));
        assert!(error("* * * * MAR").contains("day-of-week field \"MAR\""));
        assert!(error("* * * MON *").contains("month field"));
        assert!(error("JAN * * * *").contains("minute field"));
        assert!(error("*/0 * * * *").contains("minute field"));
        assert!(error("5-1 * * * *").contains("minute field"));
        assert!(error("1,,2 * * * *").contains("minute field"));
        assert!(error("1, * * * *").contains("minute field"));
        assert!(error(",1 * * * *").contains("minute field"));
        assert!(error("* * * * +MON").contains("day-of-week field"));
        assert!(error("é * * * *").contains("minute field"));
        assert!(error("@every 1h").contains("2 fields"));
        assert!(error("@every").contains("unknown shortcut"));
        assert!(error("CRON_TZ=Mars/Olympus 0 0 * * *").contains("unknown time zone \"Mars/Olympus\""));
        assert!(error("CRON_TZ= 0 0 * * *").contains("must be followed by a time zone"));
        assert!(error("CRON_TZ=UTC").contains("no fields"));
        assert!(error(&"1,".repeat(600)).contains("longer than"));
    }
}
