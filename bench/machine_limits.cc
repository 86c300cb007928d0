// This machine's roofline: the FMA peak (one and two threads, AVX-512 and
// AVX2), the rate of FMAs that each need one unaligned load from L1 (the
// ceiling of any direct stencil whose taps cannot share a loaded vector, such
// as an oblique oriented conv) and the memory bandwidth (read, copy, copy with
// non-temporal stores) for a buffer the size of one Table-5 tensor (24 MiB) and
// one far larger than any cache (1 GiB), and how much of the copy a core hides
// behind FMAs (BM_CopyWithFmas). oriented_bench's GFLOP/s and GB/s are read
// against these.
//
//   ./bazelw run -c opt //bench:machine_limits

#include <immintrin.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "backends/cpu/isa.h"
#include "benchmark/benchmark.h"

namespace tapconv {
namespace {

// Independent accumulators: enough to hide the FMA latency on two ports.
constexpr int kChains = 12;
constexpr int64_t kFmaPerIteration = 1 << 16;

// The lanes' sum, through memory: GCC 12's _mm512_reduce_add_ps warns about
// an uninitialised variable inside its own header.
__attribute__((target("avx512f"))) float SumLanes(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float sum = 0.0f;
  for (float x : lanes) sum += x;
  return sum;
}

__attribute__((target("avx512f"))) float FmaLoopAvx512(int64_t rounds) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(0.001f * i);
  const __m512 b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.0001f);
  for (int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], b, c);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  return SumLanes(s);
}

__attribute__((target("avx2,fma"))) float FmaLoopAvx2(int64_t rounds) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(0.001f * i);
  const __m256 b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.0001f);
  for (int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], b, c);
  }
  alignas(32) float out[8];
  __m256 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm256_add_ps(s, acc[i]);
  _mm256_store_ps(out, s);
  return out[0] + out[7];
}

// One thread, and one per hardware thread of the machine (its whole peak).
void OneAndAllCores(benchmark::internal::Benchmark* b) {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  b->Threads(1);
  if (cores > 1) b->Threads(cores);
  b->UseRealTime();
}

void BM_FmaPeakF32(benchmark::State& state, cpu::Isa isa) {
  if (static_cast<int>(cpu::DetectedIsa()) < static_cast<int>(isa)) {
    state.SkipWithError("instruction set not available");
    return;
  }
  const int lanes = isa == cpu::Isa::kAvx512 ? 16 : 8;
  const int64_t rounds = kFmaPerIteration / kChains;
  for (auto _ : state) {
    benchmark::DoNotOptimize(isa == cpu::Isa::kAvx512 ? FmaLoopAvx512(rounds)
                                                      : FmaLoopAvx2(rounds));
  }
  const double flops = 2.0 * lanes * kChains * rounds;
  // Counters are summed over threads and the iteration count already is the
  // sum: average over threads, or two threads would count every flop twice.
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate |
                        benchmark::Counter::kAvgThreads);
}
BENCHMARK_CAPTURE(BM_FmaPeakF32, avx512, cpu::Isa::kAvx512)
    ->Apply(OneAndAllCores);
BENCHMARK_CAPTURE(BM_FmaPeakF32, avx2, cpu::Isa::kAvx2)->Apply(OneAndAllCores);

// One FMA per unaligned load, the loads walking an L1-resident row at a
// one-float offset (so AVX-512 loads split cache lines as a stencil's do).
constexpr int64_t kStencilFloats = 2048;

__attribute__((target("avx512f"))) float LoadFmaLoopAvx512(const float* row,
                                                           int64_t rounds) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_setzero_ps();
  const __m512 w = _mm512_set1_ps(0.999f);
  for (int64_t r = 0; r < rounds; ++r) {
    const float* p = row + 1 + (r % 8) * kChains * 16;
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) {
      acc[i] = _mm512_fmadd_ps(_mm512_loadu_ps(p + 16 * i), w, acc[i]);
    }
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  return SumLanes(s);
}

__attribute__((target("avx2,fma"))) float LoadFmaLoopAvx2(const float* row,
                                                          int64_t rounds) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_setzero_ps();
  const __m256 w = _mm256_set1_ps(0.999f);
  for (int64_t r = 0; r < rounds; ++r) {
    const float* p = row + 1 + (r % 8) * kChains * 8;
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) {
      acc[i] = _mm256_fmadd_ps(_mm256_loadu_ps(p + 8 * i), w, acc[i]);
    }
  }
  alignas(32) float out[8];
  __m256 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm256_add_ps(s, acc[i]);
  _mm256_store_ps(out, s);
  return out[0] + out[7];
}

void BM_LoadFmaF32(benchmark::State& state, cpu::Isa isa) {
  if (static_cast<int>(cpu::DetectedIsa()) < static_cast<int>(isa)) {
    state.SkipWithError("instruction set not available");
    return;
  }
  alignas(64) float row[kStencilFloats] = {};
  const int lanes = isa == cpu::Isa::kAvx512 ? 16 : 8;
  const int64_t rounds = kFmaPerIteration / kChains;
  for (auto _ : state) {
    benchmark::DoNotOptimize(isa == cpu::Isa::kAvx512
                                 ? LoadFmaLoopAvx512(row, rounds)
                                 : LoadFmaLoopAvx2(row, rounds));
  }
  const double flops = 2.0 * lanes * kChains * rounds;
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate |
                        benchmark::Counter::kAvgThreads);
}
BENCHMARK_CAPTURE(BM_LoadFmaF32, avx512, cpu::Isa::kAvx512)
    ->Apply(OneAndAllCores);
BENCHMARK_CAPTURE(BM_LoadFmaF32, avx2, cpu::Isa::kAvx2)->Apply(OneAndAllCores);

// Two buffers per size, shared by the benchmark's threads (each takes its
// slice); allocated and touched once.
float* Buffer(int which, int64_t bytes) {
  static float* buffers[2][2] = {{nullptr, nullptr}, {nullptr, nullptr}};
  const int size_index = bytes > (int64_t{64} << 20) ? 1 : 0;
  float*& b = buffers[size_index][which];
  if (b == nullptr) {
    b = static_cast<float*>(std::aligned_alloc(64, bytes));
    std::memset(b, 0, bytes);
  }
  return b;
}

enum class Traffic { kRead, kCopy, kStreamCopy };

__attribute__((target("avx2"))) void Pass(Traffic t, const float* a, float* b,
                                          int64_t n) {
  if (t == Traffic::kRead) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (int64_t i = 0; i < n; i += 32) {
      s0 = _mm256_add_ps(s0, _mm256_load_ps(a + i));
      s1 = _mm256_add_ps(s1, _mm256_load_ps(a + i + 8));
      s2 = _mm256_add_ps(s2, _mm256_load_ps(a + i + 16));
      s3 = _mm256_add_ps(s3, _mm256_load_ps(a + i + 24));
    }
    benchmark::DoNotOptimize(
        _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    return;
  }
  for (int64_t i = 0; i < n; i += 8) {
    const __m256 v = _mm256_load_ps(a + i);
    if (t == Traffic::kCopy) {
      _mm256_store_ps(b + i, v);
    } else {
      _mm256_stream_ps(b + i, v);
    }
  }
  _mm_sfence();
}

void BM_Memory(benchmark::State& state, Traffic traffic) {
  const int64_t bytes = state.range(0) << 20;
  if (state.thread_index() == 0) {
    Buffer(0, bytes);
    Buffer(1, bytes);
  }
  const int64_t n = bytes / 4;
  const int64_t slice = n / state.threads() / 32 * 32;
  const float* a = Buffer(0, bytes) + slice * state.thread_index();
  float* b = Buffer(1, bytes) + slice * state.thread_index();
  for (auto _ : state) {
    Pass(traffic, a, b, slice);
    benchmark::ClobberMemory();
  }
  // Bytes moved to or from memory (a copy reads and writes).
  const double moved =
      static_cast<double>(slice) * 4 * (traffic == Traffic::kRead ? 1 : 2);
  state.counters["GB/s"] = benchmark::Counter(
      moved * 1e-9, benchmark::Counter::kIsIterationInvariantRate |
                        benchmark::Counter::kAvgThreads);
}

void Sizes(benchmark::internal::Benchmark* b) {
  b->Arg(24)->Arg(1024)->ArgName("MiB");
  OneAndAllCores(b);
}
BENCHMARK_CAPTURE(BM_Memory, read, Traffic::kRead)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_Memory, copy, Traffic::kCopy)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_Memory, stream_copy, Traffic::kStreamCopy)->Apply(Sizes);

// A K-tap channels-first forward's work in its barest form: every 64 bytes
// copied (x -> y) come with K vector FMAs on registers, done either all
// copying first and then all FMAs, or interleaved a KiB of copy at a time.
// Against BM_Memory's copy and BM_FmaPeakF32 it shows how much of one a core
// hides behind the other: the roofline max(bytes / bandwidth, flops / peak)
// assumes all; a core stalled on memory runs no FMAs.
enum class Schedule { kSequential, kInterleaved };
constexpr int64_t kInterleaveFloats = 256;  // 1 KiB of x per FMA slice

__attribute__((target("avx512f"))) void CopyFloats(const float* a, float* b,
                                                   int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    _mm512_store_ps(b + i, _mm512_load_ps(a + i));
  }
}

__attribute__((target("avx512f"))) void Fmas(int64_t rounds, __m512* acc) {
  const __m512 b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.0001f);
  for (int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], b, c);
  }
}

__attribute__((target("avx512f"))) float CopyWithFmas(const float* a, float* b,
                                                      int64_t n, int64_t taps,
                                                      Schedule schedule) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(0.001f * i);
  const int64_t step =
      schedule == Schedule::kSequential ? n : kInterleaveFloats;
  const int64_t rounds = step / 16 * taps / kChains;
  for (int64_t i = 0; i < n; i += step) {
    CopyFloats(a + i, b + i, step);
    Fmas(rounds, acc);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  return SumLanes(s);
}

void BM_CopyWithFmas(benchmark::State& state, Schedule schedule) {
  if (static_cast<int>(cpu::DetectedIsa()) <
      static_cast<int>(cpu::Isa::kAvx512)) {
    state.SkipWithError("needs AVX-512");
    return;
  }
  const int64_t bytes = int64_t{24} << 20;
  if (state.thread_index() == 0) {
    Buffer(0, bytes);
    Buffer(1, bytes);
  }
  const int64_t taps = state.range(0);
  const int64_t n = bytes / 4;
  const int64_t slice =
      n / state.threads() / kInterleaveFloats * kInterleaveFloats;
  const float* a = Buffer(0, bytes) + slice * state.thread_index();
  float* b = Buffer(1, bytes) + slice * state.thread_index();
  for (auto _ : state) {
    benchmark::DoNotOptimize(CopyWithFmas(a, b, slice, taps, schedule));
    benchmark::ClobberMemory();
  }
  // The copy's bytes per second with the FMAs riding along.
  state.counters["GB/s"] =
      benchmark::Counter(static_cast<double>(slice) * 8 * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kAvgThreads);
}

void Taps(benchmark::internal::Benchmark* b) {
  b->Arg(31)->ArgName("taps");
  OneAndAllCores(b);
}
BENCHMARK_CAPTURE(BM_CopyWithFmas, sequential, Schedule::kSequential)
    ->Apply(Taps);
BENCHMARK_CAPTURE(BM_CopyWithFmas, interleaved, Schedule::kInterleaved)
    ->Apply(Taps);

}  // namespace
}  // namespace tapconv
