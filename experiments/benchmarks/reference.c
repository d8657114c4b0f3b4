/*
 * Measuring sticks for target 1 of the benchmarks (not part of the package): B independent
 * instances of the paper's AMSGrad (Reddi et al. Algorithm 2: alpha_t = alpha/sqrt(t), constant
 * beta1, no epsilon, clipped to the box [lo, hi]) on a closed-form 1-D problem, written so that
 * gcc VECTORISES the loop over instances (the "lane loop", marked LANE LOOP below):
 *
 *   - structure of arrays: a block of BLK instances lives in local arrays (L1), one per
 *     quantity; the lane loop runs over the block with a compile-time trip count;
 *   - no branches in the lane loop: every choice is a select (c ? a : b) between computed
 *     values, every operation is executed on every lane; no calls (sqrt is an instruction with
 *     -fno-math-errno); the non-finite check is a comparison OR-ed into a reduction;
 *   - integers as wide as the lanes (phase int64 beside float64, int32/uint32 beside float32;
 *     the hash in uint32, whose products are the toolkit's (x*c) & 0xFFFFFFFF).
 *
 * One source, compiled once per stick with
 *   -DREAL32 (float32 lanes; else float64)
 *   -DPROBLEM=0 periodic-linear (g = C if t mod period == 1 else -c; the phase kept as state)
 *   -DPROBLEM=1 bernoulli-linear (g = C if draw(key, t, 0, 0) < threshold else -c; Wellons'
 *               lowbias32 chain, as amsgrad_theory.problems.rng)
 *   -DSTATS=0   the update alone (no statistics, no non-finite check): context only
 *   -DSTATS=1   BARE stick: the update and what statistics="regret" keeps (loss sum, expected
 *               loss sum, the sufficient statistic G = sum g, the loss at the checkpoints) and
 *               the non-finite check
 *   -DSTATS=2   SAME-STATISTICS stick: statistics="full" (also sum g^2, max |g|, the
 *               effective-step record: rises, largest relative rise, its step, first rise;
 *               v-hat decreases, sum beta1 sqrt(vhat)/alpha_t, sum alpha_t m^2/sqrt(vhat))
 * so that the compiler's vectorisation report (-fopt-info-vec) of each compilation speaks of
 * one stick only.
 *
 * The operations and their order are the toolkit's (amsgrad_theory.kernels._lane_parts,
 * algorithms.rules.make_rule, problems.streams): alpha_t = alpha/sqrt(t) per instance and
 * step in float64 and rounded to the lane type; beta1, beta2, 1 - beta1, 1 - beta2 computed in
 * float64 and rounded to the lane type; loss, sums and the bound terms in float64. With
 * -ffp-contract=off x_T and every statistic equal the toolkit's bit for bit (the benchmark
 * checks it). Threads (OpenMP) take whole blocks.
 *
 * Flags (sticks.FLAGS): -O3 -march=native -fno-math-errno -ffp-contract=off -fno-trapping-math
 * -fopenmp. Without -fno-trapping-math gcc 12 keeps "safe = root > 0 ? root : 1; m / safe"
 * as a branch around the division ("not vectorized: control flow in loop"); the flag only
 * says floating-point exceptions are not observed (LLVM's, hence numba's, default) and
 * changes no result.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef BLK
#define BLK 64
#endif
#ifndef PROBLEM
#define PROBLEM 0
#endif
#ifndef STATS
#define STATS 1
#endif

#ifdef REAL32
typedef float real;
typedef int32_t phase_t;
typedef uint32_t count_t;         /* counts and steps <= T < 2^32 */
#define RSQRT sqrtf
#define RMAX FLT_MAX
#else
typedef double real;
typedef int64_t phase_t;
typedef int64_t count_t;
#define RSQRT sqrt
#define RMAX DBL_MAX
#endif

#define ALIGN __attribute__((aligned(64)))

static inline uint32_t mix32(uint32_t x) {
    x ^= x >> 16; x *= 0x7FEB352Du;
    x ^= x >> 15; x *= 0x846CA68Bu;
    x ^= x >> 16; return x;
}

/* the stick's compile-time configuration, for the benchmark's records */
int stick_config(int *blk, int *problem, int *stats) {
    *blk = BLK; *problem = PROBLEM; *stats = STATS;
    return (int)sizeof(real);
}

/*
 * Run B instances for T steps. Inputs per instance b: alpha[b], C[b], c[b], period[b],
 * key[b], thresh[b], mu[b]; lo, hi the box; ck[0..K-1] the checkpoint steps (ascending).
 * Outputs (float64, row r of NL x B etc.):
 *   lane_out:  x_{T+1}, m, v, vhat, eta_T, max relative rise of eta         (6 rows)
 *   acc_out:   loss, expected loss, G, sum g^2, max |g|, sum b1 sqrt(vh)/a_t, energy (7 rows)
 *   cnt_out:   rises of eta, step of the largest rise, first rise, vhat decreases (4 rows)
 *   rec:       B x K, the loss sum at each checkpoint
 * Rows a stick does not keep are left alone. Returns 0, or the first step at which some lane
 * produced a non-finite gradient, loss or iterate (the block stops there).
 */
int stick(int B, int T, const double *alpha, double beta1, double beta2, const double *C,
          const double *c, const int64_t *period, const uint64_t *key, const uint64_t *thresh,
          const double *mu, double lo_d, double hi_d, const int64_t *ck, int K,
          double *lane_out, double *acc_out, int64_t *cnt_out, double *rec, int threads) {
    const int nb = (B + BLK - 1) / BLK;
    const real b1 = (real)beta1, b2 = (real)beta2;
    const real w1 = (real)(1.0 - beta1), w2 = (real)(1.0 - beta2);
    const real lo = (real)lo_d, hi = (real)hi_d;
    int first_bad = INT_MAX;
    (void)b1; (void)mu; (void)key; (void)thresh; (void)period;
    #pragma omp parallel for num_threads(threads) schedule(static) reduction(min:first_bad)
    for (int kb = 0; kb < nb; kb++) {
        const int b0 = kb * BLK, n = (B - b0) < BLK ? (B - b0) : BLK;
        /* parameters (padding lanes repeat the block's last instance) */
        double AL[BLK] ALIGN, MU[BLK] ALIGN;
        real CP[BLK] ALIGN, CN[BLK] ALIGN;
        phase_t PH[BLK] ALIGN, PER[BLK] ALIGN;
        uint32_t KEY[BLK] ALIGN, TH[BLK] ALIGN, ALL[BLK] ALIGN;
        /* state */
        real X[BLK] ALIGN, M[BLK] ALIGN, V[BLK] ALIGN, VH[BLK] ALIGN;
        double LS[BLK] ALIGN, EX[BLK] ALIGN, GG[BLK] ALIGN;
        real EP[BLK] ALIGN, EM[BLK] ALIGN;
        double SG[BLK] ALIGN, MG[BLK] ALIGN, B1[BLK] ALIGN, EN[BLK] ALIGN;
        count_t EC[BLK] ALIGN, ET[BLK] ALIGN, EF[BLK] ALIGN, VD[BLK] ALIGN;
        for (int j = 0; j < BLK; j++) {
            const int b = b0 + (j < n ? j : n - 1);
            AL[j] = alpha[b]; MU[j] = mu[b];
            CP[j] = (real)C[b]; CN[j] = -(real)c[b];
            PH[j] = 0; PER[j] = (phase_t)period[b];
            KEY[j] = (uint32_t)key[b];
            TH[j] = thresh[b] > 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)thresh[b];
            ALL[j] = thresh[b] > 0xFFFFFFFFull ? 0xFFFFFFFFu : 0u;   /* threshold 2^32 */
            X[j] = M[j] = V[j] = VH[j] = 0;
            LS[j] = EX[j] = GG[j] = SG[j] = MG[j] = B1[j] = EN[j] = 0.0;
            EP[j] = (real)INFINITY; EM[j] = 0;
            EC[j] = ET[j] = EF[j] = VD[j] = 0;
        }
        int k = 0;
        while (k < K && ck[k] < 1) k++;
        int stop = 0;
        for (int t = 1; t <= T; t++) {
            const double st = sqrt((double)t);
            const uint32_t tt = (uint32_t)t;
            const count_t tc = (count_t)t;
            count_t bad = 0;       /* lane-width, like the masks it ORs */
            (void)tt; (void)tc;
            for (int j = 0; j < BLK; j++) {                                /* LANE LOOP */
                const double a_t = AL[j] / st;
                const real step = (real)a_t;
#if PROBLEM == 0
                const phase_t nxt = PH[j] + 1;
                const phase_t ph = nxt == PER[j] ? 0 : nxt;
                PH[j] = ph;
                const real g = ph == 1 ? CP[j] : CN[j];
#else
                uint32_t h = mix32(KEY[j] ^ tt);
                h = mix32(h);
                h = mix32(h);
                const real g = ((h < TH[j]) | (ALL[j] != 0)) ? CP[j] : CN[j];
#endif
                const real x = X[j];
                const real vh_old = VH[j];
                const real m = b1 * M[j] + w1 * g;
                const real v = b2 * V[j] + w2 * (g * g);
                const real vh = vh_old >= v ? vh_old : v;
                const real root = RSQRT(vh);
                const real safe = root > 0 ? root : (real)1;
                const real xhat = x - step * (m / safe);
                const real y = xhat >= lo ? xhat : lo;
                const real xn = y <= hi ? y : hi;
#if STATS >= 1
                const double ell = (double)g * (double)x;
                LS[j] += ell;
#if PROBLEM == 1
                EX[j] += MU[j] * (double)x;
#endif
                GG[j] += (double)g;
                bad |= (count_t)!(fabs(g) <= RMAX) | (count_t)!(fabs(ell) <= DBL_MAX)
                       | (count_t)!(fabs(xn) <= RMAX);
#endif
#if STATS >= 2
                const real q = step / safe;
                const count_t pos = (count_t)(root > 0);
                const real eta = pos ? q : (real)INFINITY;
                /* isfinite(eta) = pos & isfinite(q), written so (a bool select of a comparison
                   would otherwise stop gcc's vectoriser) */
                const count_t eta_finite = pos & (count_t)(fabs(q) <= RMAX);
                const double gw = (double)g;
                SG[j] += gw * gw;
                const double ag = fabs(gw);
                MG[j] = MG[j] >= ag ? MG[j] : ag;
                VD[j] += (count_t)(vh_old > vh);
                /* the effective-step record (eta-hat = eta for this variant) */
                const real prev = EP[j];
                const count_t rise = (count_t)(fabs(prev) <= RMAX) & eta_finite
                                     & (count_t)(eta > prev);
                EC[j] += rise;
                const count_t ok = rise & (count_t)(prev > 0);
                const real ratio = eta / (ok ? prev : (real)1);
                const real rel = ok ? ratio - (real)1 : (real)0;
                const real best = EM[j];
                /* t where the condition holds, else the old value: a bitwise blend (a select
                   here becomes a masked store, slow on some CPUs) */
                const count_t better = -(rise & (count_t)(rel > best));
                const count_t ef = EF[j], firstrise = -(rise & (count_t)(ef == 0));
                ET[j] = (ET[j] & ~better) | (tc & better);
                EF[j] = (ef & ~firstrise) | (tc & firstrise);
                EM[j] = best >= rel ? best : rel;
                EP[j] = eta;
                /* the bound terms, float64 */
                const double r = (double)root, mw = (double)m;
                const double rsafe = r > 0.0 ? r : 1.0;
                B1[j] += beta1 * r / a_t;
                EN[j] += r > 0.0 ? a_t * mw * mw / rsafe : 0.0;
#endif
                X[j] = xn; M[j] = m; V[j] = v; VH[j] = vh;
            }
            if (bad) { stop = t; break; }
            if (k < K && ck[k] == t) {
                for (int j = 0; j < n; j++) rec[(int64_t)(b0 + j) * K + k] = LS[j];
                k++;
            }
        }
        for (int j = 0; j < n; j++) {
            const int64_t b = b0 + j;
            lane_out[0 * (int64_t)B + b] = X[j];
            lane_out[1 * (int64_t)B + b] = M[j];
            lane_out[2 * (int64_t)B + b] = V[j];
            lane_out[3 * (int64_t)B + b] = VH[j];
#if STATS >= 1
            acc_out[0 * (int64_t)B + b] = LS[j];
            acc_out[1 * (int64_t)B + b] = EX[j];
            acc_out[2 * (int64_t)B + b] = GG[j];
#endif
#if STATS >= 2
            lane_out[4 * (int64_t)B + b] = EP[j];
            lane_out[5 * (int64_t)B + b] = EM[j];
            acc_out[3 * (int64_t)B + b] = SG[j];
            acc_out[4 * (int64_t)B + b] = MG[j];
            acc_out[5 * (int64_t)B + b] = B1[j];
            acc_out[6 * (int64_t)B + b] = EN[j];
            cnt_out[0 * (int64_t)B + b] = (int64_t)EC[j];
            cnt_out[1 * (int64_t)B + b] = (int64_t)ET[j];
            cnt_out[2 * (int64_t)B + b] = (int64_t)EF[j];
            cnt_out[3 * (int64_t)B + b] = (int64_t)VD[j];
#endif
        }
        if (stop && stop < first_bad) first_bad = stop;
    }
    return first_bad == INT_MAX ? 0 : first_bad;
}
