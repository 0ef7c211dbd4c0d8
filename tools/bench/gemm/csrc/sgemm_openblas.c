// sgemm_openblas times cblas_sgemm (row-major) on the shapes read from stdin,
// one per line: "name transA transB m n k lda ldb ldc beta", and prints
// "name GFLOP/s" per line: the best of repeated calls over about SECS
// seconds (argv[1], default 0.2). Thread count and core type come from
// OPENBLAS_NUM_THREADS and OPENBLAS_CORETYPE, set by the caller.
//
// Test-only harness for tools/bench/gemm (see run.sh); not part of emlab.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 0.2;
  char name[256];
  int ta, tb, m, n, k, lda, ldb, ldc;
  float beta;
  while (scanf("%255s %d %d %d %d %d %d %d %d %f", name, &ta, &tb, &m, &n, &k,
               &lda, &ldb, &ldc, &beta) == 10) {
    size_t na = (size_t)(ta ? k : m) * lda, nb = (size_t)(tb ? n : k) * ldb,
           nc = (size_t)m * ldc;
    float *a = malloc(na * 4), *b = malloc(nb * 4), *c = malloc(nc * 4);
    srand(1);
    for (size_t i = 0; i < na; i++) a[i] = (float)rand() / RAND_MAX - 0.5f;
    for (size_t i = 0; i < nb; i++) b[i] = (float)rand() / RAND_MAX - 0.5f;
    for (size_t i = 0; i < nc; i++) c[i] = 0;
    double best = 1e30, start = now();
    int reps = 0;
    while (reps < 3 || now() - start < secs) {
      double t0 = now();
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                  tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb,
                  beta, c, ldc);
      double t = now() - t0;
      if (t < best) best = t;
      reps++;
    }
    printf("%s %.3f\n", name, 2.0 * m * n * k / best / 1e9);
    fflush(stdout);
    free(a); free(b); free(c);
  }
  return 0;
}
