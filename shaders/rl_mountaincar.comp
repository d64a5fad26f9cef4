#version 450
#extension GL_GOOGLE_include_directive : require
// rl_mountaincar: MountainCarContinuous-v0 (Gymnasium
// classic_control/continuous_mountain_car.py at
// 3f0476a8cc224dcce2167cc4b6971ae0f04d5cfc) in float32: force clipped to
// [-1, 1], power 0.0015, velocity clipped to [-0.07, 0.07], position to
// [-1.2, 0.6] (velocity zeroed at the left wall), termination at position
// >= 0.45 with velocity >= 0, reward 100 on termination minus 0.1*a^2 (the
// unclipped action), truncation at 999 steps.
#define RL_OBS_DIM 2
#define RL_ACTIONS 0
#define RL_ACT_HIGH 1.0
#define RL_MAX_STEPS 999

#include "rl_philox.glsl"

// Reset: position uniform in [-0.6, -0.4) from word 0, velocity 0.
void env_reset(out vec4 s, uvec4 w) {
    s = vec4(rl_uniform_in(w.x, -0.6, -0.4), 0.0, 0.0, 0.0);
}

bool env_step(inout vec4 s, float a, out float r) {
    float position = s.x, velocity = s.y;
    float force = min(max(a, -1.0), 1.0);
    velocity += force * 0.0015 - 0.0025 * cos(3.0 * position);
    if (velocity > 0.07) {
        velocity = 0.07;
    }
    if (velocity < -0.07) {
        velocity = -0.07;
    }
    position += velocity;
    if (position > 0.6) {
        position = 0.6;
    }
    if (position < -1.2) {
        position = -1.2;
    }
    if (position == -1.2 && velocity < 0.0) {
        velocity = 0.0;
    }
    bool term = position >= 0.45 && velocity >= 0.0;
    r = (term ? 100.0 : 0.0) - a * a * 0.1;
    s.x = position;
    s.y = velocity;
    return term;
}

void env_observe(vec4 s, out float o[RL_OBS_DIM]) {
    o[0] = s.x;
    o[1] = s.y;
}

#include "rl_runner.glsl"
