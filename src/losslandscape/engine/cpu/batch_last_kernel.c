/* The products of a batch-innermost 1-D convolution stack, bias and ReLU / Leaky ReLU /
 * sigmoid fused, and the cross-entropy sums of its head's output.
 *
 * Compiled on first use by losslandscape/engine/cpu/native_kernel.py (cc -O3 -march=native) and called
 * through ctypes by losslandscape/engine/cpu/batch_last.py, which keeps torch's batched GEMM and the
 * engine's torch loss as the reference and the fallback.
 *
 * Why not the BLAS: every product here is (out ≈ 25) × (k·in ≈ 75) weights times
 * (k·in) × (batch ≈ 1000) activations. A BLAS packs the large operand into its own
 * layout on every call, and with only 25 output rows that copy is not paid back: torch's
 * GEMM runs these shapes at 55-74 GFLOP/s on one AMD EPYC core whose large-matrix peak is
 * about 104. The activations are already laid out as a GEMM kernel wants them (each row
 * `batch` contiguous floats), so this kernel reads them in place: a block of 5 output
 * channels × 64 lanes of the batch stays in 20 vector registers over the whole sum and is
 * written once, with its bias and activation, at 87-108 GFLOP/s.
 *
 * Why the loss too: reducing a batch's 1000 × 10 logits to three sums took some fifteen
 * torch operations, 12-19 % of a grid point's time, most of it per-operation overhead.
 *
 * Layout: output position j of a convolution reads rows [j·step, j·step + K) of the
 * source seen as (rows, pitch): with the source (length, in, pitch) and the weight stored
 * (out, k, in), row kk = tap·in + channel, and K = k·in. A linear head is the same
 * product with one position; its output (classes, pitch) is what the loss reads.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

typedef float floats __attribute__((vector_size(64), aligned(4)));
typedef int ints __attribute__((vector_size(64), aligned(4)));
#define LANES 16 /* floats per vector: one AVX-512 register, two AVX2 ones */

/* Output channels × vectors of lanes held in registers at once (accumulators). */
#ifdef __AVX512F__
#define ROWS 5
#define VECTORS 4
#else
#define ROWS 3
#define VECTORS 2
#endif

#define UNROLL _Pragma("GCC unroll 16")

enum { IDENTITY = 0, RELU = 1, LEAKY_RELU = 2, SIGMOID = 3 };

static inline floats choose(ints mask, floats yes, floats no) {
    return (floats)(((ints)yes & mask) | ((ints)no & ~mask));
}

/* e^x to about 2 ulp by Cephes' expf polynomial (C has no vector exp without -ffast-math
 * and glibc's libmvec). The argument is clamped to [-87, 88], where e^x and its scale 2^n
 * are normal floats; NaN stays NaN. */
#ifdef __AVX512F__
/* AVX-512 has a rounding, a scaling by 2^n and a reciprocal estimate in one instruction
 * each: about 1.5× the speed of the portable form below. */
static inline floats exp_vector(floats v) {
    /* max and min return their second operand where either is NaN: NaN passes through */
    __m512 x = _mm512_min_ps(_mm512_set1_ps(88.0f), _mm512_max_ps(_mm512_set1_ps(-87.0f), (__m512)v));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x); /* ln 2 in two parts */
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 e = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    return (floats)_mm512_scalef_ps(e, n);
}

/* 1 / (1 + e^-v): 1 + e^-v ≥ 1, so a reciprocal estimate (2^-14) and one Newton step */
static inline floats logistic(floats v) {
    __m512 d = _mm512_add_ps((__m512)exp_vector(-v), _mm512_set1_ps(1.0f));
    __m512 y = _mm512_rcp14_ps(d);
    return (floats)_mm512_mul_ps(y, _mm512_fnmadd_ps(d, y, _mm512_set1_ps(2.0f)));
}
#else
static inline floats exp_vector(floats x) {
    const floats zero = {0}, low = zero - 87.0f, high = zero + 88.0f;
    floats clamped = choose(x < low, low, choose(x > high, high, x));
    /* the nearest integer: adding 1.5·2^23 leaves no fraction bits */
    floats n = (clamped * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    floats r = clamped - n * 0.693359375f - n * -2.12194440e-4f; /* ln 2 in two parts */
    floats p = zero + 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    floats e = p * r * r + r + 1.0f;
    ints scale = (__builtin_convertvector(n, ints) + 127) << 23; /* 2^n, n in [-126, 127] */
    return choose(x != x, x, e * (floats)scale);
}

static inline floats logistic(floats v) { return 1.0f / (1.0f + exp_vector(-v)); }
#endif

static inline floats activate(floats v, int kind, float slope) {
    floats zero = {0};
    ints positive = v > zero;
    if (kind == RELU) return (floats)((ints)v & positive);
    if (kind == LEAKY_RELU) return choose(positive, v, v * slope);
    if (kind == SIGMOID) return logistic(v);
    return v;
}

/* Output rows [o, o + NROWS) × lanes [b, b + NVEC·LANES) of one position. */
#define BLOCK(NROWS, NVEC)                                                                  \
    do {                                                                                    \
        floats acc[NROWS][NVEC];                                                            \
        UNROLL for (int i = 0; i < NROWS; i++) UNROLL for (int r = 0; r < NVEC; r++)        \
            acc[i][r] = (floats){0} + (bias ? bias[o + i] : 0.f);                            \
        const float *xp = source + b;                                                       \
        const float *wp = weight + o * K;                                                   \
        for (long kk = 0; kk < K; kk++, xp += pitch) {                                      \
            floats xv[NVEC];                                                                \
            UNROLL for (int r = 0; r < NVEC; r++) xv[r] = *(const floats *)(xp + r * LANES); \
            UNROLL for (int i = 0; i < NROWS; i++) {                                        \
                float wv = wp[i * K + kk];                                                  \
                UNROLL for (int r = 0; r < NVEC; r++) acc[i][r] += wv * xv[r];              \
            }                                                                               \
        }                                                                                   \
        UNROLL for (int i = 0; i < NROWS; i++) UNROLL for (int r = 0; r < NVEC; r++)        \
            *(floats *)(target + (o + i) * target_channel + b + r * LANES) =                \
                activate(acc[i][r], kind, slope);                                           \
    } while (0)

/* For j < positions, o < out, b < pitch (pitch a multiple of LANES):
 *   y[j·target_position + o·target_channel + b] =
 *       act(bias[o] + Σ_{kk < K} weight[o·K + kk] · x[j·source_position + kk·pitch + b])
 * bias may be NULL; kind is IDENTITY, RELU, LEAKY_RELU (negative slope `slope`) or SIGMOID. */
void conv_batch_last(const float *x, const float *weight, const float *bias, float *y,
                     long positions, long K, long out, long pitch, long source_position,
                     long target_position, long target_channel, int kind, float slope) {
    for (long j = 0; j < positions; j++) {
        const float *source = x + j * source_position;
        float *target = y + j * target_position;
        long b = 0;
        for (; b + VECTORS * LANES <= pitch; b += VECTORS * LANES) {
            long o = 0;
            for (; o + ROWS <= out; o += ROWS) BLOCK(ROWS, VECTORS);
            for (; o < out; o++) BLOCK(1, VECTORS);
        }
        for (; b < pitch; b += LANES) {
            long o = 0;
            for (; o + ROWS <= out; o += ROWS) BLOCK(ROWS, 1);
            for (; o < out; o++) BLOCK(1, 1);
        }
    }
}

/* The cross-entropy of lanes b < batch of logits (classes, pitch), a head's output:
 *   loss_b = m_b + log Σ_c e^(logit[c, b] − m_b) − logit[label_b, b],  m_b = max_c logit[c, b]
 * (torch's order of operations), the prediction the first class with the largest logit.
 * Adds Σ loss_b, Σ loss_b² and the number of correct predictions to sums[0], sums[stride]
 * and sums[2·stride], in double. Returns 0, or 1 + the first sample whose label is not in
 * [0, classes) (then sums are unchanged). */
long cross_entropy_sums(const float *logits, const int64_t *labels, long classes, long batch,
                        long pitch, double *sums, long stride) {
    for (long b = 0; b < batch; b++)
        if (labels[b] < 0 || labels[b] >= classes) return b + 1;
    double loss_sum = 0, square_sum = 0;
    long correct = 0;
    for (long b = 0; b < batch; b += LANES) {
        floats top = *(const floats *)(logits + b);
        ints best = {0};
        for (long c = 1; c < classes; c++) {
            floats logit = *(const floats *)(logits + c * pitch + b);
            ints larger = logit > top;
            top = choose(larger, logit, top);
            best = (best & ~larger) | (((ints){0} + (int)c) & larger);
        }
        floats total = {0};
        for (long c = 0; c < classes; c++) total += exp_vector(*(const floats *)(logits + c * pitch + b) - top);
        long lanes = batch - b < LANES ? batch - b : LANES;
        for (long i = 0; i < lanes; i++) {
            int64_t label = labels[b + i]; /* torch's int64, whatever `long` is */
            float loss = (top[i] + logf(total[i])) - logits[label * pitch + b + i];
            loss_sum += loss;
            square_sum += (double)loss * loss;
            correct += best[i] == label;
        }
    }
    sums[0] += loss_sum;
    sums[stride] += square_sum;
    sums[2 * stride] += (double)correct;
    return 0;
}
