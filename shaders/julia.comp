#version 450
// Julia / Mandelbrot tile: one RGBA8 pixel (packed little-endian in a uint:
// R in the low byte, A = 255 in the high byte) per invocation.
// mode 0: Mandelbrot (z0 = 0, c = pixel); mode 1: Julia (z0 = pixel, c = (cx, cy)).
layout(local_size_x = 16, local_size_y = 16) in;

layout(set = 0, binding = 0) writeonly buffer Pixels { uint rgba[]; };

layout(push_constant) uniform Push {
    uint width;     // tile width in pixels (row stride of rgba)
    uint height;    // tile height in pixels
    float x0;       // plane coordinate of pixel (0, 0)
    float y0;
    float dx;       // plane step per pixel
    float dy;
    float cx;       // Julia constant
    float cy;
    uint maxIter;
    uint mode;
} pc;

void main() {
    uvec2 p = gl_GlobalInvocationID.xy;
    if (p.x >= pc.width || p.y >= pc.height) {
        return;
    }
    precise float px = pc.x0 + float(p.x) * pc.dx;
    precise float py = pc.y0 + float(p.y) * pc.dy;
    precise float zx = 0.0;
    precise float zy = 0.0;
    precise float ccx = px;
    precise float ccy = py;
    if (pc.mode == 1u) {
        zx = px;
        zy = py;
        ccx = pc.cx;
        ccy = pc.cy;
    }
    uint it = 0u;
    while (it < pc.maxIter) {
        precise float xx = zx * zx;
        precise float yy = zy * zy;
        if (xx + yy > 4.0) {
            break;
        }
        precise float xy = zx * zy;
        zy = xy + xy + ccy;
        zx = xx - yy + ccx;
        it++;
    }
    uint r = 0u, g = 0u, b = 0u;
    if (it < pc.maxIter) {
        r = (it * 9u) & 255u;
        g = (it * 5u) & 255u;
        b = (it * 17u + 64u) & 255u;
    }
    rgba[p.y * pc.width + p.x] = r | (g << 8) | (b << 16) | (255u << 24);
}
