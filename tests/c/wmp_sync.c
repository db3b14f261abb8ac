/*
 * A sync driven from C with no Rust in the loop, through mingw-w64's own wmp.h: creates the
 * crate's WMP sync services by ProgID (examples/wmp_services.rs, registered with regsvr32),
 * advises an apartment-threaded IWMPEvents2 sink through the connection point, waits in its
 * message loop for the folder device, partners with it (CreatePartnershipComplete), starts a
 * sync and sees DeviceSyncStateChange to synchronizing and back, progress at 100, and the
 * expected files on the device. Every event must arrive on this (STA) thread. Run by
 * .ci/wmp-sync-check.sh under Wine.
 *
 * Usage: wmp_sync.exe <device folder> <number of .wav files the sync must put there>
 * Exits 0 when every check passes, 1 otherwise.
 */
#define COBJMACROS
#include <initguid.h>
#include <windows.h>
#include <ocidl.h>
#include <wmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mingw-w64's wmp.h has no IWMPSyncServices; this is its layout from Microsoft's wmp.h
 * (IUnknown, then get_deviceCount and getDevice). */
DEFINE_GUID(IID_IWMPSyncServices, 0x8b5050ff, 0xe0a4, 0x4808, 0xb3, 0xa8, 0x89, 0x3a, 0x9e, 0x1e,
            0xd8, 0x94);
typedef struct IWMPSyncServices IWMPSyncServices;
typedef struct {
    HRESULT(STDMETHODCALLTYPE *QueryInterface)(IWMPSyncServices *, REFIID, void **);
    ULONG(STDMETHODCALLTYPE *AddRef)(IWMPSyncServices *);
    ULONG(STDMETHODCALLTYPE *Release)(IWMPSyncServices *);
    HRESULT(STDMETHODCALLTYPE *get_deviceCount)(IWMPSyncServices *, LONG *);
    HRESULT(STDMETHODCALLTYPE *getDevice)(IWMPSyncServices *, LONG, IWMPSyncDevice **);
} IWMPSyncServicesVtbl;
struct IWMPSyncServices {
    const IWMPSyncServicesVtbl *lpVtbl;
};
#define IWMPSyncServices_QueryInterface(p, a, b) (p)->lpVtbl->QueryInterface(p, a, b)
#define IWMPSyncServices_Release(p) (p)->lpVtbl->Release(p)
#define IWMPSyncServices_get_deviceCount(p, a) (p)->lpVtbl->get_deviceCount(p, a)
#define IWMPSyncServices_getDevice(p, a, b) (p)->lpVtbl->getDevice(p, a, b)

static int failures = 0;
static DWORD main_thread;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    fflush(stdout);
    if (!ok)
        failures++;
}

/* What the sink saw. */
static struct {
    LONG refs;
    int connects;
    int partnership_done;
    HRESULT partnership_hr;
    int synchronizing_seen;
    int stopped_after_sync;
    int errors;
    int foreign_thread_calls;
} seen;

static void on_thread(void)
{
    if (GetCurrentThreadId() != main_thread)
        seen.foreign_thread_calls++;
}

typedef struct {
    IWMPEvents2 iface;
} Sink;

static HRESULT STDMETHODCALLTYPE sink_qi(IWMPEvents2 *This, REFIID riid, void **out)
{
    if (!out)
        return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IWMPEvents)
        || IsEqualIID(riid, &IID_IWMPEvents2)) {
        *out = This;
        InterlockedIncrement(&seen.refs);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE sink_addref(IWMPEvents2 *This)
{
    (void)This;
    return (ULONG)InterlockedIncrement(&seen.refs);
}

static ULONG STDMETHODCALLTYPE sink_release(IWMPEvents2 *This)
{
    (void)This;
    return (ULONG)InterlockedDecrement(&seen.refs);
}

/* Every IWMPEvents method returns void; on x64 one function with no arguments serves them
 * all (the caller cleans up its arguments). */
static void STDMETHODCALLTYPE sink_ignore(void)
{
    on_thread();
}

static void STDMETHODCALLTYPE sink_connect(IWMPEvents2 *This, IWMPSyncDevice *d)
{
    (void)This;
    (void)d;
    on_thread();
    seen.connects++;
}

static void STDMETHODCALLTYPE sink_state(IWMPEvents2 *This, IWMPSyncDevice *d, WMPSyncState s)
{
    (void)This;
    (void)d;
    on_thread();
    printf("     DeviceSyncStateChange %d\n", (int)s);
    if (s == wmpssSynchronizing)
        seen.synchronizing_seen = 1;
    else if (s == wmpssStopped && seen.synchronizing_seen)
        seen.stopped_after_sync = 1;
}

static void STDMETHODCALLTYPE sink_error(IWMPEvents2 *This, IWMPSyncDevice *d, IDispatch *m)
{
    (void)This;
    (void)d;
    (void)m;
    on_thread();
    seen.errors++;
}

static void STDMETHODCALLTYPE sink_partnership(IWMPEvents2 *This, IWMPSyncDevice *d, HRESULT hr)
{
    (void)This;
    (void)d;
    on_thread();
    printf("     CreatePartnershipComplete 0x%08lx\n", (unsigned long)hr);
    seen.partnership_done = 1;
    seen.partnership_hr = hr;
}

static IWMPEvents2Vtbl sink_vtbl;

static void make_sink_vtbl(void)
{
    void **slot = (void **)&sink_vtbl;
    size_t i;
    for (i = 0; i < sizeof(sink_vtbl) / sizeof(void *); i++)
        slot[i] = (void *)sink_ignore;
    sink_vtbl.QueryInterface = sink_qi;
    sink_vtbl.AddRef = sink_addref;
    sink_vtbl.Release = sink_release;
    sink_vtbl.DeviceConnect = sink_connect;
    sink_vtbl.DeviceSyncStateChange = sink_state;
    sink_vtbl.DeviceSyncError = sink_error;
    sink_vtbl.CreatePartnershipComplete = sink_partnership;
}

/* Counts the files named *.wav under `dir`, outside hidden folders (the sync's own state). */
static int count_wav(const char *dir)
{
    char pattern[MAX_PATH * 2];
    WIN32_FIND_DATAA fd;
    HANDLE h;
    int n = 0;
    snprintf(pattern, sizeof pattern, "%s\\*", dir);
    h = FindFirstFileA(pattern, &fd);
    if (h == INVALID_HANDLE_VALUE)
        return 0;
    do {
        char path[MAX_PATH * 2];
        size_t len = strlen(fd.cFileName);
        if (fd.cFileName[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s\\%s", dir, fd.cFileName);
        if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
            n += count_wav(path);
        else if (len > 4 && _stricmp(fd.cFileName + len - 4, ".wav") == 0)
            n++;
    } while (FindNextFileA(h, &fd));
    FindClose(h);
    return n;
}

/* Runs this thread's message loop until *flag is set or `ms` pass. */
static int pump_until(const int *flag, DWORD ms)
{
    DWORD start = GetTickCount();
    MSG msg;
    while (!*flag && GetTickCount() - start < ms) {
        MsgWaitForMultipleObjects(0, NULL, FALSE, 100, QS_ALLINPUT);
        while (PeekMessageW(&msg, NULL, 0, 0, PM_REMOVE)) {
            TranslateMessage(&msg);
            DispatchMessageW(&msg);
        }
    }
    return *flag;
}

int main(int argc, char **argv)
{
    CLSID clsid;
    IWMPSyncServices *services = NULL;
    IConnectionPointContainer *cpc = NULL;
    IConnectionPoint *point = NULL;
    IWMPSyncDevice *device = NULL;
    Sink sink;
    DWORD cookie = 0;
    LONG count = 0, progress = -1, index = 0;
    WMPSyncState state = (WMPSyncState)-1;
    HRESULT hr;
    int i, have_device = 0;

    if (argc != 3) {
        fprintf(stderr, "usage: %s <device folder> <number of .wav files expected>\n", argv[0]);
        return 2;
    }
    main_thread = GetCurrentThreadId();
    make_sink_vtbl();
    sink.iface.lpVtbl = &sink_vtbl;

    hr = CoInitializeEx(NULL, COINIT_APARTMENTTHREADED);
    check(SUCCEEDED(hr), "CoInitializeEx(COINIT_APARTMENTTHREADED)");
    hr = CLSIDFromProgID(L"Wmdm.SyncServices", &clsid);
    check(SUCCEEDED(hr), "CLSIDFromProgID(Wmdm.SyncServices)");
    if (FAILED(hr))
        return 1;
    hr = CoCreateInstance(&clsid, NULL, CLSCTX_INPROC_SERVER, &IID_IWMPSyncServices,
                          (void **)&services);
    printf("CoCreateInstance -> 0x%08lx\n", (unsigned long)hr);
    check(SUCCEEDED(hr) && services, "CoCreateInstance(IWMPSyncServices)");
    if (FAILED(hr) || !services)
        return 1;

    hr = IWMPSyncServices_QueryInterface(services, &IID_IConnectionPointContainer, (void **)&cpc);
    check(SUCCEEDED(hr), "QueryInterface(IConnectionPointContainer)");
    if (FAILED(hr))
        return 1;
    hr = IConnectionPointContainer_FindConnectionPoint(cpc, &IID_IWMPEvents2, &point);
    check(SUCCEEDED(hr), "FindConnectionPoint(IWMPEvents2)");
    if (FAILED(hr))
        return 1;
    hr = IConnectionPoint_Advise(point, (IUnknown *)&sink.iface, &cookie);
    check(SUCCEEDED(hr) && cookie != 0, "Advise(sink)");

    /* Discovery runs by itself: wait in the message loop until the device is listed. */
    for (i = 0; i < 200 && !have_device; i++) {
        count = 0;
        IWMPSyncServices_get_deviceCount(services, &count);
        have_device = count > 0;
        if (!have_device) {
            int never = 0;
            pump_until(&never, 100);
        }
    }
    check(have_device, "a device was discovered");
    if (!have_device)
        return 1;
    hr = IWMPSyncServices_getDevice(services, 0, &device);
    check(SUCCEEDED(hr) && device, "getDevice(0)");
    if (FAILED(hr) || !device)
        return 1;

    hr = IWMPSyncDevice_createPartnership(device, VARIANT_FALSE);
    check(SUCCEEDED(hr), "createPartnership(VARIANT_FALSE)");
    check(pump_until(&seen.partnership_done, 30000), "CreatePartnershipComplete arrived");
    check(seen.partnership_hr == S_OK, "the partnership was made");
    hr = IWMPSyncDevice_get_partnershipIndex(device, &index);
    check(SUCCEEDED(hr) && index >= 1 && index <= 16, "partnershipIndex is 1..16");

    hr = IWMPSyncDevice_get_progress(device, &progress);
    check(SUCCEEDED(hr) && progress == 0, "progress is 0 before any sync");
    hr = IWMPSyncDevice_start(device);
    check(SUCCEEDED(hr), "start()");
    check(pump_until(&seen.stopped_after_sync, 120000),
          "DeviceSyncStateChange to synchronizing and back to stopped");
    hr = IWMPSyncDevice_get_syncState(device, &state);
    check(SUCCEEDED(hr) && state == wmpssStopped, "syncState is stopped");
    hr = IWMPSyncDevice_get_progress(device, &progress);
    printf("     progress %ld\n", (long)progress);
    check(SUCCEEDED(hr) && progress == 100, "progress reached 100");
    check(seen.errors == 0, "no DeviceSyncError");
    check(seen.foreign_thread_calls == 0, "every event arrived on the advising STA thread");

    {
        int want = atoi(argv[2]), got = count_wav(argv[1]);
        printf("     %d .wav files on the device (%d expected)\n", got, want);
        check(got == want, "every track is on the device");
    }

    IConnectionPoint_Unadvise(point, cookie);
    IConnectionPoint_Release(point);
    IConnectionPointContainer_Release(cpc);
    IWMPSyncDevice_Release(device);
    IWMPSyncServices_Release(services);
    CoUninitialize();
    check(seen.refs == 0, "the services released the sink");
    printf("%s (%d failures)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
