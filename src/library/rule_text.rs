//! The text form of rules and auto playlists: field names and `Display` impls, which
//! [`parse_rule`](super::parse_rule) and [`parse_auto_playlist`](super::parse_auto_playlist) read
//! back.

use std::fmt;
use std::time::Duration;

use super::rule::{
    AutoPlaylist, DateField, DateTest, Field, NumberField, NumberTest, Rule, TextField, TextTest,
};

const DAY: u64 = 86_400;

impl Field {
    /// The name in the text form.
    pub const fn name(self) -> &'static str {
        match self {
            Field::Text(f) => f.name(),
            Field::Number(f) => f.name(),
            Field::Date(f) => f.name(),
        }
    }
}

/// The text form that [`parse_auto_playlist`](super::parse_auto_playlist) reads back: the rule,
/// then `order by` and `limit` clauses (bytes as `B`, durations in whole seconds).
impl fmt::Display for AutoPlaylist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.rule)?;
        for (i, k) in self.sort.iter().enumerate() {
            f.write_str(if i == 0 { " order by " } else { ", " })?;
            f.write_str(k.field.name())?;
            if k.descending {
                f.write_str(" desc")?;
            }
        }
        if let Some(n) = self.limits.max_tracks {
            write!(f, " limit {n} tracks")?;
        }
        if let Some(n) = self.limits.max_bytes {
            write!(f, " limit {n} B")?;
        }
        if let Some(d) = self.limits.max_duration {
            write!(f, " limit {} s", d.as_secs())?;
        }
        Ok(())
    }
}

impl TextField {
    /// The name in the rule text form.
    pub const fn name(self) -> &'static str {
        match self {
            TextField::Title => "title",
            TextField::Artist => "artist",
            TextField::Album => "album",
            TextField::AlbumArtist => "albumartist",
            TextField::Genre => "genre",
            TextField::Path => "path",
            TextField::Extension => "ext",
        }
    }
}

impl NumberField {
    /// The name in the rule text form.
    pub const fn name(self) -> &'static str {
        match self {
            NumberField::TrackNumber => "track",
            NumberField::Disc => "disc",
            NumberField::Year => "year",
            NumberField::Duration => "duration",
            NumberField::Bitrate => "bitrate",
            NumberField::SampleRate => "samplerate",
            NumberField::Channels => "channels",
            NumberField::Rating => "rating",
            NumberField::PlayCount => "playcount",
            NumberField::Size => "size",
        }
    }
}

impl DateField {
    /// The name in the rule text form.
    pub const fn name(self) -> &'static str {
        match self {
            DateField::Added => "added",
            DateField::LastPlayed => "played",
            DateField::Modified => "modified",
        }
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

fn write_duration(f: &mut fmt::Formatter<'_>, d: Duration) -> fmt::Result {
    let s = d.as_secs();
    if s.is_multiple_of(DAY) {
        write!(f, "{}d", s / DAY)
    } else if s.is_multiple_of(3600) {
        write!(f, "{}h", s / 3600)
    } else {
        write!(f, "{s}s")
    }
}

/// The text form, which [`parse_rule`](super::parse_rule) reads back to an equal rule (durations
/// in whole seconds).
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = |f: &mut fmt::Formatter<'_>, v: &[Rule], op: &str| -> fmt::Result {
            f.write_str("(")?;
            for (i, r) in v.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{r}")?;
            }
            f.write_str(")")
        };
        match self {
            Rule::All(v) if v.is_empty() => f.write_str("all"),
            Rule::Any(v) if v.is_empty() => f.write_str("none"),
            Rule::All(v) => group(f, v, "and"),
            Rule::Any(v) => group(f, v, "or"),
            Rule::Not(r) => write!(f, "not {r}"),
            Rule::Text { field, test } => {
                write!(f, "{} ", field.name())?;
                match test {
                    TextTest::Equals(s) => {
                        f.write_str("= ")?;
                        write_quoted(f, s)
                    }
                    TextTest::Contains(s) => {
                        f.write_str("~ ")?;
                        write_quoted(f, s)
                    }
                    TextTest::OneOf(v) => {
                        f.write_str("in (")?;
                        for (i, s) in v.iter().enumerate() {
                            if i > 0 {
                                f.write_str(", ")?;
                            }
                            write_quoted(f, s)?;
                        }
                        f.write_str(")")
                    }
                }
            }
            Rule::Number { field, test } => {
                write!(f, "{} ", field.name())?;
                match test {
                    NumberTest::Equals(x) => write!(f, "= {x}"),
                    NumberTest::Less(x) => write!(f, "< {x}"),
                    NumberTest::AtMost(x) => write!(f, "<= {x}"),
                    NumberTest::Greater(x) => write!(f, "> {x}"),
                    NumberTest::AtLeast(x) => write!(f, ">= {x}"),
                    NumberTest::Between(a, b) => write!(f, "in {a}..{b}"),
                    NumberTest::OneOf(v) => {
                        f.write_str("in (")?;
                        for (i, x) in v.iter().enumerate() {
                            if i > 0 {
                                f.write_str(", ")?;
                            }
                            write!(f, "{x}")?;
                        }
                        f.write_str(")")
                    }
                }
            }
            Rule::Date { field, test } => {
                write!(f, "{} ", field.name())?;
                match test {
                    DateTest::Within(d) => {
                        f.write_str("< ")?;
                        write_duration(f, *d)
                    }
                    DateTest::OlderThan(d) => {
                        f.write_str("> ")?;
                        write_duration(f, *d)
                    }
                }
            }
        }
    }
}
