package io_test

import (
	"fmt"
	stdio "io"
	"os"
	"path/filepath"
	"testing"

	"github.com/vkio/vkio/io"
)

// Benchmarks for directories and copies, each beside its standard-library
// baseline: go test -run '^$' -bench 'CopyFile|List' ./io/

const benchCopySize = 64 << 20

func copyFixture(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	data := make([]byte, benchCopySize)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(filepath.Join(dir, "src"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkCopyFileIo copies 64 MiB with Dir.CopyFile (on this machine's
// file system: copy_file_range, or a clone where it can).
func BenchmarkCopyFileIo(b *testing.B) {
	dir := copyFixture(b)
	x := io.NewBlocking().Io()
	d, err := io.Cwd().OpenDir(x, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close(x)
	b.SetBytes(benchCopySize)
	var method io.CopyMethod
	b.ResetTimer()
	for b.Loop() {
		res, err := d.CopyFile(x, "src", d, "dst", io.CopyOptions{})
		if err != nil {
			b.Fatal(err)
		}
		method = res.Method
	}
	b.ReportMetric(float64(method), "method")
}

// BenchmarkCopyFileStd is the baseline: io.Copy from one os.File to
// another, which the standard library does with copy_file_range.
func BenchmarkCopyFileStd(b *testing.B) {
	dir := copyFixture(b)
	b.SetBytes(benchCopySize)
	b.ResetTimer()
	for b.Loop() {
		src, err := os.Open(filepath.Join(dir, "src"))
		if err != nil {
			b.Fatal(err)
		}
		dst, err := os.Create(filepath.Join(dir, "dst"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := stdio.Copy(dst, src); err != nil {
			b.Fatal(err)
		}
		src.Close()
		if err := dst.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

const benchListSize = 10000

func listFixture(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	for i := range benchListSize {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("entry-%05d", i)), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkListIo lists 10000 entries with Dir.Entries.
func BenchmarkListIo(b *testing.B) {
	dir := listFixture(b)
	x := io.NewBlocking().Io()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, err := range io.Cwd().Entries(x, dir) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != benchListSize {
			b.Fatalf("listed %d", n)
		}
	}
}

// BenchmarkListOsReadDir is the baseline: os.ReadDir (which also sorts).
func BenchmarkListOsReadDir(b *testing.B) {
	dir := listFixture(b)
	b.ResetTimer()
	for b.Loop() {
		ents, err := os.ReadDir(dir)
		if err != nil || len(ents) != benchListSize {
			b.Fatal(len(ents), err)
		}
	}
}

// BenchmarkListOsFileReadDir is the unsorted baseline: os.File.ReadDir(-1).
func BenchmarkListOsFileReadDir(b *testing.B) {
	dir := listFixture(b)
	b.ResetTimer()
	for b.Loop() {
		f, err := os.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		ents, err := f.ReadDir(-1)
		f.Close()
		if err != nil || len(ents) != benchListSize {
			b.Fatal(len(ents), err)
		}
	}
}
