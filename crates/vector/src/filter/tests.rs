use serde_json::{json, Value};

use super::*;

/// The metadata of the docs' filtering page, plus a few fields for the other constructs.
fn istanbul() -> Value {
    json!({
        "city": "Istanbul",
        "country": "Turkey",
        "is_capital": false,
        "population": 15460000,
        "geography": {
            "continent": "Asia",
            "coordinates": { "latitude": 41.0082, "longitude": 28.9784 }
        },
        "economy": {
            "currency": "TRY",
            "major_industries": ["Tourism", "Textiles", "Finance"]
        },
        "tags": ["mammal", "big", 7, true],
        "matrix": [[1, 2], [3, 4]],
        "items": [{ "name": "a", "n": 1 }, { "name": "b", "n": 2 }],
        "nothing": null,
        "empty": {},
        "none": []
    })
}

fn parse(src: &str) -> Filter {
    Filter::parse(src).unwrap_or_else(|e| panic!("{src:?} should parse: {e}"))
}

fn matches(src: &str, doc: &Value) -> bool {
    parse(src).matches(doc)
}

fn err(src: &str) -> FilterError {
    match Filter::parse(src) {
        Ok(f) => panic!("{src:?} should be refused, parsed as {f:?}"),
        Err(e) => e,
    }
}

/// Asserts the filter matches the Istanbul document.
fn yes(src: &str) {
    assert!(matches(src, &istanbul()), "{src:?} should match");
}

/// Asserts the filter parses and does not match the Istanbul document.
fn no(src: &str) {
    assert!(!matches(src, &istanbul()), "{src:?} should not match");
}

/// Asserts the canonical print parses back into the same filter.
fn round_trips(f: &Filter) {
    let printed = f.to_string();
    if printed.len() > MAX_FILTER_LEN {
        return;
    }
    match Filter::parse(&printed) {
        Ok(back) => assert_eq!(&back, f, "printed as {printed:?}"),
        Err(e) => panic!("{f:?} printed as {printed:?} which does not parse: {e}"),
    }
}

// ---- the empty filter --------------------------------------------------------------------

#[test]
fn empty_filter_matches_everything() {
    for src in ["", "   ", "\n\t \r", "\u{a0}\u{2003}"] {
        let f = parse(src);
        assert!(f.is_match_all());
        assert!(f.expr().is_none());
        assert!(f.matches(&istanbul()));
        assert!(f.matches(&Value::Null));
        assert_eq!(f.to_string(), "");
    }
    assert_eq!(Filter::match_all(), parse(""));
    assert!(!parse("a = 1").is_match_all());
}

// ---- the examples of the reference -------------------------------------------------------

#[test]
fn reference_examples() {
    yes("population >= 1000000 AND geography.continent = 'Asia'");
    yes("country = 'Turkey' AND population = 15460000 AND is_capital = false");
    yes("city GLOB '?[sz]*[^m-z]'");
    yes("city NOT GLOB 'A*'");
    yes("country IN ('Germany', 'Turkey', 'France')");
    yes("economy.currency NOT IN ('USD', 'EUR')");
    yes("economy.major_industries CONTAINS 'Tourism'");
    yes("HAS NOT FIELD geography.coordinates.longitude2");
    no("HAS NOT FIELD geography.coordinates.longitude");
    yes("economy.major_industries[#-1] = 'Finance'");
    yes("tags[0] = 'mammal' AND city = 'Istanbul'");
    let pets = json!({"age": 30, "type": "cat"});
    assert!(matches("age >= 23 and (type = 'turtle' OR type = 'cat')", &pets));
    assert!(!matches("age >= 31 and (type = 'turtle' OR type = 'cat')", &pets));
    assert!(matches("meta >= 2", &json!({"meta": 2})));
}

// ---- = and != ----------------------------------------------------------------------------

#[test]
fn equality_on_each_type() {
    yes("city = 'Istanbul'");
    yes("city = \"Istanbul\"");
    no("city = 'istanbul'");
    yes("city != 'Ankara'");
    no("city != 'Istanbul'");
    yes("population = 15460000");
    yes("population = 15460000.0");
    yes("population = 1.546e7");
    yes("population != 15460001");
    yes("geography.coordinates.latitude = 41.0082");
    yes("is_capital = false");
    yes("is_capital != true");
    no("is_capital = true");
}

#[test]
fn booleans_are_also_spelled_one_and_zero() {
    yes("is_capital = 0");
    no("is_capital = 1");
    yes("is_capital != 1");
    yes("is_capital IN (1, 0)");
    yes("tags CONTAINS 1");
    // Only the integers 0 and 1 count, and booleans never equal numbers the other way round.
    no("is_capital = 0.0");
    no("is_capital = 2");
    assert!(!matches("n = true", &json!({"n": 1})));
    assert!(matches("n = 1", &json!({"n": 1})));
}

#[test]
fn type_mismatches_are_false_even_when_negated() {
    for src in [
        "city = 1",
        "city != 1",
        "city != true",
        "population = '15460000'",
        "population != '1'",
        "is_capital = 'false'",
        "is_capital != 'x'",
        "geography = 'Asia'",
        "geography != 'Asia'",
        "tags = 'mammal'",
        "tags != 'mammal'",
        "nothing = 0",
        "nothing != 0",
        "city < 5",
        "is_capital >= 0",
        "nothing > 0",
        "population GLOB '*'",
        "population NOT GLOB 'x'",
        "city CONTAINS 'I'",
        "city NOT CONTAINS 'x'",
        "geography NOT CONTAINS 'x'",
    ] {
        no(src);
    }
}

#[test]
fn missing_fields_fail_every_test_but_has_not_field() {
    for src in [
        "ghost = 1",
        "ghost != 1",
        "ghost < 1",
        "ghost >= 1",
        "ghost GLOB '*'",
        "ghost NOT GLOB 'x'",
        "ghost IN (1, 'a')",
        "ghost NOT IN (1)",
        "ghost CONTAINS 1",
        "ghost NOT CONTAINS 1",
        "HAS FIELD ghost",
        "geography.ghost != 'x'",
        "city.length = 8",
    ] {
        no(src);
    }
    yes("HAS NOT FIELD ghost");
    yes("HAS NOT FIELD geography.ghost.deeper");
}

#[test]
fn metadata_that_is_not_an_object_has_no_fields() {
    for doc in [Value::Null, json!([1, 2]), json!("text"), json!(3)] {
        assert!(!matches("a = 1", &doc));
        assert!(!matches("a != 1", &doc));
        assert!(!matches("HAS FIELD a", &doc));
        assert!(matches("HAS NOT FIELD a", &doc));
    }
}

// ---- numbers -----------------------------------------------------------------------------

#[test]
fn number_formats() {
    let doc = json!({"neg": -3, "half": 0.5, "big": 1e300, "small": 1e-7, "zero": 0});
    for src in [
        "neg = -3",
        "neg = -3.0",
        "neg < -2.5",
        "half = .5",
        "half = +.5",
        "half = 0.5",
        "half = 5e-1",
        "half = 5E-1",
        "half = 0.05e+1",
        "big = 1e300",
        "big > 1e299",
        "small = 1e-7",
        "zero = -0",
        "zero = 0.0",
        "zero = -0.0",
        "neg = -3.",
        "neg != +3",
    ] {
        assert!(matches(src, &doc), "{src:?}");
    }
    for src in ["1AND b = 1", "a = 1AND b = 1", "a = 1.2.3", "a = 12abc", "a = 1e", "a = 1e+", "a = 1e999", "a = -1e400", "a = 1-2"] {
        assert!(matches!(err(src), FilterError::InvalidNumber { .. }), "{src:?}: {}", err(src));
    }
    assert!(matches!(err("a = -"), FilterError::UnexpectedChar { ch: '-', .. }));
    assert!(matches!(err("a = ."), FilterError::UnexpectedChar { ch: '.', .. }));
}

#[test]
fn integers_compare_exactly_with_floats_and_wide_integers() {
    let doc = json!({"u": u64::MAX, "i": i64::MIN, "p": 9007199254740993_u64, "f": 9007199254740992.0});
    assert!(matches(&format!("u = {}", u64::MAX), &doc));
    assert!(matches(&format!("u > {}", i64::MAX), &doc));
    assert!(matches(&format!("i = {}", i64::MIN), &doc));
    assert!(matches("i < -9223372036854775807", &doc));
    // 2^53 + 1 is not 2^53, though both round to the same f64.
    assert!(!matches("p = 9007199254740992.0", &doc));
    assert!(matches("p > 9007199254740992.0", &doc));
    assert!(matches("f < 9007199254740993", &doc));
    assert!(matches("f = 9007199254740992", &doc));
    // Integers beyond i128 become floats.
    assert!(matches("u < 1000000000000000000000000000000000000000000", &doc));
    assert!(matches("i > -1000000000000000000000000000000000000000000", &doc));
    assert!(!matches("x < 2.5 AND x > 2.4999", &json!({"x": 2})));
    assert!(matches("x > 1.5 AND x < 2.5", &json!({"x": 2})));
}

#[test]
fn ordering_operators() {
    let doc = json!({"n": 10, "f": 2.5});
    for (src, want) in [
        ("n < 10", false),
        ("n < 11", true),
        ("n <= 10", true),
        ("n <= 9.99", false),
        ("n > 9.5", true),
        ("n > 10", false),
        ("n >= 10", true),
        ("n >= 10.0001", false),
        ("f > 2", true),
        ("f < 3", true),
        ("f >= 2.5", true),
        ("f <= 2.4", false),
    ] {
        assert_eq!(matches(src, &doc), want, "{src:?}");
    }
}

#[test]
fn ordering_operators_need_a_number_literal() {
    for src in ["n < 'a'", "n <= \"b\"", "n > true", "n >= FALSE"] {
        let e = err(src);
        assert!(matches!(e, FilterError::WrongType { wanted: "a number", .. }), "{src:?}: {e}");
    }
    assert_eq!(err("n < 'a'").to_string(), "< needs a number at column 5, found the string 'a'");
}

// ---- GLOB --------------------------------------------------------------------------------

fn glob(pattern: &str, text: &str) -> bool {
    match Glob::new(pattern) {
        Ok(g) => g.is_match(text),
        Err(e) => panic!("{pattern:?}: {e}"),
    }
}

#[test]
fn glob_wildcards() {
    assert!(glob("", ""));
    assert!(!glob("", "a"));
    assert!(glob("*", ""));
    assert!(glob("*", "anything"));
    assert!(glob("**", "x"));
    assert!(glob("a*", "a"));
    assert!(glob("a*", "abc"));
    assert!(!glob("a*", "ba"));
    assert!(glob("*c", "abc"));
    assert!(glob("a*c", "abbbc"));
    assert!(glob("a*b*c", "aXbYbZc"));
    assert!(!glob("a*b*c", "aXbYbZ"));
    assert!(glob("?", "é"));
    assert!(!glob("?", ""));
    assert!(!glob("?", "ab"));
    assert!(glob("??", "ab"));
    assert!(glob("*?", "a"));
    assert!(!glob("*??", "a"));
    assert!(glob("*imgur.com*", "https://imgur.com/z9AVZLb"));
    assert!(glob("Ist*l", "Istanbul"));
    assert!(!glob("ist*", "Istanbul"), "case-sensitive");
    assert!(glob("日本*", "日本語"));
}

#[test]
fn glob_classes() {
    assert!(glob("[abc]", "b"));
    assert!(!glob("[abc]", "d"));
    assert!(glob("[a-z]x", "qx"));
    assert!(!glob("[a-z]", "Q"));
    assert!(glob("[^a-z]", "Q"));
    assert!(!glob("[^a-z]", "q"));
    assert!(glob("[a-cx-z]", "y"));
    assert!(glob("[]]", "]"));
    assert!(glob("[^]]", "a"));
    assert!(!glob("[^]]", "]"));
    assert!(glob("[-a]", "-"));
    assert!(glob("[a-]", "-"));
    assert!(glob("[*]", "*"));
    assert!(!glob("[*]", "a"));
    assert!(glob("[?]", "?"));
    assert!(glob("[[]", "["));
    assert!(glob("[!a]", "!"), "only ^ negates, as in SQLite");
    assert!(glob("[α-ω]", "λ"));
    assert!(glob("?[sz]*[^m-z]", "Istanbul"));
    assert!(!glob("?[sz]*[^m-z]", "Istanbum"));
    assert!(!glob("?[sz]*[^m-z]", "Itanbul"));
    assert!(glob("?[sz]*[^m-z]", "Isak"));
    assert!(glob("?[sz]*[^m-z]", "Istanbuk"));
    let e = Glob::new("[abc").err();
    assert!(e.is_some_and(|e| e.contains("never closed")));
    let e = Glob::new("[z-a]").err();
    assert!(e.is_some_and(|e| e.contains("reversed")));
    assert!(Glob::new("[").is_err());
    assert!(Glob::new("[^").is_err());
    assert!(Glob::new("[]").is_err());
}

#[test]
fn glob_is_fast_on_pathological_patterns() {
    let text = "a".repeat(20_000);
    let pattern = format!("{}b", "*a".repeat(50));
    assert!(!glob(&pattern, &text));
    assert!(glob(&format!("{}*", "*a".repeat(50)), &text));
}

#[test]
fn glob_in_filters() {
    yes("city GLOB 'Ist*'");
    yes("city GLOB \"*bul\"");
    no("city GLOB 'ist*'");
    yes("city NOT GLOB 'ist*'");
    no("city NOT GLOB 'I*'");
    yes("economy.major_industries[1] GLOB 'Tex??les'");
    assert!(matches!(err("city GLOB 5"), FilterError::WrongType { op: "GLOB", .. }));
    assert!(matches!(err("city NOT GLOB true"), FilterError::WrongType { op: "NOT GLOB", .. }));
    let e = err("city GLOB 'a[bc'");
    assert!(matches!(e, FilterError::InvalidGlob { column: 11, .. }), "{e}");
    assert_eq!(e.to_string(), "invalid GLOB pattern at column 11: '[' opens a character class that is never closed with ']'");
    assert!(matches!(err("city GLOB"), FilterError::Unexpected { .. }));
}

// ---- IN and NOT IN -----------------------------------------------------------------------

#[test]
fn in_lists() {
    yes("country IN ('Turkey')");
    yes("population IN (1, 15460000.0, 'x')");
    yes("is_capital IN (true, false)");
    no("country IN ('Germany', 'France')");
    yes("country NOT IN ('Germany', 'France')");
    no("country NOT IN ('Germany', 'Turkey')");
    // NOT IN is an AND of `!=`, and `!=` across types is false.
    no("country NOT IN ('Germany', 1)");
    no("geography IN ('Asia')");
    no("geography NOT IN ('Asia')");
    yes("country in ( 'Turkey' , 'Spain' )");
    yes("country IN('Turkey')");
}

#[test]
fn in_lists_must_be_well_formed() {
    for src in [
        "a IN ()",
        "a IN (1,)",
        "a IN (,1)",
        "a IN 1",
        "a IN ('x'",
        "a IN ('x' 'y')",
        "a IN ('x'; 'y')",
        "a IN ((1))",
        "a NOT IN",
        "a IN (b)",
    ] {
        let e = Filter::parse(src);
        assert!(e.is_err(), "{src:?} parsed as {e:?}");
    }
    assert_eq!(err("a IN ()").to_string(), "expected a value (a quoted string, a number, true or false) at column 7, found ')'");
    assert_eq!(err("a IN (b)").to_string(), "expected a value (strings need quotes) at column 7, found 'b'");
    assert_eq!(err("a IN 1").to_string(), "expected '(' to open the IN list at column 6, found the number 1");
}

#[test]
fn in_is_an_or_of_equals_and_not_in_an_and_of_not_equals() {
    let docs = [
        json!({"x": 1}),
        json!({"x": 2.0}),
        json!({"x": "a"}),
        json!({"x": true}),
        json!({"x": false}),
        json!({"x": null}),
        json!({"x": [1]}),
        json!({}),
    ];
    let lists = [vec!["1"], vec!["1", "'a'"], vec!["2", "3"], vec!["true"], vec!["0", "'b'", "false"], vec!["'a'"]];
    for list in &lists {
        let joined = list.join(", ");
        let ors = list.iter().map(|l| format!("x = {l}")).collect::<Vec<_>>().join(" OR ");
        let ands = list.iter().map(|l| format!("x != {l}")).collect::<Vec<_>>().join(" AND ");
        for doc in &docs {
            assert_eq!(matches(&format!("x IN ({joined})"), doc), matches(&ors, doc), "IN ({joined}) on {doc}");
            assert_eq!(matches(&format!("x NOT IN ({joined})"), doc), matches(&ands, doc), "NOT IN ({joined}) on {doc}");
        }
    }
}

// ---- CONTAINS ----------------------------------------------------------------------------

#[test]
fn contains_on_arrays() {
    yes("economy.major_industries CONTAINS 'Tourism'");
    no("economy.major_industries CONTAINS 'tourism'");
    yes("economy.major_industries NOT CONTAINS 'Mining'");
    no("economy.major_industries NOT CONTAINS 'Finance'");
    yes("tags CONTAINS 7");
    yes("tags CONTAINS 7.0");
    yes("tags CONTAINS true");
    yes("tags NOT CONTAINS 'small'");
    yes("matrix[0] CONTAINS 2");
    no("none CONTAINS 1");
    yes("none NOT CONTAINS 1");
    // Not an array: neither form matches, and strings are not searched.
    no("city CONTAINS 'stan'");
    no("city NOT CONTAINS 'x'");
    no("empty CONTAINS 'x'");
    assert!(matches!(err("tags CONTAINS"), FilterError::Unexpected { .. }));
    assert!(matches!(err("tags CONTAINS ('a')"), FilterError::Unexpected { .. }));
}

// ---- HAS FIELD ---------------------------------------------------------------------------

#[test]
fn has_field() {
    yes("HAS FIELD city");
    yes("HAS FIELD geography");
    yes("HAS FIELD geography.coordinates.latitude");
    yes("HAS FIELD nothing");
    yes("HAS FIELD empty");
    yes("HAS FIELD tags[3]");
    yes("HAS FIELD tags[#-4]");
    yes("HAS FIELD items[1].name");
    no("HAS FIELD tags[4]");
    no("HAS FIELD tags[#-5]");
    no("HAS FIELD none[0]");
    no("HAS FIELD none[#-1]");
    no("HAS FIELD empty.x");
    yes("HAS NOT FIELD empty.x");
    no("HAS NOT FIELD tags[0]");
    yes("has field city and has not field town");
    yes("Has Not Field town");
    assert!(matches!(err("HAS FIELD"), FilterError::Unexpected { expected: "a field name", .. }));
    assert!(matches!(err("HAS FIELD 'city'"), FilterError::Unexpected { .. }));
    assert!(matches!(err("HAS NOT city"), FilterError::Unexpected { .. }));
    assert!(matches!(err("NOT HAS FIELD city"), FilterError::Unexpected { .. }));
}

// ---- paths -------------------------------------------------------------------------------

#[test]
fn nested_paths_and_array_indexes() {
    yes("geography.coordinates.longitude > 28");
    yes("tags[0] = 'mammal'");
    yes("tags[1] = 'big'");
    yes("tags[#-1] = true");
    yes("tags[#-4] = 'mammal'");
    yes("matrix[1][0] = 3");
    yes("matrix[#-1][#-1] = 4");
    yes("items[0].name = 'a'");
    yes("items[#-1].n = 2");
    no("tags[4] = 'x'");
    no("tags[#-5] != 'x'");
    no("tags[99999999999] = 1");
    // `.name` applies only to objects, `[n]` only to arrays.
    no("geography[0] != 1");
    no("tags.0 = 'mammal'");
    no("city[0] = 'I'");
    assert!(matches("a.0 = 1", &json!({"a": {"0": 1}})));
    assert!(matches("my-field.x_1 = 1", &json!({"my-field": {"x_1": 1}})));
    assert!(matches("_a = 1", &json!({"_a": 1})));
    let f = parse("a.b[2][#-3].c = 1");
    let Some(Expr::Cond(c)) = f.expr() else { panic!("not a condition: {f:?}") };
    assert_eq!(
        c.path.segments(),
        [Segment::Key("a".into()), Segment::Key("b".into()), Segment::Index(2), Segment::FromEnd(3), Segment::Key("c".into())]
    );
}

#[test]
fn malformed_paths() {
    for src in [
        "a..b = 1",
        "a. = 1",
        "a.[0] = 1",
        "a[] = 1",
        "a[x] = 1",
        "a[-1] = 1",
        "a[#] = 1",
        "a[#-] = 1",
        "a[#-0] = 1",
        "a[#1] = 1",
        "a[0 = 1",
        "a[0]b = 1",
        "a]b = 1",
        "a#b = 1",
        "a[99999999999999999999999999] = 1",
        "HAS FIELD a..b",
    ] {
        let e = err(src);
        assert!(matches!(e, FilterError::InvalidPath { column: 1, .. } | FilterError::InvalidPath { column: 11, .. }), "{src:?}: {e}");
    }
    assert_eq!(
        err("x = 1 AND a[-1] = 2").to_string(),
        "invalid field path a[-1] at column 11: array indexes are not negative; count from the end with [#-1]"
    );
    // A path is one word: spaces split it.
    assert!(Filter::parse("a [0] = 1").is_err());
    assert!(Filter::parse("a . b = 1").is_err());
    // Paths start with a letter or '_'.
    assert!(matches!(err("1a = 1"), FilterError::InvalidNumber { .. }));
    assert!(matches!(err("$a = 1"), FilterError::UnexpectedChar { ch: '$', .. }));
    assert!(matches!(err("ünits = 1"), FilterError::UnexpectedChar { ch: 'ü', .. }));
}

// ---- AND, OR, parentheses ----------------------------------------------------------------

#[test]
fn and_binds_tighter_than_or() {
    let f = parse("a = 1 OR b = 2 AND c = 3");
    let Some(Expr::Or(children)) = f.expr() else { panic!("not an OR: {f:?}") };
    assert_eq!(children.len(), 2);
    assert!(matches!(children[0], Expr::Cond(_)));
    assert!(matches!(&children[1], Expr::And(and) if and.len() == 2));
    let grouped = parse("(a = 1 OR b = 2) AND c = 3");
    assert!(matches!(grouped.expr(), Some(Expr::And(_))));
    for bits in 0..8u8 {
        let doc = json!({"a": bits & 1, "b": (bits >> 1 & 1) * 2, "c": (bits >> 2 & 1) * 3});
        let (a, b, c) = (bits & 1 == 1, bits & 2 == 2, bits & 4 == 4);
        assert_eq!(f.matches(&doc), a || (b && c), "{doc}");
        assert_eq!(grouped.matches(&doc), (a || b) && c, "{doc}");
        assert_eq!(matches("a = 1 AND b = 2 OR c = 3", &doc), (a && b) || c, "{doc}");
        assert_eq!(matches("a = 1 AND (b = 2 OR c = 3)", &doc), a && (b || c), "{doc}");
        assert_eq!(matches("a = 1 OR b = 2 OR c = 3", &doc), a || b || c, "{doc}");
        assert_eq!(matches("a = 1 AND b = 2 AND c = 3", &doc), a && b && c, "{doc}");
        assert_eq!(matches("((a = 1) OR ((b = 2))) AND (c = 3)", &doc), (a || b) && c, "{doc}");
    }
}

#[test]
fn parentheses_group_and_vanish_from_the_tree() {
    assert_eq!(parse("((a = 1))"), parse("a = 1"));
    assert_eq!(parse("(a = 1 AND b = 2)").to_string(), "a = 1 AND b = 2");
    assert_eq!(parse("(a = 1 OR b = 2) AND c = 3").to_string(), "(a = 1 OR b = 2) AND c = 3");
    assert_eq!(parse("a = 1 OR (b = 2 AND c = 3)").to_string(), "a = 1 OR b = 2 AND c = 3");
    assert_eq!(parse("(a = 1 OR b = 2) OR c = 3").to_string(), "(a = 1 OR b = 2) OR c = 3");
    for src in ["(a = 1", "a = 1)", "()", "(a = 1))", "((a = 1)", "a = 1 ()", ")a = 1("] {
        assert!(Filter::parse(src).is_err(), "{src:?}");
    }
    assert_eq!(err("(a = 1").to_string(), "expected AND, OR or ')' at column 7, found the end of the filter");
    assert_eq!(err("a = 1)").to_string(), "expected AND, OR or the end of the filter at column 6, found ')'");
}

#[test]
fn dangling_and_or_are_errors() {
    for src in
        ["AND", "a = 1 AND", "a = 1 OR", "OR a = 1", "a = 1 AND OR b = 2", "a = 1 b = 2", "a = 1 AND AND b = 2", "NOT a = 1", "a NOT = 1"]
    {
        assert!(Filter::parse(src).is_err(), "{src:?}");
    }
    assert_eq!(err("a = 1 AND").to_string(), "expected a condition at column 10, found the end of the filter");
    assert_eq!(err("a = 1 OR OR b = 2").to_string(), "expected a condition at column 10, found 'OR'");
    assert_eq!(err("a = 1 AND and").to_string(), "expected a condition at column 11, found 'and'");
    assert_eq!(err("= 1").to_string(), "expected a condition at column 1, found '='");
    assert_eq!(err("a = 1 b = 2").to_string(), "expected AND, OR or the end of the filter at column 7, found 'b'");
    assert_eq!(err("a NOT = 1").to_string(), "expected GLOB, IN or CONTAINS after NOT at column 7, found '='");
}

#[test]
fn operators_must_be_known() {
    for src in ["a == 1", "a <> 1", "a ! = 1", "a =! 1", "a => 1", "a LIKE 'x'", "a", "a 1", "a = ", "a = b"] {
        assert!(Filter::parse(src).is_err(), "{src:?}");
    }
    assert_eq!(err("a ! = 1").to_string(), "unexpected character '!' at column 3");
    assert_eq!(err("a == 1").to_string(), "expected a value (a quoted string, a number, true or false) at column 4, found '='");
    assert!(err("a LIKE 'x'").to_string().starts_with("expected an operator (=, !=, <, <=, >, >=, GLOB, IN, CONTAINS"));
}

// ---- keywords and whitespace -------------------------------------------------------------

#[test]
fn keywords_are_case_insensitive() {
    yes("city glob 'I*' and country in ('Turkey') or population < 0");
    yes("city NoT gLoB 'x*' AnD tags CoNtAiNs 'big'");
    yes("hAs FiElD city");
    yes("has not field town");
    yes("is_capital = FALSE");
    yes("is_capital != True");
    yes("country not in ('x')");
    yes("tags not contains 'x'");
}

#[test]
fn fields_may_be_named_like_keywords() {
    let doc = json!({"and": 1, "or": 2, "in": 3, "has": 4, "not": 5, "field": 6, "glob": "g", "true": true});
    for src in [
        "and = 1",
        "or = 2 AND and = 1",
        "in IN (3)",
        "has = 4",
        "has NOT IN (1)",
        "has NOT CONTAINS 1 OR has = 4",
        "not = 5",
        "field = 6",
        "HAS FIELD field",
        "HAS NOT FIELD has.not",
        "HAS FIELD has",
        "glob GLOB 'g'",
        "true = true",
    ] {
        assert!(matches(src, &doc), "{src:?}");
    }
}

#[test]
fn whitespace_is_only_a_separator() {
    for src in [
        "city='Istanbul'",
        "population>=1000000 AND(city='Istanbul')",
        "(city='Istanbul')or(city='Ankara')",
        "city='Istanbul'and(population>1)",
        "\n\tcity\n=\n'Istanbul'\r\n",
        "city\u{a0}=\u{2003}'Istanbul'",
        "tags[#-1]=true",
        "country IN('Turkey','x')",
        "HAS FIELD city AND(HAS NOT FIELD x)",
    ] {
        yes(src);
    }
    assert!(Filter::parse("cityGLOB 'x'").is_err());
    assert!(Filter::parse("city NOTGLOB 'x'").is_err());
}

// ---- strings -----------------------------------------------------------------------------

#[test]
fn string_literals_and_escapes() {
    let doc = json!({"s": "it's \"quoted\" \\ \n\t\r\0 / é 😀", "e": ""});
    for src in [
        r#"s = 'it\'s \"quoted\" \\ \n\t\r\0 \/ é 😀'"#,
        r#"s = "it's \"quoted\" \\ \n\t\r\0 / \u00e9 \ud83d\ude00""#,
        r#"s = 'it''s "quoted" \\ \u000a\u0009\u000D\u0000 / \u00E9 😀'"#,
        r#"s = "it's ""quoted"" \\ \n\t\r\0 / é 😀""#,
        "e = ''",
        "e = \"\"",
        "e IN ('', 'x')",
    ] {
        assert!(matches(src, &doc), "{src:?}");
    }
    // Raw control characters and newlines may sit inside a string.
    assert!(matches("s = 'a\nb'", &json!({"s": "a\nb"})));
    for (src, column) in [
        (r"s = 'a\q'", 7),
        (r"s = 'a\x41'", 7),
        (r"s = '\u12'", 6),
        (r"s = '\u12g4'", 6),
        (r"s = '\ud83d'", 6),
        (r"s = '\ud83d\u0041'", 6),
        (r"s = '\ude00'", 6),
        (r"s = '\", 6),
    ] {
        let e = err(src);
        assert!(matches!(e, FilterError::InvalidEscape { column: c, .. } if c == column), "{src:?}: {e}");
    }
    assert_eq!(err(r"s = 'a\q'").to_string(), r#"invalid escape \q at column 7; strings accept \\, \', \", \/, \n, \r, \t, \0 and \uXXXX"#);
    for src in ["s = 'abc", "s = \"abc'", "s = 'it''s", "s = '"] {
        assert!(matches!(err(src), FilterError::UnterminatedString { column: 5 }), "{src:?}");
    }
    assert_eq!(err("é = 'x'").to_string(), "unexpected character 'é' at column 1");
    assert_eq!(err("s = 'é' AND ~").to_string(), "unexpected character '~' at column 13");
}

// ---- limits ------------------------------------------------------------------------------

#[test]
fn nesting_depth_is_bounded() {
    let nested = |n: usize| format!("{}a = 1{}", "(".repeat(n), ")".repeat(n));
    assert!(matches(&nested(MAX_DEPTH), &json!({"a": 1})));
    assert!(matches!(err(&nested(MAX_DEPTH + 1)), FilterError::TooDeep { max: MAX_DEPTH, column } if column == MAX_DEPTH + 1));
    // Far deeper than any stack would survive, refused quickly.
    let hostile = "(".repeat(MAX_FILTER_LEN);
    assert!(matches!(err(&hostile), FilterError::TooDeep { .. }));
    assert_eq!(
        err(&nested(MAX_DEPTH + 1)).to_string(),
        format!("parentheses nest more than {MAX_DEPTH} levels deep at column {}", MAX_DEPTH + 1)
    );
}

#[test]
fn length_is_bounded() {
    let long = format!("a = '{}'", "x".repeat(MAX_FILTER_LEN));
    assert_eq!(err(&long), FilterError::TooLong { len: long.len(), max: MAX_FILTER_LEN });
    assert!(err(&long).to_string().starts_with("the filter is 65542 bytes long; the limit is 65536"));
}

#[test]
fn long_flat_chains_do_not_recurse() {
    let chain = (0..3000).map(|i| format!("a{i} = {i}")).collect::<Vec<_>>().join(" AND ");
    assert!(chain.len() <= MAX_FILTER_LEN);
    let doc: Value = (0..3000).map(|i| (format!("a{i}"), json!(i))).collect::<serde_json::Map<_, _>>().into();
    assert!(matches(&chain, &doc));
    let list = (0..10000).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    assert!(matches(&format!("x IN ({list})"), &json!({"x": 9999})));
}

// ---- the API -----------------------------------------------------------------------------

#[test]
fn api_conveniences() {
    let f: Filter = "a = 1".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f, parse("a = 1"));
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Filter>();
    send_sync::<FilterError>();
    let Some(Expr::Cond(c)) = parse("n >= 2.5").expr().cloned() else { panic!() };
    assert_eq!(c.test, Test::Range { op: RangeOp::Ge, bound: Number::Float(2.5) });
    let Some(Expr::Cond(c)) = parse("n IN ('x', 2, TRUE)").expr().cloned() else { panic!() };
    assert_eq!(
        c.test,
        Test::In { values: vec![Literal::Str("x".into()), Literal::Num(Number::Int(2)), Literal::Bool(true)], negated: false }
    );
}

#[test]
fn canonical_print_round_trips() {
    for src in [
        "population >= 1000000 AND geography.continent = 'Asia'",
        "city GLOB '?[sz]*[^m-z]' or city not glob 'A*'",
        "economy.currency NOT IN ('USD', \"EUR\", 1, -2.5, true)",
        "has not field a.b[0][#-1] AND has field c",
        "x CONTAINS 'it''s' OR x NOT CONTAINS '\\u0001\\n\\\\'",
        "a = 1e300 AND b = 2.0 AND c = -0.0 AND d = 123456789012345678901234567890123456789012",
        "((a = 1 OR b = 2) AND (c = 3 OR (d = 4 AND e = 5))) OR f != 6",
        "and = 1 AND has NOT IN (2) AND in IN (3)",
    ] {
        round_trips(&parse(src));
    }
    assert_eq!(parse("city glob 'I*' and x not in ('a''b', 1.50, 2e0)").to_string(), "city GLOB 'I*' AND x NOT IN ('a\\'b', 1.5, 2.0)");
}

// ---- hostile input -----------------------------------------------------------------------

fn exercise(src: &str) {
    let docs = [istanbul(), Value::Null, json!({"a": [1, "x", null, {"b": []}]}), json!([1, 2])];
    if let Ok(f) = Filter::parse(src) {
        for doc in &docs {
            let _ = f.matches(doc);
        }
        round_trips(&f);
    } else if let Err(e) = Filter::parse(src) {
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn nasty_strings_do_not_panic() {
    let corpus = [
        "",
        "\0",
        "'",
        "\"",
        "\\",
        "(",
        ")",
        "[",
        "]",
        "#",
        "-",
        "+",
        ".",
        "a",
        "a[",
        "a[#",
        "a[#-",
        "a[#-1",
        "a[18446744073709551616] = 1",
        "a[#-18446744073709551615] = 1",
        "a[#-9223372036854775808] = 1",
        "a = '\\u",
        "a = '\\ud800",
        "a = '\\ud800\\",
        "a = '\\ud800\\u",
        "a = '\\udbff\\udfff'",
        "a = '\\uffff'",
        "a = 340282366920938463463374607431768211456",
        "a = -170141183460469231731687303715884105729",
        "a = 170141183460469231731687303715884105727",
        "a < 1.7976931348623157e308",
        "a > -1.7976931348623157e308",
        "a = 4.9e-324",
        "a = 1e-400",
        "a = 00000000000000000000000000000000000000000000000000001",
        "a GLOB '['",
        "a GLOB '[^'",
        "a GLOB '[]'",
        "a GLOB '[a-'",
        "a GLOB '[\u{10ffff}-\u{10ffff}]'",
        "a GLOB '*[*]*'",
        "HAS",
        "HAS NOT",
        "HAS NOT FIELD",
        "HAS FIELD HAS",
        "has has = 1",
        "not not glob 'x'",
        "a NOT NOT IN (1)",
        "a IN (((",
        "a IN )",
        "a = 1 AND (",
        "a = 1 OR )",
        "\u{feff}a = 1",
        "a = 1\u{0}",
        "a\u{0} = 1",
        "a = 'x\u{0}'",
        "a = '\u{10ffff}'",
        "a\u{200b} = 1",
        "ａ = 1",
        "a = ①",
        "a = ٣",
        "a = 1 -- comment",
        "a = 1; DROP TABLE v",
        "a = 1 /* c */",
        "𝔞 = 1",
        "a = 'unterminated \\'",
        "a = \"\\\"",
        "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p = 1",
        "_ = 1",
        "_.-.- = 1",
        "a-.b = 1",
        "a--1 = 1",
        "a---- = 1",
        "a[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0] = 1",
        "a[#-1][#-1][#-1] = 1",
        ")))))))))))",
        "(((((((((((",
        "=",
        "!=",
        "<=",
        ">=",
        "!",
        "<",
        ">",
        ",",
        ",,,",
        "a = 1,2",
        "a IN (1,,2)",
        "a CONTAINS",
        "a NOT",
        "true",
        "true = true",
        "1 = 1",
        "'a' = 'a'",
        "a = .",
        "a = -.",
        "a = +",
        "a = +-1",
        "a = --1",
        "a = 1e+",
        "a = 1E-",
        "a = 0x10",
        "a = 1_000",
        "a = NaN",
        "a = inf",
        "a = -inf",
        "a = infinity",
    ];
    for src in corpus {
        exercise(src);
    }
}

/// A tiny deterministic PRNG (SplitMix64), so the random tests need no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const FRAGMENTS: &[&str] = &[
    "a",
    "b.c",
    "tags[0]",
    "tags[#-1]",
    "x[",
    "]",
    "[#-",
    "#",
    "(",
    ")",
    "((",
    "))",
    ",",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "!",
    " AND ",
    " OR ",
    " and ",
    " or ",
    " NOT ",
    " GLOB ",
    " IN ",
    " CONTAINS ",
    "HAS ",
    "FIELD ",
    " ",
    "  ",
    "\t",
    "\n",
    "'",
    "\"",
    "\\",
    "'x'",
    "\"y\"",
    "'*[a-z]?'",
    "'[^'",
    "'\\u00e9'",
    "'\\ud83d'",
    "1",
    "-2",
    "3.5",
    ".5",
    "1e3",
    "1e",
    "99999999999999999999999999999999999999999",
    "true",
    "FALSE",
    "é",
    "😀",
    "\0",
    "-",
    "+",
    ".",
    "_",
    "has",
    "field",
    "not",
    "in",
];

#[test]
fn random_fragments_do_not_panic() {
    let mut rng = Rng(0x5EED_F11E);
    for _ in 0..4000 {
        let len = 1 + rng.below(12);
        let src: String = (0..len).map(|_| rng.pick(FRAGMENTS)).collect();
        exercise(&src);
    }
}

#[test]
fn random_characters_do_not_panic() {
    let alphabet: Vec<char> = "ab_.[]#-0123456789 ()'\"\\=!<>,*?^eE+AaNnDdOoRrTtIiGgLlBbCcHhSsFf\u{0}é😀\n".chars().collect();
    let mut rng = Rng(42);
    for _ in 0..3000 {
        let len = rng.below(40);
        let src: String = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
        exercise(&src);
    }
}

fn random_literal(rng: &mut Rng) -> String {
    rng.pick(&["1", "-2.5", "'x'", "\"it's\"", "true", "0", "'Istanbul'", "1e2", "'\\n\\u00e9'"]).to_owned()
}

fn random_condition(rng: &mut Rng) -> String {
    let path =
        rng.pick(&["city", "population", "tags[0]", "tags[#-1]", "economy.major_industries", "geography.coordinates.latitude", "x.y[2]"]);
    match rng.below(7) {
        0 => format!("{path} {} {}", rng.pick(&["=", "!="]), random_literal(rng)),
        1 => format!("{path} {} {}", rng.pick(&["<", "<=", ">", ">="]), rng.pick(&["1", "-3", "2.5e1", "15460000"])),
        2 => format!("{path} {}GLOB {}", rng.pick(&["", "NOT "]), rng.pick(&["'I*'", "'?[sz]*[^m-z]'", "'*'", "'[]]'"])),
        3 => {
            let n = 1 + rng.below(4);
            let items: Vec<String> = (0..n).map(|_| random_literal(rng)).collect();
            format!("{path} {}IN ({})", rng.pick(&["", "not "]), items.join(", "))
        }
        4 => format!("{path} {}CONTAINS {}", rng.pick(&["", "NOT "]), random_literal(rng)),
        _ => format!("HAS {}FIELD {path}", rng.pick(&["", "NOT "])),
    }
}

/// A random well-formed filter with at most `depth` levels of parentheses.
fn random_filter(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.below(3) == 0 {
        return random_condition(rng);
    }
    let n = 2 + rng.below(3);
    let parts: Vec<String> =
        (0..n).map(|_| if rng.below(2) == 0 { format!("({})", random_filter(rng, depth - 1)) } else { random_condition(rng) }).collect();
    parts.join(rng.pick(&[" AND ", " OR ", " and ", " or "]))
}

/// Random well-formed filters: all must parse, print back and evaluate alike.
#[test]
fn random_valid_filters_parse_and_round_trip() {
    let mut rng = Rng(7);
    let doc = istanbul();
    for _ in 0..2000 {
        let src = random_filter(&mut rng, 4);
        let f = parse(&src);
        let reparsed = parse(&f.to_string());
        assert_eq!(reparsed, f, "{src:?}");
        assert_eq!(reparsed.matches(&doc), f.matches(&doc));
    }
}

/// Well-formed filters with a few random edits reach every error path of the parser.
#[test]
fn random_edits_of_valid_filters_do_not_panic() {
    let mut rng = Rng(0xF117E5);
    let (mut parsed, mut refused) = (0, 0);
    for _ in 0..3000 {
        let mut chars: Vec<char> = random_filter(&mut rng, 3).chars().collect();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(chars.len() + 1);
            match rng.below(4) {
                0 => chars.truncate(at),
                1 if at < chars.len() => {
                    chars.remove(at);
                }
                2 if at < chars.len() => chars[at] = rng.pick(FRAGMENTS).chars().next().unwrap_or('x'),
                _ => {
                    let fragment: Vec<char> = rng.pick(FRAGMENTS).chars().collect();
                    chars.splice(at..at, fragment);
                }
            }
        }
        let src: String = chars.into_iter().collect();
        exercise(&src);
        if Filter::parse(&src).is_ok() {
            parsed += 1;
        } else {
            refused += 1;
        }
    }
    // Both outcomes are well represented, so neither path goes untested.
    assert!(parsed > 300 && refused > 300, "{parsed} parsed, {refused} refused");
}
