//! The tokenizer of the rule text form.

use std::fmt;

use super::parse::RuleParseError;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Kind {
    Word(String),
    Quoted(String),
    Op(&'static str),
    Open,
    Close,
    Comma,
    Range,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Word(w) => write!(f, "'{w}'"),
            Kind::Quoted(w) => write!(f, "\"{w}\""),
            Kind::Op(o) => write!(f, "'{o}'"),
            Kind::Open => f.write_str("'('"),
            Kind::Close => f.write_str("')'"),
            Kind::Comma => f.write_str("','"),
            Kind::Range => f.write_str("'..'"),
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct Token {
    pub(super) kind: Kind,
    pub(super) at: usize,
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !"()\",=!~<>".contains(c)
}

pub(super) fn tokenize(text: &str) -> Result<Vec<Token>, RuleParseError> {
    let mut out = Vec::new();
    let mut it = text.char_indices().peekable();
    while let Some(&(at, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
            continue;
        }
        let simple = |kind| Token { kind, at };
        match c {
            '(' | ')' | ',' => {
                it.next();
                out.push(simple(match c {
                    '(' => Kind::Open,
                    ')' => Kind::Close,
                    _ => Kind::Comma,
                }));
            }
            '"' => {
                it.next();
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, c)) = it.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match it.next() {
                            Some((_, e @ ('"' | '\\'))) => s.push(e),
                            Some((p, e)) => {
                                return Err(RuleParseError {
                                    position: p,
                                    message: format!("unknown escape '\\{e}' (only \\\" and \\\\)"),
                                });
                            }
                            None => break,
                        },
                        c => s.push(c),
                    }
                }
                if !closed {
                    return Err(RuleParseError {
                        position: at,
                        message: "unterminated quoted string".into(),
                    });
                }
                out.push(simple(Kind::Quoted(s)));
            }
            '=' | '!' | '~' | '<' | '>' => {
                it.next();
                let next = it.peek().map(|&(_, c)| c);
                let op = match (c, next) {
                    ('!', Some('=')) => "!=",
                    ('!', Some('~')) => "!~",
                    ('<', Some('=')) => "<=",
                    ('>', Some('=')) => ">=",
                    ('!', _) => {
                        return Err(RuleParseError {
                            position: at,
                            message: "'!' must be followed by '=' or '~'".into(),
                        });
                    }
                    ('=', _) => "=",
                    ('~', _) => "~",
                    ('<', _) => "<",
                    _ => ">",
                };
                if op.len() == 2 {
                    it.next();
                }
                out.push(simple(Kind::Op(op)));
            }
            '.' if text.get(at..).is_some_and(|r| r.starts_with("..")) => {
                it.next();
                it.next();
                out.push(simple(Kind::Range));
            }
            _ => {
                // A word may hold single dots ("a.mp3") but stops before a range's "..".
                let mut s = String::new();
                while let Some(&(i, c)) = it.peek() {
                    let range = text.get(i..).is_some_and(|r| r.starts_with(".."));
                    if !is_word_char(c) || range {
                        break;
                    }
                    s.push(c);
                    it.next();
                }
                out.push(simple(Kind::Word(s)));
            }
        }
    }
    Ok(out)
}
