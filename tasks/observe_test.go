package tasks

import (
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

func TestRecorderObservesIoOperations(t *testing.T) {
	rec := NewRecorder()
	x := io.NewThreaded(io.ThreadedOptions{}).Io().WithObserver(rec)
	dir := t.TempDir()
	if err := io.Cwd().WriteFile(x, dir+"/f.bin", make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := x.Sleep(time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var disk int
	for _, s := range rec.Spans() {
		if s.Res != Disk || s.Lane != "io" {
			t.Fatalf("unexpected span %+v (sleeps are not recorded)", s)
		}
		if s.End.Before(s.Start) {
			t.Fatalf("span ends before it starts: %+v", s)
		}
		disk++
	}
	// create, write, sync, rename, sync dir
	if disk < 5 {
		t.Fatalf("recorded %d disk spans for an atomic write, want at least 5", disk)
	}
	if rep := rec.Report(); rep.Busy["disk"] <= 0 {
		t.Fatalf("report shows no disk busy time: %+v", rep)
	}
}
