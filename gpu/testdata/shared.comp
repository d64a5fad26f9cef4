#version 450
// Shared memory for TestReflectSharedMemory: 256 floats (1024 bytes) plus
// gl_WorkGroupSize.x * 2 floats, a length that is a specialization constant
// operation (2 * 64 * 4 = 512 bytes with the default local size).
// Compiled with: glslc -fshader-stage=comp --target-env=vulkan1.1 shared.comp -o shared.spv
layout(local_size_x = 64, local_size_x_id = 0) in;

layout(set = 0, binding = 0) buffer Out { float vout[]; };

shared float s[256];
shared float t[gl_WorkGroupSize.x * 2];

void main() {
    uint i = gl_LocalInvocationID.x;
    s[i % 256u] = float(i);
    t[i] = float(i);
    barrier();
    vout[gl_GlobalInvocationID.x] = s[(i + 1u) % 256u] + t[i];
}
