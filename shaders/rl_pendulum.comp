#version 450
#extension GL_GOOGLE_include_directive : require
// rl_pendulum: Pendulum-v1 (Gymnasium classic_control/pendulum.py at
// 3f0476a8cc224dcce2167cc4b6971ae0f04d5cfc, g = 10) in float32:
// semi-implicit Euler with dt 0.05, torque clipped to [-2, 2], speed to
// [-8, 8]; the reward is minus the cost of the pre-update state
// (angle_normalize(th)^2 + 0.1*thdot^2 + 0.001*u^2); it never terminates
// and is truncated at 200 steps.
#define RL_OBS_DIM 3
#define RL_ACTIONS 0
#define RL_ACT_HIGH 2.0
#define RL_MAX_STEPS 200

#include "rl_philox.glsl"

const float PI_F = 3.14159265358979323846;

// Reset: theta uniform in [-pi, pi) from word 0, thetadot in [-1, 1) from word 1.
void env_reset(out vec4 s, uvec4 w) {
    s = vec4(rl_uniform_in(w.x, -PI_F, PI_F), rl_uniform_in(w.y, -1.0, 1.0), 0.0, 0.0);
}

bool env_step(inout vec4 s, float a, out float r) {
    float th = s.x, thdot = s.y;
    float u = clamp(a, -2.0, 2.0);
    // angle_normalize: ((x + pi) % (2 pi)) - pi with a floored modulo.
    float an = mod(th + PI_F, 2.0 * PI_F) - PI_F;
    float costs = an * an + 0.1 * (thdot * thdot) + 0.001 * (u * u);
    float newthdot = thdot + (15.0 * sin(th) + 3.0 * u) * 0.05;  // 3g/(2l), 3/(m l^2)
    newthdot = clamp(newthdot, -8.0, 8.0);
    s.x = th + newthdot * 0.05;
    s.y = newthdot;
    r = -costs;
    return false;
}

void env_observe(vec4 s, out float o[RL_OBS_DIM]) {
    o[0] = cos(s.x);
    o[1] = sin(s.x);
    o[2] = s.y;
}

#include "rl_runner.glsl"
