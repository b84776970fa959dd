// OpenBLAS's cblas.h also declares openblas_set_num_threads, which CrossSim uses to keep
// the BLAS single-threaded inside its own workers.
#include <cblas.h>

// LAPACK's symmetric eigensolver, which Debian's OpenBLAS exports without a header.
void dsyev_(char *jobz, char *uplo, int *n, double *a, int *lda, double *w, double *work, int *lwork, int *info);
