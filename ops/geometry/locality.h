#ifndef TAPCONV_OPS_GEOMETRY_LOCALITY_H_
#define TAPCONV_OPS_GEOMETRY_LOCALITY_H_

// How well a path keeps 2D neighbours close in 1D (upstream search.py's
// measure, computed in O(H*W) through the inverse permutation instead of
// upstream's O((H*W)^2) list.index). docs/ops.md ("Locality").

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tapconv {

// D_P(q) = sum over the in-image 8-neighbours q' of q of |pi(q) - pi(q')|,
// where pi(q) is the step at which path P visits pixel q, for every pixel q
// (row-major). InvalidArgument naming "perm" if perm is not a permutation of
// [0, height*width), "height"/"width" if either is < 1.
absl::StatusOr<std::vector<int64_t>> NeighbourDistances(
    absl::Span<const int64_t> perm, int64_t height, int64_t width);

// cost(P) = sum over q of D_P(q).
absl::StatusOr<int64_t> LocalityCost(absl::Span<const int64_t> perm,
                                     int64_t height, int64_t width);

// covered[q] = D_P(q) < D_raster(q), strictly (raster = Curve::kRaster,
// unshifted).
absl::StatusOr<std::vector<bool>> CoveredVsRaster(
    absl::Span<const int64_t> perm, int64_t height, int64_t width);

// Number of pixels covered (as above) by at least one of the paths.
absl::StatusOr<int64_t> UnionCoverage(
    const std::vector<std::vector<int64_t>>& paths, int64_t height,
    int64_t width);

}  // namespace tapconv

#endif  // TAPCONV_OPS_GEOMETRY_LOCALITY_H_
