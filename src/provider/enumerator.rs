//! The IMDSPEnumDevice / IMDSPEnumStorage (and IWMDMEnum*) contract over a snapshot.

/// A cursor over a snapshot of items with the semantics of WMDM's enumerators: `Next`, `Skip`,
/// `Reset` and `Clone`.
///
/// The provider traits return plain vectors; this type gives the COM layer and the manager the
/// exact enumerator behaviour (a short `next` is WMDM's `S_FALSE`).
#[derive(Clone, Debug)]
pub struct Enumerator<T> {
    items: Vec<T>,
    pos: usize,
}

/// What one [`Enumerator::next_n`] call produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched<T> {
    /// The items, at most as many as requested.
    pub items: Vec<T>,
    /// True when fewer items than requested came back (`S_FALSE`).
    pub short: bool,
}

impl<T: Clone> Enumerator<T> {
    /// An enumerator positioned at the first item.
    pub fn new(items: Vec<T>) -> Enumerator<T> {
        Enumerator { items, pos: 0 }
    }

    /// `Next(celt)`: up to `count` items from the current position.
    pub fn next_n(&mut self, count: usize) -> Fetched<T> {
        let end = self.pos.saturating_add(count).min(self.items.len());
        let items: Vec<T> = self.items.get(self.pos..end).unwrap_or(&[]).to_vec();
        self.pos = end;
        let short = items.len() < count;
        Fetched { items, short }
    }

    /// `Skip(celt)`: moves past up to `count` items; returns how many were skipped (fewer than
    /// `count` is `S_FALSE`).
    pub fn skip_n(&mut self, count: usize) -> usize {
        let end = self.pos.saturating_add(count).min(self.items.len());
        let skipped = end - self.pos;
        self.pos = end;
        skipped
    }

    /// `Reset()`: back to the first item.
    pub fn reset(&mut self) {
        self.pos = 0;
    }

    /// How many items are left.
    pub fn remaining(&self) -> usize {
        self.items.len() - self.pos
    }

    /// The whole snapshot.
    pub fn items(&self) -> &[T] {
        &self.items
    }
}

impl<T: Clone> Iterator for Enumerator<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let item = self.items.get(self.pos).cloned();
        if item.is_some() {
            self.pos += 1;
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_skip_reset_clone() {
        let mut e = Enumerator::new(vec![1, 2, 3, 4, 5]);
        assert_eq!(
            e.next_n(2),
            Fetched {
                items: vec![1, 2],
                short: false
            }
        );
        assert_eq!(e.skip_n(1), 1);
        let mut copy = e.clone();
        assert_eq!(
            e.next_n(5),
            Fetched {
                items: vec![4, 5],
                short: true
            }
        );
        assert_eq!(e.skip_n(3), 0);
        assert_eq!(
            copy.next_n(1).items,
            vec![4],
            "a clone keeps its own position"
        );
        e.reset();
        assert_eq!(e.remaining(), 5);
        assert_eq!(e.next_n(usize::MAX).items.len(), 5);
    }
}
