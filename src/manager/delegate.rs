//! The method lists both hops delegate, written once.
//!
//! The provider-side handles ([`AuthenticatedDevice`](super::AuthenticatedDevice) and friends,
//! the IMDSP* interfaces) and the application-side handles ([`WmdmDevice`](super::WmdmDevice)
//! and friends, the IWMDM* interfaces) forward the same plain getters and setters, each after
//! its own authentication check. Each macro below hands its list to the `$emit` macro of one
//! side (`checked!` or `gated!`), with documentation naming that side's interfaces (`$p` is
//! `"IMDSP"` or `"IWMDM"`), so a method added to the core is added to both hops at once.

/// IMDSPDevice/IWMDMDevice and their later versions: the methods without MACs.
macro_rules! device_methods {
    ($emit:ident, $field:ident, $p:literal) => {
        $emit! { $field;
            #[doc = concat!($p, "Device::GetName.")]
            fn name(&self) -> String;
            #[doc = concat!($p, "Device::GetManufacturer.")]
            fn manufacturer(&self) -> String;
            #[doc = concat!($p, "Device::GetVersion.")]
            fn version(&self) -> u32;
            #[doc = concat!($p, "Device::GetType.")]
            fn device_type(&self) -> DeviceType;
            #[doc = concat!($p, "Device::GetPowerSource.")]
            fn power_source(&self) -> PowerInfo;
            #[doc = concat!($p, "Device::GetStatus.")]
            fn status(&self) -> DeviceStatus;
            #[doc = concat!($p, "Device::GetDeviceIcon.")]
            fn icon(&self) -> Icon;
            #[doc = concat!($p, "Device::GetFormatSupport and ", $p, "Device2::GetFormatSupport2.")]
            fn format_support(&self) -> FormatSupport;
            #[doc = concat!($p, "Device2::GetCanonicalName.")]
            fn canonical_name(&self) -> String;
            #[doc = concat!($p, "Device3::GetProperty.")]
            fn property(&self, name: &str) -> PropValue;
            #[doc = concat!($p, "Device3::SetProperty.")]
            fn set_property(&self, name: &str, value: &PropValue) -> ();
            #[doc = concat!($p, "Device3::GetFormatCapability.")]
            fn format_capability(&self, format: FormatCode) -> FormatCapability;
            #[doc = concat!($p, "Device3::DeviceIoControl.")]
            fn io_control(&self, code: u32, input: &[u8], max_output: usize) -> Vec<u8>;
            /// Crate extension, not a WMDM method: the durability barrier (see
            /// [`Device::flush`](crate::provider::Device::flush)).
            fn flush(&self) -> ();
            /// Crate extension, not a WMDM method: takes the device's writer lock (see
            /// [`Device::lock_writer`](crate::provider::Device::lock_writer)).
            fn lock_writer(&self, holder: &crate::provider::LockHolder) -> crate::provider::WriterLock;
            /// Crate extension, not a WMDM method: who holds the writer lock (see
            /// [`Device::writer_holder`](crate::provider::Device::writer_holder)).
            fn writer_holder(&self) -> Option<crate::provider::LockHolder>;
        }
    };
}

/// IMDSPStorage/IWMDMStorage and their later versions: the methods without MACs or progress.
macro_rules! storage_methods {
    ($emit:ident, $field:ident, $p:literal) => {
        $emit! { $field;
            /// The persistent unique ID (`WMDM/PersistentUniqueID`).
            fn unique_id(&self) -> String;
            #[doc = concat!($p, "Storage::GetAttributes and ", $p, "Storage2::GetAttributes2.")]
            fn attributes(&self) -> ObjectAttributes;
            #[doc = concat!($p, "Storage::SetAttributes and ", $p, "Storage2::SetAttributes2.")]
            fn set_attributes(&self, attributes: &ObjectAttributes) -> ();
            #[doc = concat!($p, "Storage::GetName.")]
            fn name(&self) -> String;
            #[doc = concat!($p, "Storage::GetDate.")]
            fn date(&self) -> WmdmDateTime;
            /// Crate extension, not a WMDM method: the last-modified time with the medium's
            /// full precision, where it keeps one (see
            /// [`Storage::modified_precise`](crate::provider::Storage::modified_precise)).
            fn modified_precise(&self) -> Option<std::time::SystemTime>;
            #[doc = concat!($p, "Storage::GetSize.")]
            fn size(&self) -> u64;
            #[doc = concat!($p, "Storage3::GetMetadata.")]
            fn metadata(&self) -> Metadata;
            #[doc = concat!($p, "Storage3::SetMetadata.")]
            fn set_metadata(&self, metadata: &Metadata) -> Status;
            #[doc = concat!($p, "Storage4::GetSpecifiedMetadata.")]
            fn specified_metadata(&self, names: &[&str]) -> (Metadata, Status);
        }
    };
}

/// IMDSPStorageGlobals/IWMDMStorageGlobals: the methods without MACs.
macro_rules! globals_methods {
    ($emit:ident, $field:ident, $p:literal) => {
        $emit! { $field;
            #[doc = concat!($p, "StorageGlobals::GetCapabilities.")]
            fn capabilities(&self) -> StorageCapabilities;
            #[doc = concat!($p, "StorageGlobals::GetTotalSize.")]
            fn total_size(&self) -> u64;
            #[doc = concat!($p, "StorageGlobals::GetTotalFree.")]
            fn total_free(&self) -> u64;
            #[doc = concat!($p, "StorageGlobals::GetTotalBad.")]
            fn total_bad(&self) -> u64;
            #[doc = concat!($p, "StorageGlobals::GetStatus.")]
            fn status(&self) -> DeviceStatus;
            #[doc = concat!($p, "StorageGlobals::Initialize.")]
            fn initialize(&self, mode: Mode, progress: &mut dyn Progress) -> ();
        }
    };
}
