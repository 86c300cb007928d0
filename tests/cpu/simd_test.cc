// The cpu backend's SIMD layer under every ISA this processor runs: partial
// loads and stores touch exactly the lanes they name (and never fault past
// them), bfloat16 conversion rounds like ops/float16.h, FMA is fused where the
// ISA has it, and the horizontal sum and the transpose are exact.

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "backends/cpu/isa.h"
#include "gtest/gtest.h"
#include "ops/float16.h"
#include "tests/cpu/simd_probe.h"

namespace tapconv::cpu {
namespace {

class SimdTest : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (static_cast<int>(DetectedIsa()) < static_cast<int>(GetParam())) {
      GTEST_SKIP() << "this processor has no " << IsaName(GetParam());
    }
  }
  const SimdProbe& probe() const {
    switch (GetParam()) {
      case Isa::kAvx512:
        return avx512::GetSimdProbe();
      case Isa::kAvx2:
        return avx2::GetSimdProbe();
      case Isa::kScalar:
        break;
    }
    return scalar::GetSimdProbe();
  }
};

// Two pages, the second inaccessible: data placed to end at the boundary
// faults if a load reads one element too far.
class GuardedPage {
 public:
  GuardedPage() {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* p = mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    base_ = p == MAP_FAILED ? nullptr : static_cast<char*>(p);
    if (base_ != nullptr) mprotect(base_ + page_, page_, PROT_NONE);
  }
  ~GuardedPage() {
    if (base_ != nullptr) munmap(base_, 2 * page_);
  }
  bool ok() const { return base_ != nullptr; }
  // n elements of T ending exactly at the inaccessible page.
  template <typename T>
  T* End(int n) {
    return reinterpret_cast<T*>(base_ + page_) - n;
  }

 private:
  size_t page_ = 0;
  char* base_ = nullptr;
};

TEST_P(SimdTest, PartialLoadsAndStoresTouchOnlyTheirLanes) {
  const SimdProbe& p = probe();
  GuardedPage guard;
  ASSERT_TRUE(guard.ok());
  for (int n = 0; n <= p.lanes_f32; ++n) {
    float* src = guard.End<float>(n);
    for (int i = 0; i < n; ++i) src[i] = 1.5f + i;
    std::vector<float> dst(p.lanes_f32 + 1, -7.0f);
    p.copy_n_f32(src, dst.data(), n);
    for (int i = 0; i <= p.lanes_f32; ++i)
      EXPECT_EQ(dst[i], i < n ? 1.5f + i : -7.0f) << "n " << n << " lane " << i;
    std::vector<float> full(p.lanes_f32, -7.0f);
    p.load_n_f32(src, full.data(), n);
    for (int i = 0; i < p.lanes_f32; ++i)
      EXPECT_EQ(full[i], i < n ? 1.5f + i : 0.0f) << "n " << n << " lane " << i;
  }
  for (int n = 0; n <= p.lanes_f64; ++n) {
    double* src = guard.End<double>(n);
    for (int i = 0; i < n; ++i) src[i] = 0.25 - i;
    std::vector<double> dst(p.lanes_f64 + 1, 9.0);
    p.copy_n_f64(src, dst.data(), n);
    for (int i = 0; i <= p.lanes_f64; ++i)
      EXPECT_EQ(dst[i], i < n ? 0.25 - i : 9.0) << "n " << n << " lane " << i;
  }
}

std::vector<float> Bf16TestValues() {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = {
      0.0f,
      -0.0f,
      1.0f,
      -1.0f,
      inf,
      -inf,
      std::numeric_limits<float>::quiet_NaN(),
      std::numeric_limits<float>::max(),  // rounds up to inf
      std::numeric_limits<float>::denorm_min(),
      std::numeric_limits<float>::min(),
      1.0f + 1.0f / 256,                     // halfway, even below: 1
      1.0f + 3.0f / 256,                     // halfway, even above: 1 + 2^-6
      -(1.0f + 1.0f / 256),                  // the same, negative
      1.0f + 1.0f / 256 + 1.0f / (1 << 20),  // just above halfway
      3.14159265f,
      -2.7182818f,
      65504.0f,
      1e-30f,
      -1e30f};
  uint32_t snan_bits = 0x7f800001u;  // signalling NaN: must come back quiet
  float snan;
  std::memcpy(&snan, &snan_bits, sizeof snan);
  v.push_back(snan);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uniform(-1000.0f, 1000.0f);
  while (v.size() % 16 != 0 || v.size() < 64) v.push_back(uniform(rng));
  return v;
}

void ExpectSameBf16(uint16_t got, float from, const char* what) {
  const uint16_t want = ToBFloat16(from).bits;
  if (std::isnan(from)) {
    EXPECT_TRUE(std::isnan(ToFloat(BFloat16{got}))) << what << " of NaN";
    EXPECT_EQ(got & 0x40, 0x40) << what << ": NaN must be quiet";
  }
  EXPECT_EQ(got, want) << what << " of " << from;
}

TEST_P(SimdTest, Bfloat16RoundsToNearestEven) {
  const SimdProbe& p = probe();
  const std::vector<float> values = Bf16TestValues();
  const int lanes = p.lanes_f32;
  for (size_t start = 0; start + lanes <= values.size(); start += lanes) {
    const float* src = values.data() + start;
    std::vector<uint16_t> bits(lanes);
    p.bf16_full(src, bits.data());
    for (int i = 0; i < lanes; ++i)
      ExpectSameBf16(bits[i], src[i], "StoreBf16");
    alignas(64) uint16_t streamed[16];
    p.bf16_stream(src, streamed);
    for (int i = 0; i < lanes; ++i)
      ExpectSameBf16(streamed[i], src[i], "StoreBf16Stream");
    for (int n = 0; n <= lanes; ++n) {
      std::vector<uint16_t> partial(lanes + 1, 0xbeef);
      std::vector<float> back(lanes + 1, 5.0f);
      p.bf16_n(src, partial.data(), back.data(), n);
      for (int i = 0; i <= lanes; ++i) {
        if (i >= n) {
          EXPECT_EQ(partial[i], 0xbeef) << "StoreBf16N wrote lane " << i;
          EXPECT_EQ(back[i], 5.0f) << "StoreN wrote lane " << i;
          continue;
        }
        ExpectSameBf16(partial[i], src[i], "StoreBf16N");
        const float want = ToFloat(BFloat16{partial[i]});
        if (std::isnan(want)) {
          EXPECT_TRUE(std::isnan(back[i]));
        } else {
          EXPECT_EQ(back[i], want) << "LoadBf16N is exact";
        }
      }
    }
  }
  for (float v : values) {
    ExpectSameBf16(p.f32_to_bf16(v), v, "F32ToBf16");
    const uint16_t b = ToBFloat16(v).bits;
    const float want = ToFloat(BFloat16{b});
    if (!std::isnan(want)) {
      EXPECT_EQ(p.bf16_to_f32(b), want);
    }
  }
}

TEST_P(SimdTest, StreamedStoresLandWhole) {
  const SimdProbe& p = probe();
  alignas(64) float src[16], dst[16];
  alignas(64) double srcd[8], dstd[8];
  for (int i = 0; i < 16; ++i) src[i] = 0.5f * i - 3.0f, dst[i] = 0.0f;
  for (int i = 0; i < 8; ++i) srcd[i] = 1.0 / (i + 1), dstd[i] = 0.0;
  p.stream_f32(src, dst);
  p.stream_f64(srcd, dstd);
  for (int i = 0; i < p.lanes_f32; ++i) EXPECT_EQ(dst[i], src[i]);
  for (int i = 0; i < p.lanes_f64; ++i) EXPECT_EQ(dstd[i], srcd[i]);
}

TEST_P(SimdTest, ReduceAddIsExactOnIntegers) {
  const SimdProbe& p = probe();
  std::vector<float> f(p.lanes_f32);
  std::vector<double> d(p.lanes_f64);
  double want_f = 0, want_d = 0;
  for (int i = 0; i < p.lanes_f32; ++i) want_f += (f[i] = 3.0f * i - 17.0f);
  for (int i = 0; i < p.lanes_f64; ++i) want_d += (d[i] = 1e9 * i + 1.0);
  EXPECT_EQ(p.reduce_f32(f.data()), want_f);
  EXPECT_EQ(p.reduce_f64(d.data()), want_d);
}

TEST_P(SimdTest, MulAddIsFusedWhereTheIsaHasFma) {
  const SimdProbe& p = probe();
  const bool fused = GetParam() != Isa::kScalar;
  std::vector<float> a(p.lanes_f32), b(p.lanes_f32), c(p.lanes_f32),
      out(p.lanes_f32);
  for (int i = 0; i < p.lanes_f32; ++i) {
    // (1 + e)(1 - e) - 1 = -e^2: lost entirely without fusion.
    const float e = std::ldexp(1.0f, -13 - i % 4);
    a[i] = 1.0f + e, b[i] = 1.0f - e, c[i] = -1.0f;
  }
  p.muladd_f32(a.data(), b.data(), c.data(), out.data());
  for (int i = 0; i < p.lanes_f32; ++i) {
    const float want = fused ? std::fma(a[i], b[i], c[i])
                             : static_cast<float>(a[i] * b[i]) + c[i];
    EXPECT_EQ(out[i], want) << "lane " << i;
  }
  std::vector<double> ad(p.lanes_f64), bd(p.lanes_f64), cd(p.lanes_f64),
      outd(p.lanes_f64);
  for (int i = 0; i < p.lanes_f64; ++i) {
    const double e = std::ldexp(1.0, -30 - i % 3);
    ad[i] = 1.0 + e, bd[i] = 1.0 - e, cd[i] = -1.0;
  }
  p.muladd_f64(ad.data(), bd.data(), cd.data(), outd.data());
  for (int i = 0; i < p.lanes_f64; ++i) {
    const double want = fused ? std::fma(ad[i], bd[i], cd[i])
                              : static_cast<double>(ad[i] * bd[i]) + cd[i];
    EXPECT_EQ(outd[i], want) << "lane " << i;
  }
}

TEST_P(SimdTest, EvenLanesTakesEveryOtherElement) {
  const SimdProbe& p = probe();
  std::vector<float> f(2 * p.lanes_f32), out(p.lanes_f32);
  for (size_t i = 0; i < f.size(); ++i) f[i] = 10.0f + i;
  p.even_f32(f.data(), out.data());
  for (int i = 0; i < p.lanes_f32; ++i) EXPECT_EQ(out[i], f[2 * i]);
  std::vector<double> d(2 * p.lanes_f64), outd(p.lanes_f64);
  for (size_t i = 0; i < d.size(); ++i) d[i] = -3.0 * i;
  p.even_f64(d.data(), outd.data());
  for (int i = 0; i < p.lanes_f64; ++i) EXPECT_EQ(outd[i], d[2 * i]);
}

TEST_P(SimdTest, TransposeSwapsRowsAndColumns) {
  const SimdProbe& p = probe();
  const int l = p.lanes_f32, ld = p.lanes_f64;
  std::vector<float> m(l * l);
  for (int i = 0; i < l * l; ++i) m[i] = static_cast<float>(i);
  p.transpose_f32(m.data());
  for (int r = 0; r < l; ++r) {
    for (int c = 0; c < l; ++c) EXPECT_EQ(m[r * l + c], c * l + r);
  }
  std::vector<double> md(ld * ld);
  for (int i = 0; i < ld * ld; ++i) md[i] = i;
  p.transpose_f64(md.data());
  for (int r = 0; r < ld; ++r) {
    for (int c = 0; c < ld; ++c) EXPECT_EQ(md[r * ld + c], c * ld + r);
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, SimdTest,
                         ::testing::Values(Isa::kScalar, Isa::kAvx2,
                                           Isa::kAvx512),
                         [](const ::testing::TestParamInfo<Isa>& info) {
                           return std::string(IsaName(info.param));
                         });

}  // namespace
}  // namespace tapconv::cpu
