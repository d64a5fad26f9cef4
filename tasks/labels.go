package tasks

import (
	"context"
	"runtime/pprof"
	"strconv"
)

// Profiler labels. Every pipeline stage runs under the pprof labels
// stage=submit|wait|read|encode|save|send and frame=N, and every graph task
// under task=NAME, so that a CPU profile taken while they run splits by
// stage, frame or task:
//
//	go tool pprof -tagfocus stage=encode cpu.out
//	go tool pprof -tags cpu.out
//
// Goroutines a stage starts inherit its labels. Work on threads Go does not
// run (an in-process Vulkan driver's) is not labelled.
const (
	LabelStage = "stage"
	LabelFrame = "frame"
	LabelTask  = "task"
)

// withStage runs f under the labels stage and frame (see LabelStage).
func withStage(stage string, frame string, f func()) {
	pprof.Do(context.Background(), pprof.Labels(LabelStage, stage, LabelFrame, frame), func(context.Context) { f() })
}

// frameLabel is the frame label's value.
func frameLabel(k int) string { return strconv.Itoa(k) }
