/* The products of a batch-innermost 1-D convolution stack, bias and ReLU / Leaky ReLU fused.
 *
 * Compiled on first use by losslandscape/native_kernel.py (cc -O3 -march=native) and called
 * through ctypes by losslandscape/batch_last.py, which keeps torch's batched GEMM as the
 * reference and the fallback.
 *
 * Why not the BLAS: every product here is (out ≈ 25) × (k·in ≈ 75) weights times
 * (k·in) × (batch ≈ 1000) activations. A BLAS packs the large operand into its own
 * layout on every call, and with only 25 output rows that copy is not paid back: torch's
 * GEMM runs these shapes at 55-70 GFLOP/s on one AMD EPYC core whose large-matrix peak is
 * about 104. The activations are already laid out as a GEMM kernel wants them (each row
 * `batch` contiguous floats), so this kernel reads them in place: a block of 5 output
 * channels × 64 lanes of the batch stays in 20 vector registers over the whole sum and is
 * written once, with its bias and activation, at 91-99 GFLOP/s.
 *
 * Layout: output position j of a convolution reads rows [j·step, j·step + K) of the
 * source seen as (rows, pitch): with the source (length, in, pitch) and the weight stored
 * (out, k, in), row kk = tap·in + channel, and K = k·in. A linear head is the same
 * product with one position.
 */
#include <stddef.h>
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

/* The logistic function 1 / (1 + e^-x) to about 2 ulp: e^-x by Cephes' expf polynomial
 * (C has no vector exp without -ffast-math and glibc's libmvec). The argument is clamped
 * to [-88, 87], where e^-x and its scale 2^n are normal floats; NaN stays NaN. */
#ifdef __AVX512F__
/* AVX-512 has a rounding, a scaling by 2^n and a reciprocal estimate in one instruction
 * each: about 1.5× the speed of the portable form below. */
static inline floats logistic(floats v) {
    __m512 x = _mm512_sub_ps(_mm512_setzero_ps(), (__m512)v);
    /* max and min return their second operand where either is NaN: NaN passes through */
    x = _mm512_min_ps(_mm512_set1_ps(88.0f), _mm512_max_ps(_mm512_set1_ps(-87.0f), x));
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
    __m512 d = _mm512_add_ps(_mm512_scalef_ps(e, n), _mm512_set1_ps(1.0f)); /* 1 + e^-v ≥ 1 */
    __m512 y = _mm512_rcp14_ps(d); /* 2^-14, one Newton step to float precision */
    return (floats)_mm512_mul_ps(y, _mm512_fnmadd_ps(d, y, _mm512_set1_ps(2.0f)));
}
#else
static inline floats logistic(floats v) {
    const floats zero = {0}, low = zero - 87.0f, high = zero + 88.0f;
    floats x = -v;
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
    return choose(x != x, x, 1.0f / (1.0f + e * (floats)scale));
}
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
 * bias may be NULL; kind is IDENTITY, RELU or LEAKY_RELU (negative slope `slope`). */
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
