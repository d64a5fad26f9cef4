// C shims for what vulkan-go lacks (Vulkan 1.1+/1.2 entry points, the
// calibrated-timestamps extension) or makes slow (the submit/wait hot path:
// structs live on the C stack, no Go marshalling).
#ifndef VKIO_SHIM_H
#define VKIO_SHIM_H

#define VK_NO_PROTOTYPES 1
#include <vulkan/vulkan.h>
#include <stdint.h>

// vkio_loader_open dlopens libvulkan.so.1 (then libvulkan.so) and returns
// vkGetInstanceProcAddr, or NULL with *err set to dlerror()'s text.
void *vkio_loader_open(const char **err);

// Per-device function table, fetched with vkGetDeviceProcAddr.
typedef struct vkio_fns {
	VkDevice device;
	PFN_vkQueueSubmit QueueSubmit;
	PFN_vkWaitSemaphores WaitSemaphores;
	PFN_vkGetSemaphoreCounterValue GetSemaphoreCounterValue;
	PFN_vkCreateSemaphore CreateSemaphore;
	PFN_vkDestroySemaphore DestroySemaphore;
	PFN_vkGetQueryPoolResults GetQueryPoolResults;
	PFN_vkGetCalibratedTimestampsEXT GetCalibratedTimestampsEXT;
} vkio_fns;

int vkio_fns_load(VkInstance instance, VkDevice device, int calibrated, vkio_fns *f);

// vkio_device_features reports whether the physical device supports timeline
// semaphores (vkGetPhysicalDeviceFeatures2, Vulkan 1.1 core).
int vkio_timeline_supported(VkInstance instance, VkPhysicalDevice pd);

// vkio_timeline_features returns a malloc'd VkPhysicalDeviceTimelineSemaphoreFeatures
// (timelineSemaphore = VK_TRUE) to chain into VkDeviceCreateInfo.pNext.
void *vkio_timeline_features(void);

// vkio_validation_features returns a malloc'd VkValidationFeaturesEXT that
// enables synchronization validation, for VkInstanceCreateInfo.pNext.
void *vkio_validation_features(void);

// vkio_time_domains returns a bit set of the calibrateable time domains
// (bit i = VkTimeDomainEXT i), or 0 when the extension is unavailable.
uint32_t vkio_time_domains(VkInstance instance, VkPhysicalDevice pd);

VkResult vkio_create_timeline(vkio_fns *f, uint64_t initial, uint64_t *sem);
void vkio_destroy_semaphore(vkio_fns *f, uint64_t sem);

// vkio_submit submits one command buffer (may be NULL) that signals the
// timeline semaphore to value, and fence (may be 0).
//
// The per-submission calls (vkio_submit, vkio_wait_value, vkio_wait_counter,
// vkio_read_counter) take the vkio_fns pointer and the queue and command
// buffer handles as uintptr_t: they are C memory or Vulkan handles, and as
// integers cgo does not check them for Go pointers on every call (runtime
// cgoCheckPointer, a heap-span lookup per pointer argument).
VkResult vkio_submit(uintptr_t fns, uintptr_t queue, uintptr_t cmdbuf, uint64_t sem, uint64_t value, uint64_t fence);
VkResult vkio_wait_value(uintptr_t fns, uint64_t sem, uint64_t value, uint64_t timeout_ns);
// A result and a counter value, returned by value so that Go passes no
// pointer (a Go pointer handed to C escapes to the heap: one allocation per
// call).
typedef struct vkio_counter_result {
	VkResult r;
	uint64_t value;
} vkio_counter_result;

// vkio_wait_counter waits like vkio_wait_value and then reads the counter
// (the hot path of the completion goroutine: one cgo call).
vkio_counter_result vkio_wait_counter(uintptr_t fns, uint64_t sem, uint64_t value, uint64_t timeout_ns);
// vkio_read_counter reads the counter.
vkio_counter_result vkio_read_counter(uintptr_t fns, uint64_t sem);
VkResult vkio_query_results(vkio_fns *f, uint64_t pool, uint32_t first, uint32_t n, uint64_t *out, int wait);

// vkio_calibrate reads the device timestamp and CLOCK_MONOTONIC together.
VkResult vkio_calibrate(vkio_fns *f, uint64_t *device_ts, uint64_t *host_ns, uint64_t *max_dev);

uint64_t vkio_monotonic_ns(void);

#endif
