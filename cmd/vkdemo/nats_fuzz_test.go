package main

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/vkio/vkio/cluster"
)

// FuzzNATSStream feeds a job's live output (bytes from the NATS server:
// outside input to the gateway and to submit --watch) to the stream
// scanner, whole and cut into chunks at two points, in order and through
// liveStream: no panic, and the same frames, done line and state however
// the bytes are cut.
func FuzzNATSStream(f *testing.F) {
	frame := func(h frameHeader, data []byte) []byte {
		b, _ := json.Marshal(h)
		return append(append(b, '\n'), data...)
	}
	done, _ := json.Marshal(jobDone{Done: true, Kernel: "saxpy", Iterations: 2})
	good := append(frame(frameHeader{Iter: 0, Binding: 1, Type: "f32", Count: 2, Bytes: 8}, []byte("\n\n{}\n\n\n\n")),
		frame(frameHeader{Iter: 1, Binding: 1, Type: "f32", Count: 2, Bytes: 8}, make([]byte, 8))...)
	good = append(append(good, done...), '\n')
	f.Add(good, uint16(3), uint16(40))
	f.Add([]byte(`{"error":"worker crashed"}`+"\n"), uint16(1), uint16(2))
	f.Add([]byte(`{"iter":0,"binding":1,"bytes":-5}`+"\n"), uint16(0), uint16(0))
	f.Add([]byte(`{"iter":0,"binding":1,"bytes":99999999}`+"\nabc"), uint16(5), uint16(9))
	f.Add([]byte("not json\n"), uint16(2), uint16(4))
	f.Fuzz(func(t *testing.T, data []byte, cut1, cut2 uint16) {
		var whole streamScanner
		whole.feed(data)
		a, b := int(cut1)%(len(data)+1), int(cut2)%(len(data)+1)
		if a > b {
			a, b = b, a
		}
		var l liveStream
		for i, part := range [][]byte{data[:a], data[a:b], data[b:]} {
			l.add(cluster.Event{Kind: cluster.EventChunk, Attempt: 1, Seq: uint64(i + 1), Data: part})
		}
		cut := l.scan
		if whole.done != cut.done || whole.bad != cut.bad || !reflect.DeepEqual(whole.frames, cut.frames) {
			t.Fatalf("whole: done %v bad %v frames %v; cut at %d,%d: done %v bad %v frames %v", whole.done, whole.bad, whole.frames, a, b, cut.done, cut.bad, cut.frames)
		}
		if !whole.bad && !whole.done && (whole.need != cut.need || string(whole.buf) != string(cut.buf)) {
			t.Fatalf("whole: need %d buf %q; cut: need %d buf %q", whole.need, whole.buf, cut.need, cut.buf)
		}
		if whole.need < 0 || len(whole.buf) > maxControlFrame {
			t.Fatalf("need %d, buffered %d", whole.need, len(whole.buf))
		}
		// A gap or an older delivery never reaches the scanner.
		if got := l.add(cluster.Event{Kind: cluster.EventChunk, Attempt: 1, Seq: 9, Data: data}); got != liveLost {
			t.Fatalf("a gap: %d", got)
		}
		if got := l.add(cluster.Event{Kind: cluster.EventChunk, Attempt: 0, Seq: 1, Data: data}); got != liveIgnored {
			t.Fatalf("an older delivery: %d", got)
		}
	})
}
