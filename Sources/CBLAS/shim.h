// OpenBLAS's cblas.h also declares openblas_set_num_threads, which CrossSim uses to keep
// the BLAS single-threaded inside its own workers.
#include <cblas.h>
