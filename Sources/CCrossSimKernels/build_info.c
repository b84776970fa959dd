// What the build knows of itself: the commit, when the build defined CROSSSIM_COMMIT.
#include "CrossSimKernels.h"

#define CS_TEXT(x) #x
#define CS_EXPANDED_TEXT(x) CS_TEXT(x)

const char *cs_build_commit(void) {
#ifdef CROSSSIM_COMMIT
    return CS_EXPANDED_TEXT(CROSSSIM_COMMIT);
#else
    return NULL;
#endif
}
