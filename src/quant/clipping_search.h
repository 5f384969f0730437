// Symmetric clipping thresholds chosen from a histogram of |x|: the range [-T, T] that a b-bit
// symmetric quantizer should cover, trading clipping error (|x| > T) against rounding error.
#pragma once

#include "quant/activation_histogram.h"

namespace lowbit {

// Entropy calibration as in TensorRT's INT8 calibrator: for each candidate threshold of i bins
// (i = 2^(bits-1) .. all bins), P is the first i bins with the clipped tail added to the last bin, Q
// merges the first i bins (tail not included) into 2^(bits-1) levels and spreads each level's count
// evenly over its bins that are non-empty in P; T minimizes KL(P || Q). Candidates where Q is 0 but P
// is not (KL infinite) are skipped. T = i * bin_width (the kept bins' upper edge), at most max_magnitude;
// ties go to the smaller i. bits in [2, 16].
double kl_divergence_threshold(const MagnitudeHistogram& histogram, int bits);

// T minimizing the expected squared error of round-to-nearest onto the grid {-q..q} * T/q,
// q = 2^(bits-1) - 1, with values beyond T clamped, each bin's values taken as uniform over the bin.
// Candidates are the bin edges (and max_magnitude). bits in [2, 16].
double mse_optimal_threshold(const MagnitudeHistogram& histogram, int bits);

// Mean of (x - Q(x))^2 for x uniform on [low, high] (the point low when high <= low), Q the quantizer
// above with step T/q; the exact integral, piece by piece between Q's decision boundaries.
double mean_squared_quantization_error(double low, double high, double step, int max_level);

}  // namespace lowbit
