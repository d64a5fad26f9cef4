#version 450
// Reflected in TestReflectDifferential. Compiled with:
// glslc -fshader-stage=comp --target-env=vulkan1.1 spec.comp -o spec.spv
#extension GL_EXT_shader_explicit_arithmetic_types : require
layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const int N = 7;
layout(constant_id = 3) const bool F = true;
layout(constant_id = 4) const float G = 1.5;
layout(set=0, binding=3) buffer A { int8_t x[N]; f16vec4 y[]; } a;
layout(set=0, binding=2) buffer C { uint64_t q; dmat2 z; } c;
shared float s[256];
shared float t[gl_WorkGroupSize.x * 2];
void main() { a.y[0].x = float16_t(s[0] + t[1] + G); c.q = uint64_t(N); if (F) c.z[0][0] = 1.0; }
