#version 450
// out[i] = in[i] * in[i] + BIAS, on uint32; BIAS is specialization constant 1.
layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 1) const uint BIAS = 0;

layout(set = 0, binding = 0) readonly buffer In { uint vin[]; };
layout(set = 0, binding = 1) writeonly buffer Out { uint vout[]; };

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < vin.length()) {
        vout[i] = vin[i] * vin[i] + BIAS;
    }
}
