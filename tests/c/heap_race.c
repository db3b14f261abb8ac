/* A minimal reproduction of the Wine 8.0 heap corruption that crashed the parallel COM tests
 * (docs/com.md, "Debugging under Wine"). Nothing of the crate is involved: N threads allocate,
 * fill, check and free blocks with HeapAlloc/HeapReAlloc/HeapFree on the (serialized) process
 * heap. A block whose contents change while its thread owns it was handed to two owners.
 *
 *   x86_64-w64-mingw32-gcc -O2 -o heap_race.exe tests/c/heap_race.c
 *   wine heap_race.exe [threads=4] [rounds=200000] [lock=0]
 *
 * Exit status 1 when corruption was seen. With lock=1 every heap call is made under one
 * CRITICAL_SECTION of the program's own: then no corruption is seen (the workaround the Rust
 * tests use, tests/common/serial_heap.rs). Set the prefix's GlobalFlag to 0xB0 (heap tail and
 * free checking, validate all) and WINEDEBUG=err+heap to see Wine's heap validator report it
 * in nearly every multi-threaded run. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>

#define SLOTS 64

static LONG corrupted;
static int rounds = 200000;
static int use_lock;
static CRITICAL_SECTION big_lock;

static void enter(void) { if (use_lock) EnterCriticalSection(&big_lock); }
static void leave(void) { if (use_lock) LeaveCriticalSection(&big_lock); }

static int intact(const unsigned long long *p, size_t words) {
    for (size_t i = 1; i < words; i++)
        if (p[i] != p[0]) return 0;
    return 1;
}

static DWORD WINAPI worker(void *arg) {
    unsigned long long x = (unsigned long long)(ULONG_PTR)arg * 0x9E3779B97F4A7C15ull + 7;
    unsigned long long *blocks[SLOTS];
    size_t sizes[SLOTS];
    int live = 0;
    HANDLE heap = GetProcessHeap();

    for (int r = 0; r < rounds; r++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        if (live < SLOTS && ((x & 1) == 0 || live == 0)) {
            size_t words = (x >> 8) % 200 + 1;
            enter();
            unsigned long long *p = HeapAlloc(heap, 0, words * 8);
            leave();
            if (!p) { InterlockedIncrement(&corrupted); continue; }
            for (size_t i = 0; i < words; i++) p[i] = x;
            if ((x & 6) == 0) {
                /* Grow it, as a Rust Vec does. */
                enter();
                unsigned long long *q = HeapReAlloc(heap, 0, p, words * 16);
                leave();
                if (!q) { InterlockedIncrement(&corrupted); continue; }
                for (size_t i = words; i < words * 2; i++) q[i] = x;
                p = q;
                words *= 2;
            }
            blocks[live] = p;
            sizes[live] = words;
            live++;
        } else {
            int i = (int)((x >> 8) % live);
            if (!intact(blocks[i], sizes[i])) InterlockedIncrement(&corrupted);
            enter();
            HeapFree(heap, 0, blocks[i]);
            leave();
            live--;
            blocks[i] = blocks[live];
            sizes[i] = sizes[live];
        }
    }
    while (live--) {
        if (!intact(blocks[live], sizes[live])) InterlockedIncrement(&corrupted);
        enter();
        HeapFree(heap, 0, blocks[live]);
        leave();
    }
    return 0;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    HANDLE handles[SLOTS];

    if (argc > 2) rounds = atoi(argv[2]);
    if (argc > 3) use_lock = atoi(argv[3]);
    if (threads < 1) threads = 1;
    if (threads > SLOTS) threads = SLOTS;
    InitializeCriticalSection(&big_lock);
    for (int t = 0; t < threads; t++)
        handles[t] = CreateThread(NULL, 0, worker, (void *)(ULONG_PTR)(t + 1), 0, NULL);
    WaitForMultipleObjects(threads, handles, TRUE, INFINITE);
    printf("threads=%d rounds=%d lock=%d corrupted=%ld\n", threads, rounds, use_lock, corrupted);
    return corrupted ? 1 : 0;
}
