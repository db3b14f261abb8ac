//! IWMDMStorage3::SetEnumPreference: metadata views, enumerated as virtual folders.
//!
//! In [`StorageEnumMode::METADATA_VIEWS`] a storage handle's `children()` no longer lists the
//! file-system layout. Its top level holds one virtual folder per [`MetadataView`], named by
//! the view; below each, one level per tag of the view, grouping the files under the storage
//! by that tag's value (in the order of the view's tags); the last level holds the real file
//! objects, so reading, deleting or renaming them acts on the device's content.
//!
//! Choices where WMDM is silent:
//! * A file without the tag (or with an empty value) goes under a folder named
//!   [`UNKNOWN_VALUE_FOLDER`]. Non-text values are named by their display form.
//! * Virtual folders are ordered by value (byte order of the name); files in a leaf folder
//!   keep the order of a depth-first walk of the real tree. Only files (objects without the
//!   folder attribute) are grouped; real folders are walked, never listed.
//! * Virtual folders are read-only: they report `FOLDER | STORAGE_VIRTUAL`, have no data
//!   (open → [`Error::NotSupported`]), and creating objects in them or deleting them gives
//!   [`Error::AccessDenied`], as does moving a real object into one; renaming or moving a
//!   virtual folder and its metadata give [`Error::NotSupported`].
//!   Their parent is not tracked ([`Error::NotSupported`]).
//! * The views are built when `children()` is called, from the tree as it is then: one walk
//!   and one metadata read per file, shared by all views.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::flags::{Attributes, OpenMode, StorageEnumMode};
use crate::metadata::Metadata;
use crate::provider::{
    CreateRequest, GlobalsRef, ObjectAttributes, ObjectIo, Progress, Storage, StorageRef,
};
use crate::time::WmdmDateTime;

/// Every virtual folder's persistent unique ID starts with this, which is how the manager
/// recognises one as a move target.
const VIEW_ID_PREFIX: &str = "wmdm-view:";

/// True when `storage` is a virtual folder of a metadata view.
pub(crate) fn is_view_folder(storage: &StorageRef) -> bool {
    storage
        .unique_id()
        .is_ok_and(|id| id.starts_with(VIEW_ID_PREFIX))
}

/// The name of the virtual folder that holds files without a value for the level's tag.
pub const UNKNOWN_VALUE_FOLDER: &str = "Unknown";

/// `WMDMMetadataView`: a named view, grouping by each tag in turn (`nDepth` is
/// `tags.len()`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataView {
    /// `pwszViewName`: the name of the view's top-level virtual folder.
    pub name: String,
    /// `ppwszTags`: the metadata names to group by, outermost first.
    pub tags: Vec<String>,
}

impl MetadataView {
    /// A view named `name` grouping by `tags`.
    pub fn new(name: impl Into<String>, tags: &[&str]) -> MetadataView {
        MetadataView {
            name: name.into(),
            tags: tags.iter().map(|t| (*t).to_string()).collect(),
        }
    }
}

/// A storage handle's enumeration preference.
#[derive(Clone, Debug, Default)]
pub(crate) struct EnumPreference {
    pub(crate) mode: StorageEnumMode,
    pub(crate) views: Vec<MetadataView>,
}

impl EnumPreference {
    /// Checks SetEnumPreference's arguments.
    pub(crate) fn new(mode: StorageEnumMode, views: &[MetadataView]) -> Result<EnumPreference> {
        if !mode.is_known() {
            return Err(Error::InvalidArg);
        }
        if mode == StorageEnumMode::METADATA_VIEWS && views.is_empty() {
            return Err(Error::InvalidArg);
        }
        if views.iter().any(|v| v.tags.is_empty()) {
            return Err(Error::InvalidArg);
        }
        Ok(EnumPreference {
            mode,
            views: views.to_vec(),
        })
    }
}

/// The name of the group a file falls in for `tag`.
fn group_name(metadata: &Metadata, tag: &str) -> String {
    match metadata.get(tag).map(|v| v.to_string()) {
        Some(s) if !s.is_empty() => s,
        _ => UNKNOWN_VALUE_FOLDER.to_string(),
    }
}

#[derive(Default)]
struct Group {
    folders: BTreeMap<String, Group>,
    files: Vec<StorageRef>,
}

impl Group {
    fn into_children(self, base: &StorageRef, path: &str) -> Vec<StorageRef> {
        let mut out: Vec<StorageRef> = Vec::with_capacity(self.folders.len() + self.files.len());
        for (name, group) in self.folders {
            let id = format!("{path}/{name}");
            let children = group.into_children(base, &id);
            out.push(Arc::new(VirtualFolder {
                name,
                unique_id: id,
                base: base.clone(),
                children,
            }));
        }
        out.extend(self.files);
        out
    }
}

/// Every file under `base`, depth first, with its metadata. A file whose provider has no
/// metadata counts as having none.
fn files_with_metadata(base: &StorageRef) -> Result<Vec<(StorageRef, Metadata)>> {
    let mut out = Vec::new();
    let mut stack: Vec<StorageRef> = base.children()?.into_iter().rev().collect();
    while let Some(s) = stack.pop() {
        if s.attributes()?.attributes.is_folder() {
            stack.extend(s.children()?.into_iter().rev());
        } else {
            let metadata = match s.metadata() {
                Ok(m) => m,
                Err(err) if err == Error::NotSupported => Metadata::new(),
                Err(e) => return Err(e),
            };
            out.push((s, metadata));
        }
    }
    Ok(out)
}

/// The top level of `views` over the files under `base`: one virtual folder per view.
pub(crate) fn build_views(base: &StorageRef, views: &[MetadataView]) -> Result<Vec<StorageRef>> {
    let files = files_with_metadata(base)?;
    let root_id = format!("{VIEW_ID_PREFIX}{}", base.unique_id()?);
    let mut out: Vec<StorageRef> = Vec::with_capacity(views.len());
    for view in views {
        let mut top = Group::default();
        for (file, metadata) in &files {
            let mut group = &mut top;
            for tag in &view.tags {
                group = group.folders.entry(group_name(metadata, tag)).or_default();
            }
            group.files.push(file.clone());
        }
        let id = format!("{root_id}/{}", view.name);
        let children = top.into_children(base, &id);
        out.push(Arc::new(VirtualFolder {
            name: view.name.clone(),
            unique_id: id,
            base: base.clone(),
            children,
        }));
    }
    Ok(out)
}

/// A read-only virtual folder of a metadata view.
#[derive(Debug)]
struct VirtualFolder {
    name: String,
    unique_id: String,
    /// The storage the view was built from: its medium is the folder's medium.
    base: StorageRef,
    children: Vec<StorageRef>,
}

impl Storage for VirtualFolder {
    fn unique_id(&self) -> Result<String> {
        Ok(self.unique_id.clone())
    }

    fn globals(&self) -> Result<GlobalsRef> {
        self.base.globals()
    }

    fn attributes(&self) -> Result<ObjectAttributes> {
        Ok(ObjectAttributes::new(
            Attributes::FOLDER | Attributes::STORAGE_VIRTUAL,
        ))
    }

    fn name(&self) -> Result<String> {
        Ok(self.name.clone())
    }

    fn date(&self) -> Result<WmdmDateTime> {
        self.base.date()
    }

    fn size(&self) -> Result<u64> {
        Ok(0)
    }

    fn create(&self, _request: &CreateRequest) -> Result<StorageRef> {
        Err(Error::AccessDenied)
    }

    fn children(&self) -> Result<Vec<StorageRef>> {
        Ok(self.children.clone())
    }

    fn open(&self, _mode: OpenMode) -> Result<Box<dyn ObjectIo>> {
        Err(Error::NotSupported)
    }

    fn delete(&self, _recursive: bool, _progress: &mut dyn Progress) -> Result<()> {
        Err(Error::AccessDenied)
    }
}

/// Which layout `preference` asks for, given the device's type flags.
pub(crate) fn wants_views(
    preference: &EnumPreference,
    device_type: impl FnOnce() -> Result<crate::flags::DeviceType>,
) -> Result<bool> {
    match preference.mode {
        StorageEnumMode::METADATA_VIEWS => Ok(true),
        StorageEnumMode::USE_DEVICE_PREF => Ok(!preference.views.is_empty()
            && device_type()?.contains(crate::flags::DeviceType::VIEW_PREF_METADATAVIEW)),
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_arguments() {
        let v = [MetadataView::new("A", &["WMDM/Author"])];
        assert!(EnumPreference::new(StorageEnumMode::RAW, &[]).is_ok());
        assert!(EnumPreference::new(StorageEnumMode::USE_DEVICE_PREF, &[]).is_ok());
        assert!(EnumPreference::new(StorageEnumMode::METADATA_VIEWS, &v).is_ok());
        assert_eq!(
            EnumPreference::new(StorageEnumMode::METADATA_VIEWS, &[]).unwrap_err(),
            Error::InvalidArg
        );
        assert_eq!(
            EnumPreference::new(StorageEnumMode(3), &v).unwrap_err(),
            Error::InvalidArg
        );
        let empty = [MetadataView::new("A", &[])];
        assert_eq!(
            EnumPreference::new(StorageEnumMode::METADATA_VIEWS, &empty).unwrap_err(),
            Error::InvalidArg
        );
    }

    #[test]
    fn unknown_values_get_the_unknown_folder() {
        assert_eq!(
            group_name(&Metadata::new(), "WMDM/Author"),
            UNKNOWN_VALUE_FOLDER
        );
        let mut m = Metadata::new();
        m.add(
            "WMDM/Author",
            crate::metadata::TagValue::String(String::new()),
        );
        assert_eq!(group_name(&m, "WMDM/Author"), UNKNOWN_VALUE_FOLDER);
        let mut m = Metadata::new();
        m.add("WMDM/Author", crate::metadata::TagValue::String("X".into()));
        assert_eq!(group_name(&m, "WMDM/Author"), "X");
    }
}
