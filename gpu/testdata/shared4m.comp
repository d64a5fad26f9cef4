#version 450
// 4 MiB of shared (Workgroup) memory: far beyond any device's
// maxComputeSharedMemorySize (32 KiB on lavapipe). Valid SPIR-V; vkio must
// refuse it with ErrLimit before the driver sees it.
layout(local_size_x = 64) in;

layout(set = 0, binding = 0) buffer Out { uint data[]; };

shared uint big[1048576];

void main() {
    uint i = gl_LocalInvocationID.x;
    big[i * 16384u] = i;
    barrier();
    data[i] = big[(63u - i) * 16384u];
}
