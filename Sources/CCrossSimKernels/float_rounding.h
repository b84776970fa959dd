// Directed rounding of binary64 to Float32, for bounds that must stay on their side of an
// exact value (thresholds, norms, error bounds).
#ifndef CROSSSIM_FLOAT_ROUNDING_H
#define CROSSSIM_FLOAT_ROUNDING_H

#include <math.h>

/// The Float32 neighbours of a binary64 value: float_below(x) ≤ x ≤ float_above(x).
static inline float float_below(double x) {
    const float f = (float)x;
    return (double)f > x ? nextafterf(f, -INFINITY) : f;
}
static inline float float_above(double x) {
    const float f = (float)x;
    return (double)f < x ? nextafterf(f, INFINITY) : f;
}

#endif
