// Directed rounding of binary64 to Float32, for bounds that must stay on their side of an
// exact value (thresholds, norms, error bounds).
#ifndef CROSSSIM_FLOAT_ROUNDING_H
#define CROSSSIM_FLOAT_ROUNDING_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/// nextafterf(f, −∞) by bit arithmetic: the library call costs more than the rest of a top-k
/// insertion, which needs it per insertion.
static inline float float_next_down(float f) {
    if (f != f || f == -INFINITY) return f;
    if (f == 0) return -0x1p-149f;
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    bits += f > 0 ? UINT32_MAX : 1;  // one unit towards zero for positives, away for negatives
    memcpy(&f, &bits, sizeof f);
    return f;
}

/// The Float32 neighbours of a binary64 value: float_below(x) ≤ x ≤ float_above(x).
static inline float float_below(double x) {
    const float f = (float)x;
    return (double)f > x ? float_next_down(f) : f;
}
static inline float float_above(double x) {
    const float f = (float)x;
    return (double)f < x ? -float_next_down(-f) : f;
}

#endif
