/*
 * The limit for the vector benchmark: a single-threaded exact cosine top-10 scan in C over
 * N x DIM float32 rows stored contiguously (norms precomputed at load, like Larder), compiled
 * by the bench with `gcc -O3 -march=native [-ffast-math]`. Prints one JSON line.
 *
 *   vector-scan FILE N DIM QUERIES            time QUERIES queries (after 3 warm-up queries)
 *   vector-scan FILE N DIM QUERIES truth      the float64 brute-force top-10 of every query
 *
 * FILE holds N rows then QUERIES + 3 query vectors, DIM little-endian float32 each (written by
 * vector.ts). Every output lists the top-10 row indices of each timed query ("top"), best first;
 * ties (never seen with this data) go to the lower index.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

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

#define K 10

int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: vector-scan FILE N DIM QUERIES [truth]\n"); return 2; }
  const long n = atol(argv[2]); const int dim = atoi(argv[3]); const int queries = atoi(argv[4]);
  const int truth = argc > 5 && strcmp(argv[5], "truth") == 0;
  const int total = queries + 3;
  float *data = aligned_alloc(64, sizeof(float) * n * dim + 64);
  float *qs = aligned_alloc(64, sizeof(float) * (size_t)total * dim + 64);
  float *inv = malloc(sizeof(float) * n);
  float *sims = malloc(sizeof(float) * n);
  double *times = malloc(sizeof(double) * queries);
  double *cpu = malloc(sizeof(double) * queries);
  long *top = malloc(sizeof(long) * K * queries);
  FILE *f = fopen(argv[1], "rb");
  if (!f || fread(data, sizeof(float), (size_t)n * dim, f) != (size_t)n * dim || fread(qs, sizeof(float), (size_t)total * dim, f) != (size_t)total * dim) {
    fprintf(stderr, "vector-scan: cannot read %s\n", argv[1]); return 1;
  }
  fclose(f);
  if (truth) {
    double *norm = malloc(sizeof(double) * n);
    for (long i = 0; i < n; i++) {
      double s = 0; for (int j = 0; j < dim; j++) s += (double)data[i * dim + j] * data[i * dim + j];
      norm[i] = sqrt(s);
    }
    for (int t = 0; t < queries; t++) {
      const float *q = qs + (size_t)(t + 3) * dim;
      double qq = 0; for (int j = 0; j < dim; j++) qq += (double)q[j] * q[j];
      double best_s[K]; long best_i[K]; int k = 0;
      for (long i = 0; i < n; i++) {
        const float *row = data + i * dim; double acc = 0;
        for (int j = 0; j < dim; j++) acc += (double)q[j] * row[j];
        double s = norm[i] > 0 && qq > 0 ? acc / (norm[i] * sqrt(qq)) : 0;
        if (k < K || s > best_s[k - 1]) {
          int p = k < K ? k++ : K - 1;
          while (p > 0 && best_s[p - 1] < s) { best_s[p] = best_s[p - 1]; best_i[p] = best_i[p - 1]; p--; }
          best_s[p] = s; best_i[p] = i;
        }
      }
      for (int j = 0; j < K; j++) top[t * K + j] = best_i[j];
    }
  } else {
    for (long i = 0; i < n; i++) {
      double s = 0; for (int j = 0; j < dim; j++) s += (double)data[i * dim + j] * data[i * dim + j];
      inv[i] = s > 0 ? (float)(1.0 / sqrt(s)) : 0.f;
    }
    for (int t = -3; t < queries; t++) { /* 3 warm-up queries */
      const float *q = qs + (size_t)(t + 3) * dim;
      double t0 = now_ms(), c0 = cpu_ms();
      double qq = 0; for (int j = 0; j < dim; j++) qq += (double)q[j] * q[j];
      const float qinv = (float)(1.0 / sqrt(qq));
      for (long i = 0; i < n; i++) {
        const float *row = data + i * dim; float acc = 0.f;
        for (int j = 0; j < dim; j++) acc += q[j] * row[j]; /* vectorised by -O3 -march=native -ffast-math */
        sims[i] = acc * inv[i] * qinv;
      }
      long best_i[K]; float best_s[K]; int k = 0;
      for (long i = 0; i < n; i++) {
        float s = sims[i];
        if (k < K || s > best_s[k - 1]) {
          int p = k < K ? k++ : K - 1;
          while (p > 0 && best_s[p - 1] < s) { best_s[p] = best_s[p - 1]; best_i[p] = best_i[p - 1]; p--; }
          best_s[p] = s; best_i[p] = i;
        }
      }
      double t1 = now_ms(), c1 = cpu_ms();
      if (t >= 0) { times[t] = t1 - t0; cpu[t] = c1 - c0; for (int j = 0; j < K; j++) top[t * K + j] = best_i[j]; }
    }
    qsort(times, queries, sizeof(double), cmp_double);
    qsort(cpu, queries, sizeof(double), cmp_double);
  }
  printf("{\"impl\":\"c\",\"n\":%ld,\"dim\":%d", n, dim);
  if (!truth) printf(",\"queryMs\":%.4f,\"queryMinMs\":%.4f,\"queryCpuMs\":%.4f", times[queries / 2], times[0], cpu[queries / 2]);
  printf(",\"top\":[");
  for (int t = 0; t < queries; t++) {
    printf("%s[", t ? "," : "");
    for (int j = 0; j < K; j++) printf("%s%ld", j ? "," : "", top[t * K + j]);
    printf("]");
  }
  printf("]}\n");
  return 0;
}
