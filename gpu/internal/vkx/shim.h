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
	PFN_vkSignalSemaphore SignalSemaphore;
	PFN_vkCmdCopyBuffer CmdCopyBuffer;
	PFN_vkCmdPipelineBarrier CmdPipelineBarrier;
	PFN_vkUpdateDescriptorSets UpdateDescriptorSets;
	PFN_vkCreateDescriptorPool CreateDescriptorPool;
	PFN_vkAllocateDescriptorSets AllocateDescriptorSets;
	PFN_vkCreateComputePipelines CreateComputePipelines;
	PFN_vkResetQueryPool ResetQueryPool; // NULL unless hostQueryReset is enabled
} vkio_fns;

int vkio_fns_load(VkInstance instance, VkDevice device, int calibrated, vkio_fns *f);
// vkio_fns_load_reset loads vkResetQueryPool (Vulkan 1.2 core; the device
// must have been created with hostQueryReset); 0 if missing.
int vkio_fns_load_reset(VkInstance instance, vkio_fns *f);
// vkio_host_query_reset_supported reports the hostQueryReset feature
// (Vulkan 1.2 core).
int vkio_host_query_reset_supported(VkInstance instance, VkPhysicalDevice pd);
// vkio_reset_queries resets n queries of pool from the host.
void vkio_reset_queries(vkio_fns *f, uint64_t pool, uint32_t n);

// vkio_device_features reports whether the physical device supports timeline
// semaphores (vkGetPhysicalDeviceFeatures2, Vulkan 1.1 core).
int vkio_timeline_supported(VkInstance instance, VkPhysicalDevice pd);

// vkio_driver_properties copies the device's driver name and info
// (VkPhysicalDeviceDriverProperties, Vulkan 1.2 core) into name and info, each
// VK_MAX_DRIVER_NAME_SIZE / VK_MAX_DRIVER_INFO_SIZE bytes; 0 if the query is
// missing.
int vkio_driver_properties(VkInstance instance, VkPhysicalDevice pd, char *name, char *info);

// Calls that vulkan-go would marshal through C arrays it frees from a GC
// finalizer (unpackArgS*: the array can be freed while the driver still reads
// or writes it; a loop of enumerations under GC pressure corrupted the heap
// within seconds). These take plain arrays the caller owns: Go memory without
// Go pointers, which cgo pins for the call.
VkResult vkio_enumerate_layers(uint32_t *n, VkLayerProperties *props);
VkResult vkio_enumerate_device_extensions(VkInstance instance, VkPhysicalDevice pd, uint32_t *n, VkExtensionProperties *props);
void vkio_queue_families(VkInstance instance, VkPhysicalDevice pd, uint32_t *n, VkQueueFamilyProperties *props);
void vkio_cmd_copy_buffer(vkio_fns *f, VkCommandBuffer cb, uint64_t src, uint64_t dst, uint64_t src_off, uint64_t dst_off,
                          uint64_t size);
void vkio_cmd_memory_barrier(vkio_fns *f, VkCommandBuffer cb, uint32_t src_stages, uint32_t dst_stages, uint32_t src_access,
                             uint32_t dst_access);
// vkio_write_buffer_descriptors writes n buffer descriptors of set: binding
// bindings[i], type types[i], buffer buffers[i] from offsets[i] for ranges[i]
// bytes. (Handles travel as integers, never in Go memory as C pointers.)
void vkio_write_buffer_descriptors(vkio_fns *f, uint64_t set, uint32_t n, const uint32_t *bindings, const uint32_t *types,
                                   const uint64_t *buffers, const uint64_t *offsets, const uint64_t *ranges);
// vkio_create_descriptor_pool makes a pool for max_sets sets holding
// nstorage storage and nuniform uniform buffer descriptors (at least one
// storage descriptor: a pool needs a size even when every set is empty).
VkResult vkio_create_descriptor_pool(vkio_fns *f, uint32_t max_sets, uint32_t nstorage, uint32_t nuniform, uint64_t *pool);
// vkio_allocate_descriptor_set allocates one set of the given layout.
VkResult vkio_allocate_descriptor_set(vkio_fns *f, uint64_t pool, uint64_t layout, uint64_t *set);
VkResult vkio_create_compute_pipeline(vkio_fns *f, uint64_t cache, uint64_t module, const char *entry, uint64_t layout,
                                      uint32_t nspec, const VkSpecializationMapEntry *spec, size_t spec_size,
                                      const void *spec_data, uint64_t *pipeline);

// vkio_robust_buffer_access_supported reports the robustBufferAccess feature
// (vkGetPhysicalDeviceFeatures, Vulkan 1.0 core).
int vkio_robust_buffer_access_supported(VkInstance instance, VkPhysicalDevice pd);

// The features vkio enables: VkPhysicalDeviceFeatures2 (Vulkan 1.1 core; in
// pNext, so pEnabledFeatures stays NULL) chained to the timeline feature.
typedef struct vkio_device_features_t {
	VkPhysicalDeviceFeatures2 f2;
	VkPhysicalDeviceTimelineSemaphoreFeatures tl;
	VkPhysicalDeviceHostQueryResetFeatures hqr;
} vkio_device_features_t;

// vkio_device_features returns a malloc'd vkio_device_features_t (NULL if out
// of memory) to chain into VkDeviceCreateInfo.pNext: timelineSemaphore, and
// robustBufferAccess when robust_buffer_access is nonzero (out-of-bounds
// buffer accesses of shaders then stay inside the bound range: reads return
// values from it or zero, writes outside are discarded).
// hostQueryReset is chained too when host_query_reset is nonzero.
void *vkio_device_features(int robust_buffer_access, int host_query_reset);
// vkio_device_features_robust reads robustBufferAccess back from such a struct.
int vkio_device_features_robust(const void *features);

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
// vkio_submit_wait is vkio_submit (without a fence) whose batch first waits
// for the timeline semaphore wsem0 to reach wval0 and, unless wsem1 is 0,
// wsem1 to reach wval1 (at every pipeline stage): the cross-queue dependency
// of one queue's work on another's.
VkResult vkio_submit_wait(uintptr_t fns, uintptr_t queue, uintptr_t cmdbuf, uint64_t sem, uint64_t value, uint64_t wsem0,
                          uint64_t wval0, uint64_t wsem1, uint64_t wval1);
// vkio_signal signals a timeline semaphore to value from the host.
VkResult vkio_signal(uintptr_t fns, uint64_t sem, uint64_t value);
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

// vkio_wait_any waits until the timeline sem reaches value or the wake
// semaphore reaches wake_value (VK_SEMAPHORE_WAIT_ANY_BIT), then reads sem's
// counter: such a wait does not say which semaphore ended it, to the caller
// or to the validation layer, which without the read still holds the
// command buffers of the values reached as pending.
vkio_counter_result vkio_wait_any(uintptr_t fns, uint64_t sem, uint64_t value, uint64_t wake, uint64_t wake_value,
                                  uint64_t timeout_ns);
// The result of vkio_wait_lanes: the wait's, and both timelines' counters.
typedef struct vkio_lanes_result {
	VkResult r;
	uint64_t value0, value1;
} vkio_lanes_result;

// vkio_wait_lanes waits until timeline sem0 reaches value0, or sem1 reaches
// value1, or wake reaches wake_value (VK_SEMAPHORE_WAIT_ANY_BIT); a sem of 0
// is left out. Then it reads the counters of sem0 and sem1 (those not 0), so
// that the caller, and the validation layer, learn what completed.
vkio_lanes_result vkio_wait_lanes(uintptr_t fns, uint64_t sem0, uint64_t value0, uint64_t sem1, uint64_t value1, uint64_t wake,
                                  uint64_t wake_value, uint64_t timeout_ns);
// vkio_read_counter reads the counter.
vkio_counter_result vkio_read_counter(uintptr_t fns, uint64_t sem);
VkResult vkio_query_results(vkio_fns *f, uint64_t pool, uint32_t first, uint32_t n, uint64_t *out, int wait);

// vkio_calibrate reads the device timestamp and CLOCK_MONOTONIC together.
VkResult vkio_calibrate(vkio_fns *f, uint64_t *device_ts, uint64_t *host_ns, uint64_t *max_dev);

uint64_t vkio_monotonic_ns(void);

#endif
