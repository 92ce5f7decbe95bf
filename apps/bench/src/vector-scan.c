/*
 * The limit for the vector benchmark: a single-threaded exact cosine top-10 scan in C over
 * N x DIM float32 rows stored contiguously (norms precomputed at insert, like Larder), compiled
 * by the bench with `gcc -O3 -march=native`. Prints one JSON line.
 *
 *   vector-scan N DIM QUERIES SEED
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <time.h>

static uint32_t state;
static float rnd(void) { /* xorshift32 -> [-1, 1) */
  state ^= state << 13; state ^= state >> 17; state ^= state << 5;
  return (float)((double)state / 4294967296.0 * 2.0 - 1.0);
}
static double now_ms(void) {
  struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static double cpu_ms(void) {
  struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: vector-scan N DIM QUERIES SEED\n"); return 2; }
  const long n = atol(argv[1]); const int dim = atoi(argv[2]); const int queries = atoi(argv[3]);
  state = (uint32_t)atol(argv[4]) | 1u;
  float *data = aligned_alloc(64, sizeof(float) * n * dim + 64);
  float *inv = malloc(sizeof(float) * n);
  float *q = aligned_alloc(64, sizeof(float) * dim + 64);
  float *sims = malloc(sizeof(float) * n);
  double *times = malloc(sizeof(double) * queries);
  double *cpu = malloc(sizeof(double) * queries);
  for (long i = 0; i < n * dim; i++) data[i] = rnd();
  for (long i = 0; i < n; i++) {
    double s = 0; for (int j = 0; j < dim; j++) s += (double)data[i * dim + j] * data[i * dim + j];
    inv[i] = s > 0 ? (float)(1.0 / sqrt(s)) : 0.f;
  }
  double checksum = 0;
  for (int t = -3; t < queries; t++) { /* 3 warm-up queries */
    for (int j = 0; j < dim; j++) q[j] = rnd();
    double t0 = now_ms(), c0 = cpu_ms();
    double qq = 0; for (int j = 0; j < dim; j++) qq += (double)q[j] * q[j];
    const float qinv = (float)(1.0 / sqrt(qq));
    for (long i = 0; i < n; i++) {
      const float *row = data + i * dim; float acc = 0.f;
      for (int j = 0; j < dim; j++) acc += q[j] * row[j]; /* vectorised by -O3 -march=native (-ffast-math not used) */
      sims[i] = acc * inv[i] * qinv;
    }
    long best_i[10]; float best_s[10]; int k = 0;
    for (long i = 0; i < n; i++) {
      float s = sims[i];
      if (k < 10 || s > best_s[k - 1]) {
        int p = k < 10 ? k++ : 9;
        while (p > 0 && best_s[p - 1] < s) { best_s[p] = best_s[p - 1]; best_i[p] = best_i[p - 1]; p--; }
        best_s[p] = s; best_i[p] = i;
      }
    }
    double t1 = now_ms(), c1 = cpu_ms();
    if (t >= 0) { times[t] = t1 - t0; cpu[t] = c1 - c0; }
    checksum += best_s[0] + (double)best_i[0];
  }
  qsort(times, queries, sizeof(double), cmp_double);
  qsort(cpu, queries, sizeof(double), cmp_double);
  printf("{\"impl\":\"c\",\"n\":%ld,\"dim\":%d,\"queryMs\":%.4f,\"queryMinMs\":%.4f,\"queryCpuMs\":%.4f,\"queryCpuMinMs\":%.4f,\"checksum\":%.4f}\n",
         n, dim, times[queries / 2], times[0], cpu[queries / 2], cpu[0], checksum);
  return 0;
}
