//! Evaluates a parsed filter against one metadata document, without allocating.
//!
//! Every test except `HAS NOT FIELD` is false when the path leads nowhere or to a value of the
//! wrong type, the negated ones included: `x != 1` is false when `x` is missing or a string.

use std::cmp::Ordering;

use serde_json::Value;

use super::ast::{Condition, Expr, Literal, Number, Path, RangeOp, Segment, Test};

/// Whether `doc` satisfies `expr`.
pub(super) fn eval(expr: &Expr, doc: &Value) -> bool {
    match expr {
        Expr::Or(children) => children.iter().any(|c| eval(c, doc)),
        Expr::And(children) => children.iter().all(|c| eval(c, doc)),
        Expr::Cond(cond) => condition(cond, doc),
    }
}

fn condition(cond: &Condition, doc: &Value) -> bool {
    let field = resolve(doc, &cond.path);
    match &cond.test {
        Test::HasField { negated } => field.is_some() != *negated,
        test => field.is_some_and(|value| holds(test, value)),
    }
}

/// The value `path` leads to, if any.
fn resolve<'v>(doc: &'v Value, path: &Path) -> Option<&'v Value> {
    path.segments().iter().try_fold(doc, |value, seg| match (seg, value) {
        (Segment::Key(k), Value::Object(map)) => map.get(k),
        (Segment::Index(i), Value::Array(items)) => items.get(*i),
        (Segment::FromEnd(n), Value::Array(items)) => items.len().checked_sub(*n).and_then(|i| items.get(i)),
        _ => None,
    })
}

/// A test other than `HAS FIELD` against a present value.
fn holds(test: &Test, value: &Value) -> bool {
    match test {
        Test::Equals { value: lit, negated } => equals(lit, value) == Some(!negated),
        Test::Range { op, bound } => {
            let Some(ord) = json_number(value).and_then(|n| compare(n, *bound)) else { return false };
            match op {
                RangeOp::Lt => ord.is_lt(),
                RangeOp::Le => ord.is_le(),
                RangeOp::Gt => ord.is_gt(),
                RangeOp::Ge => ord.is_ge(),
            }
        }
        Test::Glob { pattern, negated } => value.as_str().is_some_and(|s| pattern.is_match(s) != *negated),
        // OR of `=`, or AND of `!=` (so a type mismatch with any listed literal makes NOT IN false).
        Test::In { values, negated: false } => values.iter().any(|lit| equals(lit, value) == Some(true)),
        Test::In { values, negated: true } => values.iter().all(|lit| equals(lit, value) == Some(false)),
        Test::Contains { value: lit, negated } => match value {
            Value::Array(items) => items.iter().any(|item| equals(lit, item) == Some(true)) != *negated,
            _ => false,
        },
        Test::HasField { negated } => !negated,
    }
}

/// `Some(equal)` when the literal and the value have comparable types, `None` otherwise. Numbers
/// compare by value (`1 = 1.0`); the integers 1 and 0 also stand for `true` and `false`.
fn equals(lit: &Literal, value: &Value) -> Option<bool> {
    match (lit, value) {
        (Literal::Str(a), Value::String(b)) => Some(a == b),
        (Literal::Bool(a), Value::Bool(b)) => Some(a == b),
        (Literal::Num(a), Value::Bool(b)) => a.as_bool().map(|a| a == *b),
        (Literal::Num(a), Value::Number(_)) => json_number(value).and_then(|b| compare(b, *a)).map(Ordering::is_eq),
        _ => None,
    }
}

impl Number {
    /// The integer 0 or 1 as a boolean (the reference spells booleans `1`/`0`).
    fn as_bool(self) -> Option<bool> {
        match self {
            Number::Int(0) => Some(false),
            Number::Int(1) => Some(true),
            _ => None,
        }
    }
}

fn json_number(value: &Value) -> Option<Number> {
    let Value::Number(n) = value else { return None };
    if let Some(i) = n.as_i64() {
        Some(Number::Int(i.into()))
    } else if let Some(u) = n.as_u64() {
        Some(Number::Int(u.into()))
    } else {
        n.as_f64().filter(|x| x.is_finite()).map(Number::Float)
    }
}

/// Exact numeric order, integers against floats included (no rounding of large integers).
fn compare(a: Number, b: Number) -> Option<Ordering> {
    match (a, b) {
        (Number::Int(x), Number::Int(y)) => Some(x.cmp(&y)),
        (Number::Float(x), Number::Float(y)) => x.partial_cmp(&y),
        (Number::Int(x), Number::Float(y)) => int_vs_float(x, y),
        (Number::Float(x), Number::Int(y)) => int_vs_float(y, x).map(Ordering::reverse),
    }
}

fn int_vs_float(i: i128, f: f64) -> Option<Ordering> {
    // i128::MIN as f64 is exactly -2^127; i128::MAX as f64 rounds up to 2^127.
    const LOW: f64 = i128::MIN as f64;
    const HIGH: f64 = -LOW;
    if f.is_nan() {
        return None;
    }
    if f >= HIGH {
        return Some(Ordering::Less);
    }
    if f < LOW {
        return Some(Ordering::Greater);
    }
    // In range, the integral part converts exactly; the fraction breaks a tie.
    let whole = f.trunc();
    Some(i.cmp(&(whole as i128)).then_with(|| 0.0f64.partial_cmp(&(f - whole)).unwrap_or(Ordering::Equal)))
}
