package main

import (
	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/job"
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

// elementTypes maps each binding of set 0 to the dtype of its data, as
// gpu.Reflect reports it (BindingInfo.Elem). Bindings whose element type has
// no dtype (float16, unknown) are missing from the map; callers default to
// f32.
func elementTypes(r *gpu.Reflection) map[uint32]dtype {
	out := map[uint32]dtype{}
	for _, b := range r.Bindings {
		if b.Set != 0 {
			continue
		}
		if t, ok := scalarDtypes[b.Elem]; ok {
			out[b.Binding] = t
		}
	}
	return out
}

var scalarDtypes = map[gpu.Scalar]dtype{
	gpu.Float32: f32, gpu.Float64: f64,
	gpu.Int8: i8, gpu.Uint8: u8, gpu.Int16: i16, gpu.Uint16: u16,
	gpu.Int32: i32, gpu.Uint32: u32, gpu.Int64: i64, gpu.Uint64: u64,
}

// jobShader is what package job needs of a reflected shader named name
// (set 0's bindings, typed by types), for messages.
func jobShader(name string, r *gpu.Reflection, types map[uint32]dtype) *job.Shader {
	sh := &job.Shader{Name: name, PushSize: r.PushSize, LocalSize: r.LocalSize, LocalSizeSpec: r.LocalSizeSpec}
	for _, b := range r.Bindings {
		if b.Set != 0 {
			continue
		}
		t, ok := types[b.Binding]
		sh.Bindings = append(sh.Bindings, job.BindingInfo{Binding: b.Binding, Uniform: b.Kind == gpu.UniformBuffer,
			ReadOnly: b.ReadOnly, MinSize: b.MinSize, RuntimeArray: b.RuntimeArray, Elem: t, HasElem: ok})
	}
	for _, s := range r.Spec {
		sh.Spec = append(sh.Spec, job.SpecConst{ID: s.ID, Type: job.SpecType(s.Type)})
	}
	return sh
}

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
