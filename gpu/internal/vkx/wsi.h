// C side of window-system integration: a VkSurfaceKHR handed in by a window
// library, its swapchain, and the presentation of a buffer of pixels (copy
// into a staging image of the buffer's format, blit into the swapchain
// image, present). Everything runs on the C side so that no Vulkan struct is
// marshalled through vulkan-go.
#ifndef VKIO_WSI_H
#define VKIO_WSI_H

#include "shim.h"

#define VKIO_WSI_MAX_IMAGES 8

typedef struct vkio_wsi {
	VkInstance instance;
	VkPhysicalDevice pd;
	VkDevice device;
	VkQueue queue;
	uint32_t family;

	PFN_vkDestroySurfaceKHR DestroySurfaceKHR;
	PFN_vkGetPhysicalDeviceSurfaceSupportKHR GetPhysicalDeviceSurfaceSupportKHR;
	PFN_vkGetPhysicalDeviceSurfaceCapabilitiesKHR GetPhysicalDeviceSurfaceCapabilitiesKHR;
	PFN_vkGetPhysicalDeviceSurfaceFormatsKHR GetPhysicalDeviceSurfaceFormatsKHR;
	PFN_vkGetPhysicalDeviceSurfacePresentModesKHR GetPhysicalDeviceSurfacePresentModesKHR;
	PFN_vkGetPhysicalDeviceFormatProperties GetPhysicalDeviceFormatProperties;
	PFN_vkGetPhysicalDeviceMemoryProperties GetPhysicalDeviceMemoryProperties;
	PFN_vkCreateSwapchainKHR CreateSwapchainKHR;
	PFN_vkDestroySwapchainKHR DestroySwapchainKHR;
	PFN_vkGetSwapchainImagesKHR GetSwapchainImagesKHR;
	PFN_vkAcquireNextImageKHR AcquireNextImageKHR;
	PFN_vkQueuePresentKHR QueuePresentKHR;
	PFN_vkQueueSubmit QueueSubmit;
	PFN_vkCreateSemaphore CreateSemaphore;
	PFN_vkDestroySemaphore DestroySemaphore;
	PFN_vkCreateFence CreateFence;
	PFN_vkDestroyFence DestroyFence;
	PFN_vkWaitForFences WaitForFences;
	PFN_vkResetFences ResetFences;
	PFN_vkCreateCommandPool CreateCommandPool;
	PFN_vkDestroyCommandPool DestroyCommandPool;
	PFN_vkAllocateCommandBuffers AllocateCommandBuffers;
	PFN_vkResetCommandPool ResetCommandPool;
	PFN_vkBeginCommandBuffer BeginCommandBuffer;
	PFN_vkEndCommandBuffer EndCommandBuffer;
	PFN_vkCmdPipelineBarrier CmdPipelineBarrier;
	PFN_vkCmdCopyBufferToImage CmdCopyBufferToImage;
	PFN_vkCmdBlitImage CmdBlitImage;
	PFN_vkCmdClearColorImage CmdClearColorImage;
	PFN_vkCreateImage CreateImage;
	PFN_vkDestroyImage DestroyImage;
	PFN_vkGetImageMemoryRequirements GetImageMemoryRequirements;
	PFN_vkAllocateMemory AllocateMemory;
	PFN_vkFreeMemory FreeMemory;
	PFN_vkBindImageMemory BindImageMemory;

	VkSurfaceKHR surface;
	VkSwapchainKHR swapchain;
	VkFormat format;
	VkExtent2D extent;
	VkPresentModeKHR mode;
	uint32_t n_images;
	VkImage images[VKIO_WSI_MAX_IMAGES];
	VkSemaphore done[VKIO_WSI_MAX_IMAGES]; // per image: the copy finished, present may start

	VkSemaphore acquired;
	VkFence fence;
	VkCommandPool pool;
	VkCommandBuffer cb;

	// The staging image the buffer is copied into before the blit.
	VkImage src;
	VkDeviceMemory src_mem;
	VkFormat src_format;
	uint32_t src_w, src_h;
} vkio_wsi;

// vkio_wsi_init loads the entry points, takes ownership of surface (it is
// destroyed by vkio_wsi_destroy even when init fails), checks that the queue
// family can present to it and creates the per-swapchain sync objects. On
// failure *what names the failing call.
VkResult vkio_wsi_init(vkio_wsi *w, VkInstance instance, VkPhysicalDevice pd, VkDevice device, VkQueue queue,
	uint32_t family, uint64_t surface, const char **what);

// vkio_wsi_create (re)creates the swapchain for a width x height surface
// (the surface's current extent wins where it has one). The device must be
// idle. VK_NOT_READY: the surface has a zero extent (minimised); no
// swapchain exists until a later call succeeds.
VkResult vkio_wsi_create(vkio_wsi *w, uint32_t width, uint32_t height, int vsync, const char **what);

// vkio_wsi_prepare acquires an image (into *index) and records the copy of
// src (a sw x sh image of format fmt, tightly packed) into it: the buffer
// goes to the staging image, which is blitted (converting the format and
// scaling to the swapchain's extent) into the swapchain image, left in the
// present layout. Returns VK_SUCCESS or VK_SUBOPTIMAL_KHR (an image was
// acquired: submit and present it), or an error: VK_ERROR_OUT_OF_DATE_KHR
// (recreate, then try again), VK_TIMEOUT, ...
VkResult vkio_wsi_prepare(vkio_wsi *w, uint64_t src, uint32_t sw, uint32_t sh, VkFormat fmt, uint64_t timeout_ns,
	uint32_t *index, const char **what);

// vkio_wsi_submit submits the recorded copy (waiting on the acquire
// semaphore, signalling the image's semaphore and the fence) and presents
// the image. The caller holds the queue's lock. Returns VK_SUCCESS,
// VK_SUBOPTIMAL_KHR or the error of the submit or the present (after a
// failed present the fence is still signalled by the submission). With
// wait_sem, the submission also waits for that timeline semaphore to reach
// wait_value (another lane's write of the source buffer).
VkResult vkio_wsi_submit(vkio_wsi *w, uint32_t index, uint64_t wait_sem, uint64_t wait_value, int *submitted,
	const char **what);

// vkio_wsi_wait waits for the fence of the last submission and resets it.
VkResult vkio_wsi_wait(vkio_wsi *w, uint64_t timeout_ns);

// vkio_wsi_destroy waits for the fence and destroys everything, the
// surface included. The device must be idle.
void vkio_wsi_destroy(vkio_wsi *w);

// vkio_read_u64 reads the 64-bit value at address p.
uint64_t vkio_read_u64(uintptr_t p);

#endif
