//! Shared by the structure-aware targets: deliberate damage to a valid message or file, driven
//! by the fuzzer's bytes. A target builds the valid bytes itself, names the offsets where its
//! fields start (`marks`: headers, length prefixes, MACs), and lets the fuzzer choose which
//! damage to do where; zero mutations keeps the valid bytes, so the success path is always
//! reached too.
#![allow(dead_code)]

use libfuzzer_sys::arbitrary::{Result, Unstructured};

/// Offsets of a run of `u16`-little-endian-length-prefixed fields starting at `start`: each
/// length prefix, each field's first and last byte. Stops at the first field that does not
/// fit (the message is then malformed anyway).
pub fn vec16_marks(msg: &[u8], mut start: usize, fields: usize, out: &mut Vec<usize>) -> usize {
    for _ in 0..fields {
        let Some(len) = msg.get(start..start + 2) else {
            break;
        };
        let len = usize::from(u16::from_le_bytes([len[0], len[1]]));
        out.extend([start, start + 1, start + 2, start + 1 + len]);
        start += 2 + len;
    }
    start
}

fn position(u: &mut Unstructured<'_>, len: usize, marks: &[usize]) -> Result<usize> {
    // Field boundaries most of the time, anywhere otherwise.
    if !marks.is_empty() && u.ratio(3, 4)? {
        let m = *u.choose(marks)?;
        let delta: i8 = u.int_in_range(-2..=2)?;
        Ok(m.saturating_add_signed(isize::from(delta)).min(len))
    } else {
        u.int_in_range(0..=len)
    }
}

/// Applies up to four mutations to `msg`: bit flips, byte and length-field overwrites,
/// truncation, insertions, deletions, duplications, and replacement by or splicing with
/// another valid message (`pool`: a message from another pass or session, an ordering error).
pub fn mutate(
    u: &mut Unstructured<'_>,
    msg: &mut Vec<u8>,
    marks: &[usize],
    pool: &[&[u8]],
) -> Result<()> {
    let count = u.int_in_range(0..=4u8)?;
    for _ in 0..count {
        let len = msg.len();
        let at = position(u, len, marks)?;
        match u.int_in_range(0..=9u8)? {
            0 => {
                if let Some(b) = msg.get_mut(at) {
                    *b ^= 1 << u.int_in_range(0..=7u8)?;
                }
            }
            1 => {
                if let Some(b) = msg.get_mut(at) {
                    *b = u.arbitrary()?;
                }
            }
            2 => msg.truncate(at),
            3 => {
                let n = u.int_in_range(1..=32usize)?;
                let bytes = u.bytes(n.min(u.len()))?.to_vec();
                msg.splice(at..at, bytes);
            }
            4 => {
                let n = u.int_in_range(1..=64usize)?;
                msg.drain(at..(at + n).min(len));
            }
            5 => {
                // A length field: 0, one off, the largest, or any value.
                let v: u16 = match u.int_in_range(0..=3u8)? {
                    0 => 0,
                    1 => u16::from_le_bytes([
                        msg.get(at).copied().unwrap_or(0),
                        msg.get(at + 1).copied().unwrap_or(0),
                    ])
                    .wrapping_add(if u.arbitrary()? { 1 } else { u16::MAX }),
                    2 => u16::MAX,
                    _ => u.arbitrary()?,
                };
                for (i, b) in v.to_le_bytes().into_iter().enumerate() {
                    if let Some(x) = msg.get_mut(at + i) {
                        *x = b;
                    }
                }
            }
            6 => {
                let from = u.int_in_range(0..=len)?;
                let n = u.int_in_range(0..=64usize)?.min(len - from);
                let copy = msg[from..from + n].to_vec();
                msg.splice(at..at, copy);
            }
            7 if !pool.is_empty() => *msg = u.choose(pool)?.to_vec(),
            8 if !pool.is_empty() => {
                let other = u.choose(pool)?;
                let cut = u.int_in_range(0..=other.len())?;
                msg.truncate(at);
                msg.extend_from_slice(&other[cut..]);
            }
            _ => {
                // Swap two regions of equal length (fields in the wrong order).
                let n = u.int_in_range(1..=32usize)?;
                let other = u.int_in_range(0..=len)?;
                if at + n <= len && other + n <= len && (at + n <= other || other + n <= at) {
                    for i in 0..n {
                        msg.swap(at + i, other + i);
                    }
                }
            }
        }
    }
    Ok(())
}
