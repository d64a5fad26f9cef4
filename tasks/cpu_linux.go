//go:build linux

package tasks

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// userHZ is the unit of /proc/stat's times: USER_HZ, 100 on every Linux
// architecture Go supports.
const userHZ = 100

// hostCPU reads the host's CPU time (readHostCPU); a test that checks the
// configuration limits on a shared machine replaces it.
var hostCPU = readHostCPU

// readHostCPU returns the CPU time every process on the host has used since
// boot, summed over the cores (/proc/stat: user, nice, system, irq, softirq
// and steal time: a hypervisor's steal is time the cores were not the
// host's), in steps of 1/USER_HZ, and whether it could read it.
func readHostCPU() (time.Duration, bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var buf [512]byte // the first line ("cpu  ..."): under 200 bytes
	n, _ := f.Read(buf[:])
	return parseHostCPU(buf[:n])
}

// parseHostCPU parses the first line of /proc/stat.
func parseHostCPU(b []byte) (time.Duration, bool) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0, false
	}
	var ticks uint64
	// user nice system idle iowait irq softirq steal: all but idle and iowait.
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, err := strconv.ParseUint(string(f[i]), 10, 64)
		if err != nil || v > 1<<50 {
			return 0, false
		}
		ticks += v
	}
	return time.Duration(ticks) * (time.Second / userHZ), true
}
