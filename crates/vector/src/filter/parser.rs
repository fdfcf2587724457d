//! Recursive descent over the tokens: an OR of ANDs of primaries, a primary being a condition or
//! a parenthesised expression. Keywords are recognised by position, in any case, so a field may
//! itself be called `and` or `in` (`and = 1` is a condition on the field `and`).

use super::ast::{Condition, Expr, Literal, Path, RangeOp, Segment, Test};
use super::glob::Glob;
use super::lexer::{column, excerpt, tokenize, Kind, Token};
use super::{FilterError, MAX_DEPTH};

/// Parses a whole filter; `None` for an empty (or all-blank) filter.
pub(super) fn parse(src: &str) -> Result<Option<Expr>, FilterError> {
    let tokens = tokenize(src)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut parser = Parser { src, tokens, pos: 0, depth: 0 };
    let expr = parser.or_expr()?;
    match parser.peek() {
        None => Ok(Some(expr)),
        Some(_) => Err(parser.unexpected("AND, OR or the end of the filter")),
    }
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token<'a>>,
    pos: usize,
    /// Open parentheses around the cursor.
    depth: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Token<'a>> {
        self.tokens.get(self.pos)
    }

    fn peek_kind(&self, ahead: usize) -> Option<&Kind<'a>> {
        self.tokens.get(self.pos + ahead).map(|t| &t.kind)
    }

    /// Whether the token `ahead` of the cursor is the keyword `kw` (any case).
    fn is_keyword(&self, ahead: usize, kw: &str) -> bool {
        matches!(self.peek_kind(ahead), Some(Kind::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    /// Consumes the keyword `kw` if it is next.
    fn eat_keyword(&mut self, kw: &str) -> bool {
        let found = self.is_keyword(0, kw);
        if found {
            self.pos += 1;
        }
        found
    }

    /// The byte offset of the next token (or of the end of input).
    fn offset(&self) -> usize {
        self.peek().map_or(self.src.len(), |t| t.start)
    }

    /// The column of the next token (or of the end of input); only for errors, as it counts
    /// characters from the start.
    fn column(&self) -> usize {
        column(self.src, self.offset())
    }

    /// An error saying what was expected where the cursor is.
    fn unexpected(&self, expected: &'static str) -> FilterError {
        FilterError::Unexpected { expected, found: self.describe_next(), column: self.column() }
    }

    fn describe_next(&self) -> String {
        match self.peek_kind(0) {
            None => "the end of the filter".to_owned(),
            Some(kind) => describe(kind),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, FilterError> {
        let mut children = vec![self.and_expr()?];
        while self.eat_keyword("or") {
            children.push(self.and_expr()?);
        }
        Ok(if children.len() == 1 { children.swap_remove(0) } else { Expr::Or(children) })
    }

    fn and_expr(&mut self) -> Result<Expr, FilterError> {
        let mut children = vec![self.primary()?];
        while self.eat_keyword("and") {
            children.push(self.primary()?);
        }
        Ok(if children.len() == 1 { children.swap_remove(0) } else { Expr::And(children) })
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        if self.peek_kind(0) != Some(&Kind::LParen) {
            return self.condition().map(Expr::Cond);
        }
        if self.depth >= MAX_DEPTH {
            return Err(FilterError::TooDeep { max: MAX_DEPTH, column: self.column() });
        }
        self.pos += 1;
        self.depth += 1;
        let inner = self.or_expr()?;
        if self.peek_kind(0) != Some(&Kind::RParen) {
            return Err(self.unexpected("AND, OR or ')'"));
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(inner)
    }

    fn condition(&mut self) -> Result<Condition, FilterError> {
        // `HAS [NOT] FIELD path`, unless `has` is a field name followed by an operator.
        if self.is_keyword(0, "has") {
            let negated = self.is_keyword(1, "not") && self.is_keyword(2, "field");
            if negated || self.is_keyword(1, "field") {
                self.pos += if negated { 3 } else { 2 };
                let path = self.path()?;
                return Ok(Condition { path, test: Test::HasField { negated } });
            }
        }
        // A bare AND/OR here is a dangling operator, unless an operator follows to make it a field.
        let starts_test = |p: &Self| {
            matches!(p.peek_kind(1), Some(Kind::Eq | Kind::Ne | Kind::Range(_)))
                || ["not", "glob", "in", "contains"].iter().any(|kw| p.is_keyword(1, kw))
        };
        let dangling = (self.is_keyword(0, "and") || self.is_keyword(0, "or")) && !starts_test(self);
        if dangling || !matches!(self.peek_kind(0), Some(Kind::Word(_))) {
            return Err(self.unexpected("a condition"));
        }
        let path = self.path()?;
        let test = self.test()?;
        Ok(Condition { path, test })
    }

    fn path(&mut self) -> Result<Path, FilterError> {
        match self.peek_kind(0) {
            Some(Kind::Word(word)) => {
                let word = *word;
                let at = self.offset();
                self.pos += 1;
                parse_path(word).map_err(|reason| FilterError::InvalidPath { path: excerpt(word), column: column(self.src, at), reason })
            }
            _ => Err(self.unexpected("a field name")),
        }
    }

    /// Everything after the path of a condition.
    fn test(&mut self) -> Result<Test, FilterError> {
        match self.peek_kind(0) {
            Some(&Kind::Eq) | Some(&Kind::Ne) => {
                let negated = self.peek_kind(0) == Some(&Kind::Ne);
                self.pos += 1;
                return Ok(Test::Equals { value: self.literal()?, negated });
            }
            Some(&Kind::Range(op)) => {
                self.pos += 1;
                return self.range(op);
            }
            _ => {}
        }
        let negated = self.eat_keyword("not");
        if self.eat_keyword("glob") {
            let at = self.offset();
            return match self.literal()? {
                Literal::Str(s) => match Glob::new(&s) {
                    Ok(pattern) => Ok(Test::Glob { pattern, negated }),
                    Err(reason) => Err(FilterError::InvalidGlob { reason, column: column(self.src, at) }),
                },
                other => Err(FilterError::WrongType {
                    op: if negated { "NOT GLOB" } else { "GLOB" },
                    wanted: "a quoted pattern",
                    found: describe_literal(&other),
                    column: column(self.src, at),
                }),
            };
        }
        if self.eat_keyword("in") {
            return Ok(Test::In { values: self.list()?, negated });
        }
        if self.eat_keyword("contains") {
            return Ok(Test::Contains { value: self.literal()?, negated });
        }
        Err(self.unexpected(if negated {
            "GLOB, IN or CONTAINS after NOT"
        } else {
            "an operator (=, !=, <, <=, >, >=, GLOB, IN, CONTAINS, or NOT GLOB/IN/CONTAINS)"
        }))
    }

    /// The number after `<`, `<=`, `>` or `>=`.
    fn range(&mut self, op: RangeOp) -> Result<Test, FilterError> {
        let at = self.offset();
        match self.literal()? {
            Literal::Num(bound) => Ok(Test::Range { op, bound }),
            other => Err(FilterError::WrongType {
                op: op.as_str(),
                wanted: "a number",
                found: describe_literal(&other),
                column: column(self.src, at),
            }),
        }
    }

    /// `( literal {, literal} )`
    fn list(&mut self) -> Result<Vec<Literal>, FilterError> {
        if self.peek_kind(0) != Some(&Kind::LParen) {
            return Err(self.unexpected("'(' to open the IN list"));
        }
        self.pos += 1;
        let mut values = vec![self.literal()?];
        loop {
            match self.peek_kind(0) {
                Some(Kind::Comma) => {
                    self.pos += 1;
                    values.push(self.literal()?);
                }
                Some(Kind::RParen) => {
                    self.pos += 1;
                    return Ok(values);
                }
                _ => return Err(self.unexpected("',' or ')' in the IN list")),
            }
        }
    }

    /// A quoted string, a number, or `true`/`false` in any case.
    fn literal(&mut self) -> Result<Literal, FilterError> {
        let literal = match self.peek_kind(0) {
            Some(Kind::Str(s)) => Literal::Str(s.clone()),
            Some(Kind::Num(n)) => Literal::Num(*n),
            Some(Kind::Word(w)) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Some(Kind::Word(w)) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Some(Kind::Word(_)) => return Err(self.unexpected("a value (strings need quotes)")),
            _ => return Err(self.unexpected("a value (a quoted string, a number, true or false)")),
        };
        self.pos += 1;
        Ok(literal)
    }
}

fn describe(kind: &Kind<'_>) -> String {
    match kind {
        Kind::Word(w) => format!("'{}'", excerpt(w)),
        Kind::Str(s) => format!("the string '{}'", excerpt(s)),
        Kind::Num(n) => format!("the number {n}"),
        Kind::LParen => "'('".to_owned(),
        Kind::RParen => "')'".to_owned(),
        Kind::Comma => "','".to_owned(),
        Kind::Eq => "'='".to_owned(),
        Kind::Ne => "'!='".to_owned(),
        Kind::Range(op) => format!("'{}'", op.as_str()),
    }
}

fn describe_literal(literal: &Literal) -> String {
    match literal {
        Literal::Str(s) => format!("the string '{}'", excerpt(s)),
        Literal::Num(n) => format!("the number {n}"),
        Literal::Bool(b) => format!("the boolean {b}"),
    }
}

/// Splits a path word into steps: `name {.name | [n] | [#-n]}`, where a name is one or more of
/// `[A-Za-z0-9_-]` (the lexer already made sure the word starts with a letter or `_`).
fn parse_path(word: &str) -> Result<Path, &'static str> {
    let mut segments = Vec::new();
    let mut rest = word;
    let mut after_dot = true;
    while !rest.is_empty() {
        if after_dot {
            let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(rest.len());
            if len == 0 {
                return Err("a field name is missing (an empty name between dots, or a leading or trailing dot)");
            }
            segments.push(Segment::Key(rest[..len].to_owned()));
            rest = &rest[len..];
            after_dot = false;
        } else if let Some(tail) = rest.strip_prefix('.') {
            rest = tail;
            after_dot = true;
        } else if let Some(tail) = rest.strip_prefix('[') {
            let close = tail.find(']').ok_or("'[' is never closed with ']'")?;
            segments.push(parse_index(&tail[..close])?);
            rest = &tail[close + 1..];
        } else {
            return Err("a field name holds only letters, digits, '_' and '-', and goes on with .name, [n] or [#-n]");
        }
    }
    if after_dot {
        return Err("a field name is missing (an empty name between dots, or a leading or trailing dot)");
    }
    Ok(Path { segments })
}

/// The inside of `[...]`: `n` or `#-n` with n ≥ 1.
fn parse_index(inside: &str) -> Result<Segment, &'static str> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(n) = inside.strip_prefix("#-") {
        if !digits(n) {
            return Err("an index from the end must look like [#-1]");
        }
        return match n.parse::<usize>() {
            Ok(0) => Err("[#-0] is past the end of every array; [#-1] is the last element"),
            Ok(n) => Ok(Segment::FromEnd(n)),
            Err(_) => Err("the array index is too large"),
        };
    }
    if inside.starts_with('-') {
        return Err("array indexes are not negative; count from the end with [#-1]");
    }
    if !digits(inside) {
        return Err("an array index must be a number like [0] or count from the end like [#-1]");
    }
    inside.parse::<usize>().map(Segment::Index).map_err(|_| "the array index is too large")
}
