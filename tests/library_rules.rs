//! Auto playlist rules against a trivially correct reference filter.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use wmdm::library::{
    AutoPlaylist, DateField, DateTest, Field, Limits, NumberField, NumberTest, Rating, Rule,
    SortKey, TextField, TextTest, Track, TrackId, parse_rule,
};

const WORDS: &[&str] = &[
    "Jazz",
    "jazz",
    "Blues",
    "Rock",
    "ÉLAN",
    "élan",
    "",
    "Miles Davis",
    "K",
];

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(WORDS).prop_map(str::to_string)
}

fn arb_track() -> impl Strategy<Value = Track> {
    (
        (any::<u64>(), word(), word(), word(), word()),
        (
            proptest::option::of(1990u32..2000),
            0u8..=100,
            0u32..5,
            proptest::option::of(0i64..100),
        ),
        (
            0i64..100,
            0u64..10_000,
            0u64..600,
            prop::sample::select(&["mp3", "FLAC", "wma"][..]),
        ),
    )
        .prop_map(
            |(
                (id, title, artist, genre, album),
                (year, rating, plays, played),
                (added, size, secs, ext),
            )| {
                let mut t = Track::new(TrackId(id), format!("{album}/{title}.{ext}"));
                t.title = title;
                t.artist = artist;
                t.genre = genre;
                t.album = album;
                t.year = year;
                t.rating = Rating::new(rating);
                t.play_count = plays;
                t.last_played = played.map(|d| UNIX_EPOCH + Duration::from_secs(d as u64 * 86_400));
                t.date_added = UNIX_EPOCH + Duration::from_secs(added as u64 * 86_400);
                t.size = size;
                t.duration = Duration::from_secs(secs);
                t
            },
        )
}

fn text_field() -> impl Strategy<Value = TextField> {
    prop::sample::select(
        &[
            TextField::Title,
            TextField::Artist,
            TextField::Genre,
            TextField::Album,
            TextField::Extension,
            TextField::Path,
        ][..],
    )
}

fn number_field() -> impl Strategy<Value = NumberField> {
    prop::sample::select(
        &[
            NumberField::Year,
            NumberField::Rating,
            NumberField::PlayCount,
            NumberField::Size,
            NumberField::Duration,
        ][..],
    )
}

fn leaf() -> impl Strategy<Value = Rule> {
    let n = || 0u64..2100;
    prop_oneof![
        (text_field(), word()).prop_map(|(field, w)| Rule::Text {
            field,
            test: TextTest::Equals(w)
        }),
        (text_field(), word()).prop_map(|(field, w)| Rule::Text {
            field,
            test: TextTest::Contains(w)
        }),
        (text_field(), proptest::collection::vec(word(), 1..3)).prop_map(|(field, v)| Rule::Text {
            field,
            test: TextTest::OneOf(v)
        }),
        (number_field(), n(), 0u8..7, n()).prop_map(|(field, a, op, b)| Rule::Number {
            field,
            test: match op {
                0 => NumberTest::Equals(a),
                1 => NumberTest::Less(a),
                2 => NumberTest::AtMost(a),
                3 => NumberTest::Greater(a),
                4 => NumberTest::AtLeast(a),
                5 => NumberTest::Between(a.min(b), a.max(b)),
                _ => NumberTest::OneOf(vec![a, b]),
            },
        }),
        (
            prop::sample::select(&[DateField::Added, DateField::LastPlayed][..]),
            0u64..120,
            any::<bool>()
        )
            .prop_map(|(field, days, within)| {
                let d = Duration::from_secs(days * 86_400);
                Rule::Date {
                    field,
                    test: if within {
                        DateTest::Within(d)
                    } else {
                        DateTest::OlderThan(d)
                    },
                }
            }),
    ]
}

fn arb_rule() -> impl Strategy<Value = Rule> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            // Groups of 0 or 2+ members: a one-member group prints as its member.
            proptest::collection::vec(inner.clone(), 0..4)
                .prop_filter("not 1", |v| v.len() != 1)
                .prop_map(Rule::All),
            proptest::collection::vec(inner.clone(), 0..4)
                .prop_filter("not 1", |v| v.len() != 1)
                .prop_map(Rule::Any),
            inner.prop_map(|r| Rule::Not(Box::new(r))),
        ]
    })
}

/// The obviously correct filter: lower-case everything, compare directly.
fn reference(rule: &Rule, t: &Track, now: SystemTime) -> bool {
    let text = |f: TextField| -> String {
        match f {
            TextField::Title => t.title.clone(),
            TextField::Artist => t.artist.clone(),
            TextField::Album => t.album.clone(),
            TextField::AlbumArtist => t.album_artist.clone(),
            TextField::Genre => t.genre.clone(),
            TextField::Path => t.relative_path.clone(),
            // Like std::path: ".mp3" is a name without an extension.
            TextField::Extension => std::path::Path::new(&t.relative_path)
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
        .to_lowercase()
    };
    let num = |f: NumberField| -> Option<u64> {
        match f {
            NumberField::Year => t.year.map(u64::from),
            NumberField::Rating => Some(t.rating.value().into()),
            NumberField::PlayCount => Some(t.play_count.into()),
            NumberField::Size => Some(t.size),
            NumberField::Duration => Some(t.duration.as_secs()),
            NumberField::TrackNumber => t.track_number.map(u64::from),
            NumberField::Disc => t.disc.map(u64::from),
            NumberField::Bitrate => Some((t.bitrate / 1000).into()),
            NumberField::SampleRate => Some(t.sample_rate.into()),
        }
    };
    match rule {
        Rule::All(v) => v.iter().all(|r| reference(r, t, now)),
        Rule::Any(v) => v.iter().any(|r| reference(r, t, now)),
        Rule::Not(r) => !reference(r, t, now),
        Rule::Text { field, test } => {
            let h = text(*field);
            match test {
                TextTest::Equals(s) => h == s.to_lowercase(),
                TextTest::Contains(s) => h.contains(&s.to_lowercase()),
                TextTest::OneOf(v) => v.iter().any(|s| h == s.to_lowercase()),
            }
        }
        Rule::Number { field, test } => match num(*field) {
            None => false,
            Some(v) => match test {
                NumberTest::Equals(x) => v == *x,
                NumberTest::Less(x) => v < *x,
                NumberTest::AtMost(x) => v <= *x,
                NumberTest::Greater(x) => v > *x,
                NumberTest::AtLeast(x) => v >= *x,
                NumberTest::Between(a, b) => *a <= v && v <= *b,
                NumberTest::OneOf(s) => s.contains(&v),
            },
        },
        Rule::Date { field, test } => {
            let when = match field {
                DateField::Added => Some(t.date_added),
                DateField::LastPlayed => t.last_played,
            };
            match when {
                None => false,
                Some(w) => {
                    let age = now.duration_since(w).unwrap_or(Duration::ZERO);
                    match test {
                        DateTest::Within(d) => age <= *d,
                        DateTest::OlderThan(d) => age > *d,
                    }
                }
            }
        }
    }
}

proptest! {
    #[test]
    fn evaluation_matches_the_reference_filter(
        rule in arb_rule(),
        tracks in proptest::collection::vec(arb_track(), 0..40),
        now_days in 0u64..150,
    ) {
        let now = UNIX_EPOCH + Duration::from_secs(now_days * 86_400);
        let got = AutoPlaylist::new(rule.clone()).evaluate_at(&tracks, now);
        let want: Vec<TrackId> = tracks.iter().filter(|t| reference(&rule, t, now)).map(|t| t.id).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn text_form_round_trips(rule in arb_rule()) {
        let text = rule.to_string();
        let back = parse_rule(&text);
        prop_assert_eq!(back, Ok(rule), "{}", text);
    }

    #[test]
    fn auto_playlist_text_round_trips(
        rule in arb_rule(),
        sort in proptest::collection::vec((prop::sample::select(&["title", "rating", "added", "ext", "year", "playcount"][..]), any::<bool>()), 0..3),
        max_tracks in proptest::option::of(0usize..1000),
        max_bytes in proptest::option::of(any::<u64>()),
        max_secs in proptest::option::of(0u64..1_000_000),
    ) {
        let text = format!("{rule} order by title");
        let base = wmdm::library::parse_auto_playlist(&text).unwrap();
        let mut p = AutoPlaylist::new(rule);
        p.sort = sort
            .into_iter()
            .map(|(name, descending)| {
                let field = wmdm::library::parse_auto_playlist(&format!("all order by {name}")).unwrap().sort[0].field;
                SortKey { field, descending }
            })
            .collect();
        p.limits = Limits { max_tracks, max_bytes, max_duration: max_secs.map(Duration::from_secs) };
        prop_assert_eq!(wmdm::library::parse_auto_playlist(&p.to_string()), Ok(p.clone()), "{}", p);
        prop_assert_eq!(base.rule, p.rule);
    }

    #[test]
    fn the_parser_never_panics(s in "\\PC{0,60}") {
        let _ = wmdm::library::parse_auto_playlist(&s);
        if let Err(e) = parse_rule(&s) {
            prop_assert!(e.position <= s.len());
            prop_assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn the_parser_never_panics_on_near_misses(s in "(genre|year|added|rating|and|or|not|in|\\(|\\)|,|=|!=|~|<|>=|\\.\\.|\"|[0-9]{1,3}d?|Jazz| ){0,20}") {
        if let Err(e) = parse_rule(&s) {
            prop_assert!(e.position <= s.len());
        }
    }

    #[test]
    fn sorted_and_limited_like_the_reference(
        tracks in proptest::collection::vec(arb_track(), 0..40),
        max_tracks in proptest::option::of(0usize..30),
        max_bytes in proptest::option::of(0u64..100_000),
        desc in any::<bool>(),
    ) {
        let mut p = AutoPlaylist::new(Rule::All(vec![]));
        p.sort = vec![SortKey { field: Field::Number(NumberField::Rating), descending: desc }];
        p.limits = Limits { max_tracks, max_bytes, max_duration: None };
        let got = p.evaluate_at(&tracks, UNIX_EPOCH);
        let mut order: Vec<&Track> = tracks.iter().collect();
        order.sort_by_key(|t| if desc { 255 - t.rating.value() } else { t.rating.value() });
        let mut want = Vec::new();
        let mut bytes = 0u64;
        for t in order {
            if max_tracks.is_some_and(|m| want.len() >= m) || max_bytes.is_some_and(|m| bytes + t.size > m) {
                break;
            }
            bytes += t.size;
            want.push(t.id);
        }
        prop_assert_eq!(got, want);
    }
}
