#version 450
// A kernel that does not end in any useful time: each invocation loops
// 2^32-16 times (the bound comes from the buffer, so the compiler cannot
// fold it), over as many workgroups as the job asks for. lavapipe stops a
// loop (nested ones included) after 65,535 trips, so there each
// invocation ends, but 65535x65535 workgroups of 64 take years; a real GPU
// has no such stop. Used to test that a runaway dispatch is killed (serve
// --job-timeout, SIGTERM) or abandoned (run --timeout, Ctrl-C).
layout(local_size_x = 64) in;

layout(set = 0, binding = 0) buffer B { uint v[]; };

void main() {
    uint acc = v[1] + gl_GlobalInvocationID.x;
    for (uint i = 0u; i < v[0] + 0xfffffff0u; i++) {
        acc = acc * 1664525u + 1013904223u + v[(acc >> 7) & 1u];
    }
    if (acc == 0x12345678u) {
        v[2] = acc;
    }
}
