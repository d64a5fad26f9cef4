#version 450
#extension GL_GOOGLE_include_directive : require
// rl_acrobot: Acrobot-v1 (Gymnasium classic_control/acrobot.py at
// 3f0476a8cc224dcce2167cc4b6971ae0f04d5cfc, "book" dynamics) in float32:
// one RK4 step of 0.2 s under torque {-1, 0, +1}, angles wrapped to
// [-pi, pi], velocities clipped to 4*pi and 9*pi, termination when
// -cos(t1) - cos(t1 + t2) > 1, reward -1 (0 on termination), truncation at
// 500 steps. cos(x - pi/2) is computed as sin(x), its exact equal.
#define RL_OBS_DIM 6
#define RL_ACTIONS 3
#define RL_ACT_HIGH 0.0
#define RL_MAX_STEPS 500

#include "rl_philox.glsl"

const float PI_F = 3.14159265358979323846;

// Reset: theta1, theta2, dtheta1, dtheta2 uniform in [-0.1, 0.1), words 0..3.
void env_reset(out vec4 s, uvec4 w) {
    s = vec4(rl_uniform_in(w.x, -0.1, 0.1), rl_uniform_in(w.y, -0.1, 0.1),
             rl_uniform_in(w.z, -0.1, 0.1), rl_uniform_in(w.w, -0.1, 0.1));
}

vec4 acrobot_dsdt(vec4 s, float a) {
    // m1 = m2 = 1, l1 = 1, lc1 = lc2 = 0.5, I1 = I2 = 1, g = 9.8.
    float cos2 = cos(s.y);
    float sin2 = sin(s.y);
    float d1 = ((0.25 + (1.25 + cos2)) + 1.0) + 1.0;  // m1*lc1^2 + m2*(l1^2 + lc2^2 + 2*l1*lc2*cos) + I1 + I2
    float d2 = (0.25 + 0.5 * cos2) + 1.0;        // m2*(lc2^2 + l1*lc2*cos) + I2
    float phi2 = 4.9 * sin(s.x + s.y);           // m2*lc2*g*cos(t1 + t2 - pi/2)
    float phi1 = -0.5 * (s.w * s.w) * sin2 - 2.0 * 0.5 * s.w * s.z * sin2 + 14.7 * sin(s.x) + phi2;
    float ddtheta2 = (a + d2 / d1 * phi1 - 0.5 * (s.z * s.z) * sin2 - phi2) / (0.25 + 1.0 - (d2 * d2) / d1);
    float ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    return vec4(s.z, s.w, ddtheta1, ddtheta2);
}

float acrobot_wrap(float x) {
    const float diff = 2.0 * PI_F;
    for (int k = 0; k < 64 && x > PI_F; k++) {
        x = x - diff;
    }
    for (int k = 0; k < 64 && x < -PI_F; k++) {
        x = x + diff;
    }
    return x;
}

bool env_step(inout vec4 s, float a, out float r) {
    float torque = a >= 2.0 ? 1.0 : (a >= 1.0 ? 0.0 : -1.0);
    const float dt = 0.2, dt2 = 0.1;
    vec4 k1 = acrobot_dsdt(s, torque);
    vec4 k2 = acrobot_dsdt(s + dt2 * k1, torque);
    vec4 k3 = acrobot_dsdt(s + dt2 * k2, torque);
    vec4 k4 = acrobot_dsdt(s + dt * k3, torque);
    vec4 ns = s + dt / 6.0 * (((k1 + 2.0 * k2) + 2.0 * k3) + k4);
    s = vec4(acrobot_wrap(ns.x), acrobot_wrap(ns.y),
             clamp(ns.z, -4.0 * PI_F, 4.0 * PI_F), clamp(ns.w, -9.0 * PI_F, 9.0 * PI_F));
    bool term = -cos(s.x) - cos(s.y + s.x) > 1.0;
    r = term ? 0.0 : -1.0;
    return term;
}

void env_observe(vec4 s, out float o[RL_OBS_DIM]) {
    o[0] = cos(s.x);
    o[1] = sin(s.x);
    o[2] = cos(s.y);
    o[3] = sin(s.y);
    o[4] = s.z;
    o[5] = s.w;
}

#include "rl_runner.glsl"
