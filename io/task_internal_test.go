package io

import "testing"

// Unregistering a callback or a child leaves no reference to it in the
// backing array of t.cbs, so a finished child task (and its Future and
// result) can be collected while its parent lives on.
func TestUnregisterDropsReference(t *testing.T) {
	parent := new(task)
	a, b, c := new(task), new(task), new(task)
	ida, idb := parent.addChild(a), parent.addChild(b)
	stop := parent.onCancel(func() {})
	parent.addChild(c)
	stale := func() int {
		n := 0
		for _, cb := range parent.cbs[len(parent.cbs):cap(parent.cbs)] {
			if cb.child != nil || cb.fn != nil {
				n++
			}
		}
		return n
	}
	parent.removeChild(idb)
	if n := stale(); n != 0 {
		t.Fatalf("after removeChild, %d stale callbacks past len(cbs)", n)
	}
	if !stop() {
		t.Fatal("stop of a pending callback = false")
	}
	if n := stale(); n != 0 {
		t.Fatalf("after stop, %d stale callbacks past len(cbs)", n)
	}
	parent.removeChild(ida)
	if n := stale(); n != 0 {
		t.Fatalf("after removeChild, %d stale callbacks past len(cbs)", n)
	}
	if len(parent.cbs) != 1 || parent.cbs[0].child != c {
		t.Fatalf("cbs = %+v, want only c", parent.cbs)
	}
	// Cancellation still reaches what stays registered, and a removal after
	// it reports that the callback was taken.
	ran := false
	stop = parent.onCancel(func() { ran = true })
	parent.cancel()
	if !c.isCanceled() || a.isCanceled() || b.isCanceled() || !ran {
		t.Fatal("cancel did not reach exactly the registered callbacks")
	}
	if stop() {
		t.Fatal("stop after cancel = true")
	}
}
