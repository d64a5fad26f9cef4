#version 450
// Reflected in TestReflectDifferential. Compiled with:
// glslc -fshader-stage=comp --target-env=vulkan1.1 layout.comp -o layout.spv
#extension GL_EXT_shader_explicit_arithmetic_types : require
layout(local_size_x = 8, local_size_y = 4) in;
struct S { vec3 p; float w; mat3 m; int k[3]; };
layout(set=0, binding=0, std140) uniform U { mat4 proj; vec3 eye; S s[2]; } u;
layout(set=0, binding=1, std430) buffer B { S items[4]; double d; } b;
layout(set=1, binding=0, std430) readonly buffer R { uint n; S data[]; } r;
layout(push_constant) uniform P { vec2 a; S s; uint16_t h; } pc;
shared vec3 tile[8][4];
shared float acc;
void main() { b.items[0].w = u.eye.x + r.data[0].w + pc.a.x + tile[0][0].x + acc + float(pc.h); }
