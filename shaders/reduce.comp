#version 450
// Sum reduction of uint32 values (wrapping, so the result is exact):
// workgroup g writes the sum of in[g*256*ITEMS ...) to out[g].
// Apply it again to out[] until one value remains.
layout(local_size_x = 256) in;

// Items each invocation sums before the tree step (specialization constant 0).
layout(constant_id = 0) const uint ITEMS = 4;

layout(set = 0, binding = 0) readonly buffer In { uint vin[]; };
layout(set = 0, binding = 1) writeonly buffer Out { uint vout[]; };

layout(push_constant) uniform Push {
    uint n;
} pc;

shared uint partial[256];

void main() {
    uint lid = gl_LocalInvocationID.x;
    uint base = gl_WorkGroupID.x * 256u * ITEMS;
    uint acc = 0u;
    for (uint k = 0u; k < ITEMS; k++) {
        uint i = base + k * 256u + lid;
        if (i < pc.n) {
            acc += vin[i];
        }
    }
    partial[lid] = acc;
    barrier();
    for (uint s = 128u; s > 0u; s >>= 1) {
        if (lid < s) {
            partial[lid] += partial[lid + s];
        }
        barrier();
    }
    if (lid == 0u) {
        vout[gl_WorkGroupID.x] = partial[0];
    }
}
