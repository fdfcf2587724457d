//! No parser may panic, loop or blow the stack on hostile input. The body of [`exercise`] is the
//! same as `fuzz/fuzz_targets/qstash_parsers.rs`; these tests run it on a fixed corpus and on
//! strings built from a seeded generator, so they are repeatable.

use super::*;

/// Feeds one input to every parser, as the fuzz target does.
fn exercise(input: &str) {
    let _ = parse_duration(input);
    let _ = parse_go_duration(input);
    if let Ok(delay) = RetryDelay::parse(input) {
        let _ = delay.as_str();
        for retried in [0, 1, 2, 7, 100, u32::MAX] {
            let _ = delay.eval(retried);
        }
    }
    if let Ok(schedule) = CronSchedule::parse(input) {
        let _ = schedule.as_str();
        for after_ms in [0, 1_700_000_000_000, i64::MAX as u64, u64::MAX] {
            let _ = schedule.next_after(after_ms);
        }
    }
    let _ = FlowControlValue::parse(input);
    for now_ms in [0, 1_700_000_000_000, u64::MAX] {
        let _ = retry_after_ms(input, now_ms);
    }
    for retried in [0, 1, 30, u32::MAX] {
        let _ = default_backoff_ms(retried);
    }
}

/// Inputs that have broken parsers before, one way or another.
fn nasty_inputs() -> Vec<String> {
    let mut inputs: Vec<String> = [
        "",
        " ",
        "\0",
        "\u{feff}",
        "-",
        "+",
        ".",
        "..",
        "-0",
        "+-1s",
        "1e",
        "1e+",
        "1e999",
        "1e-999",
        "0x10",
        "NaN",
        "inf",
        "-inf",
        "1µ",
        "µs",
        "1\u{3bc}s",
        "1é",
        "é",
        "日本",
        "\u{202e}1s",
        "18446744073709551616",
        "9223372036854775808ns",
        "2562047h47m16.854775808s",
        "1.",
        ".5",
        "1..2",
        "()",
        "(",
        ")",
        ")(",
        "pow(",
        "pow()",
        "pow(,)",
        "min(,1)",
        "max(1,)",
        "retried retried",
        "1/0",
        "0/0",
        "0%0",
        "-(-(-1))",
        "sqrt(-retried)",
        "exp(retried*retried)",
        "abs(",
        "@",
        "@daily x",
        "@@",
        "CRON_TZ=",
        "CRON_TZ=UTC",
        "CRON_TZ=UTC ",
        "TZ=",
        "CRON_TZ=../../etc/passwd * * * * *",
        "* * * * *",
        "0 0 31 2 *",
        "0 0 30 2 *",
        "0 0 31 4,6,9,11 *",
        "0 0 L * *",
        "0 0 LW * *",
        "0 0 1W * *",
        "0 0 * * 5#5",
        "0 0 * * 5#L",
        "0 0 * * L",
        "0 0 * * #",
        "0 0 * * 0#0",
        "*/0 * * * *",
        "0-59/59 * * * *",
        "1-0 * * * *",
        "*/100000 * * * *",
        "99999999999 * * * *",
        "-1 * * * *",
        "? ? ? ? ?",
        "L L L L L",
        "W * * * *",
        "* * ,,, * *",
        "CRON_TZ=America/New_York 30 2 * * *",
        "parallelism=",
        "=",
        "==",
        ",",
        ",,,",
        "rate=1,rate=1",
        "period=-1s",
        "rate=1, period=99999999999999999999d",
        "Mon, 32 Dec 9999 99:99:99 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Thu, 01 Jan 1970 00:00:00 GMT",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for unit in ["(", "-", "+", "abs(", "1+", "1*", "min(1,", "9", ",", "*/", "1-", "@", "CRON_TZ=", "1s"] {
        inputs.push(unit.repeat(5_000));
    }
    inputs.push("(".repeat(5_000) + &")".repeat(5_000));
    inputs.push("1 ".repeat(3_000));
    inputs
}

/// Small deterministic generator (xorshift64*), so runs are repeatable without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Pieces the generator glues together: fragments of every grammar, plus noise.
const PIECES: &[&str] = &[
    "0",
    "1",
    "7",
    "59",
    "60",
    "9999999999",
    ".",
    ".5",
    "e",
    "E",
    "-",
    "+",
    "*",
    "/",
    "%",
    "(",
    ")",
    ",",
    " ",
    "\t",
    "=",
    "ns",
    "us",
    "µs",
    "ms",
    "s",
    "m",
    "h",
    "d",
    "retried",
    "pow(",
    "exp(",
    "sqrt(",
    "abs(",
    "floor(",
    "ceil(",
    "round(",
    "min(",
    "max(",
    "*/",
    "?",
    "L",
    "W",
    "#",
    "JAN",
    "sun",
    "FRI-SUN",
    "@daily",
    "@",
    "CRON_TZ=",
    "Europe/Berlin",
    "America/New_York",
    "parallelism",
    "rate",
    "ratePerSecond",
    "period",
    "GMT",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "é",
    "\0",
    "日",
    "\u{3bc}",
];

fn random_input(rng: &mut Rng) -> String {
    let count = 1 + rng.below(14);
    (0..count).map(|_| PIECES[rng.below(PIECES.len())]).collect()
}

#[test]
fn no_panic_on_nasty_inputs() {
    for input in nasty_inputs() {
        exercise(&input);
    }
}

#[test]
fn no_panic_on_generated_inputs() {
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    for _ in 0..3_000 {
        exercise(&random_input(&mut rng));
    }
}

#[test]
fn no_panic_on_generated_cron_like_inputs() {
    let mut rng = Rng(0x0c0f_fee0_1234_5678);
    let field_pieces = ["*", "*/5", "0", "1-5", "7", "31", "L", "5#2", "15W", "MON-FRI", "JAN,JUL", "?", "0-59/59", "2-1"];
    for _ in 0..1_500 {
        let fields: Vec<&str> = (0..5).map(|_| field_pieces[rng.below(field_pieces.len())]).collect();
        let zone = ["", "CRON_TZ=America/New_York ", "CRON_TZ=Australia/Lord_Howe ", "TZ=UTC "][rng.below(4)];
        exercise(&format!("{zone}{}", fields.join(" ")));
    }
}

#[test]
fn error_messages_stay_short() {
    let long = "\u{1F4A5}".repeat(10_000);
    let errors = [
        parse_duration(&long).err(),
        parse_go_duration(&long).err(),
        RetryDelay::parse(&long).err(),
        CronSchedule::parse(&long).err(),
        FlowControlValue::parse(&long).err(),
        FlowControlValue::parse(&format!("{long}=1")).err(),
    ];
    for error in errors {
        match error {
            Some(error) => assert!(error.to_string().chars().count() < 500, "{error}"),
            None => panic!("accepted a junk input"),
        }
    }
}
