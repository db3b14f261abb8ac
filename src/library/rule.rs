//! Auto playlist rules: a typed rule tree, its evaluation, sort orders and limits.
//!
//! A rule is a tree of [`Rule::All`] / [`Rule::Any`] / [`Rule::Not`] groups over leaf tests on
//! one field each. Text tests ignore case (Unicode lower case). A test on a value the track does
//! not have (no year, never played) is false, like SQL's NULL; wrap it in [`Rule::Not`] to select
//! the tracks without the value. The text form is in [`parse`](super::parse_rule).

use std::cmp::Ordering;
use std::time::{Duration, SystemTime};

use super::track::{Track, TrackId};
use crate::time::Clock;

/// A text field of a track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextField {
    /// [`Track::title`].
    Title,
    /// [`Track::artist`].
    Artist,
    /// [`Track::album`].
    Album,
    /// [`Track::album_artist`] as stored (empty when the file has none).
    AlbumArtist,
    /// [`Track::genre`].
    Genre,
    /// [`Track::relative_path`].
    Path,
    /// The file name extension, lower case, without the dot.
    Extension,
}

/// A numeric field of a track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NumberField {
    /// [`Track::track_number`].
    TrackNumber,
    /// [`Track::disc`].
    Disc,
    /// [`Track::year`].
    Year,
    /// [`Track::duration`] in whole seconds.
    Duration,
    /// [`Track::bitrate`] in kilobits per second (bits / 1000, rounded down).
    Bitrate,
    /// [`Track::sample_rate`] in hertz.
    SampleRate,
    /// [`Track::channels`].
    Channels,
    /// [`Track::rating`], 0-100.
    Rating,
    /// [`Track::play_count`].
    PlayCount,
    /// [`Track::size`] in bytes.
    Size,
}

/// A time field of a track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DateField {
    /// [`Track::date_added`].
    Added,
    /// [`Track::last_played`] (absent when never played).
    LastPlayed,
    /// [`Track::modified`], the file's modification time.
    Modified,
}

/// Any field, for sort keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// A text field.
    Text(TextField),
    /// A numeric field.
    Number(NumberField),
    /// A time field.
    Date(DateField),
}

/// A test on a text field (case-insensitive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextTest {
    /// The whole value equals this.
    Equals(String),
    /// The value contains this.
    Contains(String),
    /// The value equals one of these.
    OneOf(Vec<String>),
}

/// A test on a numeric field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NumberTest {
    /// Equal.
    Equals(u64),
    /// Strictly less.
    Less(u64),
    /// Less or equal.
    AtMost(u64),
    /// Strictly greater.
    Greater(u64),
    /// Greater or equal.
    AtLeast(u64),
    /// Within the inclusive range.
    Between(u64, u64),
    /// Equal to one of these.
    OneOf(Vec<u64>),
}

/// A test on a time field, relative to the evaluation time ("now").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateTest {
    /// At most this long before now (a time in the future counts as within).
    Within(Duration),
    /// More than this long before now.
    OlderThan(Duration),
}

/// An auto playlist rule.
///
/// ```
/// use wmdm::library::{Rule, TextField, TextTest};
///
/// let jazz_i_like = Rule::All(vec![
///     Rule::Text { field: TextField::Genre, test: TextTest::Equals("Jazz".into()) },
///     Rule::rating_at_least(80),
/// ]);
/// assert_eq!(jazz_i_like.to_string(), "(genre = \"Jazz\" and rating >= 80)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Every sub-rule holds (true when empty).
    All(Vec<Rule>),
    /// At least one sub-rule holds (false when empty).
    Any(Vec<Rule>),
    /// The sub-rule does not hold.
    Not(Box<Rule>),
    /// A test on a text field.
    Text {
        /// The field.
        field: TextField,
        /// The test.
        test: TextTest,
    },
    /// A test on a numeric field; false when the track has no value.
    Number {
        /// The field.
        field: NumberField,
        /// The test.
        test: NumberTest,
    },
    /// A test on a time field; false when the track has no value.
    Date {
        /// The field.
        field: DateField,
        /// The test.
        test: DateTest,
    },
}

const DAY: u64 = 86_400;

impl Rule {
    /// Added within the last `days` days.
    pub fn added_within_days(days: u64) -> Rule {
        Rule::Date {
            field: DateField::Added,
            test: DateTest::Within(Duration::from_secs(days.saturating_mul(DAY))),
        }
    }

    /// Played within the last `days` days.
    pub fn played_within_days(days: u64) -> Rule {
        Rule::Date {
            field: DateField::LastPlayed,
            test: DateTest::Within(Duration::from_secs(days.saturating_mul(DAY))),
        }
    }

    /// Rating (0-100) at least `rating`.
    pub fn rating_at_least(rating: u8) -> Rule {
        Rule::Number {
            field: NumberField::Rating,
            test: NumberTest::AtLeast(u64::from(rating)),
        }
    }

    /// Whether a track matches at time `now`. Prefer [`AutoPlaylist::evaluate`] for many
    /// tracks: it prepares the rule once.
    pub fn matches(&self, track: &Track, now: SystemTime) -> bool {
        Compiled::new(self).matches(track, now)
    }
}

pub(crate) fn text_of(track: &Track, field: TextField) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    match field {
        TextField::Title => Cow::Borrowed(&track.title),
        TextField::Artist => Cow::Borrowed(&track.artist),
        TextField::Album => Cow::Borrowed(&track.album),
        TextField::AlbumArtist => Cow::Borrowed(&track.album_artist),
        TextField::Genre => Cow::Borrowed(&track.genre),
        TextField::Path => Cow::Borrowed(&track.relative_path),
        TextField::Extension => Cow::Owned(track.extension()),
    }
}

pub(crate) fn number_of(track: &Track, field: NumberField) -> Option<u64> {
    match field {
        NumberField::TrackNumber => track.track_number.map(u64::from),
        NumberField::Disc => track.disc.map(u64::from),
        NumberField::Year => track.year.map(u64::from),
        NumberField::Duration => Some(track.duration.as_secs()),
        NumberField::Bitrate => Some(u64::from(track.bitrate / 1000)),
        NumberField::SampleRate => Some(u64::from(track.sample_rate)),
        NumberField::Channels => Some(u64::from(track.channels)),
        NumberField::Rating => Some(u64::from(track.rating.value())),
        NumberField::PlayCount => Some(u64::from(track.play_count)),
        NumberField::Size => Some(track.size),
    }
}

pub(crate) fn date_of(track: &Track, field: DateField) -> Option<SystemTime> {
    match field {
        DateField::Added => Some(track.date_added),
        DateField::LastPlayed => track.last_played,
        DateField::Modified => Some(track.modified),
    }
}

/// `age <= d` where age is `now - t`; a time after `now` has age zero.
pub(crate) fn within(t: SystemTime, now: SystemTime, d: Duration) -> bool {
    match now.duration_since(t) {
        Ok(age) => age <= d,
        Err(_) => true,
    }
}

/// A rule prepared for fast evaluation: needles lower-cased once.
#[derive(Debug)]
enum Compiled {
    All(Vec<Compiled>),
    Any(Vec<Compiled>),
    Not(Box<Compiled>),
    Equals(TextField, String),
    Contains(TextField, String),
    OneOf(TextField, Vec<String>),
    Number(NumberField, NumberTest),
    Date(DateField, DateTest),
}

impl Compiled {
    fn new(rule: &Rule) -> Compiled {
        match rule {
            Rule::All(v) => Compiled::All(v.iter().map(Compiled::new).collect()),
            Rule::Any(v) => Compiled::Any(v.iter().map(Compiled::new).collect()),
            Rule::Not(r) => Compiled::Not(Box::new(Compiled::new(r))),
            Rule::Text { field, test } => match test {
                TextTest::Equals(s) => Compiled::Equals(*field, s.to_lowercase()),
                TextTest::Contains(s) => Compiled::Contains(*field, s.to_lowercase()),
                TextTest::OneOf(v) => {
                    Compiled::OneOf(*field, v.iter().map(|s| s.to_lowercase()).collect())
                }
            },
            Rule::Number { field, test } => Compiled::Number(*field, test.clone()),
            Rule::Date { field, test } => Compiled::Date(*field, *test),
        }
    }

    fn matches(&self, t: &Track, now: SystemTime) -> bool {
        match self {
            Compiled::All(v) => v.iter().all(|r| r.matches(t, now)),
            Compiled::Any(v) => v.iter().any(|r| r.matches(t, now)),
            Compiled::Not(r) => !r.matches(t, now),
            Compiled::Equals(f, needle) => eq_lower(&text_of(t, *f), needle),
            Compiled::Contains(f, needle) => contains_lower(&text_of(t, *f), needle),
            Compiled::OneOf(f, set) => {
                let hay = text_of(t, *f);
                set.iter().any(|n| eq_lower(&hay, n))
            }
            Compiled::Number(f, test) => number_of(t, *f).is_some_and(|v| number_test(test, v)),
            Compiled::Date(f, test) => date_of(t, *f).is_some_and(|v| match *test {
                DateTest::Within(d) => within(v, now, d),
                DateTest::OlderThan(d) => !within(v, now, d),
            }),
        }
    }
}

pub(crate) fn number_test(test: &NumberTest, v: u64) -> bool {
    match *test {
        NumberTest::Equals(x) => v == x,
        NumberTest::Less(x) => v < x,
        NumberTest::AtMost(x) => v <= x,
        NumberTest::Greater(x) => v > x,
        NumberTest::AtLeast(x) => v >= x,
        NumberTest::Between(lo, hi) => lo <= v && v <= hi,
        NumberTest::OneOf(ref set) => set.contains(&v),
    }
}

/// `hay.to_lowercase() == needle` where `needle` is already lower case, without allocating for
/// ASCII values (the common case, and what keeps a million-track evaluation fast).
fn eq_lower(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() {
        hay.len() == needle.len() && hay.eq_ignore_ascii_case(needle)
    } else {
        hay.to_lowercase() == needle
    }
}

/// `hay.to_lowercase().contains(needle)` where `needle` is already lower case.
fn contains_lower(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        hay.to_lowercase().contains(needle)
    }
}

/// One sort key of an auto playlist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortKey {
    /// The field to sort on. Text sorts case-insensitively; a missing value sorts first.
    pub field: Field,
    /// Largest first.
    pub descending: bool,
}

/// Limits on an auto playlist, applied after sorting.
///
/// Tracks are taken in order while the next one keeps every limit; the first track that would
/// break one ends the list (WMP's "limit total size/duration/number of items to").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// At most this many tracks.
    pub max_tracks: Option<usize>,
    /// At most this many bytes in total.
    pub max_bytes: Option<u64>,
    /// At most this much playing time in total.
    pub max_duration: Option<Duration>,
}

/// An auto playlist: a rule, a sort order and limits, evaluated against a library "now".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoPlaylist {
    /// Which tracks belong.
    pub rule: Rule,
    /// The order; with no keys, the library's own order. Ties keep the library's order, so
    /// evaluation is deterministic.
    pub sort: Vec<SortKey>,
    /// Limits applied after sorting.
    pub limits: Limits,
}

impl AutoPlaylist {
    /// An auto playlist with this rule, no sort keys and no limits.
    pub fn new(rule: Rule) -> AutoPlaylist {
        AutoPlaylist {
            rule,
            sort: Vec::new(),
            limits: Limits::default(),
        }
    }

    /// The matching tracks' ids, in order, with the time taken from `clock`.
    pub fn evaluate(&self, tracks: &[Track], clock: &dyn Clock) -> Vec<TrackId> {
        self.evaluate_at(tracks, clock.now())
    }

    /// The matching tracks' ids, in order, as of `now`.
    pub fn evaluate_at(&self, tracks: &[Track], now: SystemTime) -> Vec<TrackId> {
        let rule = Compiled::new(&self.rule);
        let mut hits: Vec<&Track> = tracks.iter().filter(|t| rule.matches(t, now)).collect();
        if !self.sort.is_empty() {
            // A stable sort: ties keep the library's order.
            hits.sort_by(|a, b| compare(a, b, &self.sort));
        }
        let mut out = Vec::with_capacity(hits.len());
        let (mut bytes, mut time) = (0u64, Duration::ZERO);
        for t in hits {
            if self.limits.max_tracks.is_some_and(|m| out.len() >= m) {
                break;
            }
            let nb = bytes.saturating_add(t.size);
            let nt = time.saturating_add(t.duration);
            if self.limits.max_bytes.is_some_and(|m| nb > m)
                || self.limits.max_duration.is_some_and(|m| nt > m)
            {
                break;
            }
            bytes = nb;
            time = nt;
            out.push(t.id);
        }
        out
    }
}

fn compare(a: &Track, b: &Track, keys: &[SortKey]) -> Ordering {
    for k in keys {
        let o = match k.field {
            Field::Text(f) => cmp_ci(&text_of(a, f), &text_of(b, f)),
            Field::Number(f) => number_of(a, f).cmp(&number_of(b, f)),
            Field::Date(f) => date_of(a, f).cmp(&date_of(b, f)),
        };
        let o = if k.descending { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

fn cmp_ci(a: &str, b: &str) -> Ordering {
    a.chars()
        .flat_map(char::to_lowercase)
        .cmp(b.chars().flat_map(char::to_lowercase))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::track::Rating;

    fn track(id: u64, genre: &str, rating: u8, size: u64) -> Track {
        let mut t = Track::new(TrackId(id), format!("t{id}.mp3"));
        t.genre = genre.into();
        t.rating = Rating::new(rating);
        t.size = size;
        t
    }

    #[test]
    fn case_insensitive_text() {
        let t = track(1, "Jazz Fusion", 0, 0);
        let now = SystemTime::UNIX_EPOCH;
        let eq = |s: &str| Rule::Text {
            field: TextField::Genre,
            test: TextTest::Equals(s.into()),
        };
        let has = |s: &str| Rule::Text {
            field: TextField::Genre,
            test: TextTest::Contains(s.into()),
        };
        assert!(eq("jazz fusion").matches(&t, now));
        assert!(!eq("jazz").matches(&t, now));
        assert!(has("FUSION").matches(&t, now));
        assert!(has("").matches(&t, now));
        let mut u = track(2, "ÉLECTRO", 0, 0);
        u.title = "x".into();
        assert!(eq("électro").matches(&u, now));
        assert!(has("lect").matches(&u, now));
    }

    #[test]
    fn missing_values_do_not_match() {
        let t = track(1, "", 0, 0);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10 * DAY);
        let year = Rule::Number {
            field: NumberField::Year,
            test: NumberTest::AtLeast(0),
        };
        assert!(!year.matches(&t, now));
        assert!(Rule::Not(Box::new(year)).matches(&t, now));
        assert!(!Rule::played_within_days(1000).matches(&t, now));
        let old = Rule::Date {
            field: DateField::LastPlayed,
            test: DateTest::OlderThan(Duration::ZERO),
        };
        assert!(!old.matches(&t, now));
        assert!(Rule::added_within_days(10).matches(&t, now));
        assert!(!Rule::added_within_days(9).matches(&t, now));
    }

    #[test]
    fn sort_and_limits() {
        let tracks = vec![
            track(1, "b", 50, 10),
            track(2, "a", 90, 10),
            track(3, "c", 90, 10),
            track(4, "a", 20, 10),
        ];
        let mut p = AutoPlaylist::new(Rule::All(vec![]));
        p.sort = vec![
            SortKey {
                field: Field::Number(NumberField::Rating),
                descending: true,
            },
            SortKey {
                field: Field::Text(TextField::Genre),
                descending: false,
            },
        ];
        let now = SystemTime::UNIX_EPOCH;
        let ids = |v: Vec<TrackId>| v.into_iter().map(|t| t.0).collect::<Vec<_>>();
        assert_eq!(ids(p.evaluate_at(&tracks, now)), [2, 3, 1, 4]);
        p.limits.max_bytes = Some(25);
        assert_eq!(ids(p.evaluate_at(&tracks, now)), [2, 3]);
        p.limits = Limits {
            max_tracks: Some(1),
            ..Limits::default()
        };
        assert_eq!(ids(p.evaluate_at(&tracks, now)), [2]);
        assert!(
            AutoPlaylist::new(Rule::Any(vec![]))
                .evaluate_at(&tracks, now)
                .is_empty()
        );
    }
}
