#version 450
// rl_render: draws a grid of classic-control environments' states into one
// RGBA8 frame (packed little-endian in a uint: R in the low byte, A = 255 in
// the high byte), one invocation per pixel, in the look of Gymnasium's
// pygame renderers (same world extents, shapes, sizes and colours).
//
// The frame is rows x cols cells of cellW x cellH pixels; cell (r, c) shows
// environment r*cols + c, whose state is states[offset + env*stride ...] in
// package rl's state layouts:
//   kind 0 CartPole-v1:               x, x_dot, theta, theta_dot
//   kind 1 Acrobot-v1:                theta1, theta2, dtheta1, dtheta2
//   kind 2 Pendulum-v1:               theta, theta_dot
//   kind 3 MountainCarContinuous-v0:  position, velocity
// Cells past n are drawn empty; each cell has a one-pixel frame on its top
// and left edges. A body placed by a non-finite state value is not drawn.
layout(local_size_x = 16, local_size_y = 16) in;

layout(set = 0, binding = 0) readonly buffer States { float s[]; };
layout(set = 0, binding = 1) writeonly buffer Pixels { uint rgba[]; };

layout(push_constant) uniform Push {
    uint kind;    // 0 CartPole, 1 Acrobot, 2 Pendulum, 3 MountainCar
    uint cols;    // cells per row
    uint cellW;   // cell size in pixels
    uint cellH;
    uint width;   // frame size in pixels (row stride of rgba)
    uint height;
    uint n;       // environments drawn
    uint stride;  // floats from one environment's state to the next
    uint offset;  // float index of environment 0's state
} pc;

uint rgb(uint r, uint g, uint b) { return r | (g << 8) | (b << 16) | (255u << 24); }

const uint WHITE = 0xFFFFFFFFu;
const uint BLACK = 0xFF000000u;

// inBox: p in the rectangle of a frame at o with unit axis d (along) and its
// left normal: along in [a0, a1], across in [c0, c1].
bool inBox(vec2 p, vec2 o, vec2 d, float a0, float a1, float c0, float c1) {
    vec2 q = p - o;
    float al = dot(q, d);
    float ac = dot(q, vec2(-d.y, d.x));
    return al >= a0 && al <= a1 && ac >= c0 && ac <= c1;
}

bool inCircle(vec2 p, vec2 c, float r) {
    vec2 q = p - c;
    return dot(q, q) <= r * r;
}

// Each draw function returns the colour of world point p (y up) for a state,
// testing shapes from the topmost down (Gymnasium's drawing order reversed);
// lw is a line's half-width in world units (0.75 pixel: lines are one or two
// pixels wide wherever they fall).

uint cartpole(vec2 p, float lw, float x, float theta) {
    // Gymnasium: 600x400 pixels for 4.8 x 3.2 world units (125 px/unit);
    // cart 50x30 px, pole 10 x 125 px, axle offset 30/4 px, track at y = 0.
    if (abs(p.y) <= lw) {
        return BLACK; // the track, drawn last
    }
    vec2 pivot = vec2(x, 0.06);
    if (inCircle(p, pivot, 0.04)) {
        return rgb(129u, 132u, 203u);
    }
    vec2 d = vec2(sin(theta), cos(theta));
    if (inBox(p, pivot, d, -0.04, 0.96, -0.04, 0.04)) {
        return rgb(202u, 152u, 101u);
    }
    if (abs(p.x - x) <= 0.2 && abs(p.y) <= 0.12) {
        return BLACK;
    }
    return WHITE;
}

uint acrobot(vec2 p, float lw, float th1, float th2) {
    // Gymnasium: 500x500 pixels for 4.4 x 4.4 units; links of length 1 and
    // width 0.2, joints of radius 0.1, the goal line at y = 1.
    vec2 d1 = vec2(sin(th1), -cos(th1));
    vec2 p1 = d1;
    vec2 d2 = vec2(sin(th1 + th2), -cos(th1 + th2));
    uint link = rgb(0u, 204u, 204u);
    uint joint = rgb(204u, 204u, 0u);
    if (inCircle(p, p1, 0.1)) {
        return joint;
    }
    if (inBox(p, p1, d2, 0.0, 1.0, -0.1, 0.1)) {
        return link;
    }
    if (inCircle(p, vec2(0.0), 0.1)) {
        return joint;
    }
    if (inBox(p, vec2(0.0), d1, 0.0, 1.0, -0.1, 0.1)) {
        return link;
    }
    if (abs(p.y - 1.0) <= lw && abs(p.x) <= 2.2) {
        return BLACK;
    }
    return WHITE;
}

uint pendulum(vec2 p, float th) {
    // Gymnasium: 500x500 pixels for 4.4 x 4.4 units; a rod of length 1 and
    // width 0.2 at angle th from the upright, round ends, a black axle.
    if (inCircle(p, vec2(0.0), 0.05)) {
        return BLACK;
    }
    vec2 d = vec2(-sin(th), cos(th));
    uint rod = rgb(204u, 77u, 77u);
    if (inCircle(p, d, 0.1) || inBox(p, vec2(0.0), d, 0.0, 1.0, -0.1, 0.1) || inCircle(p, vec2(0.0), 0.1)) {
        return rod;
    }
    return WHITE;
}

float mcHeight(float x) { return sin(3.0 * x) * 0.45 + 0.55; }

uint mountaincar(vec2 p, float lw, float pos) {
    // Gymnasium: 600x400 pixels for 1.8 x 1.2 units (x from -1.2);
    // car 40x20 px rotated by cos(3 pos) (as Gymnasium does), wheels of
    // radius 8 px, a flag at the goal 0.45, the track y = 0.45 sin(3x) + 0.55.
    const float goal = 0.45;
    float fy = mcHeight(goal);
    // Flag: triangle (goal, fy+0.15), (goal, fy+0.12), (goal+0.075, fy+0.135).
    float fx = p.x - goal;
    if (fx >= 0.0 && fx <= 0.075 && abs(p.y - (fy + 0.135)) <= 0.015 * (1.0 - fx / 0.075)) {
        return rgb(204u, 204u, 0u);
    }
    if (abs(p.x - goal) <= lw && p.y >= fy && p.y <= fy + 0.15) {
        return BLACK;
    }
    float a = cos(3.0 * pos);
    vec2 d = vec2(cos(a), sin(a));
    vec2 o = vec2(pos, mcHeight(pos) + 0.03);
    if (inCircle(p, o + 0.03 * d, 0.024) || inCircle(p, o - 0.03 * d, 0.024)) {
        return rgb(128u, 128u, 128u);
    }
    if (inBox(p, o, d, -0.06, 0.06, 0.0, 0.06)) {
        return BLACK;
    }
    if (p.x >= -1.2 && p.x <= 0.6) {
        float slope = 1.35 * cos(3.0 * p.x);
        if (abs(p.y - mcHeight(p.x)) <= 1.5 * lw * sqrt(1.0 + slope * slope)) {
            return BLACK;
        }
    }
    return WHITE;
}

void main() {
    uvec2 px = gl_GlobalInvocationID.xy;
    if (px.x >= pc.width || px.y >= pc.height) {
        return;
    }
    uvec2 cell = px / uvec2(pc.cellW, pc.cellH);
    uvec2 loc = px - cell * uvec2(pc.cellW, pc.cellH);
    uint env = cell.y * pc.cols + cell.x;
    uint c;
    if (loc.x == 0u || loc.y == 0u) {
        c = rgb(160u, 160u, 160u); // the cell's frame
    } else if (cell.x >= pc.cols || env >= pc.n) {
        c = rgb(224u, 224u, 224u); // an empty cell
    } else {
        // The world's extent (w, h) and the world point at the cell's centre.
        vec2 ext, mid;
        if (pc.kind == 0u) {
            ext = vec2(4.8, 3.2);
            mid = vec2(0.0, 0.8);
        } else if (pc.kind == 3u) {
            ext = vec2(1.8, 1.2);
            mid = vec2(-0.3, 0.6);
        } else {
            ext = vec2(4.4, 4.4);
            mid = vec2(0.0, 0.0);
        }
        float scale = min(float(pc.cellW) / ext.x, float(pc.cellH) / ext.y);
        vec2 q = vec2(float(loc.x) + 0.5 - 0.5 * float(pc.cellW), 0.5 * float(pc.cellH) - float(loc.y) - 0.5);
        vec2 p = mid + q / scale;
        float lw = 0.75 / scale;
        uint b = pc.offset + env * pc.stride;
        if (pc.kind == 0u) {
            c = cartpole(p, lw, s[b], s[b + 2u]);
        } else if (pc.kind == 1u) {
            c = acrobot(p, lw, s[b], s[b + 1u]);
        } else if (pc.kind == 2u) {
            c = pendulum(p, s[b]);
        } else {
            c = mountaincar(p, lw, s[b]);
        }
    }
    rgba[px.y * pc.width + px.x] = c;
}
