#include "shim.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static PFN_vkGetInstanceProcAddr gipa;

void *vkio_loader_open(const char **err) {
	static const char *names[] = {"libvulkan.so.1", "libvulkan.so"};
	*err = NULL;
	if (gipa) {
		return (void *)gipa;
	}
	for (int i = 0; i < 2; i++) {
		void *lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		if (!lib) {
			*err = dlerror();
			continue;
		}
		void *sym = dlsym(lib, "vkGetInstanceProcAddr");
		if (!sym) {
			*err = dlerror();
			dlclose(lib);
			continue;
		}
		gipa = (PFN_vkGetInstanceProcAddr)sym;
		*err = NULL;
		return sym;
	}
	return NULL;
}

int vkio_fns_load(VkInstance instance, VkDevice device, int calibrated, vkio_fns *f) {
	memset(f, 0, sizeof *f);
	f->device = device;
	PFN_vkGetDeviceProcAddr gdpa = (PFN_vkGetDeviceProcAddr)gipa(instance, "vkGetDeviceProcAddr");
	if (!gdpa) {
		return 0;
	}
#define LOAD(name) f->name = (PFN_vk##name)gdpa(device, "vk" #name)
	LOAD(QueueSubmit);
	LOAD(WaitSemaphores);
	LOAD(GetSemaphoreCounterValue);
	LOAD(CreateSemaphore);
	LOAD(DestroySemaphore);
	LOAD(GetQueryPoolResults);
	LOAD(SignalSemaphore);
	LOAD(CmdCopyBuffer);
	LOAD(CmdPipelineBarrier);
	LOAD(UpdateDescriptorSets);
	LOAD(CreateDescriptorPool);
	LOAD(AllocateDescriptorSets);
	LOAD(CreateComputePipelines);
#undef LOAD
	if (calibrated) {
		f->GetCalibratedTimestampsEXT = (PFN_vkGetCalibratedTimestampsEXT)gdpa(device, "vkGetCalibratedTimestampsEXT");
	}
	return f->QueueSubmit && f->WaitSemaphores && f->GetSemaphoreCounterValue && f->CreateSemaphore &&
	       f->DestroySemaphore && f->GetQueryPoolResults && f->SignalSemaphore && f->CmdCopyBuffer && f->CmdPipelineBarrier &&
	       f->UpdateDescriptorSets && f->CreateDescriptorPool && f->AllocateDescriptorSets && f->CreateComputePipelines;
}

int vkio_fns_load_reset(VkInstance instance, vkio_fns *f) {
	PFN_vkGetDeviceProcAddr gdpa = (PFN_vkGetDeviceProcAddr)gipa(instance, "vkGetDeviceProcAddr");
	if (!gdpa) {
		return 0;
	}
	f->ResetQueryPool = (PFN_vkResetQueryPool)gdpa(f->device, "vkResetQueryPool");
	return f->ResetQueryPool != NULL;
}

int vkio_host_query_reset_supported(VkInstance instance, VkPhysicalDevice pd) {
	PFN_vkGetPhysicalDeviceFeatures2 gf2 =
		(PFN_vkGetPhysicalDeviceFeatures2)gipa(instance, "vkGetPhysicalDeviceFeatures2");
	if (!gf2) {
		return 0;
	}
	VkPhysicalDeviceHostQueryResetFeatures hqr = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_HOST_QUERY_RESET_FEATURES,
	};
	VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &hqr};
	gf2(pd, &f2);
	return hqr.hostQueryReset == VK_TRUE;
}

void vkio_reset_queries(vkio_fns *f, uint64_t pool, uint32_t n) {
	f->ResetQueryPool(f->device, (VkQueryPool)(uintptr_t)pool, 0, n);
}

int vkio_timeline_supported(VkInstance instance, VkPhysicalDevice pd) {
	PFN_vkGetPhysicalDeviceFeatures2 gf2 =
		(PFN_vkGetPhysicalDeviceFeatures2)gipa(instance, "vkGetPhysicalDeviceFeatures2");
	if (!gf2) {
		return 0;
	}
	VkPhysicalDeviceTimelineSemaphoreFeatures tl = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES,
	};
	VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &tl};
	gf2(pd, &f2);
	return tl.timelineSemaphore == VK_TRUE;
}

VkResult vkio_enumerate_layers(uint32_t *n, VkLayerProperties *props) {
	PFN_vkEnumerateInstanceLayerProperties f =
		(PFN_vkEnumerateInstanceLayerProperties)gipa(NULL, "vkEnumerateInstanceLayerProperties");
	if (!f) {
		return VK_ERROR_INITIALIZATION_FAILED;
	}
	return f(n, props);
}

VkResult vkio_enumerate_device_extensions(VkInstance instance, VkPhysicalDevice pd, uint32_t *n, VkExtensionProperties *props) {
	PFN_vkEnumerateDeviceExtensionProperties f =
		(PFN_vkEnumerateDeviceExtensionProperties)gipa(instance, "vkEnumerateDeviceExtensionProperties");
	if (!f) {
		return VK_ERROR_INITIALIZATION_FAILED;
	}
	return f(pd, NULL, n, props);
}

void vkio_queue_families(VkInstance instance, VkPhysicalDevice pd, uint32_t *n, VkQueueFamilyProperties *props) {
	PFN_vkGetPhysicalDeviceQueueFamilyProperties f =
		(PFN_vkGetPhysicalDeviceQueueFamilyProperties)gipa(instance, "vkGetPhysicalDeviceQueueFamilyProperties");
	if (!f) {
		*n = 0;
		return;
	}
	f(pd, n, props);
}

void vkio_cmd_copy_buffer(vkio_fns *f, VkCommandBuffer cb, uint64_t src, uint64_t dst, uint64_t src_off, uint64_t dst_off,
                          uint64_t size) {
	VkBufferCopy region = {.srcOffset = src_off, .dstOffset = dst_off, .size = size};
	f->CmdCopyBuffer(cb, (VkBuffer)(uintptr_t)src, (VkBuffer)(uintptr_t)dst, 1, &region);
}

void vkio_cmd_memory_barrier(vkio_fns *f, VkCommandBuffer cb, uint32_t src_stages, uint32_t dst_stages, uint32_t src_access,
                             uint32_t dst_access) {
	VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = src_access, .dstAccessMask = dst_access};
	f->CmdPipelineBarrier(cb, src_stages, dst_stages, 0, 1, &b, 0, NULL, 0, NULL);
}

void vkio_write_buffer_descriptors(vkio_fns *f, uint64_t set, uint32_t n, const uint32_t *bindings, const uint32_t *types,
                                   const uint64_t *buffers, const uint64_t *offsets, const uint64_t *ranges) {
	VkWriteDescriptorSet w[16];
	VkDescriptorBufferInfo infos[16];
	for (uint32_t done = 0; done < n;) {
		uint32_t k = n - done < 16 ? n - done : 16;
		for (uint32_t i = 0; i < k; i++) {
			infos[i] = (VkDescriptorBufferInfo){
				.buffer = (VkBuffer)(uintptr_t)buffers[done + i],
				.offset = offsets[done + i],
				.range = ranges[done + i],
			};
			w[i] = (VkWriteDescriptorSet){
				.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
				.dstSet = (VkDescriptorSet)(uintptr_t)set,
				.dstBinding = bindings[done + i],
				.descriptorCount = 1,
				.descriptorType = (VkDescriptorType)types[done + i],
				.pBufferInfo = &infos[i],
			};
		}
		f->UpdateDescriptorSets(f->device, k, w, 0, NULL);
		done += k;
	}
}

VkResult vkio_create_descriptor_pool(vkio_fns *f, uint32_t max_sets, uint32_t nstorage, uint32_t nuniform, uint64_t *pool) {
	VkDescriptorPoolSize sizes[2];
	uint32_t n = 0;
	if (nstorage > 0) {
		sizes[n++] = (VkDescriptorPoolSize){.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = nstorage};
	}
	if (nuniform > 0) {
		sizes[n++] = (VkDescriptorPoolSize){.type = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, .descriptorCount = nuniform};
	}
	if (n == 0) {
		sizes[n++] = (VkDescriptorPoolSize){.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1};
	}
	VkDescriptorPoolCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
		.maxSets = max_sets,
		.poolSizeCount = n,
		.pPoolSizes = sizes,
	};
	VkDescriptorPool p = VK_NULL_HANDLE;
	VkResult r = f->CreateDescriptorPool(f->device, &ci, NULL, &p);
	*pool = (uint64_t)(uintptr_t)p;
	return r;
}

VkResult vkio_allocate_descriptor_set(vkio_fns *f, uint64_t pool, uint64_t layout, uint64_t *set) {
	VkDescriptorSetLayout l = (VkDescriptorSetLayout)(uintptr_t)layout;
	VkDescriptorSetAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
		.descriptorPool = (VkDescriptorPool)(uintptr_t)pool,
		.descriptorSetCount = 1,
		.pSetLayouts = &l,
	};
	VkDescriptorSet s = VK_NULL_HANDLE;
	VkResult r = f->AllocateDescriptorSets(f->device, &ai, &s);
	*set = (uint64_t)(uintptr_t)s;
	return r;
}

VkResult vkio_create_compute_pipeline(vkio_fns *f, uint64_t cache, uint64_t module, const char *entry, uint64_t layout,
                                      uint32_t nspec, const VkSpecializationMapEntry *spec, size_t spec_size,
                                      const void *spec_data, uint64_t *pipeline) {
	VkSpecializationInfo si = {.mapEntryCount = nspec, .pMapEntries = spec, .dataSize = spec_size, .pData = spec_data};
	VkComputePipelineCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
		.stage =
			{
				.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
				.stage = VK_SHADER_STAGE_COMPUTE_BIT,
				.module = (VkShaderModule)(uintptr_t)module,
				.pName = entry,
				.pSpecializationInfo = nspec > 0 ? &si : NULL,
			},
		.layout = (VkPipelineLayout)(uintptr_t)layout,
	};
	VkPipeline p = VK_NULL_HANDLE;
	VkResult r = f->CreateComputePipelines(f->device, (VkPipelineCache)(uintptr_t)cache, 1, &ci, NULL, &p);
	*pipeline = (uint64_t)(uintptr_t)p;
	return r;
}

int vkio_driver_properties(VkInstance instance, VkPhysicalDevice pd, char *name, char *info) {
	PFN_vkGetPhysicalDeviceProperties2 gp2 =
		(PFN_vkGetPhysicalDeviceProperties2)gipa(instance, "vkGetPhysicalDeviceProperties2");
	if (!gp2) {
		return 0;
	}
	VkPhysicalDeviceDriverProperties dp = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
	VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &dp};
	gp2(pd, &p2);
	memcpy(name, dp.driverName, VK_MAX_DRIVER_NAME_SIZE);
	memcpy(info, dp.driverInfo, VK_MAX_DRIVER_INFO_SIZE);
	return 1;
}

int vkio_robust_buffer_access_supported(VkInstance instance, VkPhysicalDevice pd) {
	PFN_vkGetPhysicalDeviceFeatures gf = (PFN_vkGetPhysicalDeviceFeatures)gipa(instance, "vkGetPhysicalDeviceFeatures");
	if (!gf) {
		return 0;
	}
	VkPhysicalDeviceFeatures f;
	memset(&f, 0, sizeof f);
	gf(pd, &f);
	return f.robustBufferAccess == VK_TRUE;
}

void *vkio_device_features(int robust_buffer_access, int host_query_reset) {
	vkio_device_features_t *p = calloc(1, sizeof *p);
	if (!p) {
		return NULL;
	}
	p->tl.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES;
	p->tl.timelineSemaphore = VK_TRUE;
	if (host_query_reset) {
		p->hqr.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_HOST_QUERY_RESET_FEATURES;
		p->hqr.hostQueryReset = VK_TRUE;
		p->tl.pNext = &p->hqr;
	}
	p->f2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
	p->f2.pNext = &p->tl;
	p->f2.features.robustBufferAccess = robust_buffer_access ? VK_TRUE : VK_FALSE;
	return p;
}

int vkio_device_features_robust(const void *features) {
	return ((const vkio_device_features_t *)features)->f2.features.robustBufferAccess == VK_TRUE;
}

void *vkio_validation_features(void) {
	struct {
		VkValidationFeaturesEXT vf;
		VkValidationFeatureEnableEXT en[1];
	} *p = calloc(1, sizeof *p);
	p->en[0] = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
	p->vf.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT;
	p->vf.enabledValidationFeatureCount = 1;
	p->vf.pEnabledValidationFeatures = p->en;
	return p;
}

uint32_t vkio_time_domains(VkInstance instance, VkPhysicalDevice pd) {
	PFN_vkGetPhysicalDeviceCalibrateableTimeDomainsEXT f =
		(PFN_vkGetPhysicalDeviceCalibrateableTimeDomainsEXT)gipa(instance, "vkGetPhysicalDeviceCalibrateableTimeDomainsEXT");
	if (!f) {
		return 0;
	}
	uint32_t n = 0;
	if (f(pd, &n, NULL) != VK_SUCCESS || n == 0) {
		return 0;
	}
	VkTimeDomainEXT d[16];
	if (n > 16) {
		n = 16;
	}
	if (f(pd, &n, d) < 0) {
		return 0;
	}
	uint32_t bits = 0;
	for (uint32_t i = 0; i < n; i++) {
		if ((uint32_t)d[i] < 32) {
			bits |= 1u << (uint32_t)d[i];
		}
	}
	return bits;
}

VkResult vkio_create_timeline(vkio_fns *f, uint64_t initial, uint64_t *sem) {
	VkSemaphoreTypeCreateInfo tci = {
		.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
		.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
		.initialValue = initial,
	};
	VkSemaphoreCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &tci};
	VkSemaphore s = VK_NULL_HANDLE;
	VkResult r = f->CreateSemaphore(f->device, &ci, NULL, &s);
	*sem = (uint64_t)s;
	return r;
}

void vkio_destroy_semaphore(vkio_fns *f, uint64_t sem) {
	f->DestroySemaphore(f->device, (VkSemaphore)sem, NULL);
}

VkResult vkio_submit(uintptr_t fns, uintptr_t queue, uintptr_t cmdbuf, uint64_t sem, uint64_t value, uint64_t fence) {
	vkio_fns *f = (vkio_fns *)fns;
	VkQueue q = (VkQueue)queue;
	VkCommandBuffer cb = (VkCommandBuffer)cmdbuf;
	VkSemaphore s = (VkSemaphore)sem;
	VkTimelineSemaphoreSubmitInfo ti = {
		.sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
		.signalSemaphoreValueCount = 1,
		.pSignalSemaphoreValues = &value,
	};
	VkSubmitInfo si = {
		.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
		.pNext = &ti,
		.commandBufferCount = cb ? 1 : 0,
		.pCommandBuffers = &cb,
		.signalSemaphoreCount = 1,
		.pSignalSemaphores = &s,
	};
	return f->QueueSubmit(q, 1, &si, (VkFence)fence);
}

VkResult vkio_submit_wait(uintptr_t fns, uintptr_t queue, uintptr_t cmdbuf, uint64_t sem, uint64_t value, uint64_t wsem0,
                          uint64_t wval0, uint64_t wsem1, uint64_t wval1) {
	vkio_fns *f = (vkio_fns *)fns;
	VkQueue q = (VkQueue)queue;
	VkCommandBuffer cb = (VkCommandBuffer)cmdbuf;
	VkSemaphore s = (VkSemaphore)sem;
	VkSemaphore ws[2] = {(VkSemaphore)wsem0, (VkSemaphore)wsem1};
	uint64_t wv[2] = {wval0, wval1};
	VkPipelineStageFlags stages[2] = {VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT};
	uint32_t nw = wsem1 ? 2 : 1;
	VkTimelineSemaphoreSubmitInfo ti = {
		.sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
		.waitSemaphoreValueCount = nw,
		.pWaitSemaphoreValues = wv,
		.signalSemaphoreValueCount = 1,
		.pSignalSemaphoreValues = &value,
	};
	VkSubmitInfo si = {
		.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
		.pNext = &ti,
		.waitSemaphoreCount = nw,
		.pWaitSemaphores = ws,
		.pWaitDstStageMask = stages,
		.commandBufferCount = cb ? 1 : 0,
		.pCommandBuffers = &cb,
		.signalSemaphoreCount = 1,
		.pSignalSemaphores = &s,
	};
	return f->QueueSubmit(q, 1, &si, VK_NULL_HANDLE);
}

vkio_lanes_result vkio_wait_lanes(uintptr_t fns, uint64_t sem0, uint64_t value0, uint64_t sem1, uint64_t value1, uint64_t wake,
                                  uint64_t wake_value, uint64_t timeout_ns) {
	vkio_fns *f = (vkio_fns *)fns;
	VkSemaphore s[3];
	uint64_t v[3];
	uint32_t n = 0;
	if (sem0) {
		s[n] = (VkSemaphore)sem0;
		v[n++] = value0;
	}
	if (sem1) {
		s[n] = (VkSemaphore)sem1;
		v[n++] = value1;
	}
	s[n] = (VkSemaphore)wake;
	v[n++] = wake_value;
	VkSemaphoreWaitInfo wi = {
		.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
		.flags = VK_SEMAPHORE_WAIT_ANY_BIT,
		.semaphoreCount = n,
		.pSemaphores = s,
		.pValues = v,
	};
	vkio_lanes_result res = {.r = f->WaitSemaphores(f->device, &wi, timeout_ns)};
	if (res.r == VK_SUCCESS && sem0) {
		res.r = f->GetSemaphoreCounterValue(f->device, (VkSemaphore)sem0, &res.value0);
	}
	if (res.r == VK_SUCCESS && sem1) {
		res.r = f->GetSemaphoreCounterValue(f->device, (VkSemaphore)sem1, &res.value1);
	}
	return res;
}

VkResult vkio_wait_value(uintptr_t fns, uint64_t sem, uint64_t value, uint64_t timeout_ns) {
	vkio_fns *f = (vkio_fns *)fns;
	VkSemaphore s = (VkSemaphore)sem;
	VkSemaphoreWaitInfo wi = {
		.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
		.semaphoreCount = 1,
		.pSemaphores = &s,
		.pValues = &value,
	};
	return f->WaitSemaphores(f->device, &wi, timeout_ns);
}

vkio_counter_result vkio_wait_any(uintptr_t fns, uint64_t sem, uint64_t value, uint64_t wake, uint64_t wake_value,
                                  uint64_t timeout_ns) {
	vkio_fns *f = (vkio_fns *)fns;
	VkSemaphore s[2] = {(VkSemaphore)sem, (VkSemaphore)wake};
	uint64_t v[2] = {value, wake_value};
	VkSemaphoreWaitInfo wi = {
		.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
		.flags = VK_SEMAPHORE_WAIT_ANY_BIT,
		.semaphoreCount = 2,
		.pSemaphores = s,
		.pValues = v,
	};
	vkio_counter_result res = {.r = f->WaitSemaphores(f->device, &wi, timeout_ns)};
	if (res.r == VK_SUCCESS) {
		res.r = f->GetSemaphoreCounterValue(f->device, (VkSemaphore)sem, &res.value);
	}
	return res;
}

VkResult vkio_signal(uintptr_t fns, uint64_t sem, uint64_t value) {
	vkio_fns *f = (vkio_fns *)fns;
	VkSemaphoreSignalInfo si = {
		.sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO,
		.semaphore = (VkSemaphore)sem,
		.value = value,
	};
	return f->SignalSemaphore(f->device, &si);
}

vkio_counter_result vkio_wait_counter(uintptr_t fns, uint64_t sem, uint64_t value, uint64_t timeout_ns) {
	vkio_fns *f = (vkio_fns *)fns;
	vkio_counter_result res = {.r = vkio_wait_value(fns, sem, value, timeout_ns)};
	if (res.r == VK_SUCCESS) {
		res.r = f->GetSemaphoreCounterValue(f->device, (VkSemaphore)sem, &res.value);
	}
	return res;
}

vkio_counter_result vkio_read_counter(uintptr_t fns, uint64_t sem) {
	vkio_fns *f = (vkio_fns *)fns;
	vkio_counter_result res = {0};
	res.r = f->GetSemaphoreCounterValue(f->device, (VkSemaphore)sem, &res.value);
	return res;
}

VkResult vkio_query_results(vkio_fns *f, uint64_t pool, uint32_t first, uint32_t n, uint64_t *out, int wait) {
	VkQueryResultFlags flags = VK_QUERY_RESULT_64_BIT;
	if (wait) {
		flags |= VK_QUERY_RESULT_WAIT_BIT;
	}
	return f->GetQueryPoolResults(f->device, (VkQueryPool)pool, first, n, (size_t)n * 8, out, 8, flags);
}

VkResult vkio_calibrate(vkio_fns *f, uint64_t *device_ts, uint64_t *host_ns, uint64_t *max_dev) {
	if (!f->GetCalibratedTimestampsEXT) {
		return VK_ERROR_EXTENSION_NOT_PRESENT;
	}
	VkCalibratedTimestampInfoEXT ci[2] = {
		{.sType = VK_STRUCTURE_TYPE_CALIBRATED_TIMESTAMP_INFO_EXT, .timeDomain = VK_TIME_DOMAIN_DEVICE_EXT},
		{.sType = VK_STRUCTURE_TYPE_CALIBRATED_TIMESTAMP_INFO_EXT, .timeDomain = VK_TIME_DOMAIN_CLOCK_MONOTONIC_EXT},
	};
	uint64_t ts[2] = {0, 0};
	VkResult r = f->GetCalibratedTimestampsEXT(f->device, 2, ci, ts, max_dev);
	*device_ts = ts[0];
	*host_ns = ts[1];
	return r;
}

uint64_t vkio_monotonic_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
