//! Lexical path arithmetic on `/`-separated, root-relative paths (no file system access), shared
//! by the playlist readers, the writers and the folder library.

/// Splits a path written with either separator into its non-empty, non-`.` components.
fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != ".")
}

/// True when `path` is absolute on any system we meet: `/x`, `\x`, `C:\x`, `C:/x`, `\\server\x`.
pub(crate) fn is_absolute(path: &str) -> bool {
    let b = path.as_bytes();
    matches!(b.first(), Some(b'/' | b'\\'))
        || (b.len() >= 2
            && b.get(1) == Some(&b':')
            && b.first().is_some_and(u8::is_ascii_alphabetic))
}

/// Joins a relative entry to the folder it was written in (both root-relative) and resolves
/// `.` and `..` lexically. `None` when the result would climb above the root.
pub(crate) fn join_relative(base_dir: &str, entry: &str) -> Option<String> {
    let mut out: Vec<&str> = components(base_dir).collect();
    // `..` in the base itself is as hostile as in the entry.
    if out.contains(&"..") {
        return None;
    }
    for c in components(entry) {
        if c == ".." {
            out.pop()?;
        } else {
            out.push(c);
        }
    }
    Some(out.join("/"))
}

/// The path from folder `from_dir` to `to` (both root-relative, `/`-separated), with `sep`
/// between components: `relative_to("Playlists", "Music/a.mp3", '\\')` is `..\Music\a.mp3`.
pub(crate) fn relative_to(from_dir: &str, to: &str, sep: char) -> String {
    let from: Vec<&str> = components(from_dir).collect();
    let to: Vec<&str> = components(to).collect();
    // Only `to`'s folders can be shared with `from`: its last component is the file itself.
    let dirs = to.len().saturating_sub(1);
    let common = from
        .iter()
        .zip(to.iter().take(dirs))
        .take_while(|(a, b)| a == b)
        .count();
    let ups = from.len().saturating_sub(common);
    let mut parts: Vec<&str> = std::iter::repeat_n("..", ups).collect();
    parts.extend(to.iter().skip(common));
    parts.join(&sep.to_string())
}

/// The folder part of a root-relative path (`"a/b/c.m3u"` → `"a/b"`, `"c.m3u"` → `""`).
pub(crate) fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_escapes() {
        assert_eq!(
            join_relative("Playlists", "../Music/a.mp3").as_deref(),
            Some("Music/a.mp3")
        );
        assert_eq!(
            join_relative("", "Music\\.\\a.mp3").as_deref(),
            Some("Music/a.mp3")
        );
        assert_eq!(join_relative("P", "../../etc/passwd"), None);
        assert_eq!(join_relative("", ".."), None);
        assert!(is_absolute("C:\\x") && is_absolute("/x") && is_absolute("\\\\srv\\x"));
        assert!(!is_absolute("x/y") && !is_absolute("1:"));
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_to("Playlists", "Music/a.mp3", '\\'),
            "..\\Music\\a.mp3"
        );
        assert_eq!(relative_to("", "Music/a.mp3", '/'), "Music/a.mp3");
        assert_eq!(relative_to("Music/Jazz", "Music/Jazz/a.mp3", '/'), "a.mp3");
        assert_eq!(relative_to("a/b", "c", '/'), "../../c");
        assert_eq!(relative_to("8", "8", '/'), "../8");
        assert_eq!(relative_to("a/b", "a/b", '/'), "../b");
        assert_eq!(parent("a/b/c.m3u"), "a/b");
        assert_eq!(parent("c.m3u"), "");
    }
}
