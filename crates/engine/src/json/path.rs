//! Paths into JSON documents, in RedisJSON's two syntaxes.
//!
//! * **JSONPath** (starts with `$` followed by nothing, `.` or `[`): `$.a.b`, `$['k']`, `$[0]`,
//!   `$[-1]`, `$[0:2]`, `$[0,2]`, `$.*`, `$..a`, `$.a[?(@.x > 1 && @.y == "s")]`. Commands answer
//!   one result per match.
//! * **Legacy** (anything else: `.`, `.a.b`, `a.b`, `.a[0]`, `["k"]`): rewritten as RedisJSON does
//!   (`.` → `$`, `.a` → `$.a`, `a` → `$.a`) and evaluated the same way, but commands use the first
//!   match only and fail when there is none.
//!
//! Evaluation yields located results: each match with its normalized location ([`Seg`]s from
//! the root), which the write commands then use to reach the value mutably.

use std::cmp::Ordering;

use super::Json;
use crate::error::CmdError;

/// One step of a normalized location: an object member or an array position.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    /// Object member name.
    Key(String),
    /// Array index (non-negative, in range when the location was produced).
    Idx(usize),
}

/// A parsed path.
#[derive(Debug, Clone)]
pub struct Path {
    original: String,
    fixed: String,
    legacy: bool,
    steps: Vec<Step>,
}

/// The last step of a static path (for creating a member that does not exist yet).
#[derive(Debug, Clone, PartialEq)]
pub enum Last {
    /// An object member name.
    Key(String),
    /// An array index.
    Index(i64),
}

/// A match: its location and the value there.
pub type Located<'a> = (Vec<Seg>, &'a Json);

#[derive(Debug, Clone)]
enum Step {
    Child(Sel),
    Descend(Sel),
}

#[derive(Debug, Clone)]
enum Sel {
    Names(Vec<String>),
    Indices(Vec<i64>),
    Wild,
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Filter(Box<Expr>),
}

#[derive(Debug, Clone)]
enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(Operand, Op, Operand),
    Test(Operand),
    /// `left =~ pattern`: a string matching a regular expression (compiled once when the pattern
    /// is a literal; an invalid pattern matches nothing, as in RedisJSON).
    Match(Operand, Pattern),
}

#[derive(Debug, Clone)]
enum Pattern {
    Compiled(Option<regex::Regex>),
    Operand(Operand),
}

/// Compiles a filter's regular expression (bounded in size: the pattern comes from a client).
fn compile(pattern: &str) -> Option<regex::Regex> {
    regex::RegexBuilder::new(pattern).size_limit(1 << 20).dfa_size_limit(1 << 20).build().ok()
}

#[derive(Debug, Clone)]
enum Operand {
    Current(Vec<Step>),
    Root(Vec<Step>),
    Lit(Json),
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Path {
    /// Parses a path argument (legacy or JSONPath). Syntax errors read like RedisJSON's:
    /// `Error occurred on position 4, "$.a[ ---->>>> x]", ...`.
    pub fn parse(arg: &[u8]) -> Result<Path, CmdError> {
        let original = std::str::from_utf8(arg).map_err(|_| CmdError::err("invalid UTF-8 in path"))?.to_owned();
        let b = original.as_bytes();
        let jsonpath = b.first() == Some(&b'$') && (b.len() == 1 || b[1] == b'.' || b[1] == b'[');
        let fixed = if jsonpath {
            original.clone()
        } else if original == "." {
            "$".to_owned()
        } else if original.starts_with('.') {
            format!("${original}")
        } else {
            format!("$.{original}")
        };
        let steps = Parser { s: fixed.as_bytes(), text: &fixed, i: 0, nesting: 0 }.whole()?;
        Ok(Path { original, fixed, legacy: !jsonpath, steps })
    }

    /// True for the legacy syntax (single result, errors when nothing matches).
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// True if the path designates the document root (`$` or `.`).
    pub fn is_root(&self) -> bool {
        self.steps.is_empty()
    }

    /// The path as the client sent it.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// The path in JSONPath form (legacy paths rewritten), as RedisJSON's errors quote it.
    pub fn fixed(&self) -> &str {
        &self.fixed
    }

    /// True if the path names one location at most: only member names and indexes, no
    /// wildcards, recursion, slices, unions or filters.
    pub fn is_static(&self) -> bool {
        self.steps.iter().all(|s| match s {
            Step::Child(Sel::Names(n)) => n.len() == 1,
            Step::Child(Sel::Indices(i)) => i.len() == 1,
            _ => false,
        })
    }

    /// For a static, non-root path: the parent path and the last step.
    pub fn split_last(&self) -> Option<(Path, Last)> {
        if !self.is_static() {
            return None;
        }
        let (last, rest) = self.steps.split_last()?;
        let last = match last {
            Step::Child(Sel::Names(n)) => Last::Key(n.first()?.clone()),
            Step::Child(Sel::Indices(i)) => Last::Index(*i.first()?),
            _ => return None,
        };
        let parent = Path { original: String::new(), fixed: String::new(), legacy: self.legacy, steps: rest.to_vec() };
        Some((parent, last))
    }

    /// Every match, in document order for each step, with its location.
    pub fn eval<'a>(&self, doc: &'a Json) -> Vec<Located<'a>> {
        run(&self.steps, doc, vec![(Vec::new(), doc)], !self.legacy)
    }

    /// Every matched value.
    pub fn values<'a>(&self, doc: &'a Json) -> Vec<&'a Json> {
        self.eval(doc).into_iter().map(|(_, v)| v).collect()
    }

    /// The first match, or RedisJSON's `ERR Path '<path>' does not exist`.
    pub fn first<'a>(&self, doc: &'a Json) -> Result<Located<'a>, CmdError> {
        self.eval(doc).into_iter().next().ok_or_else(|| self.missing())
    }

    /// `ERR Path '<path>' does not exist`.
    pub fn missing(&self) -> CmdError {
        CmdError::err(format!("Path '{}' does not exist", self.fixed))
    }
}

fn run<'a>(steps: &[Step], root: &'a Json, start: Vec<Located<'a>>, post: bool) -> Vec<Located<'a>> {
    let mut cur = start;
    for step in steps {
        let mut next = Vec::new();
        for (loc, node) in cur {
            match step {
                Step::Child(sel) => apply(sel, &loc, node, root, &mut next),
                Step::Descend(sel) => {
                    let mut nodes = Vec::new();
                    descendants(loc, node, &mut nodes, post);
                    for (l, n) in nodes {
                        apply(sel, &l, n, root, &mut next);
                    }
                }
            }
        }
        cur = next;
    }
    cur
}

/// A node and all nodes below it. `post` lists each node after everything below it (the hosted
/// service's order for JSONPath `$..`: deeper matches first, e.g. `$..a` of
/// `{"a":1,"o":{"a":2}}` is `[2,1]`); otherwise before (RedisJSON's order, kept for legacy paths).
fn descendants<'a>(loc: Vec<Seg>, node: &'a Json, out: &mut Vec<Located<'a>>, post: bool) {
    if !post {
        out.push((loc.clone(), node));
    }
    match node {
        Json::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                descendants(child(&loc, Seg::Idx(i)), v, out, post);
            }
        }
        Json::Object(o) => {
            for (k, v) in o.iter() {
                descendants(child(&loc, Seg::Key(k.clone())), v, out, post);
            }
        }
        _ => {}
    }
    if post {
        out.push((loc, node));
    }
}

fn child(loc: &[Seg], seg: Seg) -> Vec<Seg> {
    let mut l = Vec::with_capacity(loc.len() + 1);
    l.extend_from_slice(loc);
    l.push(seg);
    l
}

fn index(i: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let j = if i < 0 { len + i } else { i };
    (0..len).contains(&j).then_some(j as usize)
}

fn apply<'a>(sel: &Sel, loc: &[Seg], node: &'a Json, root: &'a Json, out: &mut Vec<Located<'a>>) {
    match (sel, node) {
        (Sel::Names(names), Json::Object(o)) => {
            for n in names {
                if let Some(v) = o.get(n.as_str()) {
                    out.push((child(loc, Seg::Key(n.clone())), v));
                }
            }
        }
        (Sel::Indices(idx), Json::Array(a)) => {
            for &i in idx {
                if let Some(j) = index(i, a.len()) {
                    out.push((child(loc, Seg::Idx(j)), &a[j]));
                }
            }
        }
        (Sel::Wild, Json::Array(a)) => out.extend(a.iter().enumerate().map(|(i, v)| (child(loc, Seg::Idx(i)), v))),
        (Sel::Wild, Json::Object(o)) => out.extend(o.iter().map(|(k, v)| (child(loc, Seg::Key(k.clone())), v))),
        (Sel::Slice(start, end, step), Json::Array(a)) => {
            for j in slice(*start, *end, *step, a.len()) {
                out.push((child(loc, Seg::Idx(j)), &a[j]));
            }
        }
        (Sel::Filter(e), Json::Array(a)) => {
            for (i, v) in a.iter().enumerate() {
                if test(e, v, root) {
                    out.push((child(loc, Seg::Idx(i)), v));
                }
            }
        }
        (Sel::Filter(e), Json::Object(o)) => {
            for (k, v) in o.iter() {
                if test(e, v, root) {
                    out.push((child(loc, Seg::Key(k.clone())), v));
                }
            }
        }
        _ => {}
    }
}

/// The indexes an RFC 9535 slice selects from an array of `len` elements.
fn slice(start: Option<i64>, end: Option<i64>, step: Option<i64>, len: usize) -> Vec<usize> {
    let step = step.unwrap_or(1);
    let len = len as i64;
    let norm = |i: i64| if i >= 0 { i } else { len.saturating_add(i) };
    let mut out = Vec::new();
    if step > 0 {
        let lower = norm(start.unwrap_or(0)).clamp(0, len);
        let upper = norm(end.unwrap_or(len)).clamp(0, len);
        let mut i = lower;
        while i < upper {
            out.push(i as usize);
            let Some(n) = i.checked_add(step) else { break };
            i = n;
        }
    } else if step < 0 {
        let upper = norm(start.unwrap_or(len - 1)).clamp(-1, len - 1);
        let lower = end.map_or(-1, |e| norm(e).clamp(-1, len - 1));
        let mut i = upper;
        while lower < i {
            out.push(i as usize);
            let Some(n) = i.checked_add(step) else { break };
            i = n;
        }
    }
    out
}

fn operand<'x>(op: &'x Operand, cur: &'x Json, root: &'x Json) -> Option<&'x Json> {
    match op {
        Operand::Current(steps) => run(steps, root, vec![(Vec::new(), cur)], false).into_iter().next().map(|(_, v)| v),
        Operand::Root(steps) => run(steps, root, vec![(Vec::new(), root)], false).into_iter().next().map(|(_, v)| v),
        Operand::Lit(v) => Some(v),
    }
}

fn test(e: &Expr, cur: &Json, root: &Json) -> bool {
    match e {
        Expr::Or(a, b) => test(a, cur, root) || test(b, cur, root),
        Expr::And(a, b) => test(a, cur, root) && test(b, cur, root),
        Expr::Not(a) => !test(a, cur, root),
        Expr::Test(Operand::Lit(v)) => !matches!(v, Json::Null | Json::Bool(false)),
        Expr::Test(op) => operand(op, cur, root).is_some(),
        Expr::Cmp(a, op, b) => match (operand(a, cur, root), operand(b, cur, root)) {
            (Some(x), Some(y)) => compare(x, *op, y),
            _ => false,
        },
        Expr::Match(a, pattern) => {
            let Some(Json::Str(s)) = operand(a, cur, root) else { return false };
            match pattern {
                Pattern::Compiled(re) => re.as_ref().is_some_and(|re| re.is_match(s)),
                Pattern::Operand(p) => match operand(p, cur, root) {
                    Some(Json::Str(p)) => compile(p).is_some_and(|re| re.is_match(s)),
                    _ => false,
                },
            }
        }
    }
}

fn compare(x: &Json, op: Op, y: &Json) -> bool {
    let ord = match (x, y) {
        (Json::Int(a), Json::Int(b)) => Some(a.cmp(b)),
        (Json::Int(_) | Json::Float(_), Json::Int(_) | Json::Float(_)) => num(x).partial_cmp(&num(y)),
        (Json::Str(a), Json::Str(b)) => Some(a.cmp(b)),
        _ => {
            return match op {
                Op::Eq => x == y,
                Op::Ne => x != y,
                _ => false,
            }
        }
    };
    let Some(ord) = ord else { return matches!(op, Op::Ne) };
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
    }
}

fn num(v: &Json) -> f64 {
    match v {
        Json::Int(i) => *i as f64,
        Json::Float(f) => *f,
        _ => f64::NAN,
    }
}

/// Deepest nesting of filter expressions (parentheses, `!`, filters inside filters) a path
/// may have: parsing and evaluation recurse on it.
const MAX_NESTING: usize = 32;

struct Parser<'s> {
    s: &'s [u8],
    text: &'s str,
    i: usize,
    nesting: usize,
}

impl Parser<'_> {
    fn error(&self) -> CmdError {
        let at = (0..=self.i.min(self.s.len())).rev().find(|&p| self.text.is_char_boundary(p)).unwrap_or(0);
        CmdError::Other(format!(
            "Error occurred on position {}, \"{} ---->>>> {}\", expected a valid JSONPath",
            at,
            &self.text[..at],
            &self.text[at..]
        ))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, t: &str) -> bool {
        if self.s[self.i..].starts_with(t.as_bytes()) {
            self.i += t.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), CmdError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|c| c == b' ' || c == b'\t') {
            self.i += 1;
        }
    }

    fn whole(mut self) -> Result<Vec<Step>, CmdError> {
        self.expect(b'$')?;
        let steps = self.steps(false)?;
        if self.i != self.s.len() {
            return Err(self.error());
        }
        Ok(steps)
    }

    fn steps(&mut self, in_filter: bool) -> Result<Vec<Step>, CmdError> {
        let mut steps = Vec::new();
        loop {
            match self.peek() {
                Some(b'.') => {
                    self.i += 1;
                    if self.eat(b'.') {
                        let sel = match self.peek() {
                            Some(b'*') => {
                                self.i += 1;
                                Sel::Wild
                            }
                            Some(b'[') => self.bracket()?,
                            _ => Sel::Names(vec![self.name(in_filter)?]),
                        };
                        steps.push(Step::Descend(sel));
                    } else if self.eat(b'*') {
                        steps.push(Step::Child(Sel::Wild));
                    } else if self.peek() == Some(b'[') {
                        steps.push(Step::Child(self.bracket()?));
                    } else {
                        steps.push(Step::Child(Sel::Names(vec![self.name(in_filter)?])));
                    }
                }
                Some(b'[') => steps.push(Step::Child(self.bracket()?)),
                _ => return Ok(steps),
            }
        }
    }

    fn name(&mut self, in_filter: bool) -> Result<String, CmdError> {
        let start = self.i;
        while let Some(c) = self.peek() {
            let stop = match c {
                b'.' | b'[' | b']' => true,
                b' ' | b'\t' | b')' | b'(' | b'=' | b'!' | b'<' | b'>' | b'&' | b'|' | b',' => in_filter,
                _ => false,
            };
            if stop {
                break;
            }
            self.i += 1;
        }
        if self.i == start {
            return Err(self.error());
        }
        Ok(self.text[start..self.i].to_owned())
    }

    fn int(&mut self) -> Result<i64, CmdError> {
        let start = self.i;
        self.eat(b'-');
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.text[start..self.i].parse().map_err(|_| {
            self.i = start;
            self.error()
        })
    }

    fn opt_int(&mut self) -> Result<Option<i64>, CmdError> {
        self.ws();
        if self.peek().is_some_and(|c| c == b'-' || c.is_ascii_digit()) {
            let n = self.int()?;
            self.ws();
            Ok(Some(n))
        } else {
            Ok(None)
        }
    }

    fn quoted(&mut self) -> Result<String, CmdError> {
        let q = self.peek().ok_or_else(|| self.error())?;
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error()),
                Some(c) if c == q => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.peek().ok_or_else(|| self.error())?;
                    out.push(match c {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        c => c,
                    });
                    self.i += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| self.error())
    }

    fn bracket(&mut self) -> Result<Sel, CmdError> {
        self.expect(b'[')?;
        self.ws();
        let sel = match self.peek() {
            Some(b'*') => {
                self.i += 1;
                Sel::Wild
            }
            Some(b'?') => {
                self.i += 1;
                self.ws();
                let e = self.expr()?;
                Sel::Filter(Box::new(e))
            }
            Some(b'\'' | b'"') => {
                let mut names = Vec::new();
                loop {
                    self.ws();
                    names.push(self.quoted()?);
                    self.ws();
                    if !self.eat(b',') {
                        break;
                    }
                }
                Sel::Names(names)
            }
            Some(c) if c == b'-' || c == b':' || c.is_ascii_digit() => {
                let first = self.opt_int()?;
                if self.eat(b':') {
                    let end = self.opt_int()?;
                    let step = if self.eat(b':') { self.opt_int()? } else { None };
                    Sel::Slice(first, end, step)
                } else {
                    let mut idx = vec![first.ok_or_else(|| self.error())?];
                    while self.eat(b',') {
                        self.ws();
                        idx.push(self.int()?);
                        self.ws();
                    }
                    Sel::Indices(idx)
                }
            }
            _ => return Err(self.error()),
        };
        self.ws();
        self.expect(b']')?;
        Ok(sel)
    }

    fn expr(&mut self) -> Result<Expr, CmdError> {
        let mut left = self.and()?;
        loop {
            self.ws();
            if !self.eat_str("||") {
                return Ok(left);
            }
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
    }

    fn and(&mut self) -> Result<Expr, CmdError> {
        let mut left = self.unary()?;
        loop {
            self.ws();
            if !self.eat_str("&&") {
                return Ok(left);
            }
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, CmdError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.error());
        }
        let e = self.unary_inner();
        self.nesting -= 1;
        e
    }

    fn unary_inner(&mut self) -> Result<Expr, CmdError> {
        self.ws();
        if self.eat(b'!') {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat(b'(') {
            let e = self.expr()?;
            self.ws();
            self.expect(b')')?;
            return Ok(e);
        }
        let a = self.operand()?;
        self.ws();
        if self.eat_str("=~") {
            self.ws();
            let pattern = match self.operand()? {
                Operand::Lit(Json::Str(p)) => Pattern::Compiled(compile(&p)),
                Operand::Lit(_) => Pattern::Compiled(None),
                other => Pattern::Operand(other),
            };
            return Ok(Expr::Match(a, pattern));
        }
        let op = if self.eat_str("==") {
            Op::Eq
        } else if self.eat_str("!=") {
            Op::Ne
        } else if self.eat_str("<=") {
            Op::Le
        } else if self.eat_str(">=") {
            Op::Ge
        } else if self.eat(b'<') {
            Op::Lt
        } else if self.eat(b'>') {
            Op::Gt
        } else {
            return Ok(Expr::Test(a));
        };
        self.ws();
        let b = self.operand()?;
        Ok(Expr::Cmp(a, op, b))
    }

    fn operand(&mut self) -> Result<Operand, CmdError> {
        match self.peek() {
            Some(b'@') => {
                self.i += 1;
                Ok(Operand::Current(self.steps(true)?))
            }
            Some(b'$') => {
                self.i += 1;
                Ok(Operand::Root(self.steps(true)?))
            }
            Some(b'\'' | b'"') => Ok(Operand::Lit(Json::Str(self.quoted()?))),
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let start = self.i;
                while self.peek().is_some_and(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E')) {
                    self.i += 1;
                }
                super::parse(&self.s[start..self.i]).map(Operand::Lit).map_err(|_| {
                    self.i = start;
                    self.error()
                })
            }
            _ if self.eat_str("true") => Ok(Operand::Lit(Json::Bool(true))),
            _ if self.eat_str("false") => Ok(Operand::Lit(Json::Bool(false))),
            _ if self.eat_str("null") => Ok(Operand::Lit(Json::Null)),
            _ => Err(self.error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn doc() -> Json {
        parse(
            br#"{"a":1,"b":{"a":2,"c":[1,2,{"a":3}]},"arr":[10,20,30,40],"items":[{"x":1,"n":"p"},{"x":5,"n":"q","ok":true},{"x":2.5,"n":"r","ok":false}],"k k":"sp","nil":null}"#,
        )
        .unwrap()
    }

    fn q(path: &str) -> String {
        let d = doc();
        let p = Path::parse(path.as_bytes()).unwrap_or_else(|e| panic!("{path}: {e}"));
        let vals: Vec<Json> = p.values(&d).into_iter().cloned().collect();
        String::from_utf8(Json::Array(vals).to_bytes()).unwrap()
    }

    #[test]
    fn legacy_detection_and_rewrite() {
        for (p, legacy, fixed) in [
            ("$", false, "$"),
            ("$.a", false, "$.a"),
            ("$[0]", false, "$[0]"),
            (".", true, "$"),
            (".a.b", true, "$.a.b"),
            ("a.b", true, "$.a.b"),
            ("[\"k k\"]", true, "$.[\"k k\"]"),
            ("$a", true, "$.$a"),
        ] {
            let path = Path::parse(p.as_bytes()).unwrap();
            assert_eq!((path.is_legacy(), path.fixed()), (legacy, fixed), "{p}");
        }
        assert!(Path::parse(b".").unwrap().is_root());
        assert!(Path::parse(b"$").unwrap().is_root());
    }

    #[test]
    fn selectors() {
        assert_eq!(q("$"), format!("[{}]", String::from_utf8(doc().to_bytes()).unwrap()));
        assert_eq!(q("$.a"), "[1]");
        assert_eq!(q("a"), "[1]");
        assert_eq!(q(".b.c[2].a"), "[3]");
        assert_eq!(q("$..a"), "[3,2,1]"); // deeper first, as the hosted service
        assert_eq!(q("$.b.*"), r#"[2,[1,2,{"a":3}]]"#);
        assert_eq!(q("$.arr[-1]"), "[40]");
        assert_eq!(q("$.arr[0:2]"), "[10,20]");
        assert_eq!(q("$.arr[1:]"), "[20,30,40]");
        assert_eq!(q("$.arr[:-2]"), "[10,20]");
        assert_eq!(q("$.arr[::2]"), "[10,30]");
        assert_eq!(q("$.arr[::-1]"), "[40,30,20,10]");
        assert_eq!(q("$.arr[0,3]"), "[10,40]");
        assert_eq!(q("$.arr[9]"), "[]");
        assert_eq!(q("$['k k']"), r#"["sp"]"#);
        assert_eq!(q("$[\"a\",\"nil\"]"), "[1,null]");
        assert_eq!(q("$.missing"), "[]");
        assert_eq!(q("$.a.b"), "[]");
        assert!(q("$..*").len() > 10);
    }

    #[test]
    fn filters() {
        assert_eq!(q("$.items[?(@.x > 1)].n"), r#"["q","r"]"#);
        assert_eq!(q("$.items[?(@.x >= 1 && @.x < 5)].n"), r#"["p","r"]"#);
        assert_eq!(q("$.items[?(@.x == 1 || @.n == 'r')].n"), r#"["p","r"]"#);
        assert_eq!(q("$.items[?(@.n != \"q\")].x"), "[1,2.5]");
        assert_eq!(q("$.items[?(@.ok == true)].n"), r#"["q"]"#);
        assert_eq!(q("$.items[?(@.ok)].n"), r#"["q","r"]"#);
        assert_eq!(q("$.items[?(!@.ok)].n"), r#"["p"]"#);
        assert_eq!(q("$.items[?@.x==2.5].n"), r#"["r"]"#);
        assert_eq!(q("$.items[?(@.x > $.a)].n"), r#"["q","r"]"#);
        assert_eq!(q("$.arr[?(@ > 15)]"), "[20,30,40]");
        assert_eq!(q("$[?(@ == null)]"), "[null]");
        assert_eq!(q("$..[?(@.a == 3)]"), r#"[{"a":3}]"#);
    }

    #[test]
    fn syntax_errors() {
        for p in ["$.", "$[", "$[1", "$.a[x]", "$..", "$[?(@.a >)]", "$.a]", "$[?(@.a == 'x)]", "$[1:2:3:4]"] {
            let e = Path::parse(p.as_bytes()).unwrap_err().to_string();
            assert!(e.starts_with("Error occurred on position"), "{p}: {e}");
        }
        assert!(Path::parse(b"\xff").is_err());
        // Nesting is bounded (parsing and evaluation recurse on it).
        let deep = format!("$[?({}@.a{})]", "(".repeat(100_000), ")".repeat(100_000));
        assert!(Path::parse(deep.as_bytes()).is_err());
        let nots = format!("$[?({}@.a)]", "!".repeat(100_000));
        assert!(Path::parse(nots.as_bytes()).is_err());
        let filters = format!("$[?(@{}.a == 1{})]", "[?(@".repeat(10_000), ")]".repeat(10_000));
        assert!(Path::parse(filters.as_bytes()).is_err());
        assert!(Path::parse(b"$[?((((@.a == 1))))]").is_ok());
    }

    #[test]
    fn static_paths_and_locations() {
        assert!(Path::parse(b"$.a.b[0]").unwrap().is_static());
        assert!(!Path::parse(b"$..a").unwrap().is_static());
        assert!(!Path::parse(b"$.*").unwrap().is_static());
        let (parent, last) = Path::parse(b"$.b.new").unwrap().split_last().unwrap();
        assert_eq!(last, Last::Key("new".into()));
        let d = doc();
        assert_eq!(parent.eval(&d)[0].0, vec![Seg::Key("b".into())]);
        let locs: Vec<Vec<Seg>> = Path::parse(b"$..a").unwrap().eval(&d).into_iter().map(|(l, _)| l).collect();
        assert_eq!(locs[0], vec![Seg::Key("b".into()), Seg::Key("c".into()), Seg::Idx(2), Seg::Key("a".into())]);
        assert_eq!(Path::parse(b"$.nope").unwrap().first(&d).unwrap_err().to_string(), "ERR Path '$.nope' does not exist");
    }
}
