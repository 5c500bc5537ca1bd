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

enum { IDENTITY = 0, RELU = 1, LEAKY_RELU = 2 };

static inline floats activate(floats v, int kind, float slope) {
    floats zero = {0};
    ints positive = v > zero;
    if (kind == RELU) return (floats)((ints)v & positive);
    if (kind == LEAKY_RELU) return (floats)(((ints)v & positive) | ((ints)(v * slope) & ~positive));
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
