//! `PROPVARIANT` and `WMDM_FORMAT_CAPABILITY` from and to the core's [`PropValue`] and
//! [`FormatCapability`]. Everything handed out is `CoTaskMemAlloc`ed, as `PropVariantClear` and
//! `FreeFormatCapability`-style cleanup expect.

use std::mem::ManuallyDrop;

use windows::Win32::Foundation::{VARIANT_FALSE, VARIANT_TRUE};
use windows::Win32::Media::DeviceManager::{
    WMDM_ENUM_PROP_VALID_VALUES_ANY, WMDM_ENUM_PROP_VALID_VALUES_ENUM,
    WMDM_ENUM_PROP_VALID_VALUES_RANGE, WMDM_FORMAT_CAPABILITY, WMDM_PROP_CONFIG, WMDM_PROP_DESC,
    WMDM_PROP_DESC_0, WMDM_PROP_VALUES_ENUM, WMDM_PROP_VALUES_RANGE,
};
use windows::Win32::System::Com::StructuredStorage::{
    CALPWSTR, CAUB, CAUL, PROPVARIANT, PROPVARIANT_0, PROPVARIANT_0_0, PROPVARIANT_0_0_0,
};
use windows::Win32::System::Variant::{
    VARENUM, VT_BOOL, VT_CLSID, VT_EMPTY, VT_I4, VT_LPWSTR, VT_UI1, VT_UI4, VT_UI8, VT_VECTOR,
};
use windows_core::{GUID, PCWSTR, PWSTR};

use super::util::{co_array, co_wstr};
use crate::error::{Error, Result};
use crate::metadata::PropValue;
use crate::provider::{FormatCapability, ValidValues};

fn variant(vt: VARENUM, value: PROPVARIANT_0_0_0) -> PROPVARIANT {
    PROPVARIANT {
        Anonymous: PROPVARIANT_0 {
            Anonymous: ManuallyDrop::new(PROPVARIANT_0_0 {
                vt,
                wReserved1: 0,
                wReserved2: 0,
                wReserved3: 0,
                Anonymous: value,
            }),
        },
    }
}

/// A `PROPVARIANT` holding `v`.
///
/// # Errors
/// [`Error::OutOfMemory`] when an allocation fails.
pub(crate) fn to_propvariant(v: &PropValue) -> Result<PROPVARIANT> {
    Ok(match v {
        PropValue::Empty => PROPVARIANT::default(),
        PropValue::Bool(b) => variant(
            VT_BOOL,
            PROPVARIANT_0_0_0 {
                boolVal: if *b { VARIANT_TRUE } else { VARIANT_FALSE },
            },
        ),
        PropValue::U32(x) => variant(VT_UI4, PROPVARIANT_0_0_0 { ulVal: *x }),
        PropValue::I32(x) => variant(VT_I4, PROPVARIANT_0_0_0 { lVal: *x }),
        PropValue::U64(x) => variant(VT_UI8, PROPVARIANT_0_0_0 { uhVal: *x }),
        PropValue::String(s) => variant(
            VT_LPWSTR,
            PROPVARIANT_0_0_0 {
                pwszVal: co_wstr(s)?,
            },
        ),
        PropValue::Guid(g) => {
            let guid = GUID::from_u128(g.as_u128());
            variant(
                VT_CLSID,
                PROPVARIANT_0_0_0 {
                    puuid: co_array(vec![guid])?,
                },
            )
        }
        PropValue::StringArray(list) => {
            let strings = list
                .iter()
                .map(|s| co_wstr(s))
                .collect::<Result<Vec<PWSTR>>>()?;
            let n = strings.len() as u32;
            variant(
                VARENUM(VT_VECTOR.0 | VT_LPWSTR.0),
                PROPVARIANT_0_0_0 {
                    calpwstr: CALPWSTR {
                        cElems: n,
                        pElems: co_array(strings)?,
                    },
                },
            )
        }
        PropValue::U32Array(list) => variant(
            VARENUM(VT_VECTOR.0 | VT_UI4.0),
            PROPVARIANT_0_0_0 {
                caul: CAUL {
                    cElems: list.len() as u32,
                    pElems: co_array(list.clone())?,
                },
            },
        ),
        PropValue::Binary(bytes) => variant(
            VARENUM(VT_VECTOR.0 | VT_UI1.0),
            PROPVARIANT_0_0_0 {
                caub: CAUB {
                    cElems: bytes.len() as u32,
                    pElems: co_array(bytes.clone())?,
                },
            },
        ),
    })
}

/// The core's value for a caller's `PROPVARIANT`.
///
/// # Errors
/// [`Error::NullPointer`] for a null pointer; [`Error::InvalidArg`] for a type the core has no
/// value for, or a string that is not valid UTF-16.
pub(crate) fn from_propvariant(p: *const PROPVARIANT) -> Result<PropValue> {
    if p.is_null() {
        return Err(Error::NullPointer);
    }
    // SAFETY: a non-null PROPVARIANT supplied by the caller for the duration of the call; the
    // union member read below is the one its `vt` names, and the vector counts and pointers
    // come with it.
    unsafe {
        let inner = &(*p).Anonymous.Anonymous;
        let v = &inner.Anonymous;
        let vt = inner.vt;
        Ok(match vt {
            t if t == VT_EMPTY => PropValue::Empty,
            t if t == VT_BOOL => PropValue::Bool(v.boolVal != VARIANT_FALSE),
            t if t == VT_UI4 => PropValue::U32(v.ulVal),
            t if t == VT_I4 => PropValue::I32(v.lVal),
            t if t == VT_UI8 => PropValue::U64(v.uhVal),
            t if t == VT_LPWSTR => PropValue::String(wide(v.pwszVal)?),
            t if t == VT_CLSID => {
                if v.puuid.is_null() {
                    return Err(Error::InvalidArg);
                }
                PropValue::Guid(uuid::Uuid::from_u128((*v.puuid).to_u128()))
            }
            t if t.0 == VT_VECTOR.0 | VT_LPWSTR.0 => {
                let list = slice(v.calpwstr.pElems, v.calpwstr.cElems)?;
                PropValue::StringArray(list.iter().map(|s| wide(*s)).collect::<Result<_>>()?)
            }
            t if t.0 == VT_VECTOR.0 | VT_UI4.0 => {
                PropValue::U32Array(slice(v.caul.pElems, v.caul.cElems)?.to_vec())
            }
            t if t.0 == VT_VECTOR.0 | VT_UI1.0 => {
                PropValue::Binary(slice(v.caub.pElems, v.caub.cElems)?.to_vec())
            }
            _ => return Err(Error::InvalidArg),
        })
    }
}

/// # Safety
/// `p` must be null or point at a NUL-terminated UTF-16 string.
unsafe fn wide(p: PWSTR) -> Result<String> {
    if p.is_null() {
        return Err(Error::InvalidArg);
    }
    // SAFETY: per this function's contract.
    unsafe { PCWSTR(p.0).to_string() }.map_err(|_| Error::InvalidArg)
}

/// # Safety
/// `p` must be null (with `n == 0`) or point at `n` values of `T`.
unsafe fn slice<'a, T>(p: *const T, n: u32) -> Result<&'a [T]> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::InvalidArg);
    }
    // SAFETY: per this function's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, n as usize) })
}

/// `WMDM_FORMAT_CAPABILITY` for the core's capability.
///
/// # Errors
/// [`Error::OutOfMemory`].
pub(crate) fn capability_to_c(cap: &FormatCapability) -> Result<WMDM_FORMAT_CAPABILITY> {
    let mut configs = Vec::with_capacity(cap.configs.len());
    for c in &cap.configs {
        let mut descs = Vec::with_capacity(c.descriptions.len());
        for d in &c.descriptions {
            let (form, values) = match &d.valid {
                ValidValues::Any => (
                    WMDM_ENUM_PROP_VALID_VALUES_ANY,
                    WMDM_PROP_DESC_0 {
                        EnumeratedValidValues: WMDM_PROP_VALUES_ENUM {
                            cEnumValues: 0,
                            pValues: std::ptr::null_mut(),
                        },
                    },
                ),
                ValidValues::Range { min, max, step } => (
                    WMDM_ENUM_PROP_VALID_VALUES_RANGE,
                    WMDM_PROP_DESC_0 {
                        ValidValuesRange: ManuallyDrop::new(WMDM_PROP_VALUES_RANGE {
                            rangeMin: to_propvariant(min)?,
                            rangeMax: to_propvariant(max)?,
                            rangeStep: to_propvariant(step)?,
                        }),
                    },
                ),
                ValidValues::Enum(list) => {
                    let values = list
                        .iter()
                        .map(to_propvariant)
                        .collect::<Result<Vec<_>>>()?;
                    let n = values.len() as u32;
                    (
                        WMDM_ENUM_PROP_VALID_VALUES_ENUM,
                        WMDM_PROP_DESC_0 {
                            EnumeratedValidValues: WMDM_PROP_VALUES_ENUM {
                                cEnumValues: n,
                                pValues: co_array(values)?,
                            },
                        },
                    )
                }
            };
            descs.push(WMDM_PROP_DESC {
                pwszPropName: co_wstr(&d.name)?,
                ValidValuesForm: form,
                ValidValues: values,
            });
        }
        let n = descs.len() as u32;
        configs.push(WMDM_PROP_CONFIG {
            nPreference: c.preference,
            nPropDesc: n,
            pPropDesc: co_array(descs)?,
        });
    }
    let n = configs.len() as u32;
    Ok(WMDM_FORMAT_CAPABILITY {
        nPropConfig: n,
        pConfigs: co_array(configs)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_propvariant() {
        let values = [
            PropValue::Empty,
            PropValue::Bool(true),
            PropValue::U32(7),
            PropValue::I32(-7),
            PropValue::U64(1 << 40),
            PropValue::String("héllo".into()),
            PropValue::Guid(uuid::Uuid::from_u128(
                0x1234_5678_9abc_def0_1122_3344_5566_7788,
            )),
            PropValue::StringArray(vec!["a".into(), "bc".into()]),
            PropValue::U32Array(vec![1, 2, 3]),
            PropValue::Binary(vec![9, 8]),
        ];
        for v in values {
            let pv = to_propvariant(&v).unwrap();
            assert_eq!(from_propvariant(&pv).unwrap(), v);
        }
        assert_eq!(from_propvariant(std::ptr::null()), Err(Error::NullPointer));
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    fn value() -> impl Strategy<Value = PropValue> {
        prop_oneof![
            Just(PropValue::Empty),
            any::<bool>().prop_map(PropValue::Bool),
            any::<u32>().prop_map(PropValue::U32),
            any::<i32>().prop_map(PropValue::I32),
            any::<u64>().prop_map(PropValue::U64),
            "[^\u{0}]{0,20}".prop_map(PropValue::String),
            any::<u128>().prop_map(|g| PropValue::Guid(uuid::Uuid::from_u128(g))),
            proptest::collection::vec("[^\u{0}]{0,8}", 0..5).prop_map(PropValue::StringArray),
            proptest::collection::vec(any::<u32>(), 0..8).prop_map(PropValue::U32Array),
            proptest::collection::vec(any::<u8>(), 0..32).prop_map(PropValue::Binary),
        ]
    }

    proptest! {
        #[test]
        fn every_value_round_trips_through_a_propvariant(v in value()) {
            let pv = to_propvariant(&v).unwrap();
            prop_assert_eq!(from_propvariant(&pv).unwrap(), v);
        }
    }
}
