#version 450
// Out-of-bounds accesses on purpose, for the robustBufferAccess test: every
// invocation i writes dst[i] = src[i] + 1 with no bounds check, dispatched
// over more invocations than either buffer holds.
layout(local_size_x = 64) in;

layout(set = 0, binding = 0) readonly buffer Src { uint src[]; };
layout(set = 0, binding = 1) buffer Dst { uint dst[]; };

void main() {
    uint i = gl_GlobalInvocationID.x;
    dst[i] = src[i] + 1u;
}
