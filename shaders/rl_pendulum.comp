#version 450
#extension GL_GOOGLE_include_directive : require
// rl_pendulum: Pendulum-v1 (Gymnasium classic_control/pendulum.py at
// 3f0476a8cc224dcce2167cc4b6971ae0f04d5cfc, g = 10) in float32:
// semi-implicit Euler with dt 0.05, torque clipped to [-2, 2], speed to
// [-8, 8]; the reward is minus the cost of the pre-update state
// (angle_normalize(th)^2 + 0.1*thdot^2 + 0.001*u^2); it never terminates
// and is truncated at 200 steps. The angle is kept reduced to about
// [-pi, pi) (Cody-Waite in float32), see env_step.
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

// pendulum_reduce is angle_normalize: ((x + pi) % (2 pi)) - pi with a
// floored modulo, computed as x - 2 pi k with 2 pi split Cody-Waite style
// in three floats (k*C1 is exact for |k| < 2^15, and x - k*C1 exact), so
// that the result keeps x's float32 accuracy however far the pendulum has
// spun; sin and cos take it instead of x for the same reason.
float pendulum_reduce(float x) {
    const float C1 = 6.28125, C2 = 0.0019353071693331003, C3 = 1.0253131677018246e-11;
    float k = floor((x + PI_F) * (1.0 / (2.0 * PI_F)));
    return ((x - k * C1) - k * C2) - k * C3;
}

bool env_step(inout vec4 s, float a, out float r) {
    float th = s.x, thdot = s.y;
    float u = clamp(a, -2.0, 2.0);
    float an = pendulum_reduce(th);
    float costs = an * an + 0.1 * (thdot * thdot) + 0.001 * (u * u);
    float newthdot = thdot + (15.0 * sin(an) + 3.0 * u) * 0.05;  // 3g/(2l), 3/(m l^2)
    newthdot = clamp(newthdot, -8.0, 8.0);
    // Gymnasium leaves th unwrapped; everything observable (cost, sin,
    // cos) is 2 pi-periodic in th, so the float32 state keeps it reduced to
    // about [-pi, pi) and does not lose precision as the pendulum spins.
    s.x = pendulum_reduce(th + newthdot * 0.05);
    s.y = newthdot;
    r = -costs;
    return false;
}

void env_observe(vec4 s, out float o[RL_OBS_DIM]) {
    float an = pendulum_reduce(s.x);
    o[0] = cos(an);
    o[1] = sin(an);
    o[2] = s.y;
}

#include "rl_runner.glsl"
