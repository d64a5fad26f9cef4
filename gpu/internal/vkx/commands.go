//go:build linux && cgo

package vkx

import (
	"encoding/binary"
	"errors"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

/*
#include "shim.h"
*/
import "C"

// OpKind is the kind of one recorded command.
type OpKind int

// Command kinds.
const (
	OpDispatch OpKind = iota
	OpDispatchIndirect
	OpCopy
	OpFill
	OpBarrier     // compute/transfer writes before compute/transfer/indirect reads and writes
	OpHostBarrier // compute/transfer writes before host reads
	OpTimestamp
)

// BufRange is a range of a buffer; Size 0 means to the end.
type BufRange struct {
	Buf       *Buffer
	Off, Size uint64
}

// Op is one command of a recording.
type Op struct {
	Kind     OpKind
	Pipeline *Pipeline
	Buffers  []BufRange // one per Pipeline.Bindings entry, same order
	Push     []byte
	Groups   [3]uint32
	Indirect BufRange // OpDispatchIndirect: the VkDispatchIndirectCommand

	Src, Dst BufRange // OpCopy (Size is the copy size); OpFill uses Dst
	Value    uint32   // OpFill
	Query    uint32   // OpTimestamp
}

// Commands is a recorded primary command buffer with everything it uses:
// its command pool, descriptor pool and sets, and timestamp query pool.
type Commands struct {
	d                  *Device
	lane               *Lane
	pool, descPool, qp uint64
	cb                 vk.CommandBuffer
	Queries            int
	// results is a host-visible, coherent buffer the command buffer copies
	// its timestamps into at its end (vkCmdCopyQueryPoolResults), so that
	// Timestamps reads memory instead of calling vkGetQueryPoolResults:
	// lavapipe's waits for the whole device to go idle (Mesa 22.3
	// lvp_GetQueryPoolResults calls DeviceWaitIdle), which made the
	// completion of a batch wait for every batch queued behind it. Made on
	// CPU devices only; nil elsewhere, and where no such memory type
	// exists: Timestamps then asks the driver.
	results *Buffer
	// hostReset: the lane cannot reset queries (a transfer lane), so
	// SubmitLocked resets them from the host before each submission.
	hostReset bool
}

// hostCoherent picks a host-visible, host-coherent memory type among
// typeBits, host-cached preferred (the host reads it); -1 if none.
func (d *Device) hostCoherent(typeBits uint32) (int, bool) {
	const want = uint32(vk.MemoryPropertyHostVisibleBit | vk.MemoryPropertyHostCoherentBit)
	best := -1
	for i, mt := range d.Phys.MemoryTypes {
		if typeBits&(1<<i) == 0 || mt.Flags&want != want {
			continue
		}
		if best < 0 || (mt.Flags&uint32(vk.MemoryPropertyHostCachedBit) != 0 && d.Phys.MemoryTypes[best].Flags&uint32(vk.MemoryPropertyHostCachedBit) == 0) {
			best = i
		}
	}
	return best, true
}

const (
	stageCompute  = vk.PipelineStageComputeShaderBit
	stageTransfer = vk.PipelineStageTransferBit
	stageIndirect = vk.PipelineStageDrawIndirectBit
	stageHost     = vk.PipelineStageHostBit
	accessWrites  = vk.AccessShaderWriteBit | vk.AccessTransferWriteBit
	accessAll     = vk.AccessShaderReadBit | vk.AccessShaderWriteBit | vk.AccessTransferReadBit |
		vk.AccessTransferWriteBit | vk.AccessIndirectCommandReadBit | vk.AccessUniformReadBit
)

// Record records ops into a new command buffer for the compute lane
// (RecordOn(d.Lanes[0], ...)).
func (d *Device) Record(ops []Op, queries int) (out *Commands, err error) {
	return d.RecordOn(d.Lanes[0], ops, queries)
}

// ErrTransferOp is RecordOn's error for a dispatch recorded for a transfer
// lane.
var ErrTransferOp = errors.New("a dispatch cannot be recorded for a transfer lane")

// RecordOn records ops into a new command buffer to be submitted on lane.
// queries is the number of timestamp queries to provide (reset at the start
// of the buffer, or from the host before each submission on a transfer
// lane, which needs HostQueryReset). A transfer lane's buffer holds copies,
// fills, barriers and timestamps only (ErrTransferOp otherwise), and its
// barriers cover the transfer stage alone.
//
// A panic inside vulkan-go comes back as a *PanicError, with everything
// made so far destroyed.
func (d *Device) RecordOn(lane *Lane, ops []Op, queries int) (out *Commands, err error) {
	c := &Commands{d: d, lane: lane, Queries: queries}
	if lane.Transfer {
		for i := range ops {
			if k := ops[i].Kind; k == OpDispatch || k == OpDispatchIndirect {
				return nil, ErrTransferOp
			}
		}
		if queries > 0 {
			if !d.HostQueryReset {
				return nil, errors.Join(ErrUnsupported, errors.New("timestamps on a transfer lane need hostQueryReset"))
			}
			c.hostReset = true
		}
	}
	defer recoverTo("record", &err, c.Destroy)
	pci := &vk.CommandPoolCreateInfo{
		SType:            vk.StructureTypeCommandPoolCreateInfo,
		QueueFamilyIndex: uint32(lane.Family),
	}
	var pool vk.CommandPool
	r := vk.CreateCommandPool(d.dev, pci, nil, &pool)
	pci.Free()
	if err := check("vkCreateCommandPool", r); err != nil {
		return nil, err
	}
	c.pool = h(pool)
	cbs := make([]vk.CommandBuffer, 1)
	cai := &vk.CommandBufferAllocateInfo{
		SType:              vk.StructureTypeCommandBufferAllocateInfo,
		CommandPool:        pool,
		Level:              vk.CommandBufferLevelPrimary,
		CommandBufferCount: 1,
	}
	r = vk.AllocateCommandBuffers(d.dev, cai, cbs)
	cai.Free()
	if err := check("vkAllocateCommandBuffers", r); err != nil {
		c.Destroy()
		return nil, err
	}
	c.cb = cbs[0]

	sets, err := c.descriptors(ops)
	if err != nil {
		c.Destroy()
		return nil, err
	}
	if queries > 0 {
		qci := &vk.QueryPoolCreateInfo{
			SType:      vk.StructureTypeQueryPoolCreateInfo,
			QueryType:  vk.QueryTypeTimestamp,
			QueryCount: uint32(queries),
		}
		var qp vk.QueryPool
		r = vk.CreateQueryPool(d.dev, qci, nil, &qp)
		qci.Free()
		if err := check("vkCreateQueryPool", r); err != nil {
			c.Destroy()
			return nil, err
		}
		c.qp = h(qp)
		if d.Phys.Type == TypeCPU && !lane.Transfer {
			// Only where the driver's vkGetQueryPoolResults waits for
			// the device to go idle (lavapipe; see Commands.results): a
			// GPU's driver reads finished queries at once, and a buffer
			// per batch would cost it a memory allocation each.
			res, err := d.NewBuffer(uint64(queries)*8, d.hostCoherent)
			switch {
			case err == nil:
				c.results = res
			case !errors.Is(err, ErrUnsupported):
				c.Destroy()
				return nil, err
			}
		}
	}

	cb := c.cb
	ccb := as[C.VkCommandBuffer](h(cb))
	bi := &vk.CommandBufferBeginInfo{SType: vk.StructureTypeCommandBufferBeginInfo}
	r = vk.BeginCommandBuffer(cb, bi)
	bi.Free()
	if err := check("vkBeginCommandBuffer", r); err != nil {
		c.Destroy()
		return nil, err
	}
	d.faultPanic()
	if queries > 0 && !c.hostReset {
		vk.CmdResetQueryPool(cb, as[vk.QueryPool](c.qp), 0, uint32(queries))
	}
	// The stages and accesses of barriers: a transfer lane's queue has no
	// compute or indirect stages.
	srcStages, dstStages := stageCompute|stageTransfer, stageCompute|stageTransfer|stageIndirect
	writes, all := vk.AccessFlagBits(accessWrites), vk.AccessFlagBits(accessAll)
	if lane.Transfer {
		srcStages, dstStages = stageTransfer, stageTransfer
		writes, all = vk.AccessTransferWriteBit, vk.AccessTransferReadBit|vk.AccessTransferWriteBit
	}
	set := 0
	for i := range ops {
		op := &ops[i]
		switch op.Kind {
		case OpDispatch, OpDispatchIndirect:
			p := op.Pipeline
			vk.CmdBindPipeline(cb, vk.PipelineBindPointCompute, as[vk.Pipeline](p.pipe))
			vk.CmdBindDescriptorSets(cb, vk.PipelineBindPointCompute, as[vk.PipelineLayout](p.layout), 0, 1,
				[]vk.DescriptorSet{as[vk.DescriptorSet](sets[set])}, 0, nil)
			set++
			if len(op.Push) > 0 {
				vk.CmdPushConstants(cb, as[vk.PipelineLayout](p.layout), vk.ShaderStageFlags(vk.ShaderStageComputeBit),
					0, uint32(len(op.Push)), unsafe.Pointer(&op.Push[0]))
			}
			if op.Kind == OpDispatch {
				vk.CmdDispatch(cb, op.Groups[0], op.Groups[1], op.Groups[2])
			} else {
				vk.CmdDispatchIndirect(cb, as[vk.Buffer](op.Indirect.Buf.buf), vk.DeviceSize(op.Indirect.Off))
			}
		case OpCopy:
			C.vkio_cmd_copy_buffer(d.fns, ccb, C.uint64_t(op.Src.Buf.buf), C.uint64_t(op.Dst.Buf.buf),
				C.uint64_t(op.Src.Off), C.uint64_t(op.Dst.Off), C.uint64_t(op.Src.Size))
		case OpFill:
			size := vk.DeviceSize(op.Dst.Size)
			if size == 0 {
				size = vk.DeviceSize(vk.WholeSize)
			}
			vk.CmdFillBuffer(cb, as[vk.Buffer](op.Dst.Buf.buf), vk.DeviceSize(op.Dst.Off), size, op.Value)
		case OpBarrier:
			barrier(d.fns, ccb, srcStages, dstStages, writes, all)
		case OpHostBarrier:
			barrier(d.fns, ccb, srcStages, stageHost, writes, vk.AccessHostReadBit)
		case OpTimestamp:
			vk.CmdWriteTimestamp(cb, vk.PipelineStageBottomOfPipeBit, as[vk.QueryPool](c.qp), op.Query)
		}
	}
	if c.results != nil {
		// The timestamps, once written, into host memory; then made
		// visible to the host, which reads them after the submission's
		// timeline value is reached.
		vk.CmdCopyQueryPoolResults(cb, as[vk.QueryPool](c.qp), 0, uint32(queries), as[vk.Buffer](c.results.buf), 0, 8,
			vk.QueryResultFlags(vk.QueryResult64Bit|vk.QueryResultWaitBit))
		barrier(d.fns, ccb, stageTransfer, stageHost, vk.AccessTransferWriteBit, vk.AccessHostReadBit)
	}
	if err := check("vkEndCommandBuffer", vk.EndCommandBuffer(cb)); err != nil {
		c.Destroy()
		return nil, err
	}
	return c, nil
}

// barrier records one global memory barrier.
func barrier(f *C.vkio_fns, cb C.VkCommandBuffer, src, dst vk.PipelineStageFlagBits, srcAccess, dstAccess vk.AccessFlagBits) {
	C.vkio_cmd_memory_barrier(f, cb, C.uint32_t(src), C.uint32_t(dst), C.uint32_t(srcAccess), C.uint32_t(dstAccess))
}

// descriptors creates a descriptor pool sized for ops' dispatches and one
// written descriptor set per dispatch, in order.
func (c *Commands) descriptors(ops []Op) ([]uint64, error) {
	d := c.d
	var nsets, nstorage, nuniform uint32
	for i := range ops {
		if ops[i].Kind != OpDispatch && ops[i].Kind != OpDispatchIndirect {
			continue
		}
		nsets++
		for _, b := range ops[i].Pipeline.Bindings {
			if b.Uniform {
				nuniform++
			} else {
				nstorage++
			}
		}
	}
	if nsets == 0 {
		return nil, nil
	}
	var dp C.uint64_t
	if err := checkC("vkCreateDescriptorPool", C.vkio_create_descriptor_pool(d.fns, C.uint32_t(nsets), C.uint32_t(nstorage),
		C.uint32_t(nuniform), &dp)); err != nil {
		return nil, err
	}
	c.descPool = uint64(dp)
	sets := make([]uint64, 0, nsets)
	for i := range ops {
		op := &ops[i]
		if op.Kind != OpDispatch && op.Kind != OpDispatchIndirect {
			continue
		}
		p := op.Pipeline
		var ds C.uint64_t
		if err := checkC("vkAllocateDescriptorSets", C.vkio_allocate_descriptor_set(d.fns, dp, C.uint64_t(p.setLayout), &ds)); err != nil {
			return nil, err
		}
		sets = append(sets, uint64(ds))
		if len(p.Bindings) == 0 {
			continue
		}
		n := len(p.Bindings)
		bindings, types := make([]C.uint32_t, n), make([]C.uint32_t, n)
		bufs, offs, ranges := make([]C.uint64_t, n), make([]C.uint64_t, n), make([]C.uint64_t, n)
		for j, b := range p.Bindings {
			types[j] = C.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
			if b.Uniform {
				types[j] = C.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER
			}
			br := op.Buffers[j]
			ranges[j] = C.uint64_t(br.Size)
			if br.Size == 0 {
				ranges[j] = C.VK_WHOLE_SIZE
			}
			bindings[j], bufs[j], offs[j] = C.uint32_t(b.Binding), C.uint64_t(br.Buf.buf), C.uint64_t(br.Off)
		}
		C.vkio_write_buffer_descriptors(d.fns, ds, C.uint32_t(n), &bindings[0], &types[0], &bufs[0], &offs[0], &ranges[0])
	}
	return sets, nil
}

// Timestamps reads the raw query values (device ticks) into out, which must
// hold Queries values. The work must have completed.
func (c *Commands) Timestamps(out []uint64) error {
	if c.Queries == 0 {
		return nil
	}
	if c.results != nil {
		for i := range c.Queries {
			out[i] = binary.NativeEndian.Uint64(c.results.Mapped[8*i:])
		}
		return nil
	}
	r := C.vkio_query_results(c.d.fns, C.uint64_t(c.qp), 0, C.uint32_t(c.Queries), (*C.uint64_t)(unsafe.Pointer(&out[0])), 1)
	return checkC("vkGetQueryPoolResults", r)
}

// Destroy frees the command buffer and destroys its pools. The work must
// have completed.
func (c *Commands) Destroy() {
	d := c.d
	if c.results != nil {
		c.results.Destroy()
		c.results = nil
	}
	if c.qp != 0 {
		vk.DestroyQueryPool(d.dev, as[vk.QueryPool](c.qp), nil)
		c.qp = 0
	}
	if c.descPool != 0 {
		vk.DestroyDescriptorPool(d.dev, as[vk.DescriptorPool](c.descPool), nil)
		c.descPool = 0
	}
	if c.pool != 0 {
		if c.cb != nil {
			vk.FreeCommandBuffers(d.dev, as[vk.CommandPool](c.pool), 1, []vk.CommandBuffer{c.cb})
			c.cb = nil
		}
		vk.DestroyCommandPool(d.dev, as[vk.CommandPool](c.pool), nil)
		c.pool = 0
	}
}
