//go:build linux || freebsd

package io

import "golang.org/x/sys/unix"

// oDIRECT is O_DIRECT (CreateOptions.Direct).
const oDIRECT = unix.O_DIRECT
