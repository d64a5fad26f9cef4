//go:build linux

package io

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The reaper's look every reaperPoll while requests are in flight is what
// finds a completion whose eventfd signal was lost (see reaper): here the
// signal is suppressed on purpose, by a mute that never ends, and the
// waiting task does not lead, so no one else reaps. Without the look the
// read below never returns; the 10 s bound only turns that hang into a
// failure, it measures nothing.
func TestEventedReaperFindsUnsignalledCompletion(t *testing.T) {
	lead := eventedLead
	eventedLead = false
	defer func() { eventedLead = lead }()
	e := newTestEvented(t, EventedOptions{})
	x := e.Io()
	e.mute() // as a flusher's mute whose unmute's look came too early
	defer e.unmute()
	r, w := pipe(t)
	got := make(chan error, 1)
	go func() {
		buf := make([]byte, 1)
		_, err := r.Read(x, buf)
		got <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); r.state.Load() != 2; { // the read is in progress
		if time.Now().After(deadline) {
			t.Fatal("the read never started")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond) // let it reach the kernel and park
	if _, err := unix.Write(w.fd, []byte("x")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		e.unmute() // reaps, so the read ends and the test can clean up
		e.mute()
		<-got
		t.Fatal("a completion whose eventfd signal was lost was never reaped")
	}
}
