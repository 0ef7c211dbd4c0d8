/* peak: the machine's single-precision FMA peak, the denominator of the
 * "share of peak" in docs/benchmarks.md. Twelve independent accumulators
 * (more than FMA latency x throughput on current x86 cores) run a chain of
 * fused multiply-adds in 2000 runs of about 0.3 ms, the widest vectors
 * the CPU has (AVX-512, else AVX2), and the best run counts: on a loaded
 * machine some runs still go uninterrupted. Prints one JSON line: GFLOP/s
 * of this thread.
 * tools/bench/compare.sh runs one copy per core at once and sums them.
 *
 * build: gcc -O2 -o peak peak.c */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

#define STEP(v) v = FMA(v, x, y);
#define TWELVE STEP(a0) STEP(a1) STEP(a2) STEP(a3) STEP(a4) STEP(a5) STEP(a6) STEP(a7) STEP(a8) STEP(a9) STEP(a10) STEP(a11)

__attribute__((target("avx512f"))) static double run512(long n) {
#define FMA _mm512_fmadd_ps
	__m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
	__m512 a0 = _mm512_set1_ps(0.10f), a1 = _mm512_set1_ps(0.11f), a2 = _mm512_set1_ps(0.12f), a3 = _mm512_set1_ps(0.13f),
	       a4 = _mm512_set1_ps(0.14f), a5 = _mm512_set1_ps(0.15f), a6 = _mm512_set1_ps(0.16f), a7 = _mm512_set1_ps(0.17f),
	       a8 = _mm512_set1_ps(0.18f), a9 = _mm512_set1_ps(0.19f), a10 = _mm512_set1_ps(0.20f), a11 = _mm512_set1_ps(0.21f);
	double t0 = now();
	for (long i = 0; i < n; i++) { TWELVE }
	double t = now() - t0;
	__m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
	                         _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
	s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
	volatile float sink = _mm512_reduce_add_ps(s);
	(void)sink;
	return n * 12.0 * 32 / t / 1e9;
#undef FMA
}

__attribute__((target("avx2,fma"))) static double run256(long n) {
#define FMA _mm256_fmadd_ps
	__m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
	__m256 a0 = _mm256_set1_ps(0.10f), a1 = _mm256_set1_ps(0.11f), a2 = _mm256_set1_ps(0.12f), a3 = _mm256_set1_ps(0.13f),
	       a4 = _mm256_set1_ps(0.14f), a5 = _mm256_set1_ps(0.15f), a6 = _mm256_set1_ps(0.16f), a7 = _mm256_set1_ps(0.17f),
	       a8 = _mm256_set1_ps(0.18f), a9 = _mm256_set1_ps(0.19f), a10 = _mm256_set1_ps(0.20f), a11 = _mm256_set1_ps(0.21f);
	double t0 = now();
	for (long i = 0; i < n; i++) { TWELVE }
	double t = now() - t0;
	__m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
	                         _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
	s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
	float f[8];
	_mm256_storeu_ps(f, s);
	volatile float sink = f[0];
	(void)sink;
	return n * 12.0 * 16 / t / 1e9;
#undef FMA
}

int main(void) {
	int wide = __builtin_cpu_supports("avx512f");
	double best = 0;
	/* A run that another process interrupted reads low, never high. */
	for (int r = 0; r < 2000; r++) {
		double g = wide ? run512(100000) : run256(200000);
		if (g > best) best = g;
	}
	printf("{\"gflops\": %.1f, \"isa\": \"%s\"}\n", best, wide ? "avx512" : "avx2");
	return 0;
}
