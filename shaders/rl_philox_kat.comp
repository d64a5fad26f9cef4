#version 450
#extension GL_GOOGLE_include_directive : require
// rl_philox_kat: out[i] = philox4x32_10(ctr[i], key[i]) for i < n, to check
// the shader's Philox against Random123's known-answer vectors and rl's Go
// Philox. Binding 0: in (uvec4 pairs: {ctr, {key.x, key.y, 0, 0}}), binding
// 1: out (uvec4). Push constants: {uint n}. Local size: specialization
// constant 0 (default 64).
layout(local_size_x = 64, local_size_x_id = 0) in;

#include "rl_philox.glsl"

layout(std430, set = 0, binding = 0) readonly buffer In { uvec4 inp[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Out { uvec4 outp[]; };
layout(push_constant) uniform Push { uint n; } pc;

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < pc.n) {
        outp[i] = philox4x32_10(inp[2 * i], inp[2 * i + 1].xy);
    }
}
