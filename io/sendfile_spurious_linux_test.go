package io

import (
	"net"
	"os"
	"testing"
	"time"
)

// b is parked in sendFile on a full socket; a, another task writing on the
// same connection (waiting for the fd's write lock, its guard armed), is
// canceled. b, not canceled, must not fail: other paths retry (spurious).
func TestSendFileRetriesAfterAnotherTasksCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); acc <- c }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer := <-acc // never read: the send buffer fills
	defer peer.Close()
	peer.(*net.TCPConn).SetReadBuffer(4096)
	c.(*net.TCPConn).SetWriteBuffer(4096)
	c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
	c.Write(make([]byte, 64<<20)) // fill the buffers
	c.SetWriteDeadline(time.Time{})
	p := &pollConn{c: c}

	f, err := os.CreateTemp(t.TempDir(), "src")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 1<<20))

	b := new(task)
	bDone := make(chan error, 1)
	go func() { _, err := p.sendFile(b, int(f.Fd()), 0, 1<<20); bDone <- err }()
	time.Sleep(100 * time.Millisecond) // b parks: EAGAIN

	a := new(task)
	aDone := make(chan error, 1)
	go func() { _, err := p.write(a, []byte("x")); aDone <- err }()
	time.Sleep(100 * time.Millisecond) // a waits for the write lock, guarded

	a.cancel()
	select {
	case err := <-bDone:
		t.Fatalf("b (not canceled) returned %v after a's cancel", err)
	case <-time.After(300 * time.Millisecond):
	}
	b.cancel()
	<-bDone
	<-aDone
}
