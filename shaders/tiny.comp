#version 450
// The smallest useful dispatch, for latency measurements: one invocation
// increments counter[0].
layout(local_size_x = 1) in;

layout(set = 0, binding = 0) buffer Counter { uint counter[]; };

void main() {
    counter[0] += 1u;
}
