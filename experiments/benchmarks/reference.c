/*
 * Reference C loops for the benchmarks (a measuring stick, not part of the package).
 *
 * sim_amsgrad: B independent instances of the paper's AMSGrad (Reddi et al. Algorithm 2,
 * alpha_t = alpha/sqrt(t), constant beta1, no epsilon) on a closed-form 1-D problem, with the
 * SAME streaming statistics as amsgrad_theory's kernels (kernels.lane_math): loss and expected
 * loss sums, sufficient statistic G, sum g^2, max |g|, v-hat decrease count, effective-step
 * tracking for eta and eta-hat (count, undecided, step of the max, first step, max relative
 * rise), the bound terms sum beta1 sqrt(vhat)/alpha and sum alpha m^2/sqrt(vhat), clipping
 * to [-1, 1] and the non-finite check. Same operations in the same order, so with
 * -ffp-contract=off its x_T equals the toolkit's bit for bit (the benchmark checks it).
 *
 * problem 0: periodic-linear (g = C if t mod period == 1 else -c; the phase is kept as state)
 * problem 1: bernoulli-linear (g = C if draw(key, t) < threshold else -c), with the same
 *            counter-based hash (Wellons' lowbias32 chain) as amsgrad_theory.problems.rng.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <omp.h>

#define BLK 256

static inline uint64_t mix(uint64_t x) {
    x ^= x >> 16; x = (x * 0x7FEB352Dull) & 0xFFFFFFFFull;
    x ^= x >> 15; x = (x * 0x846CA68Bull) & 0xFFFFFFFFull;
    x ^= x >> 16; return x;
}
static inline uint64_t draw(uint64_t k, uint64_t t, uint64_t i, uint64_t ch) {
    uint64_t h = mix(k ^ (t & 0xFFFFFFFFull));
    h = mix(h ^ (i & 0xFFFFFFFFull));
    return mix(h ^ ch);
}

typedef struct {
    double x, m, v, vh, eprev, hprev, emax, hmax;
    double loss, expd, G, sg2, mag, b1acc, energy;
    int64_t ecnt, etmax, efirst, hcnt, htmax, hfirst, vhdec;
} lane_t;

static inline void track(double nw, double prev, double *best, int64_t *cnt, int64_t *tbest,
                         int64_t *first, int64_t t) {
    int finite = isfinite(prev) && isfinite(nw);
    int rise = finite && (nw > prev);
    *cnt += rise;
    int ok = finite && (prev > 0.0);
    double rel = ok ? ((ok ? nw : 1.0) / (ok ? prev : 1.0) - 1.0) : 0.0;
    int better = rise && (rel > *best);
    *tbest = better ? t : *tbest;
    *first = *first + (int64_t)(rise * (*first == 0)) * t;
    double cand = rise ? rel : 0.0;
    *best = *best >= cand ? *best : cand;
}

/* returns the OR of error codes (0 = all finite); x_out receives x_(T+1) */
int sim_amsgrad(int B, int T, int problem, const double *alpha, double beta1, double beta2,
                const double *C, const double *c, const int64_t *period, const uint64_t *key,
                const uint64_t *thresh, const double *mu, double *x_out, double *regret_loss,
                int threads) {
    int nb = (B + BLK - 1) / BLK;
    int bad_all = 0;
    double *sqrt_t = malloc(sizeof(double) * (T + 1));
    for (int t = 1; t <= T; t++) sqrt_t[t] = sqrt((double)t);
    double w1 = 1.0 - beta1, w2 = 1.0 - beta2;
    #pragma omp parallel for num_threads(threads) schedule(static) reduction(|:bad_all)
    for (int kb = 0; kb < nb; kb++) {
        int b0 = kb * BLK, n = (B - b0) < BLK ? (B - b0) : BLK;
        double X[BLK], M[BLK], V[BLK], VH[BLK], EP[BLK], HP[BLK], EM[BLK], HM[BLK];
        double LS[BLK], EX[BLK], GG[BLK], S2[BLK], MG[BLK], B1[BLK], EN[BLK];
        int64_t EC[BLK], ET[BLK], EF[BLK], HC[BLK], HT[BLK], HF[BLK], VD[BLK], PH[BLK];
        for (int j = 0; j < n; j++) {
            X[j] = M[j] = V[j] = VH[j] = 0.0; EP[j] = HP[j] = INFINITY; EM[j] = HM[j] = 0.0;
            LS[j] = EX[j] = GG[j] = S2[j] = MG[j] = B1[j] = EN[j] = 0.0;
            EC[j] = ET[j] = EF[j] = HC[j] = HT[j] = HF[j] = VD[j] = 0; PH[j] = 0;
        }
        int bad = 0;
        for (int64_t t = 1; t <= T; t++) {
            double st = sqrt_t[t];
            for (int j = 0; j < n; j++) {
                int b = b0 + j;
                double a_t = alpha[b] / st;            /* finish: alpha_t = alpha / sqrt(t) */
                double g;
                if (problem == 0) {
                    int64_t nxt = PH[j] + 1;
                    PH[j] = (nxt == period[b]) ? 0 : nxt;
                    g = (PH[j] == 1) ? C[b] : -c[b];
                } else {
                    uint64_t h = draw(key[b], (uint64_t)t, 0, 0);
                    g = (h < thresh[b]) ? C[b] : -c[b];
                }
                double x = X[j];
                double ell = g * x;
                LS[j] += ell;
                EX[j] += (problem == 1) ? mu[b] * x : 0.0;
                GG[j] += g;
                S2[j] += g * g;
                double ag = fabs(g);
                MG[j] = MG[j] >= ag ? MG[j] : ag;
                double vh_old = VH[j];
                double m = beta1 * M[j] + w1 * g;
                double v = beta2 * V[j] + w2 * (g * g);
                double vh = vh_old >= v ? vh_old : v;
                double root = sqrt(vh);
                double den = root + 0.0;
                int pos = den > 0.0;
                double safe = pos ? den : 1.0;
                double xhat = x - a_t * (m / safe);
                double eta_hat = pos ? a_t / safe : INFINITY;
                double eta = eta_hat;
                VD[j] += (vh_old > vh);
                track(eta, EP[j], &EM[j], &EC[j], &ET[j], &EF[j], t);
                track(eta_hat, HP[j], &HM[j], &HC[j], &HT[j], &HF[j], t);
                int rpos = root > 0.0;
                double rsafe = rpos ? root : 1.0;
                B1[j] += beta1 * root / a_t;
                EN[j] += rpos ? a_t * m * m / rsafe : 0.0;
                double xn = xhat >= -1.0 ? xhat : -1.0;
                xn = xn <= 1.0 ? xn : 1.0;
                bad |= !isfinite(g) | !isfinite(ell) | !isfinite(xn);
                M[j] = m; V[j] = v; VH[j] = vh; EP[j] = eta; HP[j] = eta_hat; X[j] = xn;
            }
        }
        for (int j = 0; j < n; j++) { x_out[b0 + j] = X[j]; regret_loss[b0 + j] = LS[j]; }
        bad_all |= bad;
    }
    free(sqrt_t);
    return bad_all;
}

/* float32 lanes: the same loop on floats (schedules in double, rounded, as the toolkit does) */
int sim_amsgrad_f32(int B, int T, const double *alpha, double beta1, double beta2,
                    const double *C, const double *c, const int64_t *period, float *x_out,
                    int threads) {
    int nb = (B + BLK - 1) / BLK;
    float w1 = (float)(1.0 - beta1), w2 = (float)(1.0 - beta2), fb1 = (float)beta1,
          fb2 = (float)beta2;
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int kb = 0; kb < nb; kb++) {
        int b0 = kb * BLK, n = (B - b0) < BLK ? (B - b0) : BLK;
        float X[BLK], M[BLK], V[BLK], VH[BLK];
        double LS[BLK], S2[BLK];
        int64_t PH[BLK];
        for (int j = 0; j < n; j++) { X[j] = M[j] = V[j] = VH[j] = 0.0f; LS[j] = S2[j] = 0; PH[j] = 0; }
        for (int64_t t = 1; t <= T; t++) {
            double st = sqrt((double)t);
            for (int j = 0; j < n; j++) {
                int b = b0 + j;
                float a_t = (float)(alpha[b] / st);
                int64_t nxt = PH[j] + 1;
                PH[j] = (nxt == period[b]) ? 0 : nxt;
                float g = (PH[j] == 1) ? (float)C[b] : -(float)c[b];
                float x = X[j];
                LS[j] += (double)g * (double)x;
                S2[j] += (double)g * (double)g;
                float m = fb1 * M[j] + w1 * g;
                float v = fb2 * V[j] + w2 * (g * g);
                float vh = VH[j] >= v ? VH[j] : v;
                float root = sqrtf(vh);
                float safe = root > 0.0f ? root : 1.0f;
                float xhat = x - a_t * (m / safe);
                float xn = xhat >= -1.0f ? xhat : -1.0f;
                X[j] = xn <= 1.0f ? xn : 1.0f;
                M[j] = m; V[j] = v; VH[j] = vh;
            }
        }
        for (int j = 0; j < n; j++) x_out[b0 + j] = X[j];
    }
    return 0;
}

/* the large-state step: x, g, m, v, vhat in memory (float32), one pass, plus sum g^2 */
void step_stream_f32(int64_t n, float *x, const float *g, float *m, float *v, float *vh,
                     double *sg2, float a_t, float b1, float w1, float b2, float w2, int threads) {
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + w1 * gi;
        float vi = b2 * v[i] + w2 * (gi * gi);
        float h = vh[i] >= vi ? vh[i] : vi;
        float r = sqrtf(h);
        float s = r > 0.0f ? r : 1.0f;
        float xn = x[i] - a_t * (mi / s);
        x[i] = xn >= -1.0f ? (xn <= 1.0f ? xn : 1.0f) : -1.0f;
        m[i] = mi; v[i] = vi; vh[i] = h;
        sg2[i] += (double)gi * (double)gi;
    }
}
