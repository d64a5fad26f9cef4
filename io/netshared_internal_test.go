package io

import (
	"bytes"
	"testing"
)

func TestAdvance(t *testing.T) {
	bufs := [][]byte{[]byte("abc"), {}, []byte("de"), []byte("fghi")}
	for n := int64(0); n <= 9; n++ {
		got := bytes.Join(advance(bufs, n), nil)
		if want := []byte("abcdefghi")[n:]; !bytes.Equal(got, want) {
			t.Errorf("advance(%d) = %q, want %q", n, got, want)
		}
	}
	if string(bufs[0]) != "abc" {
		t.Errorf("advance changed its argument: %q", bufs[0])
	}
}
