//! `Upstash-Retry-Delay`: a math expression giving the wait before a retry, in milliseconds.
//!
//! Grammar (usual precedence, left-associative binary operators):
//!
//! ```text
//! sum     = product { ("+" | "-") product }
//! product = unary { ("*" | "/" | "%") unary }
//! unary   = ("-" | "+") unary | primary
//! primary = number | "retried" | function "(" sum { "," sum } ")" | "(" sum ")"
//! ```
//!
//! Numbers are decimal, with an optional fraction and exponent (`2`, `0.5`, `1e3`). `retried` is
//! the number of retries so far (0 before the first retry). Functions: `pow(a, b)`, `exp(x)`,
//! `sqrt(x)`, `abs(x)`, `floor(x)`, `ceil(x)`, `round(x)`, `min(a, ...)`, `max(a, ...)`. Names are
//! case-insensitive. The expression is parsed once into a tree, then evaluated per retry.

use std::fmt;
use std::str::FromStr;

use super::{shown, ParseError};

/// The longest expression accepted, in bytes.
pub const MAX_EXPRESSION_LEN: usize = 4096;

/// The deepest nesting accepted, counting parentheses, function calls, unary signs and chained
/// binary operators, so that hostile input cannot exhaust the stack while parsing, evaluating or
/// dropping the tree.
pub const MAX_DEPTH: usize = 64;

/// The longest delay [`RetryDelay::eval`] returns: one year, in milliseconds.
pub const MAX_DELAY_MS: u64 = 365 * 24 * 60 * 60 * 1000;

/// A parsed `Upstash-Retry-Delay` expression, e.g. `pow(2, retried) * 1000`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryDelay {
    text: String,
    expr: Expr,
}

impl RetryDelay {
    /// Parses an expression. Surrounding whitespace is ignored.
    pub fn parse(input: &str) -> Result<RetryDelay, ParseError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(ParseError::retry_delay(input, "the expression is empty"));
        }
        if text.len() > MAX_EXPRESSION_LEN {
            return Err(ParseError::retry_delay(input, format!("the expression is longer than {MAX_EXPRESSION_LEN} characters")));
        }
        let tokens = tokenize(text).map_err(|reason| ParseError::retry_delay(input, reason))?;
        let expr = Parser::new(text, &tokens).parse().map_err(|reason| ParseError::retry_delay(input, reason))?;
        Ok(RetryDelay { text: text.to_owned(), expr })
    }

    /// The expression as given (trimmed), e.g. for `retryDelayExpression` in API responses.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The delay in milliseconds before the retry that follows `retried` earlier retries.
    ///
    /// The value is rounded to whole milliseconds; a negative value gives 0 and a value above
    /// [`MAX_DELAY_MS`] gives [`MAX_DELAY_MS`]. A result that is not a number (e.g. `sqrt(-1)`)
    /// or infinite (e.g. `1 / 0`) is an error.
    pub fn eval(&self, retried: u32) -> Result<u64, ParseError> {
        let value = self.expr.eval(f64::from(retried));
        if value.is_nan() {
            return Err(ParseError::retry_delay_value(&self.text, format!("does not give a number when retried is {retried}")));
        }
        if value.is_infinite() {
            return Err(ParseError::retry_delay_value(&self.text, format!("gives an infinite value when retried is {retried}")));
        }
        let clamped = value.round().clamp(0.0, MAX_DELAY_MS as f64);
        // In range after the clamp, so the conversion is exact.
        Ok(clamped as u64)
    }
}

impl fmt::Display for RetryDelay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for RetryDelay {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        RetryDelay::parse(input)
    }
}

/// The parsed expression tree.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Number(f64),
    Retried,
    Negate(Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Call(Function, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Pow,
    Exp,
    Sqrt,
    Abs,
    Floor,
    Ceil,
    Round,
    Min,
    Max,
}

impl Function {
    fn from_name(name: &str) -> Option<Function> {
        let function = match name.to_ascii_lowercase().as_str() {
            "pow" => Function::Pow,
            "exp" => Function::Exp,
            "sqrt" => Function::Sqrt,
            "abs" => Function::Abs,
            "floor" => Function::Floor,
            "ceil" => Function::Ceil,
            "round" => Function::Round,
            "min" => Function::Min,
            "max" => Function::Max,
            _ => return None,
        };
        Some(function)
    }

    fn name(self) -> &'static str {
        match self {
            Function::Pow => "pow",
            Function::Exp => "exp",
            Function::Sqrt => "sqrt",
            Function::Abs => "abs",
            Function::Floor => "floor",
            Function::Ceil => "ceil",
            Function::Round => "round",
            Function::Min => "min",
            Function::Max => "max",
        }
    }

    /// Checks the number of arguments; `Err` holds the message.
    fn check_arity(self, count: usize) -> Result<(), String> {
        let (expected, ok) = match self {
            Function::Pow => ("2 arguments", count == 2),
            Function::Min | Function::Max => ("at least 1 argument", count >= 1),
            _ => ("1 argument", count == 1),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{}() takes {expected}, got {count}", self.name()))
        }
    }

    fn apply(self, args: &[f64]) -> f64 {
        let first = args.first().copied().unwrap_or(f64::NAN);
        match self {
            Function::Pow => first.powf(args.get(1).copied().unwrap_or(f64::NAN)),
            Function::Exp => first.exp(),
            Function::Sqrt => first.sqrt(),
            Function::Abs => first.abs(),
            Function::Floor => first.floor(),
            Function::Ceil => first.ceil(),
            Function::Round => first.round(),
            // Unlike f64::min/max, a NaN argument makes the result NaN.
            Function::Min => args.iter().copied().fold(f64::INFINITY, |a, b| if a.is_nan() || b.is_nan() { f64::NAN } else { a.min(b) }),
            Function::Max => {
                args.iter().copied().fold(f64::NEG_INFINITY, |a, b| if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) })
            }
        }
    }
}

impl Expr {
    fn eval(&self, retried: f64) -> f64 {
        match self {
            Expr::Number(value) => *value,
            Expr::Retried => retried,
            Expr::Negate(operand) => -operand.eval(retried),
            Expr::Binary(op, left, right) => {
                let (a, b) = (left.eval(retried), right.eval(retried));
                match op {
                    BinaryOp::Add => a + b,
                    BinaryOp::Sub => a - b,
                    BinaryOp::Mul => a * b,
                    BinaryOp::Div => a / b,
                    BinaryOp::Rem => a % b,
                }
            }
            Expr::Call(function, args) => {
                let values: Vec<f64> = args.iter().map(|arg| arg.eval(retried)).collect();
                function.apply(&values)
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TokenKind<'a> {
    Number(f64),
    Name(&'a str),
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    OpenParen,
    CloseParen,
    Comma,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: TokenKind<'a>,
    /// Byte offset in the expression.
    offset: usize,
}

/// A 1-based character position for messages.
fn position(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |before| before.chars().count()) + 1
}

fn tokenize(text: &str) -> Result<Vec<Token<'_>>, String> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let start = i;
        let kind = match byte {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'+' => TokenKind::Plus,
            b'-' => TokenKind::Minus,
            b'*' => TokenKind::Star,
            b'/' => TokenKind::Slash,
            b'%' => TokenKind::Percent,
            b'(' => TokenKind::OpenParen,
            b')' => TokenKind::CloseParen,
            b',' => TokenKind::Comma,
            b'0'..=b'9' | b'.' => {
                i = number_end(bytes, i);
                let literal = &text[start..i];
                let value: f64 =
                    literal.parse().map_err(|_| format!("invalid number '{}' at position {}", shown(literal), position(text, start)))?;
                if !value.is_finite() {
                    return Err(format!("number '{}' at position {} is too large", shown(literal), position(text, start)));
                }
                tokens.push(Token { kind: TokenKind::Number(value), offset: start });
                continue;
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                while bytes.get(i).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
                    i += 1;
                }
                tokens.push(Token { kind: TokenKind::Name(&text[start..i]), offset: start });
                continue;
            }
            _ => {
                // Only ASCII bytes have been consumed, so `start` is a character boundary.
                let unexpected = text[start..].chars().next().unwrap_or(char::REPLACEMENT_CHARACTER);
                return Err(format!("unexpected character '{unexpected}' at position {}", position(text, start)));
            }
        };
        tokens.push(Token { kind, offset: start });
        i += 1;
    }
    Ok(tokens)
}

/// The end of the number literal starting at `start`: digits, an optional fraction and an
/// optional exponent (taken only when digits follow the `e`).
fn number_end(bytes: &[u8], start: usize) -> usize {
    let digits_from = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let mut i = digits_from(start);
    if bytes.get(i) == Some(&b'.') {
        i = digits_from(i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            i = digits_from(j);
        }
    }
    i
}

/// A subtree and its depth.
struct Node {
    expr: Expr,
    depth: usize,
}

/// Recursive-descent parser over the tokens; errors are messages.
struct Parser<'t, 'a> {
    text: &'a str,
    tokens: &'t [Token<'a>],
    next: usize,
    /// Current recursion depth of the parser itself.
    nesting: usize,
}

impl<'t, 'a> Parser<'t, 'a> {
    fn new(text: &'a str, tokens: &'t [Token<'a>]) -> Self {
        Parser { text, tokens, next: 0, nesting: 0 }
    }

    fn parse(mut self) -> Result<Expr, String> {
        let node = self.sum()?;
        match self.peek() {
            None => Ok(node.expr),
            Some(token) => Err(self.unexpected(token)),
        }
    }

    fn peek(&self) -> Option<Token<'a>> {
        self.tokens.get(self.next).copied()
    }

    fn bump(&mut self) -> Option<Token<'a>> {
        let token = self.peek();
        self.next += 1;
        token
    }

    fn unexpected(&self, token: Token<'_>) -> String {
        let what = match token.kind {
            TokenKind::Number(_) => "number".to_owned(),
            TokenKind::Name(name) => format!("'{}'", shown(name)),
            TokenKind::Plus => "'+'".to_owned(),
            TokenKind::Minus => "'-'".to_owned(),
            TokenKind::Star => "'*'".to_owned(),
            TokenKind::Slash => "'/'".to_owned(),
            TokenKind::Percent => "'%'".to_owned(),
            TokenKind::OpenParen => "'('".to_owned(),
            TokenKind::CloseParen => "')'".to_owned(),
            TokenKind::Comma => "','".to_owned(),
        };
        format!("unexpected {what} at position {}", position(self.text, token.offset))
    }

    /// Runs `parse` one recursion level deeper, refusing to go past [`MAX_DEPTH`].
    fn nested<T>(&mut self, parse: impl FnOnce(&mut Self) -> Result<T, String>) -> Result<T, String> {
        if self.nesting >= MAX_DEPTH {
            return Err(too_deep());
        }
        self.nesting += 1;
        let result = parse(self);
        self.nesting -= 1;
        result
    }

    fn sum(&mut self) -> Result<Node, String> {
        let mut left = self.product()?;
        loop {
            let op = match self.peek().map(|token| token.kind) {
                Some(TokenKind::Plus) => BinaryOp::Add,
                Some(TokenKind::Minus) => BinaryOp::Sub,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.product()?;
            left = binary(op, left, right)?;
        }
    }

    fn product(&mut self) -> Result<Node, String> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek().map(|token| token.kind) {
                Some(TokenKind::Star) => BinaryOp::Mul,
                Some(TokenKind::Slash) => BinaryOp::Div,
                Some(TokenKind::Percent) => BinaryOp::Rem,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.unary()?;
            left = binary(op, left, right)?;
        }
    }

    fn unary(&mut self) -> Result<Node, String> {
        match self.peek().map(|token| token.kind) {
            Some(TokenKind::Minus) => {
                self.bump();
                let operand = self.nested(Self::unary)?;
                node(Expr::Negate(Box::new(operand.expr)), operand.depth + 1)
            }
            Some(TokenKind::Plus) => {
                self.bump();
                self.nested(Self::unary)
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Node, String> {
        let Some(token) = self.bump() else {
            return Err("the expression ends too early".to_owned());
        };
        match token.kind {
            TokenKind::Number(value) => node(Expr::Number(value), 1),
            TokenKind::OpenParen => {
                let inner = self.nested(Self::sum)?;
                self.expect_close(token)?;
                Ok(inner)
            }
            TokenKind::Name(name) => {
                let is_call = matches!(self.peek().map(|next| next.kind), Some(TokenKind::OpenParen));
                if !is_call {
                    return if name.eq_ignore_ascii_case("retried") {
                        node(Expr::Retried, 1)
                    } else if Function::from_name(name).is_some() {
                        Err(format!(
                            "function '{}' at position {} needs arguments in parentheses",
                            shown(name),
                            position(self.text, token.offset)
                        ))
                    } else {
                        Err(format!(
                            "unknown name '{}' at position {} (the only variable is 'retried')",
                            shown(name),
                            position(self.text, token.offset)
                        ))
                    };
                }
                let Some(function) = Function::from_name(name) else {
                    return Err(format!(
                        "unknown function '{}' at position {} (use pow, exp, sqrt, abs, floor, ceil, round, min or max)",
                        shown(name),
                        position(self.text, token.offset)
                    ));
                };
                self.nested(|parser| parser.call(function))
            }
            _ => Err(self.unexpected(token)),
        }
    }

    /// Parses `( args )` after a function name.
    fn call(&mut self, function: Function) -> Result<Node, String> {
        let Some(open) = self.bump() else {
            return Err("the expression ends too early".to_owned());
        };
        let mut args = Vec::new();
        let mut depth = 1;
        if !matches!(self.peek().map(|token| token.kind), Some(TokenKind::CloseParen)) {
            loop {
                let arg = self.sum()?;
                depth = depth.max(arg.depth + 1);
                args.push(arg.expr);
                if matches!(self.peek().map(|token| token.kind), Some(TokenKind::Comma)) {
                    self.bump();
                } else {
                    break;
                }
            }
        }
        self.expect_close(open)?;
        function.check_arity(args.len())?;
        node(Expr::Call(function, args), depth)
    }

    fn expect_close(&mut self, open: Token<'_>) -> Result<(), String> {
        match self.bump() {
            Some(Token { kind: TokenKind::CloseParen, .. }) => Ok(()),
            Some(token) => Err(self.unexpected(token)),
            None => Err(format!("the '(' at position {} is never closed", position(self.text, open.offset))),
        }
    }
}

fn binary(op: BinaryOp, left: Node, right: Node) -> Result<Node, String> {
    let depth = left.depth.max(right.depth) + 1;
    node(Expr::Binary(op, Box::new(left.expr), Box::new(right.expr)), depth)
}

fn node(expr: Expr, depth: usize) -> Result<Node, String> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    Ok(Node { expr, depth })
}

fn too_deep() -> String {
    format!("the expression nests deeper than {MAX_DEPTH} levels")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str, retried: u32) -> u64 {
        match RetryDelay::parse(text).and_then(|delay| delay.eval(retried)) {
            Ok(ms) => ms,
            Err(error) => panic!("{text}: {error}"),
        }
    }

    fn parse_error(text: &str) -> String {
        match RetryDelay::parse(text) {
            Ok(delay) => panic!("{text} parsed as {delay:?}"),
            Err(error) => error.to_string(),
        }
    }

    fn eval_error(text: &str, retried: u32) -> String {
        match RetryDelay::parse(text).map(|delay| delay.eval(retried)) {
            Ok(Ok(ms)) => panic!("{text} gave {ms}"),
            Ok(Err(error)) => error.to_string(),
            Err(error) => panic!("{text} did not parse: {error}"),
        }
    }

    #[test]
    fn documented_example() {
        assert_eq!(eval("pow(2, retried) * 1000", 0), 1_000);
        assert_eq!(eval("pow(2, retried) * 1000", 3), 8_000);
        assert_eq!(eval("1000 * (1 + retried)", 2), 3_000);
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(eval("1 + 2 * 3", 0), 7);
        assert_eq!(eval("(1 + 2) * 3", 0), 9);
        assert_eq!(eval("10 - 4 - 3", 0), 3);
        assert_eq!(eval("100 / 10 / 2", 0), 5);
        assert_eq!(eval("17 % 5 * 2", 0), 4);
        assert_eq!(eval("-2 * -3", 0), 6);
        assert_eq!(eval("--5", 0), 5);
        assert_eq!(eval("+5", 0), 5);
        assert_eq!(eval("2 - -3", 0), 5);
        assert_eq!(eval("10 - 2 * retried", 3), 4);
    }

    #[test]
    fn numbers() {
        assert_eq!(eval("1.5 * 1000", 0), 1_500);
        assert_eq!(eval(".5 * 1000", 0), 500);
        assert_eq!(eval("1e3", 0), 1_000);
        assert_eq!(eval("2.5E+2", 0), 250);
        assert_eq!(eval("1000e-3", 0), 1);
        assert_eq!(eval("0.4", 0), 0);
        assert_eq!(eval("0.5", 0), 1);
    }

    #[test]
    fn functions() {
        assert_eq!(eval("exp(0)", 0), 1);
        assert_eq!(eval("sqrt(16)", 0), 4);
        assert_eq!(eval("abs(-7)", 0), 7);
        assert_eq!(eval("floor(2.9)", 0), 2);
        assert_eq!(eval("ceil(2.1)", 0), 3);
        assert_eq!(eval("round(2.5)", 0), 3);
        assert_eq!(eval("min(5, 3, 9)", 0), 3);
        assert_eq!(eval("max(5, 3, 9)", 0), 9);
        assert_eq!(eval("max(7)", 0), 7);
        assert_eq!(eval("min(pow(2, retried) * 1000, 60000)", 10), 60_000);
        assert_eq!(eval("POW(2, RETRIED)", 4), 16);
        assert_eq!(eval("Max(1,2)", 0), 2);
        assert_eq!(eval("exp(retried) * 50", 2), 369);
    }

    #[test]
    fn clamps_negative_and_huge_values() {
        assert_eq!(eval("-5000", 0), 0);
        assert_eq!(eval("1000 - retried * 600", 2), 0);
        assert_eq!(eval("1e15", 0), MAX_DELAY_MS);
        assert_eq!(eval("pow(10, 300)", 0), MAX_DELAY_MS);
    }

    #[test]
    fn non_finite_results_are_errors() {
        assert!(eval_error("1 / 0", 0).contains("infinite value when retried is 0"));
        assert!(eval_error("1000 / retried", 0).contains("infinite"));
        assert_eq!(eval("1000 / retried", 4), 250);
        assert!(eval_error("-1 / 0", 0).contains("infinite"));
        assert!(eval_error("sqrt(-1)", 0).contains("does not give a number"));
        assert!(eval_error("5 % 0", 0).contains("does not give a number"));
        assert!(eval_error("min(sqrt(-1), 5)", 0).contains("does not give a number"));
        assert!(eval_error("max(5, sqrt(-1))", 0).contains("does not give a number"));
        assert!(eval_error("pow(2, retried)", 2_000).contains("infinite"));
        assert!(eval_error("exp(1000) - exp(1000)", 0).contains("does not give a number"));
    }

    #[test]
    fn keeps_the_text() {
        let delay = match RetryDelay::parse("  pow(2, retried) * 1000 \n") {
            Ok(delay) => delay,
            Err(error) => panic!("{error}"),
        };
        assert_eq!(delay.as_str(), "pow(2, retried) * 1000");
        assert_eq!(delay.to_string(), "pow(2, retried) * 1000");
        assert_eq!("retried".parse::<RetryDelay>().map(|d| d.as_str().to_owned()), Ok("retried".to_owned()));
    }

    #[test]
    fn syntax_errors() {
        assert!(parse_error("").contains("empty"));
        assert!(parse_error("  ").contains("empty"));
        assert!(parse_error("1 +").contains("ends too early"));
        assert!(parse_error("(1 + 2").contains("'(' at position 1 is never closed"));
        assert!(parse_error("1 + 2)").contains("unexpected ')' at position 6"));
        assert!(parse_error("1 2").contains("unexpected number at position 3"));
        assert!(parse_error("2 ^ 3").contains("unexpected character '^' at position 3"));
        assert!(parse_error("é + 1").contains("unexpected character 'é' at position 1"));
        assert!(parse_error("x * 2").contains("unknown name 'x'"));
        assert!(parse_error("log(2)").contains("unknown function 'log'"));
        assert!(parse_error("pow(2)").contains("pow() takes 2 arguments, got 1"));
        assert!(parse_error("pow(1, 2, 3)").contains("got 3"));
        assert!(parse_error("sqrt()").contains("sqrt() takes 1 argument, got 0"));
        assert!(parse_error("min()").contains("at least 1 argument"));
        assert!(parse_error("sqrt 4").contains("needs arguments"));
        assert!(parse_error("pow(2,)").contains("unexpected ')'"));
        assert!(parse_error("retried(2)").contains("unknown function 'retried'"));
        assert!(parse_error(".").contains("invalid number '.'"));
        assert!(parse_error("1.2.3").contains("unexpected number at position 4"));
        assert!(parse_error("1e999").contains("too large"));
        assert!(parse_error("1 , 2").contains("unexpected ','"));
        assert!(parse_error("*3").contains("unexpected '*'"));
    }

    #[test]
    fn depth_and_length_are_bounded() {
        let deep_parens = "(".repeat(10_000) + "1" + &")".repeat(10_000);
        assert!(parse_error(&deep_parens).contains("longer than"));
        let deep_parens = "(".repeat(2_000) + "1" + &")".repeat(2_000);
        assert!(parse_error(&deep_parens).contains("deeper than 64"));
        let signs = "-".repeat(4_000) + "1";
        assert!(parse_error(&signs).contains("deeper"));
        let long_sum = vec!["1"; 2_000].join("+");
        assert!(parse_error(&long_sum).contains("deeper"));
        let nested_calls = "abs(".repeat(500) + "1" + &")".repeat(500);
        assert!(parse_error(&nested_calls).contains("deeper"));
        let ok_parens = "(".repeat(60) + "1" + &")".repeat(60);
        assert_eq!(eval(&ok_parens, 0), 1);
        let ok_sum = vec!["1"; 60].join("+");
        assert_eq!(eval(&ok_sum, 0), 60);
    }
}
