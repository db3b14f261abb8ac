//! The object tree of one simulated medium: an arena of nodes with ordered children,
//! placement, and the space accounting.
//!
//! Everything here is plain data with no locking, no faults and no clock: the device wraps a
//! `Tree` per storage behind its mutex and decides *whether* an operation may run (connection,
//! fault plan, write protection); the tree decides whether it is *valid* and applies it.

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::flags::Placement;
use crate::time::WmdmDateTime;

use super::node::{Kind, NewObject, Node, NodeId, same_name, settable, validate_name};

/// The outcome of a create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Created {
    pub(super) id: NodeId,
    /// The file an overwrite replaced; its handles are now dead.
    pub(super) replaced: Option<NodeId>,
}

/// One medium: its nodes and its space.
#[derive(Clone, Debug)]
pub(super) struct Tree {
    nodes: HashMap<NodeId, Node>,
    by_uid: HashMap<String, NodeId>,
    root: NodeId,
    next_id: NodeId,
    uid_prefix: String,
    capacity: u64,
    bad: u64,
    /// Committed bytes: the sum of every file's size.
    used: u64,
    /// Bytes that open write sessions have added beyond their files' committed sizes.
    pending: u64,
}

impl Tree {
    /// An empty medium whose root is called `root_name`. Unique IDs are `uid_prefix` followed
    /// by a counter.
    pub(super) fn new(
        root_name: &str,
        uid_prefix: String,
        capacity: u64,
        bad: u64,
        now: WmdmDateTime,
    ) -> Tree {
        let mut tree = Tree {
            nodes: HashMap::new(),
            by_uid: HashMap::new(),
            root: 0,
            next_id: 0,
            uid_prefix,
            capacity,
            bad: bad.min(capacity),
            used: 0,
            pending: 0,
        };
        let id = tree.allocate_id();
        let uid = tree.uid_for(id);
        tree.by_uid.insert(uid.clone(), id);
        tree.nodes
            .insert(id, Node::new(root_name.to_owned(), Kind::Folder, uid, now));
        tree.root = id;
        tree
    }

    fn allocate_id(&mut self) -> NodeId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn uid_for(&self, id: NodeId) -> String {
        format!("{}{}", self.uid_prefix, id)
    }

    pub(super) fn root(&self) -> NodeId {
        self.root
    }

    pub(super) fn get(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(&id)
    }

    pub(super) fn get_mut(&mut self, id: NodeId) -> Option<&mut Node> {
        self.nodes.get_mut(&id)
    }

    /// The node, or [`Error::InterfaceDead`] when it was deleted.
    pub(super) fn node(&self, id: NodeId) -> Result<&Node> {
        self.nodes.get(&id).ok_or(Error::InterfaceDead)
    }

    /// The node for mutation, or [`Error::InterfaceDead`].
    pub(super) fn node_mut(&mut self, id: NodeId) -> Result<&mut Node> {
        self.nodes.get_mut(&id).ok_or(Error::InterfaceDead)
    }

    pub(super) fn contains(&self, id: NodeId) -> bool {
        self.nodes.contains_key(&id)
    }

    pub(super) fn find_uid(&self, uid: &str) -> Option<NodeId> {
        self.by_uid.get(uid).copied()
    }

    /// Every node except the root.
    #[cfg(test)]
    pub(super) fn object_count(&self) -> usize {
        self.nodes.len().saturating_sub(1)
    }

    // ---- space ----

    pub(super) fn capacity(&self) -> u64 {
        self.capacity
    }

    pub(super) fn bad(&self) -> u64 {
        self.bad
    }

    pub(super) fn used(&self) -> u64 {
        self.used
    }

    #[cfg(test)]
    pub(super) fn pending(&self) -> u64 {
        self.pending
    }

    /// Free bytes: capacity minus bad, committed and pending bytes, or 0 when the fault plan
    /// says the medium is full. Never negative, never above the capacity.
    pub(super) fn free(&self, forced_full: bool) -> u64 {
        if forced_full {
            return 0;
        }
        self.capacity
            .saturating_sub(self.bad)
            .saturating_sub(self.used)
            .saturating_sub(self.pending)
    }

    /// Counts `bytes` more against free space for an open write session.
    pub(super) fn reserve(&mut self, bytes: u64, forced_full: bool) -> Result<()> {
        if bytes > self.free(forced_full) {
            return Err(Error::DiskFull);
        }
        self.pending += bytes;
        Ok(())
    }

    /// Gives back bytes a write session had counted (its data was committed or dropped).
    pub(super) fn release(&mut self, bytes: u64) {
        self.pending = self.pending.saturating_sub(bytes);
    }

    /// Forgets every open session: used when the device disconnects.
    pub(super) fn drop_sessions(&mut self) {
        self.pending = 0;
        for node in self.nodes.values_mut() {
            node.readers = 0;
            node.writer = false;
        }
    }

    /// Replaces a file's data and dates it `now`.
    pub(super) fn commit(&mut self, id: NodeId, data: Vec<u8>, now: WmdmDateTime) -> Result<()> {
        let node = self.nodes.get_mut(&id).ok_or(Error::InterfaceDead)?;
        let old = node.data.len() as u64;
        let new = data.len() as u64;
        node.data = data;
        node.modified = now;
        self.used = self.used.saturating_sub(old).saturating_add(new);
        Ok(())
    }

    // ---- structure ----

    /// True when `id` is `ancestor` or lies below it.
    pub(super) fn is_within(&self, mut id: NodeId, ancestor: NodeId) -> bool {
        loop {
            if id == ancestor {
                return true;
            }
            match self.nodes.get(&id).and_then(|n| n.parent) {
                Some(p) => id = p,
                None => return false,
            }
        }
    }

    /// The child of `parent` named `name` (any case), ignoring `except`.
    pub(super) fn child_named(
        &self,
        parent: NodeId,
        name: &str,
        except: Option<NodeId>,
    ) -> Option<NodeId> {
        let p = self.nodes.get(&parent)?;
        p.children.iter().copied().find(|&c| {
            Some(c) != except && self.nodes.get(&c).is_some_and(|n| same_name(&n.name, name))
        })
    }

    /// Where an object placed relative to `anchor` goes: its parent and the index in the
    /// parent's children at which it is inserted.
    ///
    /// # Errors
    /// [`Error::InvalidType`] for `Into` a file; [`Error::InvalidArg`] for `Before` / `After`
    /// the root, which has no siblings.
    fn slot(&self, anchor: NodeId, placement: Placement) -> Result<(NodeId, usize)> {
        let a = self.node(anchor)?;
        match placement {
            Placement::Into => {
                if !a.is_folder() {
                    return Err(Error::InvalidType);
                }
                Ok((anchor, a.children.len()))
            }
            Placement::Before | Placement::After => {
                let parent = a.parent.ok_or(Error::InvalidArg)?;
                let siblings = &self.node(parent)?.children;
                let at = siblings
                    .iter()
                    .position(|&c| c == anchor)
                    .ok_or(Error::Unexpected)?;
                let at = if placement == Placement::After {
                    at + 1
                } else {
                    at
                };
                Ok((parent, at))
            }
        }
    }

    /// Creates an object relative to `anchor`.
    ///
    /// Checks, in order: the name ([`Error::InvalidName`]); the placement
    /// ([`Error::InvalidType`], [`Error::InvalidArg`]); a sibling of the same name
    /// ([`Error::AlreadyExists`], unless `overwrite` replaces a file with a file, which fails
    /// with [`Error::Busy`] while the old file is open and [`Error::AccessDenied`] when it is
    /// read-only); then the announced size ([`Error::DiskFull`]).
    pub(super) fn create(
        &mut self,
        anchor: NodeId,
        placement: Placement,
        obj: NewObject,
        now: WmdmDateTime,
        forced_full: bool,
    ) -> Result<Created> {
        validate_name(&obj.name)?;
        let (parent, mut at) = self.slot(anchor, placement)?;
        let mut replaced = None;
        let mut freed = 0;
        if let Some(existing) = self.child_named(parent, &obj.name, None) {
            let old = self.node(existing)?;
            if !obj.overwrite || old.is_folder() || obj.kind == Kind::Folder {
                return Err(Error::AlreadyExists);
            }
            if old.is_open() {
                return Err(Error::Busy);
            }
            if old.is_read_only() {
                return Err(Error::AccessDenied);
            }
            freed = old.data.len() as u64;
            replaced = Some(existing);
        }
        if let Some(hint) = obj.size_hint {
            let free = if forced_full {
                0
            } else {
                self.free(false).saturating_add(freed)
            };
            if hint > free {
                return Err(Error::DiskFull);
            }
        }

        if let Some(old) = replaced {
            // The new file takes the old one's place in the listing.
            let siblings = &self.node(parent)?.children;
            at = siblings.iter().position(|&c| c == old).unwrap_or(at);
            self.remove_subtree(old);
        }
        let id = self.allocate_id();
        let uid = self.uid_for(id);
        let mut node = Node::new(obj.name, obj.kind, uid.clone(), now);
        node.parent = Some(parent);
        node.flags = settable(obj.flags);
        node.attributes_ex = obj.attributes_ex;
        node.audio = obj.audio;
        node.video = obj.video;
        if let Some(m) = &obj.metadata {
            node.store_metadata(m);
        }
        self.nodes.insert(id, node);
        self.by_uid.insert(uid, id);
        let siblings = &mut self.node_mut(parent)?.children;
        let at = at.min(siblings.len());
        siblings.insert(at, id);
        Ok(Created { id, replaced })
    }

    /// Checks that a node may take a new name.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for the root; [`Error::InvalidName`]; [`Error::AlreadyExists`]
    /// when a sibling has the name (in any case); [`Error::Busy`] for a folder holding an open
    /// file.
    pub(super) fn check_rename(&self, id: NodeId, name: &str) -> Result<()> {
        let parent = self.node(id)?.parent.ok_or(Error::InvalidArg)?;
        validate_name(name)?;
        if self.child_named(parent, name, Some(id)).is_some() {
            return Err(Error::AlreadyExists);
        }
        self.check_nothing_open_below(id)
    }

    /// [`Error::Busy`] when a file below `id` (not `id` itself) is open: a folder holding an
    /// open file keeps its name and place, as on a Windows mass-storage device (and the folder
    /// provider on every host). An open file itself may be renamed or moved.
    fn check_nothing_open_below(&self, id: NodeId) -> Result<()> {
        let busy = self
            .subtree(id)
            .into_iter()
            .filter(|&n| n != id)
            .any(|n| self.nodes.get(&n).is_some_and(Node::is_open));
        if busy { Err(Error::Busy) } else { Ok(()) }
    }

    /// Renames a node, after [`Tree::check_rename`].
    pub(super) fn rename(&mut self, id: NodeId, name: &str) -> Result<()> {
        self.check_rename(id, name)?;
        self.node_mut(id)?.name = name.to_owned();
        Ok(())
    }

    /// Checks that a node may move before, after or into `target`.
    ///
    /// # Errors
    /// In this order: [`Error::InvalidArg`] for the root; [`Error::InvalidType`] for `Into` a
    /// file; [`Error::InvalidArg`] for `Before` / `After` the root, for the node itself as the
    /// target, and for a destination inside the node's own subtree; [`Error::AlreadyExists`]
    /// when the destination folder has a child of the same name; [`Error::Busy`] for a folder
    /// holding an open file.
    pub(super) fn check_move(
        &self,
        id: NodeId,
        placement: Placement,
        target: NodeId,
    ) -> Result<()> {
        let node = self.node(id)?;
        if node.parent.is_none() {
            return Err(Error::InvalidArg);
        }
        let (new_parent, _) = self.slot(target, placement)?;
        if target == id || self.is_within(new_parent, id) {
            return Err(Error::InvalidArg);
        }
        if self.child_named(new_parent, &node.name, Some(id)).is_some() {
            return Err(Error::AlreadyExists);
        }
        self.check_nothing_open_below(id)
    }

    /// Moves a node, after [`Tree::check_move`].
    pub(super) fn move_node(
        &mut self,
        id: NodeId,
        placement: Placement,
        target: NodeId,
    ) -> Result<()> {
        self.check_move(id, placement, target)?;
        let old_parent = self.node(id)?.parent.ok_or(Error::InvalidArg)?;
        self.node_mut(old_parent)?.children.retain(|&c| c != id);
        // The slot is computed once the node has left its old place, which may have been just
        // before the target.
        let (new_parent, at) = self.slot(target, placement)?;
        let siblings = &mut self.node_mut(new_parent)?.children;
        let at = at.min(siblings.len());
        siblings.insert(at, id);
        self.node_mut(id)?.parent = Some(new_parent);
        Ok(())
    }

    /// The node and everything under it, parents before children, in listing order.
    pub(super) fn subtree(&self, id: NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            if let Some(node) = self.nodes.get(&n) {
                out.push(n);
                stack.extend(node.children.iter().rev());
            }
        }
        out
    }

    /// What a delete of `id` would remove, after checking it may.
    ///
    /// # Errors
    /// In this order: [`Error::InvalidArg`] for the root; [`Error::DirectoryNotEmpty`] for a
    /// non-empty folder without `recursive`; [`Error::AccessDenied`] when a read-only object
    /// would go; [`Error::Busy`] when an open file would go.
    pub(super) fn plan_delete(&self, id: NodeId, recursive: bool) -> Result<Vec<NodeId>> {
        let node = self.node(id)?;
        if node.parent.is_none() {
            return Err(Error::InvalidArg);
        }
        if node.is_folder() && !node.children.is_empty() && !recursive {
            return Err(Error::DirectoryNotEmpty);
        }
        let doomed = self.subtree(id);
        self.check_removable(&doomed)?;
        Ok(doomed)
    }

    /// What a format would remove: everything but the root.
    ///
    /// # Errors
    /// [`Error::Busy`] while a file is open.
    pub(super) fn plan_clear(&self) -> Result<Vec<NodeId>> {
        let mut all = self.subtree(self.root);
        all.retain(|&n| n != self.root);
        if all
            .iter()
            .any(|n| self.nodes.get(n).is_some_and(Node::is_open))
        {
            return Err(Error::Busy);
        }
        Ok(all)
    }

    fn check_removable(&self, ids: &[NodeId]) -> Result<()> {
        let nodes = ids.iter().filter_map(|n| self.nodes.get(n));
        let mut busy = false;
        for node in nodes {
            if node.is_read_only() {
                return Err(Error::AccessDenied);
            }
            busy |= node.is_open();
        }
        if busy { Err(Error::Busy) } else { Ok(()) }
    }

    /// Removes `id` and everything below it; returns the removed ids.
    pub(super) fn remove_subtree(&mut self, id: NodeId) -> Vec<NodeId> {
        let doomed = self.subtree(id);
        if let Some(parent) = self.nodes.get(&id).and_then(|n| n.parent)
            && let Some(p) = self.nodes.get_mut(&parent)
        {
            p.children.retain(|&c| c != id);
        }
        for n in &doomed {
            if let Some(node) = self.nodes.remove(n) {
                self.used = self.used.saturating_sub(node.data.len() as u64);
                self.by_uid.remove(&node.uid);
            }
        }
        doomed
    }

    /// Removes everything but the root; returns the removed ids.
    pub(super) fn clear(&mut self) -> Vec<NodeId> {
        let children = self
            .nodes
            .get(&self.root)
            .map(|r| r.children.clone())
            .unwrap_or_default();
        let mut removed = Vec::new();
        for c in children {
            removed.extend(self.remove_subtree(c));
        }
        removed
    }

    /// Drops references to removed nodes of storage `storage` from every node of this tree.
    pub(super) fn prune_references(&mut self, storage: usize, removed: &HashSet<NodeId>) {
        for node in self.nodes.values_mut() {
            if !node.references.is_empty() {
                node.references
                    .retain(|r| r.storage != storage || !removed.contains(&r.node));
            }
        }
    }

    // ---- paths (the test-facing control surface) ----

    /// The node at a `/`-separated path below the root, matching names in any case. Empty
    /// components are ignored, so `""` and `"/"` are the root.
    pub(super) fn resolve(&self, path: &str) -> Option<NodeId> {
        let mut at = self.root;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            at = self.child_named(at, part, None)?;
        }
        Some(at)
    }

    /// The path of a node below the root (`""` for the root itself).
    pub(super) fn path_of(&self, id: NodeId) -> String {
        let mut parts = Vec::new();
        let mut at = id;
        while let Some(node) = self.nodes.get(&at) {
            match node.parent {
                Some(p) => {
                    parts.push(node.name.as_str());
                    at = p;
                }
                None => break,
            }
        }
        parts.reverse();
        parts.join("/")
    }

    /// Writes a whole file at `path`, creating missing folders; an existing file's content is
    /// replaced. Returns the file's node.
    ///
    /// # Errors
    /// [`Error::InvalidName`] for a bad component; [`Error::InvalidType`] when a component is
    /// a file or the path names a folder; [`Error::Busy`] when the file is open;
    /// [`Error::DiskFull`] when the data does not fit (then nothing changes).
    pub(super) fn put_file(
        &mut self,
        path: &str,
        data: Vec<u8>,
        now: WmdmDateTime,
    ) -> Result<NodeId> {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let (file_name, folders) = parts.split_last().ok_or(Error::InvalidName)?;
        parts.iter().try_for_each(|p| validate_name(p))?;

        // Walk as far as the path exists, to check everything before changing anything.
        let mut at = self.root;
        let mut missing = folders.len();
        for (i, part) in folders.iter().enumerate() {
            match self.child_named(at, part, None) {
                Some(c) if self.node(c)?.is_folder() => at = c,
                Some(_) => return Err(Error::InvalidType),
                None => {
                    missing = i;
                    break;
                }
            }
        }
        let existing = if missing == folders.len() {
            self.child_named(at, file_name, None)
        } else {
            None
        };
        let old_len = match existing {
            Some(e) => {
                let n = self.node(e)?;
                if n.is_folder() {
                    return Err(Error::InvalidType);
                }
                if n.is_open() {
                    return Err(Error::Busy);
                }
                n.data.len() as u64
            }
            None => 0,
        };
        let grow = (data.len() as u64).saturating_sub(old_len);
        if grow > self.free(false) {
            return Err(Error::DiskFull);
        }

        for part in folders.iter().skip(missing) {
            at = self
                .create(
                    at,
                    Placement::Into,
                    NewObject::plain(part, Kind::Folder),
                    now,
                    false,
                )?
                .id;
        }
        let file = match existing {
            Some(e) => e,
            None => {
                self.create(
                    at,
                    Placement::Into,
                    NewObject::plain(file_name, Kind::File),
                    now,
                    false,
                )?
                .id
            }
        };
        self.commit(file, data, now)?;
        Ok(file)
    }

    /// Creates the folders of `path` that do not exist yet; returns the last one.
    ///
    /// # Errors
    /// [`Error::InvalidName`]; [`Error::InvalidType`] when a component is a file.
    pub(super) fn put_folder(&mut self, path: &str, now: WmdmDateTime) -> Result<NodeId> {
        let mut at = self.root;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            validate_name(part)?;
            at = match self.child_named(at, part, None) {
                Some(c) if self.node(c)?.is_folder() => c,
                Some(_) => return Err(Error::InvalidType),
                None => {
                    self.create(
                        at,
                        Placement::Into,
                        NewObject::plain(part, Kind::Folder),
                        now,
                        false,
                    )?
                    .id
                }
            };
        }
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::Attributes;

    fn now() -> WmdmDateTime {
        WmdmDateTime::from_unix(1_767_225_600)
    }

    fn tree(capacity: u64) -> Tree {
        Tree::new("Internal", "S:0:".into(), capacity, 0, now())
    }

    fn names(t: &Tree, id: NodeId) -> Vec<String> {
        t.node(id)
            .map(|n| {
                n.children
                    .iter()
                    .filter_map(|c| t.get(*c).map(|c| c.name.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn file(t: &mut Tree, at: NodeId, p: Placement, name: &str) -> Result<NodeId> {
        t.create(at, p, NewObject::plain(name, Kind::File), now(), false)
            .map(|c| c.id)
    }

    #[test]
    fn placement_order_is_observable() {
        let mut t = tree(1000);
        let root = t.root();
        let b = file(&mut t, root, Placement::Into, "b").unwrap();
        file(&mut t, b, Placement::Before, "a").unwrap();
        let d = file(&mut t, b, Placement::After, "d").unwrap();
        file(&mut t, d, Placement::Before, "c").unwrap();
        file(&mut t, d, Placement::After, "e").unwrap();
        assert_eq!(names(&t, root), ["a", "b", "c", "d", "e"]);

        let a = t.resolve("a").unwrap();
        t.move_node(a, Placement::After, d).unwrap();
        assert_eq!(names(&t, root), ["b", "c", "d", "a", "e"]);
        let e = t.resolve("E").unwrap();
        t.move_node(e, Placement::Before, b).unwrap();
        assert_eq!(names(&t, root), ["e", "b", "c", "d", "a"]);
        // Moving a node just after its own predecessor leaves it where it was.
        let c = t.resolve("c").unwrap();
        t.move_node(c, Placement::After, b).unwrap();
        assert_eq!(names(&t, root), ["e", "b", "c", "d", "a"]);
    }

    #[test]
    fn placement_errors() {
        let mut t = tree(1000);
        let root = t.root();
        let f = file(&mut t, root, Placement::Into, "f").unwrap();
        assert_eq!(
            file(&mut t, f, Placement::Into, "x"),
            Err(Error::InvalidType)
        );
        assert_eq!(
            file(&mut t, root, Placement::Before, "x"),
            Err(Error::InvalidArg)
        );
        assert_eq!(
            file(&mut t, root, Placement::Into, "F"),
            Err(Error::AlreadyExists)
        );
        assert_eq!(
            file(&mut t, root, Placement::Into, "a/b"),
            Err(Error::InvalidName)
        );

        let dir = t
            .create(
                root,
                Placement::Into,
                NewObject::plain("dir", Kind::Folder),
                now(),
                false,
            )
            .unwrap()
            .id;
        let sub = t
            .create(
                dir,
                Placement::Into,
                NewObject::plain("sub", Kind::Folder),
                now(),
                false,
            )
            .unwrap()
            .id;
        assert_eq!(
            t.move_node(dir, Placement::Into, sub),
            Err(Error::InvalidArg)
        );
        assert_eq!(
            t.move_node(dir, Placement::Into, dir),
            Err(Error::InvalidArg)
        );
        assert_eq!(
            t.move_node(dir, Placement::After, dir),
            Err(Error::InvalidArg)
        );
        assert_eq!(
            t.move_node(dir, Placement::Into, f),
            Err(Error::InvalidType)
        );
        assert_eq!(
            t.move_node(root, Placement::Into, dir),
            Err(Error::InvalidArg)
        );
        assert_eq!(
            t.move_node(f, Placement::Before, root),
            Err(Error::InvalidArg)
        );
        file(&mut t, dir, Placement::Into, "F").unwrap();
        assert_eq!(
            t.move_node(f, Placement::Into, dir),
            Err(Error::AlreadyExists)
        );
    }

    #[test]
    fn overwrite_replaces_a_file_in_place() {
        let mut t = tree(1000);
        let root = t.root();
        let a = file(&mut t, root, Placement::Into, "a").unwrap();
        file(&mut t, root, Placement::Into, "b").unwrap();
        t.commit(a, vec![1; 10], now()).unwrap();
        assert_eq!(t.used(), 10);
        let mut again = NewObject::plain("A", Kind::File);
        again.overwrite = true;
        let c = t
            .create(root, Placement::Into, again, now(), false)
            .unwrap();
        assert_eq!(c.replaced, Some(a));
        assert!(!t.contains(a));
        assert_eq!(names(&t, root), ["A", "b"]);
        assert_eq!(t.used(), 0);

        let mut folder = NewObject::plain("b", Kind::Folder);
        folder.overwrite = true;
        assert_eq!(
            t.create(root, Placement::Into, folder, now(), false),
            Err(Error::AlreadyExists)
        );
    }

    #[test]
    fn space_is_accounted() {
        let mut t = Tree::new("Internal", "S:0:".into(), 100, 10, now());
        assert_eq!(t.free(false), 90);
        let root = t.root();
        let a = file(&mut t, root, Placement::Into, "a").unwrap();
        t.reserve(30, false).unwrap();
        assert_eq!(t.free(false), 60);
        assert_eq!(t.reserve(61, false), Err(Error::DiskFull));
        t.commit(a, vec![0; 30], now()).unwrap();
        t.release(30);
        assert_eq!((t.used(), t.pending(), t.free(false)), (30, 0, 60));
        assert_eq!(t.free(true), 0);
        let mut big = NewObject::plain("big", Kind::File);
        big.size_hint = Some(61);
        assert_eq!(
            t.create(root, Placement::Into, big, now(), false),
            Err(Error::DiskFull)
        );
        t.remove_subtree(a);
        assert_eq!(t.free(false), 90);
        // Bad bytes above the capacity are clamped, so free space never underflows.
        assert_eq!(Tree::new("x", String::new(), 5, 50, now()).free(false), 0);
    }

    #[test]
    fn delete_rules() {
        let mut t = tree(1000);
        let root = t.root();
        let dir = t.put_folder("Music/Album", now()).unwrap();
        let song = t
            .put_file("Music/Album/1.mp3", vec![1, 2, 3], now())
            .unwrap();
        let music = t.resolve("music").unwrap();
        assert_eq!(t.plan_delete(root, true), Err(Error::InvalidArg));
        assert_eq!(t.plan_delete(music, false), Err(Error::DirectoryNotEmpty));
        assert_eq!(t.plan_delete(music, true).unwrap(), vec![music, dir, song]);
        t.node_mut(song).unwrap().readers = 1;
        assert_eq!(t.plan_delete(music, true), Err(Error::Busy));
        t.node_mut(song).unwrap().readers = 0;
        t.node_mut(song).unwrap().flags = Attributes::READONLY;
        assert_eq!(t.plan_delete(music, true), Err(Error::AccessDenied));
        t.node_mut(song).unwrap().flags = Attributes::empty();
        assert_eq!(t.remove_subtree(music).len(), 3);
        assert_eq!((t.used(), t.object_count()), (0, 0));
        assert_eq!(t.find_uid("S:0:3"), None);
    }

    #[test]
    fn a_folder_holding_an_open_file_keeps_its_name_and_place() {
        let mut t = tree(1000);
        let root = t.root();
        let album = t.put_folder("Music/Album", now()).unwrap();
        let song = t.put_file("Music/Album/1.mp3", vec![1], now()).unwrap();
        let music = t.resolve("music").unwrap();
        let other = t.put_folder("Other", now()).unwrap();
        t.node_mut(song).unwrap().writer = true;
        for folder in [music, album] {
            assert_eq!(t.check_rename(folder, "New"), Err(Error::Busy));
            assert_eq!(
                t.check_move(folder, Placement::Into, other),
                Err(Error::Busy)
            );
        }
        // The open file itself may go, and folders beside it are free.
        assert_eq!(t.check_rename(song, "2.mp3"), Ok(()));
        assert_eq!(t.check_move(song, Placement::Into, root), Ok(()));
        assert_eq!(t.check_rename(other, "Else"), Ok(()));
        t.node_mut(song).unwrap().writer = false;
        assert_eq!(t.check_rename(music, "Songs"), Ok(()));
    }

    #[test]
    fn paths_and_unique_ids() {
        let mut t = tree(1000);
        let f = t.put_file("/Music//a.mp3", b"abc".to_vec(), now()).unwrap();
        assert_eq!(t.path_of(f), "Music/a.mp3");
        assert_eq!(t.resolve("MUSIC/A.MP3"), Some(f));
        let uid = t.node(f).unwrap().uid.clone();
        assert_eq!(t.find_uid(&uid), Some(f));
        t.rename(f, "b.mp3").unwrap();
        assert_eq!(t.node(f).unwrap().uid, uid, "IDs survive renames");
        assert_eq!(
            t.put_file("Music/b.mp3/x", vec![], now()),
            Err(Error::InvalidType)
        );
        assert_eq!(t.put_file("Music", vec![], now()), Err(Error::InvalidType));
        assert_eq!(t.put_file("", vec![], now()), Err(Error::InvalidName));
        assert_eq!(
            t.put_file("New/big", vec![0; 2000], now()),
            Err(Error::DiskFull)
        );
        assert_eq!(
            t.resolve("New"),
            None,
            "a failed put leaves no folders behind"
        );
        t.clear();
        let g = t.put_file("c", vec![], now()).unwrap();
        assert_ne!(t.node(g).unwrap().uid, uid, "IDs are never reused");
    }
}
