package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/job"
)

func init() { register(newDevicesCmd) }

// devicesReport is the JSON form of `vkdemo devices --json`. Field names are
// stable.
type devicesReport struct {
	// Chosen is the index of the device the other commands would use with
	// the same --device / VKIO_DEVICE, or -1 if none can be opened.
	Chosen int `json:"chosen"`
	// ChosenError says why none could be opened, when Chosen is -1.
	ChosenError string       `json:"chosen_error,omitempty"`
	Devices     []deviceJSON `json:"devices"`
}

type deviceJSON struct {
	Index      int    `json:"index"`
	Name       string `json:"name"`
	Type       string `json:"type"` // discrete, integrated, virtual, cpu, other
	APIVersion string `json:"api_version"`
	VendorID   uint32 `json:"vendor_id"`
	Vendor     string `json:"vendor"` // from the vendor ID
	DeviceID   uint32 `json:"device_id"`
	// Driver and DriverInfo are the driver's own (VkPhysicalDeviceDriverProperties;
	// "" on a Vulkan 1.0/1.1 device).
	Driver     string `json:"driver"`
	DriverInfo string `json:"driver_info"`
	Usable     bool   `json:"usable"`
	Reason     string `json:"reason,omitempty"`
	Chosen     bool   `json:"chosen"`
	// UnifiedMemory: a memory type is both device-local and host-visible,
	// so device buffers are mapped without staging copies.
	UnifiedMemory bool       `json:"unified_memory"`
	Limits        limitsJSON `json:"limits"`
	Timestamps    tsJSON     `json:"timestamps"`
	// RobustBufferAccess: the device has the feature, and vkio enables it
	// (kernels' out-of-bounds buffer accesses stay inside their buffers).
	RobustBufferAccess bool `json:"robust_buffer_access"`
	// ComputeQueues is the number of queues of the compute family;
	// TransferQueues that of a dedicated transfer family (0: none).
	ComputeQueues  int `json:"compute_queues"`
	TransferQueues int `json:"transfer_queues"`
}

type limitsJSON struct {
	MaxWorkgroupCount       [3]uint32 `json:"max_workgroup_count"`
	MaxWorkgroupSize        [3]uint32 `json:"max_workgroup_size"`
	MaxWorkgroupInvocations uint32    `json:"max_workgroup_invocations"`
	MaxSharedMemoryBytes    uint32    `json:"max_shared_memory_bytes"`
	MaxPushConstantsBytes   uint32    `json:"max_push_constants_bytes"`
	MaxStorageBufferRange   uint32    `json:"max_storage_buffer_range"`
	MaxUniformBufferRange   uint32    `json:"max_uniform_buffer_range"`
}

type tsJSON struct {
	Supported  bool    `json:"supported"`
	PeriodNs   float64 `json:"period_ns"`
	Calibrated bool    `json:"calibrated"` // VK_EXT_calibrated_timestamps with CLOCK_MONOTONIC
}

func newDevicesCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "devices",
		Short: "List Vulkan devices and their compute limits",
		Long: `List the Vulkan devices the loader reports: type, driver, Vulkan version,
memory, the limits that matter for compute (workgroup count and size,
invocations, shared memory, push constants), timestamp support, and which
device vkdemo would use with the same --device / VKIO_DEVICE ("*").`,
		Example: `  vkdemo devices
  vkdemo devices --json | jq '.devices[] | {name, type, chosen}'
  vkdemo --device llvmpipe devices`,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := a.devicesReport()
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return printDevices(a, rep)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the list as JSON")
	return cmd
}

// devicesReport lists the devices and opens the one that would be chosen.
func (a *app) devicesReport() (*devicesReport, error) {
	// The Io is made first so that a bad --io is reported as such.
	if _, err := a.Io(); err != nil {
		return nil, err
	}
	infos, err := gpu.Devices()
	if err != nil {
		return nil, err
	}
	rep := &devicesReport{Chosen: -1, Devices: []deviceJSON{}}
	d, err := a.Device()
	switch {
	case err == nil:
		rep.Chosen = d.Info().Index
	case exitCode(err) == exitUsage:
		return nil, err
	default:
		rep.ChosenError = err.Error()
	}
	for _, in := range infos {
		rep.Devices = append(rep.Devices, deviceJSON{
			Index:         in.Index,
			Name:          in.Name,
			Type:          in.Type.String(),
			APIVersion:    in.APIVersion,
			VendorID:      in.VendorID,
			Vendor:        vendorName(in.VendorID),
			DeviceID:      in.DeviceID,
			Driver:        in.Driver,
			DriverInfo:    in.DriverInfo,
			Usable:        in.Usable,
			Reason:        in.Reason,
			Chosen:        in.Index == rep.Chosen,
			UnifiedMemory: in.HostVisibleDeviceLocal,
			Limits: limitsJSON{
				MaxWorkgroupCount:       in.Limits.MaxWorkGroupCount,
				MaxWorkgroupSize:        in.Limits.MaxWorkGroupSize,
				MaxWorkgroupInvocations: in.Limits.MaxWorkGroupInvocations,
				MaxSharedMemoryBytes:    in.Limits.MaxSharedMemorySize,
				MaxPushConstantsBytes:   in.Limits.MaxPushConstantsSize,
				MaxStorageBufferRange:   in.Limits.MaxStorageBufferRange,
				MaxUniformBufferRange:   in.Limits.MaxUniformBufferRange,
			},
			Timestamps: tsJSON{
				Supported:  in.TimestampPeriod > 0,
				PeriodNs:   in.TimestampPeriod,
				Calibrated: in.Calibrated,
			},
			RobustBufferAccess: in.RobustBufferAccess,
			ComputeQueues:      in.ComputeQueues,
			TransferQueues:     in.TransferQueues,
		})
	}
	return rep, nil
}

func printDevices(a *app, rep *devicesReport) error {
	w := a.stdout
	if len(rep.Devices) == 0 {
		fmt.Fprintln(w, "no Vulkan devices")
	}
	for i, d := range rep.Devices {
		if i > 0 {
			fmt.Fprintln(w)
		}
		mark := " "
		if d.Chosen {
			mark = "*"
		}
		fmt.Fprintf(w, "%s #%d %s\n", mark, d.Index, d.Name)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		driver := d.Driver
		if d.DriverInfo != "" {
			driver += " (" + d.DriverInfo + ")"
		}
		if driver == "" {
			driver = "unknown (a Vulkan 1.0/1.1 driver does not report it)"
		}
		fmt.Fprintf(tw, "    type\t%s\n", d.Type)
		fmt.Fprintf(tw, "    vendor\t%s (0x%04x), device 0x%04x\n", d.Vendor, d.VendorID, d.DeviceID)
		fmt.Fprintf(tw, "    driver\t%s\n", driver)
		fmt.Fprintf(tw, "    vulkan\t%s\n", d.APIVersion)
		transfer := "no dedicated transfer queue"
		if d.TransferQueues > 0 {
			transfer = fmt.Sprintf("%d dedicated transfer", d.TransferQueues)
		}
		fmt.Fprintf(tw, "    queues\t%d compute, %s\n", d.ComputeQueues, transfer)
		if d.UnifiedMemory {
			fmt.Fprintf(tw, "    memory\tunified (device-local memory is host-visible)\n")
		} else {
			fmt.Fprintf(tw, "    memory\tseparate (uploads and downloads through staging buffers)\n")
		}
		l := d.Limits
		fmt.Fprintf(tw, "    workgroup count\t%d x %d x %d\n", l.MaxWorkgroupCount[0], l.MaxWorkgroupCount[1], l.MaxWorkgroupCount[2])
		fmt.Fprintf(tw, "    workgroup size\t%d x %d x %d, %d invocations\n", l.MaxWorkgroupSize[0], l.MaxWorkgroupSize[1], l.MaxWorkgroupSize[2], l.MaxWorkgroupInvocations)
		fmt.Fprintf(tw, "    shared memory\t%s\n", job.FormatBytes(int64(l.MaxSharedMemoryBytes)))
		fmt.Fprintf(tw, "    push constants\t%d bytes\n", l.MaxPushConstantsBytes)
		fmt.Fprintf(tw, "    storage buffer\t%s max range\n", job.FormatBytes(int64(l.MaxStorageBufferRange)))
		ts := "no"
		if d.Timestamps.Supported {
			ts = fmt.Sprintf("yes, %g ns/tick", d.Timestamps.PeriodNs)
			if d.Timestamps.Calibrated {
				ts += ", calibrated to CLOCK_MONOTONIC"
			}
		}
		fmt.Fprintf(tw, "    timestamps\t%s\n", ts)
		robust := "no (out-of-bounds buffer accesses of kernels are undefined)"
		if d.RobustBufferAccess {
			robust = "yes, enabled"
		}
		fmt.Fprintf(tw, "    robust access\t%s\n", robust)
		if !d.Usable {
			fmt.Fprintf(tw, "    usable\tno: %s\n", d.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	if rep.Chosen >= 0 {
		_, err := fmt.Fprintf(w, "* chosen: #%d (override with --device INDEX|NAME or VKIO_DEVICE)\n", rep.Chosen)
		return err
	}
	_, err := fmt.Fprintf(w, "no device can be opened: %s\n", rep.ChosenError)
	return err
}

// vendorName names the PCI (or Khronos) vendor ID.
func vendorName(id uint32) string {
	switch id {
	case 0x1002:
		return "AMD"
	case 0x10DE:
		return "NVIDIA"
	case 0x8086:
		return "Intel"
	case 0x13B5:
		return "ARM"
	case 0x5143:
		return "Qualcomm"
	case 0x1010:
		return "Imagination"
	case 0x106B:
		return "Apple"
	case 0x10005:
		return "Mesa"
	}
	return "unknown"
}
