//! The text form of auto playlist rules.
//!
//! ```text
//! expr    := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" unary | "(" expr ")" | "all" | "none" | test
//! test    := FIELD OP value
//! ```
//!
//! | fields | operators | values |
//! | --- | --- | --- |
//! | `title artist album albumartist genre path ext` | `=` `!=` `~` (contains) `!~` `in (a, b)` | a bare word or a `"quoted string"` (`\"` and `\\` escape) |
//! | `track disc year duration` (s) `bitrate` (kbit/s) `samplerate` `channels` `rating` (0-100) `playcount` `size` (bytes) | `=` `!=` `<` `<=` `>` `>=` `in 1990..1999` `in (1, 2)` | a whole number |
//! | `added played modified` | `<` (within) `>` (longer ago) | a number with a unit: `s`, `h`, `d`, `w` |
//!
//! Keywords and field names ignore case. Examples: `genre=Jazz and rating>=80`,
//! `artist~"Miles" or (year in 1955..1965 and not played<7d)`, `genre in (Jazz, Blues)`.

use std::fmt;
use std::time::Duration;

use super::lex::{Kind, Token, tokenize};
use super::rule::{
    AutoPlaylist, DateField, DateTest, Field, Limits, NumberField, NumberTest, Rule, SortKey,
    TextField, TextTest,
};

/// Why a rule text did not parse, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleParseError {
    /// Byte offset in the input where the problem is.
    pub position: usize,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for RuleParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule error at byte {}: {}", self.position, self.message)
    }
}

impl std::error::Error for RuleParseError {}

impl From<RuleParseError> for crate::Error {
    /// A rule that does not parse is an invalid argument.
    fn from(_: RuleParseError) -> crate::Error {
        crate::Error::InvalidArg
    }
}

/// Parses the text form of a rule.
///
/// ```
/// use wmdm::library::parse_rule;
///
/// let rule = parse_rule("genre = Jazz and rating >= 80").unwrap();
/// assert_eq!(rule.to_string(), "(genre = \"Jazz\" and rating >= 80)");
/// let err = parse_rule("genre = ").unwrap_err();
/// assert_eq!(err.position, 8);
/// ```
///
/// # Errors
/// A [`RuleParseError`] with the byte position and a message for an unknown field, an operator
/// the field does not take, a malformed value, unbalanced parentheses, nesting deeper than 64
/// levels, or trailing text.
pub fn parse_rule(text: &str) -> Result<Rule, RuleParseError> {
    let tokens = tokenize(text)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        end: text.len(),
        depth: 0,
    };
    let rule = p.expr()?;
    match p.peek() {
        None => Ok(rule),
        Some(t) => Err(p.error_at(t.at, format!("unexpected {} after the rule", t.kind))),
    }
}

/// Parses an auto playlist: a rule, then optional `order by` and `limit` clauses.
///
/// ```text
/// auto    := expr ["order" "by" FIELD ["asc"|"desc"] ("," FIELD ["asc"|"desc"])*] limit*
/// limit   := "limit" NUMBER [UNIT]
/// UNIT    := "tracks" | "items" (a count; the default) | "B" | "KB" | "MB" | "GB" (1024-based)
///          | "s" | "min" | "h" (total playing time)
/// ```
///
/// ```
/// use wmdm::library::parse_auto_playlist;
///
/// let p = parse_auto_playlist("genre = Jazz order by rating desc, title limit 50 limit 2GB").unwrap();
/// assert_eq!(p.sort.len(), 2);
/// assert_eq!(p.limits.max_tracks, Some(50));
/// assert_eq!(p.limits.max_bytes, Some(2 << 30));
/// assert_eq!(parse_auto_playlist(&p.to_string()).unwrap(), p);
/// ```
///
/// # Errors
/// A [`RuleParseError`] as for [`parse_rule`], and for an unknown sort field, a limit without a
/// number, an unknown unit, or a limit given twice.
pub fn parse_auto_playlist(text: &str) -> Result<AutoPlaylist, RuleParseError> {
    let tokens = tokenize(text)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        end: text.len(),
        depth: 0,
    };
    let mut auto = AutoPlaylist::new(p.expr()?);
    if p.keyword("order") {
        p.next();
        if !p.keyword("by") {
            return Err(p.error_at(p.here(), "expected 'by' after 'order'".into()));
        }
        p.next();
        loop {
            let at = p.here();
            let name = p.text_value()?;
            let field = match field_named(&name) {
                Some(AnyField::Text(f)) => Field::Text(f),
                Some(AnyField::Number(f)) => Field::Number(f),
                Some(AnyField::Date(f)) => Field::Date(f),
                None => return Err(p.error_at(at, format!("unknown sort field '{name}'"))),
            };
            let mut descending = false;
            if p.keyword("desc") || p.keyword("asc") {
                descending = p.keyword("desc");
                p.next();
            }
            auto.sort.push(SortKey { field, descending });
            if matches!(
                p.peek(),
                Some(Token {
                    kind: Kind::Comma,
                    ..
                })
            ) {
                p.next();
            } else {
                break;
            }
        }
    }
    while p.keyword("limit") {
        p.next();
        p.limit(&mut auto.limits)?;
    }
    match p.peek() {
        None => Ok(auto),
        Some(t) => Err(p.error_at(
            t.at,
            format!("unexpected {} after the auto playlist", t.kind),
        )),
    }
}

const MAX_DEPTH: usize = 64;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
    depth: usize,
}

enum AnyField {
    Text(TextField),
    Number(NumberField),
    Date(DateField),
}

fn field_named(name: &str) -> Option<AnyField> {
    use AnyField::*;
    Some(match name.to_ascii_lowercase().as_str() {
        "title" => Text(TextField::Title),
        "artist" => Text(TextField::Artist),
        "album" => Text(TextField::Album),
        "albumartist" => Text(TextField::AlbumArtist),
        "genre" => Text(TextField::Genre),
        "path" => Text(TextField::Path),
        "ext" | "extension" | "format" => Text(TextField::Extension),
        "track" | "tracknumber" => Number(NumberField::TrackNumber),
        "disc" => Number(NumberField::Disc),
        "year" => Number(NumberField::Year),
        "duration" | "length" => Number(NumberField::Duration),
        "bitrate" => Number(NumberField::Bitrate),
        "samplerate" => Number(NumberField::SampleRate),
        "channels" => Number(NumberField::Channels),
        "rating" => Number(NumberField::Rating),
        "playcount" | "plays" => Number(NumberField::PlayCount),
        "size" => Number(NumberField::Size),
        "added" => Date(DateField::Added),
        "played" | "lastplayed" => Date(DateField::LastPlayed),
        "modified" => Date(DateField::Modified),
        _ => return None,
    })
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += usize::from(t.is_some());
        t
    }

    fn here(&self) -> usize {
        self.peek().map_or(self.end, |t| t.at)
    }

    fn error_at(&self, position: usize, message: String) -> RuleParseError {
        RuleParseError { position, message }
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token { kind: Kind::Word(w), .. }) if w.eq_ignore_ascii_case(word))
    }

    /// `NUMBER [UNIT]` after `limit`, where the unit may be glued to the number (`2GB`).
    fn limit(&mut self, limits: &mut Limits) -> Result<(), RuleParseError> {
        let at = self.here();
        let word = self.text_value()?;
        let digits = word
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(word.len());
        let (num, glued) = word.split_at(digits);
        let n: u64 = num.parse().map_err(|_| {
            self.error_at(
                at,
                format!("expected a number after 'limit', found '{word}'"),
            )
        })?;
        let unit = if glued.is_empty() {
            match self.peek() {
                Some(Token {
                    kind: Kind::Word(w),
                    ..
                }) if LIMIT_UNITS.iter().any(|u| u.eq_ignore_ascii_case(w)) => {
                    let w = w.clone();
                    self.next();
                    w
                }
                _ => String::new(),
            }
        } else {
            glued.to_owned()
        };
        let too_big = || self.error_at(at, format!("limit {word} is too large"));
        let twice = |what: &str| self.error_at(at, format!("a {what} limit is given twice"));
        match unit.to_ascii_lowercase().as_str() {
            "" | "tracks" | "items" => {
                let n = usize::try_from(n).map_err(|_| too_big())?;
                if limits.max_tracks.replace(n).is_some() {
                    return Err(twice("count"));
                }
            }
            u @ ("b" | "kb" | "mb" | "gb") => {
                let shift = match u {
                    "b" => 0,
                    "kb" => 10,
                    "mb" => 20,
                    _ => 30,
                };
                let bytes = n.checked_mul(1 << shift).ok_or_else(too_big)?;
                if limits.max_bytes.replace(bytes).is_some() {
                    return Err(twice("size"));
                }
            }
            u @ ("s" | "min" | "h") => {
                let mult = match u {
                    "s" => 1,
                    "min" => 60,
                    _ => 3600,
                };
                let secs = n.checked_mul(mult).ok_or_else(too_big)?;
                if limits
                    .max_duration
                    .replace(Duration::from_secs(secs))
                    .is_some()
                {
                    return Err(twice("duration"));
                }
            }
            other => {
                return Err(self.error_at(
                    at,
                    format!("unknown limit unit '{other}' (tracks, B, KB, MB, GB, s, min, h)"),
                ));
            }
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Rule, RuleParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(
                self.here(),
                format!("rule nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let mut any = vec![self.and()?];
        while self.keyword("or") {
            self.next();
            any.push(self.and()?);
        }
        self.depth -= 1;
        Ok(if any.len() == 1 {
            any.remove(0)
        } else {
            Rule::Any(any)
        })
    }

    fn and(&mut self) -> Result<Rule, RuleParseError> {
        let mut all = vec![self.unary()?];
        while self.keyword("and") {
            self.next();
            all.push(self.unary()?);
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Rule::All(all)
        })
    }

    fn unary(&mut self) -> Result<Rule, RuleParseError> {
        let at = self.here();
        let Some(tok) = self.next() else {
            return Err(self.error_at(
                at,
                "expected a test such as genre=Jazz, found the end".into(),
            ));
        };
        match tok.kind {
            Kind::Open => {
                let r = self.expr()?;
                match self.next() {
                    Some(Token {
                        kind: Kind::Close, ..
                    }) => Ok(r),
                    Some(t) => Err(self.error_at(t.at, format!("expected ')', found {}", t.kind))),
                    None => {
                        Err(self.error_at(self.end, format!("'(' at byte {at} is never closed")))
                    }
                }
            }
            Kind::Word(w) if w.eq_ignore_ascii_case("not") => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(
                        self.error_at(at, format!("rule nested deeper than {MAX_DEPTH} levels"))
                    );
                }
                let r = self.unary()?;
                self.depth -= 1;
                Ok(Rule::Not(Box::new(r)))
            }
            Kind::Word(w) if w.eq_ignore_ascii_case("all") => Ok(Rule::All(Vec::new())),
            Kind::Word(w) if w.eq_ignore_ascii_case("none") => Ok(Rule::Any(Vec::new())),
            Kind::Word(w) => match field_named(&w) {
                Some(f) => self.test(f),
                None => Err(self.error_at(at, format!("unknown field '{w}'"))),
            },
            other => Err(self.error_at(at, format!("expected a field name, found {other}"))),
        }
    }

    fn op(&mut self) -> Result<(&'static str, usize), RuleParseError> {
        let at = self.here();
        match self.next() {
            Some(Token {
                kind: Kind::Op(o), ..
            }) => Ok((o, at)),
            Some(Token {
                kind: Kind::Word(w),
                ..
            }) if w.eq_ignore_ascii_case("in") => Ok(("in", at)),
            Some(t) => Err(self.error_at(t.at, format!("expected an operator, found {}", t.kind))),
            None => Err(self.error_at(at, "expected an operator, found the end".into())),
        }
    }

    fn text_value(&mut self) -> Result<String, RuleParseError> {
        let at = self.here();
        match self.next() {
            Some(Token {
                kind: Kind::Word(w) | Kind::Quoted(w),
                ..
            }) => Ok(w),
            Some(t) => Err(self.error_at(t.at, format!("expected a value, found {}", t.kind))),
            None => Err(self.error_at(at, "expected a value, found the end".into())),
        }
    }

    fn number(&mut self) -> Result<u64, RuleParseError> {
        let at = self.here();
        let w = self.text_value()?;
        w.parse::<u64>()
            .map_err(|_| self.error_at(at, format!("expected a whole number, found '{w}'")))
    }

    /// `( v, v, ... )` after the opening parenthesis has been seen.
    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, RuleParseError>,
    ) -> Result<Vec<T>, RuleParseError> {
        let mut v = vec![item(self)?];
        loop {
            let at = self.here();
            match self.next() {
                Some(Token {
                    kind: Kind::Comma, ..
                }) => v.push(item(self)?),
                Some(Token {
                    kind: Kind::Close, ..
                }) => return Ok(v),
                Some(t) => {
                    return Err(
                        self.error_at(t.at, format!("expected ',' or ')', found {}", t.kind))
                    );
                }
                None => return Err(self.error_at(at, "unclosed list: expected ')'".into())),
            }
        }
    }

    fn open_paren(&mut self) -> Result<bool, RuleParseError> {
        if matches!(
            self.peek(),
            Some(Token {
                kind: Kind::Open,
                ..
            })
        ) {
            self.next();
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn test(&mut self, field: AnyField) -> Result<Rule, RuleParseError> {
        let (op, op_at) = self.op()?;
        let not = |r: Rule| Rule::Not(Box::new(r));
        match field {
            AnyField::Text(field) => {
                let test = match op {
                    "=" | "!=" => TextTest::Equals(self.text_value()?),
                    "~" | "!~" => TextTest::Contains(self.text_value()?),
                    "in" => {
                        if !self.open_paren()? {
                            return Err(self.error_at(
                                self.here(),
                                "expected '(' to start a list after 'in'".into(),
                            ));
                        }
                        TextTest::OneOf(self.list(|p| p.text_value())?)
                    }
                    _ => {
                        return Err(self.error_at(
                            op_at,
                            format!("'{op}' does not apply to the text field '{}' (use =, !=, ~, !~ or in)", field.name()),
                        ));
                    }
                };
                let r = Rule::Text { field, test };
                Ok(if op.starts_with('!') { not(r) } else { r })
            }
            AnyField::Number(field) => {
                let test = match op {
                    "=" | "!=" => NumberTest::Equals(self.number()?),
                    "<" => NumberTest::Less(self.number()?),
                    "<=" => NumberTest::AtMost(self.number()?),
                    ">" => NumberTest::Greater(self.number()?),
                    ">=" => NumberTest::AtLeast(self.number()?),
                    "in" => {
                        if self.open_paren()? {
                            NumberTest::OneOf(self.list(|p| p.number())?)
                        } else {
                            let lo = self.number()?;
                            match self.next() {
                                Some(Token {
                                    kind: Kind::Range, ..
                                }) => {}
                                Some(t) => {
                                    return Err(self.error_at(
                                        t.at,
                                        format!("expected '..' in a range, found {}", t.kind),
                                    ));
                                }
                                None => {
                                    return Err(
                                        self.error_at(self.end, "expected '..' in a range".into())
                                    );
                                }
                            }
                            let at = self.here();
                            let hi = self.number()?;
                            if hi < lo {
                                return Err(self.error_at(at, format!("empty range {lo}..{hi}")));
                            }
                            NumberTest::Between(lo, hi)
                        }
                    }
                    _ => {
                        return Err(self.error_at(
                            op_at,
                            format!(
                                "'{op}' does not apply to the number field '{}'",
                                field.name()
                            ),
                        ));
                    }
                };
                let r = Rule::Number { field, test };
                Ok(if op == "!=" { not(r) } else { r })
            }
            AnyField::Date(field) => {
                let at = self.here();
                let raw = self.text_value()?;
                let d = parse_age(&raw).ok_or_else(|| {
                    self.error_at(
                        at,
                        format!("expected an age such as 30d, 12h, 2w or 90s, found '{raw}'"),
                    )
                })?;
                let test = match op {
                    "<" | "<=" => DateTest::Within(d),
                    ">" | ">=" => DateTest::OlderThan(d),
                    _ => {
                        return Err(self.error_at(
                            op_at,
                            format!(
                                "'{op}' does not apply to '{}': use < (within) or > (longer ago)",
                                field.name()
                            ),
                        ));
                    }
                };
                Ok(Rule::Date { field, test })
            }
        }
    }
}

const LIMIT_UNITS: [&str; 9] = ["tracks", "items", "b", "kb", "mb", "gb", "s", "min", "h"];

fn parse_age(s: &str) -> Option<Duration> {
    let unit = s.chars().last()?;
    let n: u64 = s.get(..s.len() - unit.len_utf8())?.parse().ok()?;
    let secs = match unit.to_ascii_lowercase() {
        's' => n,
        'h' => n.checked_mul(3600)?,
        'd' => n.checked_mul(86_400)?,
        'w' => n.checked_mul(7 * 86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_from_the_brief() {
        for s in [
            "genre=Jazz and rating>=80",
            "artist~\"Miles\"",
            "added<30d",
            "played<7d",
            "year in 1990..1999",
            "genre in (Jazz, Blues)",
            "(genre = Jazz or genre = Blues) and not played < 7d",
            "all",
            "NONE or ext = mp3",
        ] {
            let r = parse_rule(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(parse_rule(&r.to_string()).unwrap(), r, "{s}");
        }
        assert_eq!(
            parse_rule("year in 1990..1999").unwrap(),
            Rule::Number {
                field: NumberField::Year,
                test: NumberTest::Between(1990, 1999)
            }
        );
        assert_eq!(
            parse_rule("played<7d").unwrap(),
            Rule::played_within_days(7)
        );
    }

    #[test]
    fn auto_playlists() {
        let p =
            parse_auto_playlist("all order by added desc limit 30 min limit 10 tracks").unwrap();
        assert_eq!(p.limits.max_duration, Some(Duration::from_secs(1800)));
        assert_eq!(p.limits.max_tracks, Some(10));
        assert_eq!(parse_auto_playlist(&p.to_string()).unwrap(), p);
        let e = |s: &str| parse_auto_playlist(s).unwrap_err();
        assert_eq!(e("all order rating").position, 10);
        assert_eq!(e("all order by colour").position, 13);
        assert_eq!(e("all limit 5 limit 6").position, 18);
        assert_eq!(e("all limit 5 parsecs").position, 12);
        assert_eq!(e("all limit 5TB").position, 10);
        assert_eq!(e("all limit").position, 9);
        assert!(e("all limit 99999999999GB").message.contains("too large"));
    }

    #[test]
    fn errors_have_positions() {
        let e = |s: &str| parse_rule(s).unwrap_err();
        assert_eq!(e("colour = red").position, 0);
        assert_eq!(e("genre < Jazz").position, 6);
        assert_eq!(e("rating >= high").position, 10);
        assert_eq!(e("(genre = a").position, 10);
        assert!(e("(genre = a").message.contains("never closed"));
        assert_eq!(e("genre = a b").position, 10);
        assert_eq!(e("year in 1999..1990").position, 14);
        assert_eq!(e("added < 30x").position, 8);
        assert_eq!(e("title = \"open").position, 8);
        assert_eq!(e("").position, 0);
        assert_eq!(e("genre ! a").position, 6);
        assert!(e(&"(".repeat(10_000)).message.contains("deeper"));
        assert!(e(&"not ".repeat(10_000)).message.contains("deeper"));
    }
}
