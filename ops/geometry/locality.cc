#include "ops/geometry/locality.h"

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ops/geometry/paths.h"

namespace tapconv {
namespace {

absl::Status CheckSize(int64_t height, int64_t width) {
  if (height < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("height: expected >= 1, got ", height));
  }
  if (width < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("width: expected >= 1, got ", width));
  }
  if (height > kMaxPathPixels / width) {
    return absl::InvalidArgumentError(
        absl::StrCat("height: image ", height, " x ", width,
                     " has more than 2^31 - 1 pixels"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<int64_t>> NeighbourDistances(
    absl::Span<const int64_t> perm, int64_t height, int64_t width) {
  if (absl::Status s = CheckSize(height, width); !s.ok()) return s;
  if (absl::Status s = CheckPermutation(perm, height * width, "perm"); !s.ok())
    return s;
  const std::vector<int64_t> step = InvertPermutation(perm);
  std::vector<int64_t> d(height * width, 0);
  for (int64_t r = 0; r < height; ++r) {
    for (int64_t c = 0; c < width; ++c) {
      const int64_t here = step[r * width + c];
      int64_t sum = 0;
      for (int64_t dr = -1; dr <= 1; ++dr) {
        for (int64_t dc = -1; dc <= 1; ++dc) {
          const int64_t nr = r + dr, nc = c + dc;
          if ((dr == 0 && dc == 0) || nr < 0 || nr >= height || nc < 0 ||
              nc >= width)
            continue;
          sum += std::llabs(here - step[nr * width + nc]);
        }
      }
      d[r * width + c] = sum;
    }
  }
  return d;
}

absl::StatusOr<int64_t> LocalityCost(absl::Span<const int64_t> perm,
                                     int64_t height, int64_t width) {
  absl::StatusOr<std::vector<int64_t>> d =
      NeighbourDistances(perm, height, width);
  if (!d.ok()) return d.status();
  int64_t cost = 0;
  for (int64_t v : *d) cost += v;
  return cost;
}

absl::StatusOr<std::vector<bool>> CoveredVsRaster(
    absl::Span<const int64_t> perm, int64_t height, int64_t width) {
  absl::StatusOr<std::vector<int64_t>> d =
      NeighbourDistances(perm, height, width);
  if (!d.ok()) return d.status();
  const std::vector<int64_t> raster = CurveOrder(Curve::kRaster, height, width);
  absl::StatusOr<std::vector<int64_t>> d_raster =
      NeighbourDistances(raster, height, width);
  if (!d_raster.ok()) return d_raster.status();
  std::vector<bool> covered(d->size());
  for (size_t q = 0; q < covered.size(); ++q)
    covered[q] = (*d)[q] < (*d_raster)[q];
  return covered;
}

absl::StatusOr<int64_t> UnionCoverage(
    const std::vector<std::vector<int64_t>>& paths, int64_t height,
    int64_t width) {
  if (absl::Status s = CheckSize(height, width); !s.ok()) return s;
  std::vector<bool> any(height * width, false);
  for (const std::vector<int64_t>& path : paths) {
    absl::StatusOr<std::vector<bool>> covered =
        CoveredVsRaster(path, height, width);
    if (!covered.ok()) return covered.status();
    for (size_t q = 0; q < any.size(); ++q) any[q] = any[q] || (*covered)[q];
  }
  int64_t count = 0;
  for (bool b : any) count += b ? 1 : 0;
  return count;
}

}  // namespace tapconv
