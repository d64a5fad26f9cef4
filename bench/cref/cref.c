// cref: the plain C Vulkan reference for vkio's GPU benchmarks.
//
//   W1  one tiny dispatch, submit -> vkWaitForFences latency (median, us)
//   W2  1000 tiny dispatches with 4 in flight (dispatches/s, median of runs)
//   W3  SAXPY over 16M floats, kernel time from GPU timestamps (median, ms)
//
// Usage: cref [-w W1|W2|W3|all] [-shaders DIR] [-sync timeline|fence]
// Prints one line per workload: "W1 <value>". No validation layer: this is
// what a careful C program does, the yardstick for vkio's overhead. The
// device is the one VKIO_DEVICE names (an index), else the first.
//
// It does the same Vulkan work per dispatch as vkio (gpu/internal/gpubench):
// one reused command buffer per batch holding a full compute/transfer
// barrier, the commands, and a compute->host barrier; every submission
// signals the next value of one timeline semaphore and waits with
// vkWaitSemaphores (-sync timeline, the default). -sync fence uses one
// VkFence per command buffer instead (vkWaitForFences + vkResetFences); on
// lavapipe both measure the same within noise.
#define _POSIX_C_SOURCE 200809L
#include <vulkan/vulkan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(x)                                                                    \
	do {                                                                            \
		VkResult r_ = (x);                                                          \
		if (r_ != VK_SUCCESS) {                                                     \
			fprintf(stderr, "cref: %s failed: %d (line %d)\n", #x, r_, __LINE__);   \
			exit(1);                                                                \
		}                                                                           \
	} while (0)

// W3's workgroup size: 16M / 1024 = 16384 workgroups.
#define W3_LOCAL 1024

static VkInstance inst;
static VkPhysicalDevice pd;
static VkDevice dev;
static VkQueue queue;
static uint32_t qfam;
static VkPhysicalDeviceMemoryProperties memprops;
static float tsPeriod;
static int use_fence;      // -sync fence
static VkSemaphore tl;     // the timeline semaphore (-sync timeline)
static uint64_t tl_value;  // last value signalled

static double now_us(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint32_t *read_file(const char *path, size_t *size) {
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint32_t *buf = malloc(n);
	if (fread(buf, 1, n, f) != (size_t)n) {
		perror(path);
		exit(1);
	}
	fclose(f);
	*size = n;
	return buf;
}

static void init(void) {
	VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "cref", .apiVersion = VK_API_VERSION_1_2};
	VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
	CHECK(vkCreateInstance(&ici, NULL, &inst));
	uint32_t n = 0;
	CHECK(vkEnumeratePhysicalDevices(inst, &n, NULL));
	if (n == 0) {
		fprintf(stderr, "cref: no Vulkan device\n");
		exit(1);
	}
	VkPhysicalDevice pds[16];
	if (n > 16) n = 16;
	CHECK(vkEnumeratePhysicalDevices(inst, &n, pds));
	uint32_t idx = 0;
	const char *env = getenv("VKIO_DEVICE");
	if (env && *env) idx = (uint32_t)atoi(env);
	if (idx >= n) {
		fprintf(stderr, "cref: no device %u\n", idx);
		exit(1);
	}
	pd = pds[idx];
	VkPhysicalDeviceProperties props;
	vkGetPhysicalDeviceProperties(pd, &props);
	tsPeriod = props.limits.timestampPeriod;
	fprintf(stderr, "cref: device %s\n", props.deviceName);
	uint32_t nq = 0;
	vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, NULL);
	VkQueueFamilyProperties qf[16];
	if (nq > 16) nq = 16;
	vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, qf);
	qfam = UINT32_MAX;
	for (uint32_t i = 0; i < nq; i++) {
		if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
			qfam = i;
			break;
		}
	}
	float prio = 1;
	VkPhysicalDeviceTimelineSemaphoreFeatures tlf = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES, .timelineSemaphore = VK_TRUE};
	VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = qfam, .queueCount = 1, .pQueuePriorities = &prio};
	VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &tlf, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci};
	CHECK(vkCreateDevice(pd, &dci, NULL, &dev));
	vkGetDeviceQueue(dev, qfam, 0, &queue);
	VkSemaphoreTypeCreateInfo tci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO, .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE};
	VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &tci};
	CHECK(vkCreateSemaphore(dev, &sci, NULL, &tl));
	vkGetPhysicalDeviceMemoryProperties(pd, &memprops);
}

typedef struct {
	VkBuffer buf;
	VkDeviceMemory mem;
	void *map;
} buffer;

static buffer new_buffer(VkDeviceSize size, int device_local) {
	buffer b = {0};
	VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
		.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT};
	CHECK(vkCreateBuffer(dev, &bci, NULL, &b.buf));
	VkMemoryRequirements req;
	vkGetBufferMemoryRequirements(dev, b.buf, &req);
	// The memory vkio picks for the same buffer: a HostVisible counter
	// (W1, W2) gets host-visible, coherent memory, cached where offered; a
	// DeviceLocal buffer (W3) gets the device's own memory where that is
	// mapped too (lavapipe, a discrete GPU with resizable BAR), so both time
	// the same kernel over the same memory. On the H200, SAXPY over plain
	// host memory ran 38x slower than over HBM (PCIe instead of HBM).
	uint32_t host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
	uint32_t wants[2] = {host | (device_local ? VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT : VK_MEMORY_PROPERTY_HOST_CACHED_BIT), host};
	uint32_t t = UINT32_MAX;
	for (int w = 0; w < 2 && t == UINT32_MAX; w++) {
		for (uint32_t i = 0; i < memprops.memoryTypeCount; i++) {
			if ((req.memoryTypeBits & (1u << i)) && (memprops.memoryTypes[i].propertyFlags & wants[w]) == wants[w]) {
				t = i;
				break;
			}
		}
	}
	if (t == UINT32_MAX) {
		fprintf(stderr, "cref: no host-visible, coherent memory type for a buffer\n");
		exit(1);
	}
	if (device_local && !(memprops.memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)) {
		// vkio stages into unmapped device memory here; cref does not, so
		// its W3 times a kernel over host memory: not the same work.
		fprintf(stderr, "cref: warning: no mapped device-local memory; W3 runs over host memory, unlike vkio's\n");
	}
	VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = t};
	CHECK(vkAllocateMemory(dev, &mai, NULL, &b.mem));
	CHECK(vkBindBufferMemory(dev, b.buf, b.mem, 0));
	CHECK(vkMapMemory(dev, b.mem, 0, size, 0, &b.map));
	memset(b.map, 0, size);
	return b;
}

static void free_buffer(buffer *b) {
	vkUnmapMemory(dev, b->mem);
	vkDestroyBuffer(dev, b->buf, NULL);
	vkFreeMemory(dev, b->mem, NULL);
}

typedef struct {
	VkShaderModule mod;
	VkDescriptorSetLayout dsl;
	VkPipelineLayout layout;
	VkPipeline pipe;
	uint32_t nbind;
} kernel;

// new_kernel builds a pipeline; local_x > 0 sets specialization constant 0
// (the local size of saxpy.comp).
static kernel new_kernel(const char *path, uint32_t nbind, uint32_t push, uint32_t local_x) {
	kernel k = {.nbind = nbind};
	size_t size;
	uint32_t *code = read_file(path, &size);
	VkShaderModuleCreateInfo smci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = size, .pCode = code};
	CHECK(vkCreateShaderModule(dev, &smci, NULL, &k.mod));
	free(code);
	VkDescriptorSetLayoutBinding b[4];
	for (uint32_t i = 0; i < nbind; i++) {
		b[i] = (VkDescriptorSetLayoutBinding){.binding = i, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
			.descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
	}
	VkDescriptorSetLayoutCreateInfo dslci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = nbind, .pBindings = b};
	CHECK(vkCreateDescriptorSetLayout(dev, &dslci, NULL, &k.dsl));
	VkPushConstantRange pcr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = push};
	VkPipelineLayoutCreateInfo plci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1, .pSetLayouts = &k.dsl,
		.pushConstantRangeCount = push ? 1 : 0, .pPushConstantRanges = &pcr};
	CHECK(vkCreatePipelineLayout(dev, &plci, NULL, &k.layout));
	VkSpecializationMapEntry me = {.constantID = 0, .offset = 0, .size = 4};
	VkSpecializationInfo spec = {.mapEntryCount = 1, .pMapEntries = &me, .dataSize = 4, .pData = &local_x};
	VkComputePipelineCreateInfo cpci = {.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
		.stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = k.mod, .pName = "main",
			.pSpecializationInfo = local_x ? &spec : NULL},
		.layout = k.layout};
	CHECK(vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &cpci, NULL, &k.pipe));
	return k;
}

static void free_kernel(kernel *k) {
	vkDestroyPipeline(dev, k->pipe, NULL);
	vkDestroyPipelineLayout(dev, k->layout, NULL);
	vkDestroyDescriptorSetLayout(dev, k->dsl, NULL);
	vkDestroyShaderModule(dev, k->mod, NULL);
}

static VkDescriptorPool dpool;
static VkCommandPool cpool;

static VkDescriptorSet new_set(kernel *k, buffer **bufs) {
	VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = dpool,
		.descriptorSetCount = 1, .pSetLayouts = &k->dsl};
	VkDescriptorSet s;
	CHECK(vkAllocateDescriptorSets(dev, &ai, &s));
	VkDescriptorBufferInfo bi[4];
	VkWriteDescriptorSet w[4];
	for (uint32_t i = 0; i < k->nbind; i++) {
		bi[i] = (VkDescriptorBufferInfo){.buffer = bufs[i]->buf, .range = VK_WHOLE_SIZE};
		w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = s, .dstBinding = i,
			.descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &bi[i]};
	}
	vkUpdateDescriptorSets(dev, k->nbind, w, 0, NULL);
	return s;
}

static VkCommandBuffer begin(void) {
	VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = cpool,
		.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
	VkCommandBuffer cb;
	CHECK(vkAllocateCommandBuffers(dev, &ai, &cb));
	VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
	CHECK(vkBeginCommandBuffer(cb, &bi));
	return cb;
}

// vkio starts every batch with a full compute/transfer barrier (so that
// consecutive submissions see each other's writes) ...
static void lead_barrier(VkCommandBuffer cb) {
	VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
		.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
		.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
			VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_INDIRECT_COMMAND_READ_BIT | VK_ACCESS_UNIFORM_READ_BIT};
	vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
		VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_DRAW_INDIRECT_BIT,
		0, 1, &mb, 0, NULL, 0, NULL);
}

// ... and ends it with one that makes its writes visible to the host.
static void host_barrier(VkCommandBuffer cb) {
	VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
	vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
}

static VkCommandBuffer tiny_cb(kernel *k, buffer *b) {
	VkDescriptorSet s = new_set(k, &b);
	VkCommandBuffer cb = begin();
	lead_barrier(cb);
	vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, k->pipe);
	vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, k->layout, 0, 1, &s, 0, NULL);
	vkCmdDispatch(cb, 1, 1, 1);
	host_barrier(cb);
	CHECK(vkEndCommandBuffer(cb));
	return cb;
}

// submit submits cb and returns the timeline value it signals (-sync
// timeline) or signals f (-sync fence).
static uint64_t submit(VkCommandBuffer cb, VkFence f) {
	VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
	if (use_fence) {
		CHECK(vkQueueSubmit(queue, 1, &si, f));
		return 0;
	}
	uint64_t v = ++tl_value;
	VkTimelineSemaphoreSubmitInfo ti = {.sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO, .signalSemaphoreValueCount = 1, .pSignalSemaphoreValues = &v};
	si.pNext = &ti;
	si.signalSemaphoreCount = 1;
	si.pSignalSemaphores = &tl;
	CHECK(vkQueueSubmit(queue, 1, &si, VK_NULL_HANDLE));
	return v;
}

// wait waits for a submission: its timeline value, or its fence (which is
// then reset for reuse).
static void wait_for(uint64_t v, VkFence f) {
	if (use_fence) {
		CHECK(vkWaitForFences(dev, 1, &f, VK_TRUE, UINT64_MAX));
		CHECK(vkResetFences(dev, 1, &f));
		return;
	}
	VkSemaphoreWaitInfo wi = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO, .semaphoreCount = 1, .pSemaphores = &tl, .pValues = &v};
	CHECK(vkWaitSemaphores(dev, &wi, UINT64_MAX));
}

static VkFence new_fence(void) {
	VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
	VkFence f;
	CHECK(vkCreateFence(dev, &fci, NULL, &f));
	return f;
}

static double w1(kernel *tiny) {
	buffer b = new_buffer(16, 0);
	VkCommandBuffer cb = tiny_cb(tiny, &b);
	VkFence f = new_fence();
	enum { warm = 200, iters = 2000 };
	static double lat[iters];
	for (int i = 0; i < warm + iters; i++) {
		double t0 = now_us();
		wait_for(submit(cb, f), f); // with -sync fence the reset is inside the timing, as vkio's bookkeeping is
		double t1 = now_us();
		if (i >= warm) lat[i - warm] = t1 - t0;
	}
	uint32_t got = *(uint32_t *)b.map;
	if (got != warm + iters) {
		fprintf(stderr, "cref: W1 counter %u, want %d\n", got, warm + iters);
		exit(1);
	}
	vkDestroyFence(dev, f, NULL);
	free_buffer(&b);
	return median(lat, iters);
}

static double w2(kernel *tiny) {
	enum { depth = 4, total = 1000, runs = 7 };
	buffer b[depth];
	VkCommandBuffer cb[depth];
	VkFence f[depth];
	for (int i = 0; i < depth; i++) {
		b[i] = new_buffer(16, 0);
		cb[i] = tiny_cb(tiny, &b[i]);
		f[i] = new_fence();
	}
	double rate[runs];
	uint64_t v[depth];
	for (int r = 0; r < runs + 1; r++) {
		double t0 = now_us();
		for (int i = 0; i < total; i++) {
			int s = i % depth;
			if (i >= depth) wait_for(v[s], f[s]);
			v[s] = submit(cb[s], f[s]);
		}
		for (int s = 0; s < depth; s++) wait_for(v[s], f[s]);
		double t1 = now_us();
		if (r > 0) rate[r - 1] = total / ((t1 - t0) / 1e6); // run 0 warms up
	}
	for (int i = 0; i < depth; i++) {
		vkDestroyFence(dev, f[i], NULL);
		free_buffer(&b[i]);
	}
	return median(rate, runs);
}

static double w3(kernel *saxpy) {
	enum { n = 16 << 20, runs = 5 };
	buffer x = new_buffer((VkDeviceSize)n * 4, 1), y = new_buffer((VkDeviceSize)n * 4, 1);
	float *xs = x.map, *ys = y.map;
	for (int i = 0; i < n; i++) {
		xs[i] = (float)(i % 1000);
		ys[i] = 1;
	}
	buffer *bufs[2] = {&x, &y};
	VkDescriptorSet s = new_set(saxpy, bufs);
	VkQueryPoolCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = 2};
	VkQueryPool qp;
	CHECK(vkCreateQueryPool(dev, &qci, NULL, &qp));
	VkCommandBuffer cb = begin();
	vkCmdResetQueryPool(cb, qp, 0, 2);
	lead_barrier(cb);
	vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, qp, 0);
	vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, saxpy->pipe);
	vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, saxpy->layout, 0, 1, &s, 0, NULL);
	struct {
		float a;
		uint32_t n;
	} push = {2.0f, n};
	vkCmdPushConstants(cb, saxpy->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof push, &push);
	vkCmdDispatch(cb, (n + W3_LOCAL - 1) / W3_LOCAL, 1, 1); // 16384 groups, within every device's 65535
	vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, qp, 1);
	host_barrier(cb);
	CHECK(vkEndCommandBuffer(cb));
	VkFence f = new_fence();
	double ms[runs];
	for (int r = 0; r < runs + 1; r++) {
		wait_for(submit(cb, f), f);
		uint64_t ts[2];
		CHECK(vkGetQueryPoolResults(dev, qp, 0, 2, sizeof ts, ts, 8, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
		if (r > 0) ms[r - 1] = (double)(ts[1] - ts[0]) * tsPeriod / 1e6;
	}
	vkDestroyFence(dev, f, NULL);
	vkDestroyQueryPool(dev, qp, NULL);
	free_buffer(&x);
	free_buffer(&y);
	return median(ms, runs);
}

int main(int argc, char **argv) {
	const char *which = "all", *dir = "shaders";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-w")) which = argv[i + 1];
		else if (!strcmp(argv[i], "-shaders")) dir = argv[i + 1];
		else if (!strcmp(argv[i], "-sync")) use_fence = !strcmp(argv[i + 1], "fence");
	}
	init();
	VkDescriptorPoolSize ps = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 64};
	VkDescriptorPoolCreateInfo dpci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 32, .poolSizeCount = 1, .pPoolSizes = &ps};
	CHECK(vkCreateDescriptorPool(dev, &dpci, NULL, &dpool));
	VkCommandPoolCreateInfo cpci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = qfam};
	CHECK(vkCreateCommandPool(dev, &cpci, NULL, &cpool));
	char path[4096];
	snprintf(path, sizeof path, "%s/tiny.spv", dir);
	kernel tiny = new_kernel(path, 1, 0, 0);
	snprintf(path, sizeof path, "%s/saxpy.spv", dir);
	kernel saxpy = new_kernel(path, 2, 8, W3_LOCAL);
	int all = !strcmp(which, "all");
	if (all || !strcmp(which, "W1")) printf("W1 %.2f\n", w1(&tiny));
	if (all || !strcmp(which, "W2")) printf("W2 %.0f\n", w2(&tiny));
	if (all || !strcmp(which, "W3")) printf("W3 %.3f\n", w3(&saxpy));
	fflush(stdout);
	free_kernel(&tiny);
	free_kernel(&saxpy);
	vkDestroyCommandPool(dev, cpool, NULL);
	vkDestroyDescriptorPool(dev, dpool, NULL);
	vkDestroySemaphore(dev, tl, NULL);
	vkDestroyDevice(dev, NULL);
	vkDestroyInstance(inst, NULL);
	return 0;
}
