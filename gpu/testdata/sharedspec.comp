#version 450
// Shared memory sized by specialization constant 0 (N uints, default 64:
// 256 bytes); constant 1 is a bool. vkio must measure shared memory with
// the specialization applied: N = 1048576 (4 MiB) is beyond every device.
layout(local_size_x = 64) in;

layout(constant_id = 0) const uint N = 64;
layout(constant_id = 1) const bool REVERSE = false;

layout(set = 0, binding = 0) buffer Out { uint data[]; };

shared uint s[N];

void main() {
    uint i = gl_LocalInvocationID.x;
    s[i % N] = i;
    barrier();
    data[i] = REVERSE ? s[(N - 1u) - i % N] : s[i % N];
}
