//! A global allocator for the Windows test binaries that lets one thread at a time into the
//! heap.
//!
//! Why: under Wine 8.0 (Debian's 8.0~repack-4, the CI's Wine leg) the Win32 heap corrupts
//! itself when several threads call HeapAlloc/HeapReAlloc/HeapFree at once: blocks are handed
//! to two owners and free lists break, so RSA arithmetic in one test thread reads another's
//! numbers (page faults in ntdll's `RtlAllocateHeap` / `heap_free_block`, `Certificate::issue`
//! or the handshake failing). The crate is not involved: `tests/c/heap_race.c` reproduces it
//! with nothing but HeapAlloc/HeapFree from four threads, and the same program with one lock of
//! its own around the heap calls never corrupts (docs/com.md, "Debugging under Wine").
//!
//! So Rust's allocations go to a private heap, one call at a time behind a lock; the process
//! heap is left to what Wine and COM allocate there (CoTaskMemAlloc, BSTRs), which is little.
//! On Windows itself this only costs a little contention.
//!
//! Included with `#[path]` by every test binary (through `tests/common` or directly) and by the
//! library's unit tests on Windows.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::c_void;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, MutexGuard};

#[link(name = "kernel32")]
unsafe extern "system" {
    fn HeapCreate(options: u32, initial: usize, maximum: usize) -> *mut c_void;
    fn HeapAlloc(heap: *mut c_void, flags: u32, bytes: usize) -> *mut c_void;
    fn HeapReAlloc(heap: *mut c_void, flags: u32, mem: *mut c_void, bytes: usize) -> *mut c_void;
    fn HeapFree(heap: *mut c_void, flags: u32, mem: *mut c_void) -> i32;
}

const HEAP_ZERO_MEMORY: u32 = 0x8;
/// HeapAlloc's alignment on x86-64; larger alignments go to `System`.
const HEAP_ALIGN: usize = 16;

/// Rust's allocations, on a heap of their own (so the process heap, which Wine and COM use
/// from any thread, sees little traffic), one thread at a time.
struct SerialHeap;

static LOCK: Mutex<()> = Mutex::new(());
static HEAP: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());

fn lock() -> MutexGuard<'static, ()> {
    // Nothing panics while the lock is held, but a poisoned lock guards no data anyway.
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// The private heap; called with the lock held.
fn heap() -> *mut c_void {
    let mut h = HEAP.load(Ordering::Relaxed);
    if h.is_null() {
        // SAFETY: plain call; a growable heap. Null (out of memory) is handled by the callers,
        // whose HeapAlloc then fails and returns null.
        h = unsafe { HeapCreate(0, 0, 0) };
        HEAP.store(h, Ordering::Relaxed);
    }
    h
}

// SAFETY: blocks of alignment <= 16 come from HeapAlloc on the private heap (16-byte aligned
// on x86-64) and go back to it; larger alignments are forwarded to `System`. The choice
// depends only on `layout.align()`, which is the same for a block's whole life.
unsafe impl GlobalAlloc for SerialHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _held = lock();
        if layout.align() > HEAP_ALIGN {
            // SAFETY: forwarded; the caller upholds `GlobalAlloc::alloc`'s contract.
            return unsafe { System.alloc(layout) };
        }
        // SAFETY: a live heap handle (or null, which makes HeapAlloc fail).
        unsafe { HeapAlloc(heap(), 0, layout.size()) }.cast()
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _held = lock();
        if layout.align() > HEAP_ALIGN {
            // SAFETY: as in `alloc`.
            return unsafe { System.alloc_zeroed(layout) };
        }
        // SAFETY: as in `alloc`.
        unsafe { HeapAlloc(heap(), HEAP_ZERO_MEMORY, layout.size()) }.cast()
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _held = lock();
        if layout.align() > HEAP_ALIGN {
            // SAFETY: such blocks came from `System` with `layout`.
            return unsafe { System.dealloc(ptr, layout) };
        }
        // SAFETY: `ptr` came from HeapAlloc/HeapReAlloc on the private heap.
        unsafe { HeapFree(heap(), 0, ptr.cast()) };
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _held = lock();
        if layout.align() > HEAP_ALIGN {
            // SAFETY: as in `dealloc`; the caller upholds `realloc`'s size rules.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: as in `dealloc`; HeapReAlloc keeps the contents and the 16-byte alignment.
        unsafe { HeapReAlloc(heap(), 0, ptr.cast(), new_size) }.cast()
    }
}

#[global_allocator]
static GLOBAL: SerialHeap = SerialHeap;
