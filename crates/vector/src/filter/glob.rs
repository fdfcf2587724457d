//! Case-sensitive UNIX-style GLOB patterns, as in SQLite's `GLOB`: `*` matches any run of
//! characters (empty too), `?` exactly one character, `[abc]`/`[a-z]` one character of a class and
//! `[^...]` one character outside it. Inside a class a `]` right after `[` or `[^` is a member, and
//! a `-` first or last is a member. There is no backslash escape: `[*]`, `[?]` and `[[]` match the
//! characters themselves. Matching works on Unicode scalar values and never backtracks more than
//! O(pattern × text).

/// A compiled GLOB pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    source: String,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// One given character.
    Char(char),
    /// `?`: any one character.
    Any,
    /// `*`: any run of characters (runs of `*` are merged).
    Star,
    /// `[...]` or `[^...]`: one character inside (or outside) the inclusive ranges.
    Class { negated: bool, ranges: Vec<(char, char)> },
}

impl Token {
    fn matches_one(&self, c: char) -> bool {
        match self {
            Token::Char(want) => *want == c,
            Token::Any => true,
            Token::Star => false,
            Token::Class { negated, ranges } => ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated,
        }
    }
}

impl Glob {
    /// Compiles a pattern; the error text says what is wrong with it (an unclosed `[`, a reversed
    /// range).
    pub fn new(source: &str) -> Result<Glob, String> {
        let mut tokens = Vec::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            let token = match c {
                '*' if tokens.last() == Some(&Token::Star) => continue,
                '*' => Token::Star,
                '?' => Token::Any,
                '[' => {
                    let negated = chars.next_if_eq(&'^').is_some();
                    let mut ranges = Vec::new();
                    let mut first = true;
                    loop {
                        let Some(lo) = chars.next() else {
                            return Err("'[' opens a character class that is never closed with ']'".to_owned());
                        };
                        if lo == ']' && !first {
                            break;
                        }
                        first = false;
                        // `a-z` is a range unless the '-' is the last character before ']'.
                        let mut ahead = chars.clone();
                        if ahead.next() == Some('-') && ahead.next().is_some_and(|hi| hi != ']') {
                            chars.next();
                            let hi = chars.next().unwrap_or(lo);
                            if hi < lo {
                                return Err(format!("the range '{lo}-{hi}' in a character class is reversed"));
                            }
                            ranges.push((lo, hi));
                        } else {
                            ranges.push((lo, lo));
                        }
                    }
                    Token::Class { negated, ranges }
                }
                c => Token::Char(c),
            };
            tokens.push(token);
        }
        Ok(Glob { source: source.to_owned(), tokens })
    }

    /// The pattern as written (escapes of the string literal resolved).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the whole of `text` matches the pattern.
    pub fn is_match(&self, text: &str) -> bool {
        let tokens = &self.tokens;
        // Greedy scan with one resume point: on a mismatch, the last `*` swallows one more
        // character and the scan goes on from the token after it. Every other token consumes
        // exactly one character, so that resume point is all the backtracking needed.
        let (mut p, mut t) = (0usize, 0usize);
        let mut resume: Option<(usize, usize)> = None;
        loop {
            let next_char = text.get(t..).and_then(|rest| rest.chars().next());
            match (tokens.get(p), next_char) {
                (Some(Token::Star), _) => {
                    p += 1;
                    resume = Some((p, t));
                    continue;
                }
                (Some(tok), Some(c)) if tok.matches_one(c) => {
                    p += 1;
                    t += c.len_utf8();
                    continue;
                }
                (None, None) => return true,
                _ => {}
            }
            let Some((rp, rt)) = resume else { return false };
            let Some(c) = text.get(rt..).and_then(|rest| rest.chars().next()) else { return false };
            resume = Some((rp, rt + c.len_utf8()));
            p = rp;
            t = rt + c.len_utf8();
        }
    }
}
