//go:build !linux

package io

// newBatcher returns nil: outside Linux, ReadBatch and WriteBatch receive
// and send one datagram per system call (golang.org/x/net batches only on
// Linux too).
func newBatcher(c packetSock) batcher { return nil }
