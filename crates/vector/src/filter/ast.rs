//! The typed tree a filter string parses into. Only the parser builds it, so every tree obeys
//! the grammar: `Or`/`And` have two or more children, ordering operators hold numbers, and paths
//! start with a field name.

use std::fmt;

use super::glob::Glob;

/// A boolean expression over one metadata document.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// True when at least one child is true (two or more children).
    Or(Vec<Expr>),
    /// True when every child is true (two or more children).
    And(Vec<Expr>),
    /// One test on one field.
    Cond(Condition),
}

/// One test applied to the value a path leads to.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Where the tested value sits in the metadata.
    pub path: Path,
    /// What is asked of that value.
    pub test: Test,
}

/// What a condition asks of a field.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `=` (or `!=` when `negated`): same type and equal (or same type and different).
    Equals {
        /// The literal on the right.
        value: Literal,
        /// `!=` rather than `=`.
        negated: bool,
    },
    /// `<`, `<=`, `>`, `>=` against a number.
    Range {
        /// Which comparison.
        op: RangeOp,
        /// The number on the right.
        bound: Number,
    },
    /// `GLOB` (or `NOT GLOB`) against a string field.
    Glob {
        /// The compiled pattern.
        pattern: Glob,
        /// `NOT GLOB`.
        negated: bool,
    },
    /// `IN (...)` (an OR of `=`), or `NOT IN (...)` (an AND of `!=`).
    In {
        /// The listed literals (at least one).
        values: Vec<Literal>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `CONTAINS` (or `NOT CONTAINS`): an array field has (or lacks) an element equal to the literal.
    Contains {
        /// The element looked for.
        value: Literal,
        /// `NOT CONTAINS`.
        negated: bool,
    },
    /// `HAS FIELD` (or `HAS NOT FIELD`): the path leads to a value of any type, `null` included.
    HasField {
        /// `HAS NOT FIELD`.
        negated: bool,
    },
}

/// An ordering comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl RangeOp {
    /// The operator as written in a filter.
    pub fn as_str(self) -> &'static str {
        match self {
            RangeOp::Lt => "<",
            RangeOp::Le => "<=",
            RangeOp::Gt => ">",
            RangeOp::Ge => ">=",
        }
    }
}

/// A literal value on the right of an operator.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A quoted string, escapes resolved.
    Str(String),
    /// A number.
    Num(Number),
    /// `true` or `false` (any case).
    Bool(bool),
}

/// A numeric literal: integers stay exact, everything else is a finite `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// Written without a fraction or exponent and within `i128`.
    Int(i128),
    /// Written with a fraction or exponent, or too large for `i128`; always finite.
    Float(f64),
}

/// A path into the metadata: a field name followed by `.name`, `[n]` and `[#-n]` steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub(super) segments: Vec<Segment>,
}

impl Path {
    /// The steps, first to last; the first is always a [`Segment::Key`].
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }
}

/// One step of a [`Path`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object key (`name`).
    Key(String),
    /// A 0-based array index (`[n]`).
    Index(usize),
    /// An index counted from the end (`[#-n]`, n ≥ 1): `[#-1]` is the last element.
    FromEnd(usize),
}

// Display prints a canonical filter that parses back into the same tree.

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Cond(c) => c.fmt(f),
            Expr::Or(children) => join(f, children, " OR ", |child| !matches!(child, Expr::Cond(_) | Expr::And(_))),
            Expr::And(children) => join(f, children, " AND ", |child| !matches!(child, Expr::Cond(_))),
        }
    }
}

fn join(f: &mut fmt::Formatter<'_>, children: &[Expr], sep: &str, needs_parens: impl Fn(&Expr) -> bool) -> fmt::Result {
    for (i, child) in children.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        if needs_parens(child) {
            write!(f, "({child})")?;
        } else {
            write!(f, "{child}")?;
        }
    }
    Ok(())
}

fn not(negated: bool) -> &'static str {
    if negated {
        "NOT "
    } else {
        ""
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.path;
        match &self.test {
            Test::Equals { value, negated } => write!(f, "{path} {} {value}", if *negated { "!=" } else { "=" }),
            Test::Range { op, bound } => write!(f, "{path} {} {bound}", op.as_str()),
            Test::Glob { pattern, negated } => {
                write!(f, "{path} {}GLOB ", not(*negated))?;
                write_quoted(f, pattern.as_str())
            }
            Test::In { values, negated } => {
                write!(f, "{path} {}IN (", not(*negated))?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
            Test::Contains { value, negated } => write!(f, "{path} {}CONTAINS {value}", not(*negated)),
            Test::HasField { negated } => write!(f, "HAS {}FIELD {path}", not(*negated)),
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => write_quoted(f, s),
            Literal::Num(n) => n.fmt(f),
            Literal::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            // Debug keeps the fraction or exponent ("2.0", "1e300"), so it reads back as a float.
            Number::Float(x) => write!(f, "{x:?}"),
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Key(k) if i == 0 => f.write_str(k)?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
                Segment::FromEnd(n) => write!(f, "[#-{n}]")?,
            }
        }
        Ok(())
    }
}

/// Writes `s` single-quoted with the escapes the lexer reads back.
fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    for c in s.chars() {
        match c {
            '\'' => f.write_str("\\'")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => write!(f, "\\u{:04x}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("'")
}
