//go:build !linux

package io

// Without copy_file_range and Linux's sendfile semantics, Writer.SendFile
// copies through the Writer's buffer (see Writer.SendFile).

func (sysDriver) copyRange(t *task, dst int, dstOff int64, src int, srcOff int64, n int) (int, error) {
	if t.isCanceled() {
		return 0, t.err()
	}
	return 0, ErrUnsupported
}
