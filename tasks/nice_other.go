//go:build !linux

package tasks

import "time"

// niceOK says whether runNiced lowers the priority: not on this platform,
// where Pipeline.EncodeNice is ignored.
const niceOK = false

// runNiced is not used where niceOK is false.
func runNiced(nice int, measure bool, f func()) time.Duration {
	f()
	return 0
}
