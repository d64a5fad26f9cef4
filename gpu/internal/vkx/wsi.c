#include "wsi.h"
#include <string.h>

uint64_t vkio_read_u64(uintptr_t p) { return *(const uint64_t *)p; }

static void wsi_destroy_swapchain(vkio_wsi *w) {
	for (uint32_t i = 0; i < w->n_images; i++) {
		if (w->done[i]) {
			w->DestroySemaphore(w->device, w->done[i], NULL);
			w->done[i] = VK_NULL_HANDLE;
		}
	}
	w->n_images = 0;
	if (w->swapchain) {
		w->DestroySwapchainKHR(w->device, w->swapchain, NULL);
		w->swapchain = VK_NULL_HANDLE;
	}
}

static void wsi_destroy_staging(vkio_wsi *w) {
	if (w->src) {
		w->DestroyImage(w->device, w->src, NULL);
		w->src = VK_NULL_HANDLE;
	}
	if (w->src_mem) {
		w->FreeMemory(w->device, w->src_mem, NULL);
		w->src_mem = VK_NULL_HANDLE;
	}
	w->src_w = w->src_h = 0;
	w->src_format = VK_FORMAT_UNDEFINED;
}

VkResult vkio_wsi_init(vkio_wsi *w, VkInstance instance, VkPhysicalDevice pd, VkDevice device, VkQueue queue,
	uint32_t family, uint64_t surface, const char **what) {
	memset(w, 0, sizeof *w);
	w->instance = instance;
	w->pd = pd;
	w->device = device;
	w->queue = queue;
	w->family = family;
	w->surface = (VkSurfaceKHR)surface;
	const char *err = NULL;
	PFN_vkGetInstanceProcAddr gipa = (PFN_vkGetInstanceProcAddr)vkio_loader_open(&err);
	*what = "vkGetInstanceProcAddr";
	if (!gipa) {
		return VK_ERROR_INITIALIZATION_FAILED;
	}
	PFN_vkGetDeviceProcAddr gdpa = (PFN_vkGetDeviceProcAddr)gipa(instance, "vkGetDeviceProcAddr");
	if (!gdpa) {
		return VK_ERROR_INITIALIZATION_FAILED;
	}
	// Surface destruction first, so that a failure below still releases it.
	w->DestroySurfaceKHR = (PFN_vkDestroySurfaceKHR)gipa(instance, "vkDestroySurfaceKHR");
	*what = "vkDestroySurfaceKHR (VK_KHR_surface not enabled)";
	if (!w->DestroySurfaceKHR) {
		return VK_ERROR_EXTENSION_NOT_PRESENT;
	}
#define ILOAD(name) w->name = (PFN_vk##name)gipa(instance, "vk" #name); if (!w->name) { *what = "vk" #name; return VK_ERROR_EXTENSION_NOT_PRESENT; }
#define DLOAD(name) w->name = (PFN_vk##name)gdpa(device, "vk" #name); if (!w->name) { *what = "vk" #name; return VK_ERROR_EXTENSION_NOT_PRESENT; }
	ILOAD(GetPhysicalDeviceSurfaceSupportKHR)
	ILOAD(GetPhysicalDeviceSurfaceCapabilitiesKHR)
	ILOAD(GetPhysicalDeviceSurfaceFormatsKHR)
	ILOAD(GetPhysicalDeviceSurfacePresentModesKHR)
	ILOAD(GetPhysicalDeviceFormatProperties)
	ILOAD(GetPhysicalDeviceMemoryProperties)
	DLOAD(CreateSwapchainKHR)
	DLOAD(DestroySwapchainKHR)
	DLOAD(GetSwapchainImagesKHR)
	DLOAD(AcquireNextImageKHR)
	DLOAD(QueuePresentKHR)
	DLOAD(QueueSubmit)
	DLOAD(CreateSemaphore)
	DLOAD(DestroySemaphore)
	DLOAD(CreateFence)
	DLOAD(DestroyFence)
	DLOAD(WaitForFences)
	DLOAD(ResetFences)
	DLOAD(CreateCommandPool)
	DLOAD(DestroyCommandPool)
	DLOAD(AllocateCommandBuffers)
	DLOAD(ResetCommandPool)
	DLOAD(BeginCommandBuffer)
	DLOAD(EndCommandBuffer)
	DLOAD(CmdPipelineBarrier)
	DLOAD(CmdCopyBufferToImage)
	DLOAD(CmdBlitImage)
	DLOAD(CmdClearColorImage)
	DLOAD(CreateImage)
	DLOAD(DestroyImage)
	DLOAD(GetImageMemoryRequirements)
	DLOAD(AllocateMemory)
	DLOAD(FreeMemory)
	DLOAD(BindImageMemory)
#undef ILOAD
#undef DLOAD
	VkBool32 ok = VK_FALSE;
	*what = "vkGetPhysicalDeviceSurfaceSupportKHR";
	VkResult r = w->GetPhysicalDeviceSurfaceSupportKHR(pd, family, w->surface, &ok);
	if (r != VK_SUCCESS) {
		return r;
	}
	if (!ok) {
		*what = "vkGetPhysicalDeviceSurfaceSupportKHR (the compute queue cannot present to the surface)";
		return VK_ERROR_FEATURE_NOT_PRESENT;
	}
	VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
	*what = "vkCreateSemaphore";
	if ((r = w->CreateSemaphore(device, &sci, NULL, &w->acquired)) != VK_SUCCESS) {
		return r;
	}
	VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
	*what = "vkCreateFence";
	if ((r = w->CreateFence(device, &fci, NULL, &w->fence)) != VK_SUCCESS) {
		return r;
	}
	VkCommandPoolCreateInfo pci = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
		.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
		.queueFamilyIndex = family,
	};
	*what = "vkCreateCommandPool";
	if ((r = w->CreateCommandPool(device, &pci, NULL, &w->pool)) != VK_SUCCESS) {
		return r;
	}
	VkCommandBufferAllocateInfo cai = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
		.commandPool = w->pool,
		.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
		.commandBufferCount = 1,
	};
	*what = "vkAllocateCommandBuffers";
	return w->AllocateCommandBuffers(device, &cai, &w->cb);
}

static int blit_dst_ok(vkio_wsi *w, VkFormat f) {
	VkFormatProperties fp;
	w->GetPhysicalDeviceFormatProperties(w->pd, f, &fp);
	return (fp.optimalTilingFeatures & VK_FORMAT_FEATURE_BLIT_DST_BIT) != 0;
}

VkResult vkio_wsi_create(vkio_wsi *w, uint32_t width, uint32_t height, int vsync, const char **what) {
	VkSurfaceCapabilitiesKHR caps;
	*what = "vkGetPhysicalDeviceSurfaceCapabilitiesKHR";
	VkResult r = w->GetPhysicalDeviceSurfaceCapabilitiesKHR(w->pd, w->surface, &caps);
	if (r != VK_SUCCESS) {
		return r;
	}
	VkExtent2D ext = caps.currentExtent;
	if (ext.width == 0xFFFFFFFFu) {
		ext.width = width < caps.minImageExtent.width ? caps.minImageExtent.width : width;
		ext.width = ext.width > caps.maxImageExtent.width ? caps.maxImageExtent.width : ext.width;
		ext.height = height < caps.minImageExtent.height ? caps.minImageExtent.height : height;
		ext.height = ext.height > caps.maxImageExtent.height ? caps.maxImageExtent.height : ext.height;
	}
	if (ext.width == 0 || ext.height == 0) {
		wsi_destroy_swapchain(w);
		w->extent = ext;
		return VK_NOT_READY;
	}
	if (!(caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_DST_BIT)) {
		*what = "vkGetPhysicalDeviceSurfaceCapabilitiesKHR (no transfer-dst usage for swapchain images)";
		return VK_ERROR_FEATURE_NOT_PRESENT;
	}

	uint32_t nf = 0;
	*what = "vkGetPhysicalDeviceSurfaceFormatsKHR";
	if ((r = w->GetPhysicalDeviceSurfaceFormatsKHR(w->pd, w->surface, &nf, NULL)) != VK_SUCCESS) {
		return r;
	}
	VkSurfaceFormatKHR fmts[64];
	if (nf > 64) {
		nf = 64;
	}
	r = w->GetPhysicalDeviceSurfaceFormatsKHR(w->pd, w->surface, &nf, fmts);
	if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
		return r;
	}
	// UNORM formats pass pixel values through unchanged: B8G8R8A8 (the
	// common one), then R8G8B8A8, then anything the blit can write.
	VkSurfaceFormatKHR pick = {.format = VK_FORMAT_UNDEFINED};
	static const VkFormat prefer[] = {VK_FORMAT_B8G8R8A8_UNORM, VK_FORMAT_R8G8B8A8_UNORM};
	if (nf == 1 && fmts[0].format == VK_FORMAT_UNDEFINED) {
		pick.format = VK_FORMAT_B8G8R8A8_UNORM;
		pick.colorSpace = fmts[0].colorSpace;
	}
	for (int p = 0; p < 2 && pick.format == VK_FORMAT_UNDEFINED; p++) {
		for (uint32_t i = 0; i < nf; i++) {
			if (fmts[i].format == prefer[p] && blit_dst_ok(w, fmts[i].format)) {
				pick = fmts[i];
				break;
			}
		}
	}
	for (uint32_t i = 0; i < nf && pick.format == VK_FORMAT_UNDEFINED; i++) {
		if (blit_dst_ok(w, fmts[i].format)) {
			pick = fmts[i];
		}
	}
	if (pick.format == VK_FORMAT_UNDEFINED) {
		*what = "vkGetPhysicalDeviceSurfaceFormatsKHR (no surface format supports blits)";
		return VK_ERROR_FORMAT_NOT_SUPPORTED;
	}

	uint32_t nm = 0;
	VkPresentModeKHR modes[16];
	*what = "vkGetPhysicalDeviceSurfacePresentModesKHR";
	if ((r = w->GetPhysicalDeviceSurfacePresentModesKHR(w->pd, w->surface, &nm, NULL)) != VK_SUCCESS) {
		return r;
	}
	if (nm > 16) {
		nm = 16;
	}
	r = w->GetPhysicalDeviceSurfacePresentModesKHR(w->pd, w->surface, &nm, modes);
	if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
		return r;
	}
	VkPresentModeKHR mode = VK_PRESENT_MODE_FIFO_KHR; // always supported
	if (!vsync) {
		static const VkPresentModeKHR fast[] = {VK_PRESENT_MODE_MAILBOX_KHR, VK_PRESENT_MODE_IMMEDIATE_KHR};
		int found = 0;
		for (int p = 0; p < 2 && !found; p++) {
			for (uint32_t i = 0; i < nm; i++) {
				if (modes[i] == fast[p]) {
					mode = fast[p];
					found = 1;
					break;
				}
			}
		}
	}

	uint32_t count = caps.minImageCount + 1;
	if (caps.maxImageCount != 0 && count > caps.maxImageCount) {
		count = caps.maxImageCount;
	}
	if (count > VKIO_WSI_MAX_IMAGES) {
		count = VKIO_WSI_MAX_IMAGES;
	}
	VkCompositeAlphaFlagBitsKHR alpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR;
	if (!(caps.supportedCompositeAlpha & alpha)) {
		for (uint32_t b = 1; b != 0; b <<= 1) {
			if (caps.supportedCompositeAlpha & b) {
				alpha = (VkCompositeAlphaFlagBitsKHR)b;
				break;
			}
		}
	}
	VkSwapchainKHR old = w->swapchain;
	VkSwapchainCreateInfoKHR ci = {
		.sType = VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR,
		.surface = w->surface,
		.minImageCount = count,
		.imageFormat = pick.format,
		.imageColorSpace = pick.colorSpace,
		.imageExtent = ext,
		.imageArrayLayers = 1,
		.imageUsage = VK_IMAGE_USAGE_TRANSFER_DST_BIT,
		.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE,
		.preTransform = caps.currentTransform,
		.compositeAlpha = alpha,
		.presentMode = mode,
		.clipped = VK_TRUE,
		.oldSwapchain = old,
	};
	VkSwapchainKHR sc;
	*what = "vkCreateSwapchainKHR";
	r = w->CreateSwapchainKHR(w->device, &ci, NULL, &sc);
	// The old swapchain is retired either way.
	wsi_destroy_swapchain(w);
	if (r != VK_SUCCESS) {
		return r;
	}
	w->swapchain = sc;
	w->format = pick.format;
	w->extent = ext;
	w->mode = mode;
	uint32_t n = 0;
	*what = "vkGetSwapchainImagesKHR";
	if ((r = w->GetSwapchainImagesKHR(w->device, sc, &n, NULL)) != VK_SUCCESS) {
		return r;
	}
	if (n > VKIO_WSI_MAX_IMAGES) {
		*what = "vkGetSwapchainImagesKHR (too many images)";
		return VK_ERROR_TOO_MANY_OBJECTS;
	}
	if ((r = w->GetSwapchainImagesKHR(w->device, sc, &n, w->images)) != VK_SUCCESS) {
		return r;
	}
	VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
	*what = "vkCreateSemaphore";
	for (uint32_t i = 0; i < n; i++) {
		if ((r = w->CreateSemaphore(w->device, &sci, NULL, &w->done[i])) != VK_SUCCESS) {
			w->n_images = i + 1;
			return r;
		}
	}
	w->n_images = n;
	return VK_SUCCESS;
}

// ensure_staging makes the staging image sw x sh of format fmt.
static VkResult ensure_staging(vkio_wsi *w, uint32_t sw, uint32_t sh, VkFormat fmt, const char **what) {
	if (w->src && w->src_w == sw && w->src_h == sh && w->src_format == fmt) {
		return VK_SUCCESS;
	}
	wsi_destroy_staging(w);
	VkFormatProperties fp;
	w->GetPhysicalDeviceFormatProperties(w->pd, fmt, &fp);
	VkFormatFeatureFlags need = VK_FORMAT_FEATURE_BLIT_SRC_BIT | VK_FORMAT_FEATURE_TRANSFER_DST_BIT;
	if ((fp.optimalTilingFeatures & need) != need) {
		*what = "vkGetPhysicalDeviceFormatProperties (the pixel format cannot be a blit source)";
		return VK_ERROR_FORMAT_NOT_SUPPORTED;
	}
	VkImageCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
		.imageType = VK_IMAGE_TYPE_2D,
		.format = fmt,
		.extent = {sw, sh, 1},
		.mipLevels = 1,
		.arrayLayers = 1,
		.samples = VK_SAMPLE_COUNT_1_BIT,
		.tiling = VK_IMAGE_TILING_OPTIMAL,
		.usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
		.sharingMode = VK_SHARING_MODE_EXCLUSIVE,
		.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
	};
	*what = "vkCreateImage";
	VkResult r = w->CreateImage(w->device, &ci, NULL, &w->src);
	if (r != VK_SUCCESS) {
		return r;
	}
	VkMemoryRequirements req;
	w->GetImageMemoryRequirements(w->device, w->src, &req);
	VkPhysicalDeviceMemoryProperties mp;
	w->GetPhysicalDeviceMemoryProperties(w->pd, &mp);
	int type = -1;
	for (uint32_t i = 0; i < mp.memoryTypeCount; i++) {
		if (!(req.memoryTypeBits & (1u << i))) {
			continue;
		}
		if (type < 0 || (mp.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)) {
			type = (int)i;
			if (mp.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) {
				break;
			}
		}
	}
	if (type < 0) {
		*what = "vkGetImageMemoryRequirements (no memory type)";
		return VK_ERROR_OUT_OF_DEVICE_MEMORY;
	}
	VkMemoryAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
		.allocationSize = req.size,
		.memoryTypeIndex = (uint32_t)type,
	};
	*what = "vkAllocateMemory";
	if ((r = w->AllocateMemory(w->device, &ai, NULL, &w->src_mem)) != VK_SUCCESS) {
		return r;
	}
	*what = "vkBindImageMemory";
	if ((r = w->BindImageMemory(w->device, w->src, w->src_mem, 0)) != VK_SUCCESS) {
		return r;
	}
	w->src_w = sw;
	w->src_h = sh;
	w->src_format = fmt;
	return VK_SUCCESS;
}

static const VkImageSubresourceRange color_range = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};

// image_barrier is a layout transition of img's one colour level and layer,
// with no queue-family transfer.
static VkImageMemoryBarrier image_barrier(VkImage img, VkAccessFlags src, VkAccessFlags dst, VkImageLayout from,
	VkImageLayout to) {
	return (VkImageMemoryBarrier){
		.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
		.srcAccessMask = src,
		.dstAccessMask = dst,
		.oldLayout = from,
		.newLayout = to,
		.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		.image = img,
		.subresourceRange = color_range,
	};
}

VkResult vkio_wsi_prepare(vkio_wsi *w, uint64_t srcbuf, uint32_t sw, uint32_t sh, VkFormat fmt, uint64_t timeout_ns,
	uint32_t *index, const char **what) {
	*what = "vkAcquireNextImageKHR";
	if (!w->swapchain) {
		return VK_ERROR_OUT_OF_DATE_KHR;
	}
	// Before the acquire: a failure here must not leave an image acquired.
	VkResult r = ensure_staging(w, sw, sh, fmt, what);
	if (r != VK_SUCCESS) {
		return r;
	}
	*what = "vkAcquireNextImageKHR";
	VkResult acq = w->AcquireNextImageKHR(w->device, w->swapchain, timeout_ns, w->acquired, VK_NULL_HANDLE, index);
	if (acq != VK_SUCCESS && acq != VK_SUBOPTIMAL_KHR) {
		return acq;
	}
	VkImage img = w->images[*index];
	*what = "vkResetCommandPool";
	if ((r = w->ResetCommandPool(w->device, w->pool, 0)) != VK_SUCCESS) {
		return r;
	}
	VkCommandBufferBeginInfo bi = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
		.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
	};
	*what = "vkBeginCommandBuffer";
	if ((r = w->BeginCommandBuffer(w->cb, &bi)) != VK_SUCCESS) {
		return r;
	}
	VkCommandBuffer cb = w->cb;
	// 1. Earlier compute and transfer writes of the buffer (submission
	// order on the same queue) before the copy reads it; both images to
	// transfer-dst. The swapchain image's transition waits for the acquire
	// semaphore, whose wait stage is TRANSFER (in this barrier's source scope).
	VkMemoryBarrier mb = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
		.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
		.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT,
	};
	VkImageMemoryBarrier to_dst[2] = {
		image_barrier(w->src, 0, VK_ACCESS_TRANSFER_WRITE_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
			VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL),
		image_barrier(img, 0, VK_ACCESS_TRANSFER_WRITE_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
			VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL),
	};
	w->CmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
		VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 2, to_dst);
	// 2. Buffer -> staging image.
	VkBufferImageCopy region = {
		.bufferOffset = 0,
		.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
		.imageExtent = {sw, sh, 1},
	};
	w->CmdCopyBufferToImage(cb, (VkBuffer)srcbuf, w->src, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
	// 3. Staging image to transfer-src.
	VkImageMemoryBarrier to_src = image_barrier(w->src, VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_TRANSFER_READ_BIT,
		VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
	w->CmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, NULL, 0, NULL, 1,
		&to_src);
	// 4. Blit: converts the format (RGBA -> BGRA) and scales to the extent.
	VkFilter filter = VK_FILTER_NEAREST;
	if (sw != w->extent.width || sh != w->extent.height) {
		VkFormatProperties fp;
		w->GetPhysicalDeviceFormatProperties(w->pd, fmt, &fp);
		if (fp.optimalTilingFeatures & VK_FORMAT_FEATURE_SAMPLED_IMAGE_FILTER_LINEAR_BIT) {
			filter = VK_FILTER_LINEAR;
		}
	}
	VkImageBlit blit = {
		.srcSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
		.srcOffsets = {{0, 0, 0}, {(int32_t)sw, (int32_t)sh, 1}},
		.dstSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
		.dstOffsets = {{0, 0, 0}, {(int32_t)w->extent.width, (int32_t)w->extent.height, 1}},
	};
	w->CmdBlitImage(cb, w->src, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, img, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1,
		&blit, filter);
	// 5. Swapchain image to the present layout.
	VkImageMemoryBarrier to_present = image_barrier(img, VK_ACCESS_TRANSFER_WRITE_BIT, 0,
		VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR);
	w->CmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, 0, 0, NULL, 0,
		NULL, 1, &to_present);
	*what = "vkEndCommandBuffer";
	if ((r = w->EndCommandBuffer(cb)) != VK_SUCCESS) {
		return r;
	}
	return acq;
}

VkResult vkio_wsi_submit(vkio_wsi *w, uint32_t index, uint64_t wait_sem, uint64_t wait_value, int *submitted,
                         const char **what) {
	*submitted = 0;
	VkSemaphore waits[2] = {w->acquired, (VkSemaphore)wait_sem};
	VkPipelineStageFlags stages[2] = {VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT};
	uint64_t values[2] = {0, wait_value}; // the binary acquire semaphore's value is ignored
	uint64_t signal_value = 0;
	VkTimelineSemaphoreSubmitInfo ti = {
		.sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
		.waitSemaphoreValueCount = 2,
		.pWaitSemaphoreValues = values,
		.signalSemaphoreValueCount = 1,
		.pSignalSemaphoreValues = &signal_value,
	};
	VkSubmitInfo si = {
		.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
		.pNext = wait_sem ? &ti : NULL,
		.waitSemaphoreCount = wait_sem ? 2 : 1,
		.pWaitSemaphores = waits,
		.pWaitDstStageMask = stages,
		.commandBufferCount = 1,
		.pCommandBuffers = &w->cb,
		.signalSemaphoreCount = 1,
		.pSignalSemaphores = &w->done[index],
	};
	*what = "vkQueueSubmit";
	VkResult r = w->QueueSubmit(w->queue, 1, &si, w->fence);
	if (r != VK_SUCCESS) {
		return r;
	}
	*submitted = 1;
	VkPresentInfoKHR pi = {
		.sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR,
		.waitSemaphoreCount = 1,
		.pWaitSemaphores = &w->done[index],
		.swapchainCount = 1,
		.pSwapchains = &w->swapchain,
		.pImageIndices = &index,
	};
	*what = "vkQueuePresentKHR";
	return w->QueuePresentKHR(w->queue, &pi);
}

VkResult vkio_wsi_wait(vkio_wsi *w, uint64_t timeout_ns) {
	VkResult r = w->WaitForFences(w->device, 1, &w->fence, VK_TRUE, timeout_ns);
	if (r != VK_SUCCESS) {
		return r;
	}
	return w->ResetFences(w->device, 1, &w->fence);
}

void vkio_wsi_destroy(vkio_wsi *w) {
	if (w->device && w->DestroySwapchainKHR) {
		wsi_destroy_swapchain(w);
		wsi_destroy_staging(w);
		if (w->acquired) {
			w->DestroySemaphore(w->device, w->acquired, NULL);
			w->acquired = VK_NULL_HANDLE;
		}
		if (w->fence) {
			w->DestroyFence(w->device, w->fence, NULL);
			w->fence = VK_NULL_HANDLE;
		}
		if (w->pool) {
			w->DestroyCommandPool(w->device, w->pool, NULL);
			w->pool = VK_NULL_HANDLE;
			w->cb = VK_NULL_HANDLE;
		}
	}
	if (w->surface && w->DestroySurfaceKHR) {
		w->DestroySurfaceKHR(w->instance, w->surface, NULL);
		w->surface = VK_NULL_HANDLE;
	}
}
