#version 450
#extension GL_GOOGLE_include_directive : require
// rl_cartpole: CartPole-v1 (Gymnasium classic_control/cartpole.py at
// 3f0476a8cc224dcce2167cc4b6971ae0f04d5cfc) in float32: explicit Euler,
// tau 0.02, force +-10, termination |x| > 2.4 or |theta| > 12 degrees,
// reward 1 per step, truncation at 500 steps. The runner is rl_runner.glsl.
#define RL_OBS_DIM 4
#define RL_ACTIONS 2
#define RL_ACT_HIGH 0.0
#define RL_MAX_STEPS 500

#include "rl_philox.glsl"

// Reset: x, x_dot, theta, theta_dot uniform in [-0.05, 0.05), words 0..3.
void env_reset(out vec4 s, uvec4 w) {
    s = vec4(rl_uniform_in(w.x, -0.05, 0.05), rl_uniform_in(w.y, -0.05, 0.05),
             rl_uniform_in(w.z, -0.05, 0.05), rl_uniform_in(w.w, -0.05, 0.05));
}

bool env_step(inout vec4 s, float a, out float r) {
    const float gravity = 9.8, masspole = 0.1, totalMass = 1.1, length = 0.5;
    const float polemassLength = 0.05, tau = 0.02;
    const float thetaThreshold = 0.20943951023931953;  // 12 * 2 * pi / 360
    float force = a == 1.0 ? 10.0 : -10.0;
    float costheta = cos(s.z);
    float sintheta = sin(s.z);
    float temp = (force + polemassLength * (s.w * s.w) * sintheta) / totalMass;
    float thetaacc = (gravity * sintheta - costheta * temp) /
        (length * (4.0 / 3.0 - masspole * (costheta * costheta) / totalMass));
    float xacc = temp - polemassLength * thetaacc * costheta / totalMass;
    s = vec4(s.x + tau * s.y, s.y + tau * xacc, s.z + tau * s.w, s.w + tau * thetaacc);
    r = 1.0;
    return s.x < -2.4 || s.x > 2.4 || s.z < -thetaThreshold || s.z > thetaThreshold;
}

void env_observe(vec4 s, out float o[RL_OBS_DIM]) {
    o[0] = s.x;
    o[1] = s.y;
    o[2] = s.z;
    o[3] = s.w;
}

#include "rl_runner.glsl"
