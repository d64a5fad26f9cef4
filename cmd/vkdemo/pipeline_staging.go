package main

// The pipeline's read-back through staging copies: --transfer-queue and
// --force-staging.

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/tasks"
)

// stagingFlags are the pipeline's --transfer-queue and --force-staging.
type stagingFlags struct {
	transferQueue bool
	forceStaging  bool
}

// stagingHelp is the pipeline help's paragraph on the two flags.
const stagingHelp = `
--transfer-queue reads the frames back through staging copies on the
device's dedicated transfer queue (NVIDIA GPUs have one; 'vkdemo devices'
lists it; lavapipe has none): the frames render into device-local memory
that the host never maps, and each is copied into host-visible memory by a
transfer batch of its own, submitted right after the frame's kernel and
ordered after it on the GPU, so that frame i's copy runs on the transfer
queue while frame i+1 computes. The trace shows the copies as "copy"
spans on the GPU lane "transfer" (with --devices, "device N transfer")
beside the compute lane, and the report says how long they took on the
GPU and how much of that ran beside the same device's kernels. On a
device without a transfer queue the copies run on the compute queue,
drawn on its lane between the kernels. --force-staging reads back
through the same copies without opening a transfer queue (always on the
compute queue). Both are off by default: the kernel then writes each
frame straight into host-visible memory, which needs no copy; which is
faster depends on the GPU and the frame size (measure both). The frames
are the same bytes either way.`

func (f *stagingFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.BoolVar(&f.transferQueue, "transfer-queue", false, "read frames back by staging copies on the device's dedicated transfer queue (the compute queue where it has none), beside the next frames' kernels")
	fs.BoolVar(&f.forceStaging, "force-staging", false, "read frames back by staging copies on the compute queue, as --transfer-queue does on a device without a transfer queue")
}

// staged reports whether the frames render into device-local memory that
// the host does not map, read back by staging copies.
func (f stagingFlags) staged() bool { return f.transferQueue || f.forceStaging }

// apply sets the device options the flags ask for: ForceStaging for a
// staged read-back (device-local memory is then never mapped, even where
// it is host-visible: unified memory, or a discrete GPU's BAR, which the
// host reads slowly), and TransferQueue.
func (f stagingFlags) apply(o *gpu.Options) {
	if f.staged() {
		o.ForceStaging = true
	}
	if f.transferQueue {
		o.TransferQueue = true
	}
}

// outMemory is the memory the frames render into.
func (f stagingFlags) outMemory() gpu.Memory {
	if f.staged() {
		return gpu.DeviceLocal
	}
	return gpu.HostVisible
}

// copiesText is the report's line on the read-back copies, "" where the
// frames were read in place.
func copiesText(rep tasks.Report) string {
	if rep.CopyBusy <= 0 {
		return ""
	}
	return fmt.Sprintf("read-back copies %s on the GPU, %s of it (%.0f%%) beside compute", fmtSec(rep.CopyBusy), fmtSec(rep.CopyOverlap), 100*rep.CopyOverlap.Seconds()/rep.CopyBusy.Seconds())
}

// readBackMeta describes, for the trace's metadata, how frames rendered
// into device-local memory on d are read back; "" where they are read in
// place, as by default, whose trace stays as it was.
func readBackMeta(d *gpu.Device, cfg demoConfig) string {
	switch {
	case cfg.outMem != gpu.DeviceLocal:
		return ""
	case d.TransferQueue():
		return "staging copies on the transfer queue"
	default:
		return "staging copies on the compute queue (no transfer queue open)"
	}
}
