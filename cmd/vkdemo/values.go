package main

import (
	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/job"
	"github.com/vkio/vkio/job/runner"
)

// The job model (element types, values, sizes, sources, constants) is
// package job's; these names keep vkdemo's code short.
type (
	dtype    = job.DType
	value    = job.Value
	sizeSpec = job.Size
	specArg  = job.SpecArg
)

// The element types.
const (
	f32 = job.F32
	f64 = job.F64
	i8  = job.I8
	u8  = job.U8
	i16 = job.I16
	u16 = job.U16
	i32 = job.I32
	u32 = job.U32
	i64 = job.I64
	u64 = job.U64
)

// typeList is the help text listing the type names.
const typeList = job.TypeList

// elementTypes maps each binding of set 0 to the dtype of its data (see
// runner.ElementTypes); callers default to f32.
func elementTypes(r *gpu.Reflection) map[uint32]dtype { return runner.ElementTypes(r) }

// formatElem formats element i of data for the summary.
func formatElem(t dtype, data []byte, i int) string { return job.FormatElem(t, data, i) }

// elemAt decodes element i of data, of type t, as a float64.
func elemAt(t dtype, data []byte, i int) float64 { return job.ElemAt(t, data, i) }

// flagSize is a SIZE of one of vkdemo's own flags (serve's --max-request).
type flagSize struct {
	n       int64
	inBytes bool
}

// parseSize parses a SIZE (see job.ParseSize).
func parseSize(s string) (flagSize, error) {
	sz, err := job.ParseSize(s)
	return flagSize{n: sz.N, inBytes: sz.InBytes}, err
}
