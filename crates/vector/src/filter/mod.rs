//! The metadata filter language.
//!
//! A filter is a SQL-like string such as `population >= 1000000 AND geography.continent = 'Asia'`.
//! [`Filter::parse`] turns it into a typed tree once; [`Filter::matches`] then tests metadata
//! documents against it during the index search, without allocating.
//!
//! Grammar (the reference's §7): an OR of ANDs (`AND` binds tighter) of conditions or
//! parenthesised expressions. A condition is `path op literal` with `=`, `!=`, `<`, `<=`, `>`,
//! `>=`; `path [NOT] GLOB 'pattern'`; `path [NOT] IN (literal, ...)`; `path [NOT] CONTAINS
//! literal`; or `HAS [NOT] FIELD path`. A path is a field name followed by `.name`, `[n]` (0-based)
//! and `[#-n]` (from the end, `[#-1]` is the last element) steps.
//!
//! Choices where the reference is silent:
//! - Keywords and `true`/`false` are case-insensitive and recognised by position, so fields may be
//!   named like keywords (`in = 1`). Whitespace is any Unicode white space and is needed only
//!   between two words; a path is one word and has no spaces inside.
//! - Strings take single or double quotes, the backslash escapes `\\ \' \" \/ \n \r \t \0
//!   \uXXXX` (surrogate pairs joined), and a doubled quote (`'it''s'`). Any other escape is an
//!   error.
//! - Numbers: optional sign, decimals, exponents (`-3`, `+.5`, `30.0`, `1e-3`); integers are kept
//!   exact and compared exactly with floats; a number must not run into a word (`1AND` is an
//!   error) and must be finite.
//! - A missing field or a value of the wrong type makes every test false, the negated ones too
//!   (`x != 1` is false when `x` is missing or a string); only `HAS NOT FIELD` is true for a
//!   missing field. `NOT IN` is the AND of `!=`, so a list mixing types never matches with it.
//!   Metadata that is not an object (a vector without metadata is passed as `null`) has no fields.
//! - `=`/`!=`/`IN`/`CONTAINS` compare strings with strings (exactly, case-sensitively), numbers
//!   with numbers by value (`1 = 1.0`), booleans with booleans; the integers `1` and `0` also
//!   match `true` and `false` (the docs spell booleans that way).
//! - `<`, `<=`, `>`, `>=` need a number literal (anything else is a parse error) and a number
//!   field. `GLOB` needs a string literal, a valid pattern (see [`Glob`]) and a string field.
//! - `CONTAINS` needs an array field and tests its elements with `=`; it never searches strings.
//! - `HAS FIELD` is true for any value, `null` and objects included.
//! - Paths never look inside strings, `[n]` applies only to arrays and `.name` only to objects; a
//!   key holding a dot cannot be addressed.
//! - Input is at most [`MAX_FILTER_LEN`] bytes and [`MAX_DEPTH`] levels of parentheses, so hostile
//!   input cannot exhaust the stack.

mod ast;
mod eval;
mod glob;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

pub use ast::{Condition, Expr, Literal, Number, Path, RangeOp, Segment, Test};
pub use glob::Glob;

/// The longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 64 * 1024;

/// The deepest nesting of parentheses accepted.
pub const MAX_DEPTH: usize = 64;

/// Why a filter string was refused. Columns count characters from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The input is longer than [`MAX_FILTER_LEN`].
    #[error("the filter is {len} bytes long; the limit is {max}")]
    TooLong {
        /// The input's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Parentheses nest deeper than [`MAX_DEPTH`].
    #[error("parentheses nest more than {max} levels deep at column {column}")]
    TooDeep {
        /// The limit.
        max: usize,
        /// Where the level too many opens.
        column: usize,
    },
    /// A character that starts no token.
    #[error("unexpected character {ch:?} at column {column}")]
    UnexpectedChar {
        /// The character.
        ch: char,
        /// Where it is.
        column: usize,
    },
    /// A quote that is never closed.
    #[error("the string starting at column {column} is never closed")]
    UnterminatedString {
        /// Where the opening quote is.
        column: usize,
    },
    /// A backslash escape the language does not know, or a broken `\u` escape.
    #[error("invalid escape {sequence} at column {column}; strings accept \\\\, \\', \\\", \\/, \\n, \\r, \\t, \\0 and \\uXXXX")]
    InvalidEscape {
        /// The escape as written.
        sequence: String,
        /// Where its backslash is.
        column: usize,
    },
    /// A malformed or out-of-range number.
    #[error("invalid number {text} at column {column}")]
    InvalidNumber {
        /// The number as written.
        text: String,
        /// Where it starts.
        column: usize,
    },
    /// A malformed field path.
    #[error("invalid field path {path} at column {column}: {reason}")]
    InvalidPath {
        /// The path as written.
        path: String,
        /// Where it starts.
        column: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A malformed GLOB pattern.
    #[error("invalid GLOB pattern at column {column}: {reason}")]
    InvalidGlob {
        /// What is wrong with it.
        reason: String,
        /// Where the pattern starts.
        column: usize,
    },
    /// A token (or the end of input) where something else was needed.
    #[error("expected {expected} at column {column}, found {found}")]
    Unexpected {
        /// What would have been accepted.
        expected: &'static str,
        /// What was there.
        found: String,
        /// Where it is.
        column: usize,
    },
    /// A literal of the wrong type for its operator (`x < 'a'`, `x GLOB 1`).
    #[error("{op} needs {wanted} at column {column}, found {found}")]
    WrongType {
        /// The operator.
        op: &'static str,
        /// The type it needs.
        wanted: &'static str,
        /// What was there.
        found: String,
        /// Where the literal is.
        column: usize,
    },
}

/// A parsed metadata filter. The empty filter (`""` or only white space) matches everything.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    expr: Option<Expr>,
}

impl Filter {
    /// Parses a filter string.
    pub fn parse(src: &str) -> Result<Filter, FilterError> {
        if src.len() > MAX_FILTER_LEN {
            return Err(FilterError::TooLong { len: src.len(), max: MAX_FILTER_LEN });
        }
        parser::parse(src).map(|expr| Filter { expr })
    }

    /// The filter that matches every document (what `""` parses into).
    pub fn match_all() -> Filter {
        Filter::default()
    }

    /// Whether this filter matches every document, so callers may skip evaluating it.
    pub fn is_match_all(&self) -> bool {
        self.expr.is_none()
    }

    /// The parsed tree; `None` for the empty filter.
    pub fn expr(&self) -> Option<&Expr> {
        self.expr.as_ref()
    }

    /// Whether a vector's metadata satisfies the filter. Pass `Value::Null` for a vector without
    /// metadata.
    pub fn matches(&self, metadata: &serde_json::Value) -> bool {
        match &self.expr {
            Some(expr) => eval::eval(expr, metadata),
            None => true,
        }
    }
}

impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(src: &str) -> Result<Filter, FilterError> {
        Filter::parse(src)
    }
}

/// Prints a canonical form (upper-case keywords, single-quoted strings, parentheses only where
/// needed) that parses back into an equal filter; the empty filter prints as `""`.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.expr {
            Some(expr) => expr.fmt(f),
            None => Ok(()),
        }
    }
}
