//go:build linux && cgo

package vkx

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Binding is one descriptor binding of set 0.
type Binding struct {
	Binding uint32
	Uniform bool // uniform buffer; otherwise storage buffer
}

// SpecEntry places specialization constant ID at Offset (Size bytes) of SpecData.
type SpecEntry struct {
	ID, Offset, Size uint32
}

// PipelineConfig describes a compute pipeline.
type PipelineConfig struct {
	Code     []uint32 // SPIR-V words
	Entry    string
	Bindings []Binding
	PushSize uint32
	Spec     []SpecEntry
	SpecData []byte
}

// Pipeline is a compute pipeline with its shader module and layouts.
type Pipeline struct {
	d                               *Device
	module, setLayout, layout, pipe uint64
	PushSize                        uint32
	Bindings                        []Binding
}

// NewPipeline creates a shader module, a descriptor-set layout for set 0, a
// pipeline layout (with one push-constant range when PushSize > 0) and the
// compute pipeline, through the device's pipeline cache.
//
// A panic inside vulkan-go comes back as a *PanicError, with everything
// made so far destroyed.
func (d *Device) NewPipeline(cfg PipelineConfig) (out *Pipeline, err error) {
	p := &Pipeline{d: d, PushSize: cfg.PushSize, Bindings: cfg.Bindings}
	defer recoverTo("new pipeline", &err, p.Destroy)
	smci := &vk.ShaderModuleCreateInfo{
		SType:    vk.StructureTypeShaderModuleCreateInfo,
		CodeSize: uint(len(cfg.Code) * 4),
		PCode:    cfg.Code,
	}
	var mod vk.ShaderModule
	r := vk.CreateShaderModule(d.dev, smci, nil, &mod)
	smci.Free()
	if err := check("vkCreateShaderModule", r); err != nil {
		return nil, err
	}
	p.module = h(mod)

	lbs := make([]vk.DescriptorSetLayoutBinding, len(cfg.Bindings))
	for i, b := range cfg.Bindings {
		t := vk.DescriptorTypeStorageBuffer
		if b.Uniform {
			t = vk.DescriptorTypeUniformBuffer
		}
		lbs[i] = vk.DescriptorSetLayoutBinding{
			Binding:         b.Binding,
			DescriptorType:  t,
			DescriptorCount: 1,
			StageFlags:      vk.ShaderStageFlags(vk.ShaderStageComputeBit),
		}
	}
	dslci := &vk.DescriptorSetLayoutCreateInfo{
		SType:        vk.StructureTypeDescriptorSetLayoutCreateInfo,
		BindingCount: uint32(len(lbs)),
		PBindings:    lbs,
	}
	var dsl vk.DescriptorSetLayout
	r = vk.CreateDescriptorSetLayout(d.dev, dslci, nil, &dsl)
	dslci.Free()
	if err := check("vkCreateDescriptorSetLayout", r); err != nil {
		p.Destroy()
		return nil, err
	}
	p.setLayout = h(dsl)

	plci := &vk.PipelineLayoutCreateInfo{
		SType:          vk.StructureTypePipelineLayoutCreateInfo,
		SetLayoutCount: 1,
		PSetLayouts:    []vk.DescriptorSetLayout{dsl},
	}
	if cfg.PushSize > 0 {
		plci.PushConstantRangeCount = 1
		plci.PPushConstantRanges = []vk.PushConstantRange{{
			StageFlags: vk.ShaderStageFlags(vk.ShaderStageComputeBit),
			Size:       cfg.PushSize,
		}}
	}
	var pl vk.PipelineLayout
	r = vk.CreatePipelineLayout(d.dev, plci, nil, &pl)
	plci.Free()
	if err := check("vkCreatePipelineLayout", r); err != nil {
		p.Destroy()
		return nil, err
	}
	p.layout = h(pl)

	entry := C.CString(cfg.Entry)
	defer C.free(unsafe.Pointer(entry))
	var entries []C.VkSpecializationMapEntry
	var pEntries *C.VkSpecializationMapEntry
	var specData unsafe.Pointer
	if len(cfg.Spec) > 0 {
		entries = make([]C.VkSpecializationMapEntry, len(cfg.Spec))
		for i, s := range cfg.Spec {
			entries[i] = C.VkSpecializationMapEntry{constantID: C.uint32_t(s.ID), offset: C.uint32_t(s.Offset), size: C.size_t(s.Size)}
		}
		pEntries = &entries[0]
		specData = C.CBytes(cfg.SpecData)
		defer C.free(specData)
	}
	var pipe C.uint64_t
	r = vk.Result(C.vkio_create_compute_pipeline(d.fns, C.uint64_t(d.cache), C.uint64_t(p.module), entry, C.uint64_t(h(pl)),
		C.uint32_t(len(entries)), pEntries, C.size_t(len(cfg.SpecData)), specData, &pipe))
	if err := check("vkCreateComputePipelines", r); err != nil {
		p.Destroy()
		return nil, err
	}
	p.pipe = uint64(pipe)
	return p, nil
}

// Destroy destroys the pipeline, its layouts and its shader module.
func (p *Pipeline) Destroy() {
	d := p.d
	if p.pipe != 0 {
		vk.DestroyPipeline(d.dev, as[vk.Pipeline](p.pipe), nil)
		p.pipe = 0
	}
	if p.layout != 0 {
		vk.DestroyPipelineLayout(d.dev, as[vk.PipelineLayout](p.layout), nil)
		p.layout = 0
	}
	if p.setLayout != 0 {
		vk.DestroyDescriptorSetLayout(d.dev, as[vk.DescriptorSetLayout](p.setLayout), nil)
		p.setLayout = 0
	}
	if p.module != 0 {
		vk.DestroyShaderModule(d.dev, as[vk.ShaderModule](p.module), nil)
		p.module = 0
	}
}
