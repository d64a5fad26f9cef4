package uring

import "unsafe"

// Addr returns the address of p as an SQE field value. The memory must be pinned
// (or otherwise kept from moving and being freed) until the completion arrives.
func Addr[T any](p *T) uint64 { return uint64(uintptr(unsafe.Pointer(p))) }

// BytesAddr returns the address of b's first byte, or 0 for an empty slice.
func BytesAddr(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}
