//! Splits a filter into tokens. Words (field paths and keywords alike) follow the reference's
//! identifier rule `[A-Za-z_][A-Za-z0-9_.\[\]#-]*`; whether a word is a keyword is up to the parser,
//! which knows what may come where. Whitespace is any Unicode white space and only separates
//! tokens.

use super::ast::{Number, RangeOp};
use super::FilterError;

/// One token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token<'a> {
    pub kind: Kind<'a>,
    pub start: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind<'a> {
    /// A field path or a keyword, as written.
    Word(&'a str),
    /// A quoted string, escapes resolved.
    Str(String),
    /// A number.
    Num(Number),
    LParen,
    RParen,
    Comma,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`, `<=`, `>`, `>=`.
    Range(RangeOp),
}

/// The 1-based column (in characters) of byte offset `at` in `src`, for error messages.
pub(super) fn column(src: &str, at: usize) -> usize {
    src.get(..at).map_or(at, |head| head.chars().count()) + 1
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '#' | '-')
}

/// The whole input as tokens.
pub(super) fn tokenize(src: &str) -> Result<Vec<Token<'_>>, FilterError> {
    let mut lexer = Lexer { src, pos: 0 };
    let mut out = Vec::new();
    while let Some(token) = lexer.next_token()? {
        out.push(token);
    }
    Ok(out)
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }

    /// The character `n` characters ahead of the cursor.
    fn peek_at(&self, n: usize) -> Option<char> {
        self.src.get(self.pos..).and_then(|rest| rest.chars().nth(n))
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn column(&self, at: usize) -> usize {
        column(self.src, at)
    }

    fn next_token(&mut self) -> Result<Option<Token<'a>>, FilterError> {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        let start = self.pos;
        let Some(c) = self.peek() else { return Ok(None) };
        let kind = match c {
            '(' | ')' | ',' | '=' => {
                self.bump();
                match c {
                    '(' => Kind::LParen,
                    ')' => Kind::RParen,
                    ',' => Kind::Comma,
                    _ => Kind::Eq,
                }
            }
            '!' | '<' | '>' => {
                self.bump();
                let with_eq = self.peek() == Some('=');
                if with_eq {
                    self.bump();
                }
                match (c, with_eq) {
                    ('!', true) => Kind::Ne,
                    ('<', false) => Kind::Range(RangeOp::Lt),
                    ('<', true) => Kind::Range(RangeOp::Le),
                    ('>', false) => Kind::Range(RangeOp::Gt),
                    ('>', true) => Kind::Range(RangeOp::Ge),
                    _ => return Err(FilterError::UnexpectedChar { ch: '!', column: self.column(start) }),
                }
            }
            '\'' | '"' => Kind::Str(self.string(c)?),
            c if c.is_ascii_digit() => self.number()?,
            '-' | '+' | '.' if self.starts_number() => self.number()?,
            c if is_word_start(c) => {
                while self.peek().is_some_and(is_word_char) {
                    self.bump();
                }
                Kind::Word(&self.src[start..self.pos])
            }
            c => return Err(FilterError::UnexpectedChar { ch: c, column: self.column(start) }),
        };
        Ok(Some(Token { kind, start }))
    }

    /// Whether a sign or a dot at the cursor begins a number (`-1`, `+.5`, `.5`).
    fn starts_number(&self) -> bool {
        let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
        match self.peek() {
            Some('.') => digit(self.peek_at(1)),
            Some('-' | '+') => digit(self.peek_at(1)) || (self.peek_at(1) == Some('.') && digit(self.peek_at(2))),
            _ => false,
        }
    }

    /// `[+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?`, not followed by a word
    /// character.
    fn number(&mut self) -> Result<Kind<'a>, FilterError> {
        let start = self.pos;
        let mut integral = true;
        if matches!(self.peek(), Some('-' | '+')) {
            self.bump();
        }
        self.digits();
        if self.peek() == Some('.') {
            integral = false;
            self.bump();
            self.digits();
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let mark = self.pos;
            self.bump();
            if matches!(self.peek(), Some('-' | '+')) {
                self.bump();
            }
            if self.digits() == 0 {
                self.pos = mark;
            } else {
                integral = false;
            }
        }
        let invalid = |lexer: &mut Self| {
            // Report the whole run the user probably meant as one thing (`1.2.3`, `12abc`).
            while lexer.peek().is_some_and(|c| is_word_char(c) || c == '+') {
                lexer.bump();
            }
            FilterError::InvalidNumber { text: excerpt(&lexer.src[start..lexer.pos]), column: lexer.column(start) }
        };
        if self.peek().is_some_and(is_word_char) {
            return Err(invalid(self));
        }
        let text = &self.src[start..self.pos];
        let text = text.strip_prefix('+').unwrap_or(text);
        if integral {
            if let Ok(i) = text.parse::<i128>() {
                return Ok(Kind::Num(Number::Int(i)));
            }
        }
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Kind::Num(Number::Float(x))),
            _ => Err(invalid(self)),
        }
    }

    fn digits(&mut self) -> usize {
        let mut n = 0;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            n += 1;
        }
        n
    }

    /// A string opened by `quote`: backslash escapes `\\ \' \" \n \r \t \0 \/ \uXXXX` (surrogate
    /// pairs joined), and a doubled quote stands for one quote, as in SQL.
    fn string(&mut self, quote: char) -> Result<String, FilterError> {
        let start = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(FilterError::UnterminatedString { column: self.column(start) });
            };
            match c {
                c if c == quote => {
                    if self.peek() == Some(quote) {
                        self.bump();
                        out.push(quote);
                    } else {
                        return Ok(out);
                    }
                }
                '\\' => out.push(self.escape()?),
                c => out.push(c),
            }
        }
    }

    /// The character an escape stands for; the cursor is just past the backslash.
    fn escape(&mut self) -> Result<char, FilterError> {
        let at = self.pos - 1;
        let bad = |lexer: &Self| {
            let end = lexer.pos.max(at + 1);
            FilterError::InvalidEscape { sequence: excerpt(&lexer.src[at..end]), column: lexer.column(at) }
        };
        let Some(c) = self.bump() else { return Err(bad(self)) };
        Ok(match c {
            '\\' | '\'' | '"' | '/' => c,
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            '0' => '\0',
            'u' => {
                let Some(hi) = self.hex4() else { return Err(bad(self)) };
                if (0xD800..0xDC00).contains(&hi) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    if self.peek() != Some('\\') || self.peek_at(1) != Some('u') {
                        return Err(bad(self));
                    }
                    self.bump();
                    self.bump();
                    let Some(lo) = self.hex4().filter(|lo| (0xDC00..0xE000).contains(lo)) else { return Err(bad(self)) };
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)).ok_or_else(|| bad(self))?
                } else {
                    char::from_u32(hi).ok_or_else(|| bad(self))?
                }
            }
            _ => return Err(bad(self)),
        })
    }

    /// Four hex digits, consumed only as far as they are hex digits.
    fn hex4(&mut self) -> Option<u32> {
        let mut v = 0;
        for _ in 0..4 {
            let d = self.peek()?.to_digit(16)?;
            self.bump();
            v = v * 16 + d;
        }
        Some(v)
    }
}

/// `text`, shortened to a readable length for an error message.
pub(super) fn excerpt(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}
