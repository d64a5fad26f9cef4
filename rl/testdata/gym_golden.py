#!/usr/bin/env python3
"""Golden values for rl's environment tests, from Gymnasium's step code.

The step functions below are gymnasium/envs/classic_control/{cartpole,
acrobot,pendulum,continuous_mountain_car}.py at commit
3f0476a8cc224dcce2167cc4b6971ae0f04d5cfc, transcribed with Python floats
(math instead of numpy scalars: the same float64 operations in the same
order). Philox4x32-10 is an independent Python transcription of
Random123's philox.h. Run: python3 gym_golden.py > ../golden_data_test.go
"""
import math, struct

def f32(x):
    return struct.unpack('f', struct.pack('f', x))[0]

# ---- Philox4x32-10 (Random123 philox.h) ----
M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
def philox(ctr, key):
    c = list(ctr); k = list(key)
    for r in range(10):
        if r:
            k = [(k[0] + W0) & 0xffffffff, (k[1] + W1) & 0xffffffff]
        p0 = M0 * c[0]; p1 = M1 * c[2]
        c = [((p1 >> 32) ^ c[1] ^ k[0]) & 0xffffffff, p1 & 0xffffffff,
             ((p0 >> 32) ^ c[3] ^ k[1]) & 0xffffffff, p0 & 0xffffffff]
    return c
def reset_block(seed, env, ep):
    return philox([env, ep, 0xffffffff, 0], [seed & 0xffffffff, seed >> 32])
def uniform(w, lo, hi):
    return lo + (hi - lo) * ((w >> 8) * 2.0**-24)

# ---- CartPole ----
def cartpole_step(state, action):
    gravity = 9.8; masscart = 1.0; masspole = 0.1
    total_mass = masspole + masscart; length = 0.5
    polemass_length = masspole * length; force_mag = 10.0; tau = 0.02
    theta_threshold_radians = 12 * 2 * math.pi / 360; x_threshold = 2.4
    x, x_dot, theta, theta_dot = state
    force = force_mag if action == 1 else -force_mag
    costheta = math.cos(theta); sintheta = math.sin(theta)
    temp = (force + polemass_length * theta_dot**2 * sintheta) / total_mass
    thetaacc = (gravity * sintheta - costheta * temp) / (
        length * (4.0 / 3.0 - masspole * costheta**2 / total_mass))
    xacc = temp - polemass_length * thetaacc * costheta / total_mass
    x = x + tau * x_dot
    x_dot = x_dot + tau * xacc
    theta = theta + tau * theta_dot
    theta_dot = theta_dot + tau * thetaacc
    terminated = bool(x < -x_threshold or x > x_threshold
                      or theta < -theta_threshold_radians or theta > theta_threshold_radians)
    return [x, x_dot, theta, theta_dot], 1.0, terminated
def cartpole_reset(block):
    return [uniform(block[i], -0.05, 0.05) for i in range(4)]

# ---- Acrobot ----
pi = math.pi
def acro_dsdt(s_augmented):
    m1 = 1.0; m2 = 1.0; l1 = 1.0; lc1 = 0.5; lc2 = 0.5; I1 = 1.0; I2 = 1.0; g = 9.8
    a = s_augmented[-1]; s = s_augmented[:-1]
    theta1, theta2, dtheta1, dtheta2 = s
    d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * math.cos(theta2)) + I1 + I2
    d2 = m2 * (lc2**2 + l1 * lc2 * math.cos(theta2)) + I2
    phi2 = m2 * lc2 * g * math.cos(theta1 + theta2 - pi / 2.0)
    phi1 = (-m2 * l1 * lc2 * dtheta2**2 * math.sin(theta2)
            - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * math.sin(theta2)
            + (m1 * lc1 + m2 * l1) * g * math.cos(theta1 - pi / 2) + phi2)
    ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1**2 * math.sin(theta2) - phi2) / (
        m2 * lc2**2 + I2 - d2**2 / d1)
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return [dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0]
def wrap(x, m, M):
    diff = M - m
    while x > M: x = x - diff
    while x < m: x = x + diff
    return x
def bound(x, m, M):
    return min(max(x, m), M)
def rk4(derivs, y0, t):
    dt = t[1] - t[0]; dt2 = dt / 2.0
    k1 = derivs(y0)
    k2 = derivs([y + dt2 * k for y, k in zip(y0, k1)])
    k3 = derivs([y + dt2 * k for y, k in zip(y0, k2)])
    k4 = derivs([y + dt * k for y, k in zip(y0, k3)])
    return [y + dt / 6.0 * (a + 2 * b + 2 * c + d) for y, a, b, c, d in zip(y0, k1, k2, k3, k4)][:4]
def acrobot_step(s, a):
    torque = [-1.0, 0.0, +1][a]
    ns = rk4(acro_dsdt, list(s) + [torque], [0, 0.2])
    ns[0] = wrap(ns[0], -pi, pi); ns[1] = wrap(ns[1], -pi, pi)
    ns[2] = bound(ns[2], -4 * pi, 4 * pi); ns[3] = bound(ns[3], -9 * pi, 9 * pi)
    terminated = bool(-math.cos(ns[0]) - math.cos(ns[1] + ns[0]) > 1.0)
    return ns, (-1.0 if not terminated else 0.0), terminated
def acrobot_reset(block):
    return [f32(uniform(block[i], -0.1, 0.1)) for i in range(4)]

# ---- Pendulum ----
def angle_normalize(x):
    return ((x + pi) % (2 * pi)) - pi
def pendulum_step(state, u):
    th, thdot = state; g = 10.0; m = 1.0; l = 1.0; dt = 0.05
    u = min(max(u, -2.0), 2.0)
    costs = angle_normalize(th) ** 2 + 0.1 * thdot**2 + 0.001 * (u**2)
    newthdot = thdot + (3 * g / (2 * l) * math.sin(th) + 3.0 / (m * l**2) * u) * dt
    newthdot = min(max(newthdot, -8.0), 8.0)
    newth = th + newthdot * dt
    return [newth, newthdot], -costs, False
def pendulum_reset(block):
    return [uniform(block[0], -pi, pi), uniform(block[1], -1.0, 1.0)]

# ---- MountainCarContinuous ----
def mountaincar_step(state, a):
    position, velocity = state
    force = min(max(a, -1.0), 1.0)
    velocity += force * 0.0015 - 0.0025 * math.cos(3 * position)
    if velocity > 0.07: velocity = 0.07
    if velocity < -0.07: velocity = -0.07
    position += velocity
    if position > 0.6: position = 0.6
    if position < -1.2: position = -1.2
    if position == -1.2 and velocity < 0: velocity = 0
    terminated = bool(position >= 0.45 and velocity >= 0)
    reward = 0
    if terminated: reward = 100.0
    reward -= math.pow(a, 2) * 0.1
    return [f32(position), f32(velocity)], reward, terminated
def mountaincar_reset(block):
    return [uniform(block[0], -0.6, -0.4), 0.0]

ENVS = [
    ("CartPole-v1", cartpole_step, cartpole_reset,
     [([0.0, 0.0, 0.0, 0.0], [1, 1, 0, 1, 0]),
      ([0.01, -0.3, 0.19, 1.2], [1, 1, 1, 1, 1]),
      ([2.35, 1.9, -0.02, 0.1], [1, 1, 1, 1, 1])]),
    ("Acrobot-v1", acrobot_step, acrobot_reset,
     [([0.0, 0.0, 0.0, 0.0], [2, 2, 0, 1, 2]),
      ([3.0, -2.9, 12.0, -27.0], [0, 1, 2, 2, 0]),
      ([2.6, 0.7, 3.0, 2.0], [2, 2, 2, 2, 2])]),
    ("Pendulum-v1", pendulum_step, pendulum_reset,
     [([0.0, 0.0], [0.5, -3.0, 2.0, 1.25, -0.75]),
      ([3.1, 7.9, ], [2.0, 2.0, 2.0, 2.0, 2.0]),
      ([-9.5, -7.0], [-1.0, 0.0, 1.0, -2.5, 0.3])]),
    ("MountainCarContinuous-v0", mountaincar_step, mountaincar_reset,
     [([-0.5, 0.0], [1.0, 1.0, -0.5, 2.0, 0.25]),
      ([-1.19, -0.02], [-1.0, -1.0, -1.0, 0.5, 1.5]),
      ([0.44, 0.015], [0.0, 1.0, -3.0, 1.0, 1.0])]),
]

def g(x):
    return repr(float(x))

print("// Code generated by testdata/gym_golden.py; DO NOT EDIT.\n")
print("package rl\n")
print("var goldenSteps = []goldenCase{")
for name, step, _, cases in ENVS:
    for s0, acts in cases:
        s = list(s0)
        rows = []
        for a in acts:
            s, r, term = step(s, a)
            rows.append("{%s, []float64{%s}, %s, %s}" % (g(a), ", ".join(g(v) for v in s), g(r), "true" if term else "false"))
        print("\t{\"%s\", []float64{%s}, []goldenStep{\n\t\t%s,\n\t}}," % (name, ", ".join(g(v) for v in s0), ",\n\t\t".join(rows)))
print("}\n")
print("var goldenResets = []goldenReset{")
for name, _, reset, _ in ENVS:
    for seed, env, ep in [(0, 0, 0), (0x0123456789abcdef, 7, 3), (42, 1000, 0xfffffffe)]:
        b = reset_block(seed, env, ep)
        print("\t{\"%s\", %#x, %d, %#x, [4]uint32{%s}, []float64{%s}}," % (name, seed, env, ep, ", ".join("%#08x" % w for w in b), ", ".join(g(v) for v in reset(b))))
print("}")
