// rl_philox.glsl: Philox4x32-10 (Salmon et al., SC'11; Random123), the
// counter-based RNG of package rl, in 32-bit integer math. rl/philox.go is
// the Go twin; both pass Random123's known-answer vectors.
#ifndef RL_PHILOX_GLSL
#define RL_PHILOX_GLSL

// philox4x32_10 returns the block at counter ctr under key.
uvec4 philox4x32_10(uvec4 ctr, uvec2 key) {
    for (int r = 0; r < 10; r++) {
        uint hi0, lo0, hi1, lo1;
        umulExtended(0xD2511F53u, ctr.x, hi0, lo0);
        umulExtended(0xCD9E8D57u, ctr.z, hi1, lo1);
        ctr = uvec4(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);
        key += uvec2(0x9E3779B9u, 0xBB67AE85u);
    }
    return ctr;
}

// rl_uniform maps a word to [0, 1): float(w>>8) * 2^-24 (exact in float32).
float rl_uniform(uint w) {
    return float(w >> 8) * (1.0 / 16777216.0);
}

// rl_uniform_in maps a word to [lo, hi): lo + (hi-lo)*u.
float rl_uniform_in(uint w, float lo, float hi) {
    return lo + (hi - lo) * rl_uniform(w);
}

// rl_choice maps a word to {0, ..., n-1}: ((w>>8)*n)>>24, for n <= 256.
uint rl_choice(uint w, uint n) {
    return ((w >> 8) * n) >> 24;
}

#endif
