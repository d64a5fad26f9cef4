package io

import "testing"

func TestNonEmpty(t *testing.T) {
	a, b := []byte("a"), []byte("bc")
	data := [][]byte{a, b}
	if got := nonEmpty(data); &got[0] != &data[0] || len(got) != 2 {
		t.Fatal("nonEmpty copied a vector with no empty slice")
	}
	got := nonEmpty([][]byte{nil, a, {}, b, nil})
	if len(got) != 2 || &got[0][0] != &a[0] || &got[1][0] != &b[0] {
		t.Fatalf("nonEmpty = %q, want [a bc]", got)
	}
	if got := nonEmpty([][]byte{nil, {}}); len(got) != 0 {
		t.Fatalf("nonEmpty of empty slices = %q", got)
	}
}
