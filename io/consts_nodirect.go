//go:build !linux && !freebsd

package io

// oDIRECT is 0 where the system has no O_DIRECT (darwin: F_NOCACHE is a
// different contract; windows): CreateOptions.Direct fails with
// ErrUnsupported there.
const oDIRECT = 0
