//! Glob-style matching with Redis's `stringmatchlen` rules (`*`, `?`, `[a-z]`, `[^x]`, `\` escapes).

/// True if `s` matches `pattern`.
pub fn matches(pattern: &[u8], s: &[u8]) -> bool {
    match_impl(pattern, s, false, 0)
}

/// True if `s` matches `pattern`, ignoring ASCII case.
pub fn matches_nocase(pattern: &[u8], s: &[u8]) -> bool {
    match_impl(pattern, s, true, 0)
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn match_impl(mut p: &[u8], mut s: &[u8], nocase: bool, depth: usize) -> bool {
    // Bound recursion like Redis (which limits nesting to avoid stack overflows on `*****`).
    if depth > 1000 {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for i in 0..=s.len() {
                    if match_impl(&p[1..], &s[i..], nocase, depth + 1) {
                        return true;
                    }
                }
                return false;
            }
            b'?' => {
                s = &s[1..];
            }
            b'[' => {
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    if p.is_empty() {
                        break;
                    }
                    if p[0] == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if eq(p[0], s[0], nocase) {
                            matched = true;
                        }
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut a, mut b) = (p[0], p[2]);
                        if a > b {
                            std::mem::swap(&mut a, &mut b);
                        }
                        let c = s[0];
                        let hit = if nocase {
                            let lc = c.to_ascii_lowercase();
                            (a.to_ascii_lowercase()..=b.to_ascii_lowercase()).contains(&lc)
                        } else {
                            (a..=b).contains(&c)
                        };
                        if hit {
                            matched = true;
                        }
                        p = &p[2..];
                    } else if eq(p[0], s[0], nocase) {
                        matched = true;
                    }
                    p = &p[1..];
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
                if p.is_empty() {
                    // Unterminated class: Redis treats the pattern as ended.
                    return s.is_empty();
                }
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if !eq(p[0], s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if !eq(c, s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    while s.is_empty() && p.first() == Some(&b'*') {
        p = &p[1..];
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_cases() {
        assert!(matches(b"*", b"anything"));
        assert!(matches(b"h?llo", b"hello"));
        assert!(matches(b"h*llo", b"heeeello"));
        assert!(matches(b"h[ae]llo", b"hallo"));
        assert!(!matches(b"h[^e]llo", b"hello"));
        assert!(matches(b"h[a-b]llo", b"hbllo"));
        assert!(matches(b"user:*", b"user:1"));
        assert!(!matches(b"user:*", b"users"));
        assert!(matches(b"a\\*b", b"a*b"));
        assert!(matches(b"*", b""));
        assert!(!matches(b"?", b""));
        assert!(matches_nocase(b"HELLO*", b"hello world"));
        assert!(!matches(&[b'*'; 50].iter().chain(b"x").copied().collect::<Vec<_>>(), b"aaaaaaaaaaaaaaaaaaaaaaaa"));
    }
}
