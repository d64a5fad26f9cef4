package devset

import (
	"fmt"
	"strings"

	"github.com/vkio/vkio/gpu"
)

// maxSpec caps one entry of a device list (a name substring).
const maxSpec = 256

// ParseDevices parses a device list as a command line gives it
// ("--devices 0,0"): comma-separated gpu.Options.Device specs (decimal
// indices or name substrings), spaces around entries ignored, an entry
// repeated for another logical device on the same physical device. "all"
// and "" (or only spaces) return nil: every suitable device, as
// Options.Devices takes it. It fails with an *Error matching gpu.ErrInvalid
// for an empty entry ("0,,1"), "all" beside other entries, an entry longer
// than 256 bytes or holding control characters, a negative index, and more
// than MaxMembers entries. Its work is linear in len(spec).
func ParseDevices(spec string) ([]string, error) {
	bad := func(format string, args ...any) error {
		return &Error{Op: "parse devices", Detail: fmt.Sprintf(format, args...), Err: gpu.ErrInvalid}
	}
	s := strings.TrimSpace(spec)
	if s == "" || strings.EqualFold(s, "all") {
		return nil, nil
	}
	if n := strings.Count(s, ",") + 1; n > MaxMembers {
		return nil, bad("%d entries; at most %d", n, MaxMembers)
	}
	var out []string
	for i, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
			return nil, bad("entry %d is empty in %q", i+1, clip(s))
		case len(e) > maxSpec:
			return nil, bad("entry %d is %d bytes long; at most %d", i+1, len(e), maxSpec)
		case strings.EqualFold(e, "all"):
			return nil, bad(`entry %d: "all" stands alone, not in a list`, i+1)
		case strings.HasPrefix(e, "-") || strings.HasPrefix(e, "+"):
			return nil, bad("entry %d: %q is not a device index (0, 1, ...) or name", i+1, clip(e))
		}
		for _, r := range e {
			if r < 0x20 || r == 0x7f || r == '\uFFFD' {
				return nil, bad("entry %d: control or invalid character %q", i+1, r)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
