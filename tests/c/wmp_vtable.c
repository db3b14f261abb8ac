/*
 * An independent check of the crate's WMP vtables: calls the IWMPSyncDevice that
 * examples/wmp_server.rs hands out through mingw-w64's own wmp.h, not through the Rust
 * definitions. Run by .ci/wmp-vtable-check.sh under Wine.
 *
 * Usage: wmp_vtable.exe <path to wmp_server.dll>
 * Prints each call's result; exits 0 when every check passes, 1 otherwise.
 */
#define COBJMACROS
#include <initguid.h>
#include <windows.h>
#include <wmp.h>
#include <stdio.h>
#include <wchar.h>

typedef HRESULT (WINAPI *get_device_fn)(IWMPSyncDevice **out);

static int failures = 0;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        failures++;
}

int main(int argc, char **argv)
{
    HMODULE dll;
    get_device_fn get_device;
    IWMPSyncDevice *dev = NULL;
    IWMPSyncDevice2 *dev2 = NULL;
    IUnknown *other = NULL;
    WMPDeviceStatus status = (WMPDeviceStatus)-1;
    WMPSyncState state = (WMPSyncState)-1;
    LONG index = -1, progress = -1;
    BSTR id = NULL, value = NULL, name = NULL, text = NULL;
    HRESULT hr;

    if (argc != 2) {
        fprintf(stderr, "usage: %s <wmp_server.dll>\n", argv[0]);
        return 2;
    }
    dll = LoadLibraryA(argv[1]);
    if (!dll) {
        fprintf(stderr, "LoadLibrary(%s) failed: %lu\n", argv[1], GetLastError());
        return 1;
    }
    get_device = (get_device_fn)(void *)GetProcAddress(dll, "WmdmWmpSyncDevice");
    if (!get_device) {
        fprintf(stderr, "WmdmWmpSyncDevice is not exported\n");
        return 1;
    }
    hr = get_device(&dev);
    printf("WmdmWmpSyncDevice -> 0x%08lx\n", (unsigned long)hr);
    if (FAILED(hr) || !dev) {
        fprintf(stderr, "no device\n");
        return 1;
    }

    hr = dev->lpVtbl->get_status(dev, &status);
    printf("get_status -> 0x%08lx, %d\n", (unsigned long)hr, (int)status);
    check(hr == S_OK && status == wmpdsPartnershipExists, "get_status is wmpdsPartnershipExists");

    hr = dev->lpVtbl->get_partnershipIndex(dev, &index);
    printf("get_partnershipIndex -> 0x%08lx, %ld\n", (unsigned long)hr, (long)index);
    check(hr == S_OK && index == 1, "get_partnershipIndex is 1");

    hr = dev->lpVtbl->get_syncState(dev, &state);
    printf("get_syncState -> 0x%08lx, %d\n", (unsigned long)hr, (int)state);
    check(hr == S_OK && state != wmpssSynchronizing && state >= wmpssUnknown && state < wmpssLast,
          "get_syncState is not synchronizing before start");

    hr = dev->lpVtbl->get_deviceId(dev, &id);
    printf("get_deviceId -> 0x%08lx, %ls\n", (unsigned long)hr, id ? id : L"(null)");
    check(hr == S_OK && id && wcscmp(id, L"WMP-CHECK-1") == 0, "get_deviceId is the serial");
    SysFreeString(id);

    hr = dev->lpVtbl->start(dev);
    printf("start -> 0x%08lx\n", (unsigned long)hr);
    check(hr == S_OK, "start");

    hr = dev->lpVtbl->get_syncState(dev, &state);
    printf("get_syncState -> 0x%08lx, %d\n", (unsigned long)hr, (int)state);
    check(hr == S_OK && state == wmpssSynchronizing, "get_syncState is wmpssSynchronizing after start");

    hr = dev->lpVtbl->get_progress(dev, &progress);
    printf("get_progress -> 0x%08lx, %ld\n", (unsigned long)hr, (long)progress);
    check(hr == S_OK && progress >= 0 && progress <= 100, "get_progress is a percentage");

    hr = dev->lpVtbl->get_status(dev, NULL);
    printf("get_status(NULL) -> 0x%08lx\n", (unsigned long)hr);
    check(hr == E_POINTER, "get_status(NULL) is E_POINTER");

    /* mingw-w64's wmp.h stops at IWMPSyncDevice2; its one method is the last slot checked. */
    hr = dev->lpVtbl->QueryInterface(dev, &IID_IWMPSyncDevice2, (void **)&dev2);
    printf("QueryInterface(IWMPSyncDevice2) -> 0x%08lx\n", (unsigned long)hr);
    check(hr == S_OK && dev2, "QueryInterface(IWMPSyncDevice2)");
    if (dev2) {
        name = SysAllocString(L"PercentSpaceReserved");
        text = SysAllocString(L"10");
        hr = dev2->lpVtbl->setItemInfo(dev2, name, text);
        printf("IWMPSyncDevice2::setItemInfo -> 0x%08lx\n", (unsigned long)hr);
        check(hr == S_OK, "setItemInfo(PercentSpaceReserved, 10)");
        hr = dev2->lpVtbl->getItemInfo(dev2, name, &value);
        printf("IWMPSyncDevice2::getItemInfo -> 0x%08lx, %ls\n", (unsigned long)hr,
               value ? value : L"(null)");
        check(hr == S_OK && value && wcscmp(value, L"10") == 0, "getItemInfo reads it back");
        SysFreeString(value);
        SysFreeString(text);
        SysFreeString(name);
        dev2->lpVtbl->Release(dev2);
    }

    hr = dev->lpVtbl->QueryInterface(dev, &IID_IWMPEvents2, (void **)&other);
    printf("QueryInterface(IWMPEvents2) -> 0x%08lx\n", (unsigned long)hr);
    check(hr == E_NOINTERFACE && other == NULL, "QueryInterface(IWMPEvents2) is E_NOINTERFACE");

    hr = dev->lpVtbl->stop(dev);
    printf("stop -> 0x%08lx\n", (unsigned long)hr);
    check(hr == S_OK, "stop");

    dev->lpVtbl->Release(dev);
    printf("%s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
