// rl_runner.glsl: the vectorized-environment runner shared by the
// rl_<env>.comp shaders. One invocation owns one environment slot and
// plays up to pc.steps steps of it per dispatch, continuing exactly where
// the last dispatch stopped: everything about a slot lives in the slot
// buffer, so results depend neither on the workgroup size nor on how steps
// are split into dispatches.
//
// The including shader defines, before the #include:
//   RL_OBS_DIM     observation length (<= 6)
//   RL_ACTIONS     number of discrete actions, 0 for a continuous action
//   RL_ACT_HIGH    bound of a continuous action (0.0 for discrete)
//   RL_MAX_STEPS   the time limit (truncation)
//   void  env_reset(out vec4 s, uvec4 w)           state from a reset block
//   bool  env_step(inout vec4 s, float a, out float r)  one step; terminated?
//   void  env_observe(vec4 s, out float o[RL_OBS_DIM])
//
// Bindings (set 0), sized by the host (rl/gpu_set.go documents the layout):
//   0 slots    uint[32 per slot]: persistent state and last step's outputs
//   1 params   uniform vec4[4096] (64 KiB): MLP parameters of members
//              pc.member0.., member-major (policy 2). A uniform buffer, not
//              a storage one: llvmpipe loads a uniform buffer's value with
//              one scalar load (uniform index) or one gather, but a storage
//              buffer's lane by lane behind a branch each, which made the
//              weight loads the whole cost of the MLP policy.
//   2 actions  float[steps][n]: external actions (policy 1)
//   3 summary  uint[4 per episode]: per-slot episode summaries
//   4 record   uint[]: trajectories of slots < record slots
//   5 cfg      uint[16]: the run's configuration (below)
// Push constants: {steps, slot0, slotEnd, member0}: steps this dispatch,
// the slots [slot0, slotEnd) it plays (invocation i plays slot0+i) and the
// first member whose parameters binding 1 holds. A population larger than
// 64 KiB of parameters is played by several dispatches, one per chunk.
// Specialization constants: 0 local size x, 1 hidden layers (0..2), 2 first
// hidden width, 3 second hidden width (<= 64), 4 activation (0 tanh, 1 relu),
// 5 policy, 6 recording, 7 episode limit, 8 summaries, 9 same-step (below).
#ifndef RL_RUNNER_GLSL
#define RL_RUNNER_GLSL

#include "rl_philox.glsl"

layout(local_size_x = 64, local_size_x_id = 0) in;

layout(constant_id = 1) const uint NL = 1;
layout(constant_id = 2) const uint H1 = 32;
layout(constant_id = 3) const uint H2 = 32;
layout(constant_id = 4) const uint ACT = 0;
// 5: the policy (0 random, 1 external, 2 MLP) and 6: whether trajectories
// may be recorded, fixed per pipeline so that the step loop holds only the
// code it runs (cfg.policy must agree).
layout(constant_id = 5) const uint POLICY = 0;
layout(constant_id = 6) const bool RECORD = true;
// 7: whether slots may stop after cfg.episodeLimit episodes, 8: whether
// episode summaries may be kept, 9: same-step autoreset (else next-step);
// fixed per pipeline for the same reason (cfg must agree).
layout(constant_id = 7) const bool LIMIT = true;
layout(constant_id = 8) const bool SUMMARY = true;
layout(constant_id = 9) const bool SAME_STEP = false;

#define RL_MAXH 64
#if RL_ACTIONS > 0
#define RL_NOUT RL_ACTIONS
#else
#define RL_NOUT 1
#endif

layout(std430, set = 0, binding = 0) restrict buffer Slots { uint slots[]; };
layout(std140, set = 0, binding = 1) uniform Params { vec4 pw[4096]; };
layout(std430, set = 0, binding = 2) restrict readonly buffer Actions { float actions[]; };
layout(std430, set = 0, binding = 3) restrict buffer Summary { uint summ[]; };
layout(std430, set = 0, binding = 4) restrict buffer Record { uint rec[]; };
layout(std430, set = 0, binding = 5) restrict readonly buffer Cfg {
    uint seedLo, seedHi;  // RNG key
    uint n;               // slots
    uint policy;          // 0 random, 1 external, 2 MLP
    uint autoreset;       // 0 next-step, 1 same-step
    uint envsPerMember;   // MLP member of slot i: i / envsPerMember
    uint envBase;         // RNG environment word: envBase + (envMod != 0 ? i % envMod : i)
    uint envMod;
    uint episodeBase;     // RNG episode word: episodeBase + slot's episode index
    uint episodeLimit;    // episodes per slot, then idle (0: no limit)
    uint summaryCap;      // summaries kept per slot
    uint recSlots;        // slots < recSlots record
    uint recSteps;        // T: recorded steps
    uint recOrigin;       // slot step number recorded in row 0
    uint pad0, pad1;
} cfg;
layout(push_constant) uniform Push { uint steps, slot0, slotEnd, member0; } pc;

// Parameter i of the chunk: a byte offset 4*i into the uniform buffer.
#define params(i) pw[(i) >> 2u][(i) & 3u]

// Slot words.
const uint SLOT_WORDS = 32u;
const uint W_EP = 4u, W_T = 5u, W_FLAGS = 6u, W_RET = 7u, W_GSTEP = 8u, W_DONE = 9u,
           W_REWARD = 10u, W_ACTION = 11u, W_OBS = 12u, W_FINAL = 18u;
// Flags.
const uint F_STARTED = 1u, F_NEED_RESET = 2u, F_FINISHED = 4u, F_TERM = 8u, F_TRUNC = 16u, F_ENDED = 32u;

float rl_act(float v) {
    return ACT == 0u ? tanh(v) : max(v, 0.0);
}

// One hidden layer of at most RL_MAXH1 units (RL_PRIV): the weights of the lane's member are read
// once per dispatch into private variables (rl_load1), and every step
// reads them there (rl_mlp1). Hidden units are written out one by one
// (RL_UNITS: units past H1 fold away once H1 is specialized), so every
// index is a constant and the private array becomes registers: no load
// of the parameter buffer in the step loop (llvmpipe loads a
// non-uniform index lane by lane). Each hidden unit goes straight into the
// outputs' sums (o in order, so each output's accumulation order is
// rl_mlp's), with no hidden-layer array.
#define RL_UW (uint(RL_OBS_DIM) + 1u + uint(RL_NOUT))  // words per hidden unit
// Up to RL_MAXH1 hidden units (wider layers take rl_mlp): the pipeline's
// compile time grows steeply with the units written out (on lavapipe
// about 2 s for 32 units, 4 to 15 s for 64).
#define RL_MAXH1 32
const bool RL_PRIV = NL == 1u && H1 <= RL_MAXH1;
float rl_w1[RL_MAXH1 * (RL_OBS_DIM + 1 + RL_NOUT)];  // unit o: W[o][0..D), b[o], Wout[0..NOUT)[o]
float rl_b1[RL_NOUT];                                // output biases

#define RL_UNITS8(U, b) U(b) U(b + 1u) U(b + 2u) U(b + 3u) U(b + 4u) U(b + 5u) U(b + 6u) U(b + 7u)
#define RL_UNITS(U) RL_UNITS8(U, 0u) RL_UNITS8(U, 8u) RL_UNITS8(U, 16u) RL_UNITS8(U, 24u)

#define RL_LOAD_UNIT(o)                                                             \
    if ((o) < H1) {                                                                 \
        for (uint i = 0u; i < RL_OBS_DIM; i++) {                                    \
            rl_w1[(o) * RL_UW + i] = params(p + (o) * RL_OBS_DIM + i);              \
        }                                                                           \
        rl_w1[(o) * RL_UW + RL_OBS_DIM] = params(p + H1 * RL_OBS_DIM + (o));        \
        for (uint k = 0u; k < RL_NOUT; k++) {                                       \
            rl_w1[(o) * RL_UW + RL_OBS_DIM + 1u + k] = params(q + k * H1 + (o));    \
        }                                                                           \
    }

void rl_load1(uint p) {
    uint q = p + H1 * RL_OBS_DIM + H1;  // output layer
    for (uint k = 0u; k < RL_NOUT; k++) {
        rl_b1[k] = params(q + RL_NOUT * H1 + k);
    }
    RL_UNITS(RL_LOAD_UNIT)
}

#define RL_STEP_UNIT(o)                                                             \
    if ((o) < H1) {                                                                 \
        precise float acc = rl_w1[(o) * RL_UW + RL_OBS_DIM];                        \
        for (uint i = 0u; i < RL_OBS_DIM; i++) {                                    \
            acc = acc + rl_w1[(o) * RL_UW + i] * obs[i];                            \
        }                                                                           \
        float h = rl_act(acc);                                                      \
        for (uint k = 0u; k < RL_NOUT; k++) {                                       \
            precise float yk = y[k] + rl_w1[(o) * RL_UW + RL_OBS_DIM + 1u + k] * h; \
            y[k] = yk;                                                              \
        }                                                                           \
    }

float rl_mlp1(float obs[RL_OBS_DIM]) {
    float y[RL_NOUT];
    for (uint k = 0u; k < RL_NOUT; k++) {
        y[k] = rl_b1[k];
    }
    RL_UNITS(RL_STEP_UNIT)
#if RL_ACTIONS > 0
    float best = y[0];
    uint arg = 0u;
    for (uint k = 1u; k < RL_NOUT; k++) {
        if (y[k] > best) {
            best = y[k];
            arg = k;
        }
    }
    return float(arg);
#else
    return RL_ACT_HIGH * tanh(y[0]);
#endif
}

// rl_mlp evaluates the MLP whose parameters start at params(p) on obs and
// returns the action: the first argmax (discrete) or ACT_HIGH*tanh(y).
// Accumulation order: acc = b[o]; acc += W[o*n+i]*x[i] for i in order,
// without contraction into fused multiply-adds.
float rl_mlp(float obs[RL_OBS_DIM], uint p) {
    if (NL == 1u) {
        // One hidden layer: each hidden unit goes straight into the
        // outputs' sums (o in order, so each output's accumulation order
        // is the one above), with no hidden-layer array.
        float y[RL_NOUT];
        uint q = p + H1 * RL_OBS_DIM + H1;  // output layer
        for (uint k = 0u; k < RL_NOUT; k++) {
            y[k] = params(q + RL_NOUT * H1 + k);
        }
        for (uint o = 0u; o < H1; o++) {
            precise float acc = params(p + H1 * RL_OBS_DIM + o);
            for (uint i = 0u; i < RL_OBS_DIM; i++) {
                acc = acc + params(p + o * RL_OBS_DIM + i) * obs[i];
            }
            float h = rl_act(acc);
            for (uint k = 0u; k < RL_NOUT; k++) {
                precise float yk = y[k] + params(q + k * H1 + o) * h;
                y[k] = yk;
            }
        }
#if RL_ACTIONS > 0
        float best = y[0];
        uint arg = 0u;
        for (uint k = 1u; k < RL_NOUT; k++) {
            if (y[k] > best) {
                best = y[k];
                arg = k;
            }
        }
        return float(arg);
#else
        return RL_ACT_HIGH * tanh(y[0]);
#endif
    }
    float h1[RL_MAXH];
    float h2[RL_MAXH];
    float x[RL_MAXH];
    uint nin = RL_OBS_DIM;
    for (uint i = 0u; i < RL_OBS_DIM; i++) {
        x[i] = obs[i];
    }
    if (NL >= 1u) {
        for (uint o = 0u; o < H1; o++) {
            precise float acc = params(p + H1 * nin + o);
            for (uint i = 0u; i < nin; i++) {
                acc = acc + params(p + o * nin + i) * x[i];
            }
            h1[o] = rl_act(acc);
        }
        p += H1 * nin + H1;
        nin = H1;
        for (uint i = 0u; i < H1; i++) {
            x[i] = h1[i];
        }
    }
    if (NL >= 2u) {
        for (uint o = 0u; o < H2; o++) {
            precise float acc = params(p + H2 * nin + o);
            for (uint i = 0u; i < nin; i++) {
                acc = acc + params(p + o * nin + i) * x[i];
            }
            h2[o] = rl_act(acc);
        }
        p += H2 * nin + H2;
        nin = H2;
        for (uint i = 0u; i < H2; i++) {
            x[i] = h2[i];
        }
    }
#if RL_ACTIONS > 0
    float best = 0.0;
    uint arg = 0u;
    for (uint o = 0u; o < RL_NOUT; o++) {
        precise float acc = params(p + RL_NOUT * nin + o);
        for (uint i = 0u; i < nin; i++) {
            acc = acc + params(p + o * nin + i) * x[i];
        }
        if (o == 0u || acc > best) {
            best = acc;
            arg = o;
        }
    }
    return float(arg);
#else
    precise float acc = params(p + nin);
    for (uint i = 0u; i < nin; i++) {
        acc = acc + params(p + i) * x[i];
    }
    return RL_ACT_HIGH * tanh(acc);
#endif
}

uint rl_mlp_params() {
    uint nin = RL_OBS_DIM;
    uint np = 0u;
    if (NL >= 1u) {
        np += H1 * nin + H1;
        nin = H1;
    }
    if (NL >= 2u) {
        np += H2 * nin + H2;
        nin = H2;
    }
    return np + RL_NOUT * nin + RL_NOUT;
}

// Trajectory layout (words), E = recSlots, T = recSteps, D = RL_OBS_DIM:
// obs (T+1)*E*D, actions T*E, rewards T*E, terminated T*E, truncated T*E,
// valid T*E, final obs T*E*D; all step-major.
void rl_record_obs(uint row, uint slot, float o[RL_OBS_DIM]) {
    uint b = (row * cfg.recSlots + slot) * RL_OBS_DIM;
    for (uint i = 0u; i < RL_OBS_DIM; i++) {
        rec[b + i] = floatBitsToUint(o[i]);
    }
}

void rl_record_step(uint row, uint slot, float a, float r, bool term, bool trunc, bool valid) {
    uint E = cfg.recSlots, T = cfg.recSteps;
    uint te = T * E;
    uint base = (T + 1u) * E * RL_OBS_DIM;
    uint k = row * E + slot;
    rec[base + k] = floatBitsToUint(a);
    rec[base + te + k] = floatBitsToUint(r);
    rec[base + 2u * te + k] = term ? 1u : 0u;
    rec[base + 3u * te + k] = trunc ? 1u : 0u;
    rec[base + 4u * te + k] = valid ? 1u : 0u;
}

void rl_record_final(uint row, uint slot, float o[RL_OBS_DIM]) {
    uint E = cfg.recSlots, T = cfg.recSteps;
    uint b = (T + 1u) * E * RL_OBS_DIM + 5u * T * E + (row * E + slot) * RL_OBS_DIM;
    for (uint i = 0u; i < RL_OBS_DIM; i++) {
        rec[b + i] = floatBitsToUint(o[i]);
    }
}

void main() {
    uint slot = pc.slot0 + gl_GlobalInvocationID.x;
    if (slot >= pc.slotEnd) {
        return;
    }
    uint b = slot * SLOT_WORDS;
    vec4 s = uintBitsToFloat(uvec4(slots[b], slots[b + 1u], slots[b + 2u], slots[b + 3u]));
    uint ep = slots[b + W_EP];
    uint t = slots[b + W_T];
    uint flags = slots[b + W_FLAGS];
    float ret = uintBitsToFloat(slots[b + W_RET]);
    uint gstep = slots[b + W_GSTEP];
    uint done = slots[b + W_DONE];
    float lastR = uintBitsToFloat(slots[b + W_REWARD]);
    float lastA = uintBitsToFloat(slots[b + W_ACTION]);

    // The configuration in locals: loads the loop need not repeat.
    const uint recOrigin = cfg.recOrigin, recSteps = cfg.recSteps, epBase = cfg.episodeBase;
    const uint sumCap = cfg.summaryCap, epLimit = cfg.episodeLimit, autoreset = cfg.autoreset, nSlots = cfg.n;
    uvec2 key = uvec2(cfg.seedLo, cfg.seedHi);
    uint envw = cfg.envBase + (cfg.envMod != 0u ? slot % cfg.envMod : slot);
    bool rec = RECORD && slot < cfg.recSlots;
    const uint policy = POLICY;
    uint pbase = policy == 2u ? (slot / cfg.envsPerMember - pc.member0) * rl_mlp_params() : 0u;
    float o[RL_OBS_DIM];
    if (policy == 2u && RL_PRIV) {
        rl_load1(pbase);
    }

    if ((flags & F_STARTED) == 0u) {
        env_reset(s, philox4x32_10(uvec4(envw, epBase + ep, 0xFFFFFFFFu, 0u), key));
        flags = F_STARTED;
        t = 0u;
        ret = 0.0;
        lastR = 0.0;
        lastA = 0.0;
        if (rec && gstep - recOrigin <= recSteps) {
            env_observe(s, o);
            rl_record_obs(gstep - recOrigin, slot, o);
        }
    }

    uvec4 blk = uvec4(0u);
    uint blkT = 0xFFFFFFFFu;  // t/4 of blk; blk's episode is ep
    for (uint i = 0u; i < pc.steps; i++) {
        if (LIMIT && (flags & F_FINISHED) != 0u) {
            break;
        }
        uint row = gstep - recOrigin;
        bool recNow = rec && row < recSteps;
        // Random actions under next-step autoreset need at most one Philox
        // block per step: the reset block of a resetting slot, or the
        // action block of a slot at a multiple of 4 steps. One call, its
        // counter chosen per slot, costs half of two masked calls (a SIMD
        // device runs both sides of a divergent branch).
        bool pend = !SAME_STEP && (flags & F_NEED_RESET) != 0u;
        uvec4 one = uvec4(0u);
        if (!SAME_STEP && policy == 0u) {
            one = philox4x32_10(pend ? uvec4(envw, epBase + ep + 1u, 0xFFFFFFFFu, 0u)
                                     : uvec4(envw, epBase + ep, t / 4u, 1u), key);
        }
        if (pend) {
            // Next-step autoreset: this step ignores its action, resets,
            // and returns the reset observation with reward 0, no flags
            // (recorded with Valid false and action 0, as VecEnv does).
            ep++;
            env_reset(s, policy == 0u ? one : philox4x32_10(uvec4(envw, epBase + ep, 0xFFFFFFFFu, 0u), key));
            blkT = 0xFFFFFFFFu;
            flags = F_STARTED;
            t = 0u;
            ret = 0.0;
            lastR = 0.0;
            lastA = 0.0;
            if (recNow) {
                env_observe(s, o);
                rl_record_obs(row + 1u, slot, o);
                rl_record_step(row, slot, 0.0, 0.0, false, false, false);
            }
            gstep++;
            continue;
        }
        float a;
        if (policy == 0u) {
            if (!SAME_STEP) {
                blk = one;
            } else if (t / 4u != blkT) {
                blkT = t / 4u;
                blk = philox4x32_10(uvec4(envw, epBase + ep, blkT, 1u), key);
            }
            uint q = t & 3u;  // selects, not a dynamic index (no scratch memory)
            uint w = q == 0u ? blk.x : (q == 1u ? blk.y : (q == 2u ? blk.z : blk.w));
#if RL_ACTIONS > 0
            a = float(rl_choice(w, uint(RL_ACTIONS)));
#else
            a = rl_uniform_in(w, -RL_ACT_HIGH, RL_ACT_HIGH);
#endif
        } else if (policy == 1u) {
            a = actions[i * nSlots + slot];
        } else {
            env_observe(s, o);
            a = RL_PRIV ? rl_mlp1(o) : rl_mlp(o, pbase);
        }
        float r;
        bool term = env_step(s, a, r);
        t++;
        ret += r;
        bool trunc = t >= uint(RL_MAX_STEPS);
        flags = F_STARTED | (term ? F_TERM : 0u) | (trunc ? F_TRUNC : 0u);
        lastR = r;
        lastA = a;
        if (term || trunc) {
            flags |= F_ENDED;
            if (SUMMARY && done < sumCap) {
                uint sb = (slot * sumCap + done) * 4u;
                summ[sb] = floatBitsToUint(ret);
                summ[sb + 1u] = t;
                summ[sb + 2u] = (term ? 1u : 0u) | (trunc ? 2u : 0u);
                summ[sb + 3u] = epBase + ep;
            }
            done++;
            if (LIMIT && epLimit != 0u && done >= epLimit) {
                flags |= F_FINISHED;
            } else if (SAME_STEP) {
                // Same-step autoreset: keep the terminal observation beside
                // the reset one.
                env_observe(s, o);
                for (uint k = 0u; k < RL_OBS_DIM; k++) {
                    slots[b + W_FINAL + k] = floatBitsToUint(o[k]);
                }
                if (recNow) {
                    rl_record_final(row, slot, o);
                }
                ep++;
                env_reset(s, philox4x32_10(uvec4(envw, epBase + ep, 0xFFFFFFFFu, 0u), key));
                blkT = 0xFFFFFFFFu;
                t = 0u;
                ret = 0.0;
            } else {
                flags |= F_NEED_RESET;
            }
        }
        if (recNow) {
            env_observe(s, o);
            rl_record_obs(row + 1u, slot, o);
            rl_record_step(row, slot, a, r, term, trunc, true);
        }
        gstep++;
    }

    env_observe(s, o);
    for (uint k = 0u; k < RL_OBS_DIM; k++) {
        slots[b + W_OBS + k] = floatBitsToUint(o[k]);
    }
    uvec4 sw = floatBitsToUint(s);
    slots[b] = sw.x;
    slots[b + 1u] = sw.y;
    slots[b + 2u] = sw.z;
    slots[b + 3u] = sw.w;
    slots[b + W_EP] = ep;
    slots[b + W_T] = t;
    slots[b + W_FLAGS] = flags;
    slots[b + W_RET] = floatBitsToUint(ret);
    slots[b + W_GSTEP] = gstep;
    slots[b + W_DONE] = done;
    slots[b + W_REWARD] = floatBitsToUint(lastR);
    slots[b + W_ACTION] = floatBitsToUint(lastA);
}

#endif
