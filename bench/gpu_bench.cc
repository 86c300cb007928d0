// tapconv's "cuda" backend against the dense convolutions a user would
// otherwise run, on the same device, stream and inputs: cuDNN, reached through
// tapconv's own conv_nd op on the same backend (so both sides pay the same
// validation and launch costs). float32, NCHW, device 0.
//
//   oriented  seed 000's Table 5: N = 64, C = 512, H = W in {14, 28, 56},
//             K in {7, 31}, the models' eight angles over the channels; vs
//             depthwise 1xK (what the seed compared against) and dense KxK.
//   dcls      depthwise bilinear DCLS, S = 17, Kc = 34, ConvNeXt-T stage shapes
//             at N = 64 (+ C = 384 at 28^2): the fused sparse-tap ops vs
//             construct + conv_nd (ops::DclsConv*).
//   path      PathConv's 3 Hilbert paths, C = 96, K = 9, N = 64 at 32^2 and
//             64^2: the fused path conv vs gather + conv_nd 1D (+ scatter).
//
// Times are medians of --reps runs after --warmup runs, each run bracketed by
// CUDA events on one stream. Bandwidth is the minimum traffic of the timed
// passes (every activation tensor each pass reads or writes, once, plus the
// parameters) over the median time, also given as a fraction of this
// device's device-to-device copy bandwidth measured in the same run (read +
// write bytes of a cudaMemcpyAsync of a large buffer). Every case first
// checks that tapconv and the baseline compute the same values (outputs and
// every gradient), so a broken kernel cannot pass for a fast one; the oriented
// case checks theta = 0 against the 1xK conv and the model angles against the
// KxK conv with the equivalent dense kernel.
//
// The report (markdown) goes to stdout, progress to stderr. Exit status: 0 ok,
// 1 a check or an op failed, 2 no usable CUDA device, 64 bad arguments.
//
//   ./bazelw run -c opt //bench:gpu_bench -- --quick --cases=oriented

#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "ops/backend.h"
#include "ops/conv_nd.h"
#include "ops/dcls.h"
#include "ops/geometry/oriented_taps.h"
#include "ops/geometry/paths.h"
#include "ops/oriented_conv.h"
#include "ops/path_conv.h"
#include "ops/status_macros.h"
#include "ops/tensor_ref.h"

namespace tapconv {
namespace {

constexpr int kExitCheckFailed = 1;
constexpr int kExitNoDevice = 2;
constexpr int kExitUsage = 64;
constexpr double kPi = 3.14159265358979323846;
// Largest error, relative to the largest magnitude of the baseline's tensor,
// that still counts as "the same values" in float32 (sums here have at most
// ~10^5 terms; an indexing bug gives errors of order 1).
constexpr double kTolerance = 1e-3;
const Device kDevice{DeviceKind::kCuda, 0};

constexpr char kUsage[] = R"(usage: gpu_bench [options]

Times tapconv's "cuda" backend against cuDNN (through tapconv's conv_nd op)
and prints a markdown report on stdout (progress on stderr).

  --cases=LIST     comma-separated subset of oriented,dcls,path (default: all)
  --quick          3 warm-up and 10 timed runs per measurement (a smoke run)
  --warmup=N       warm-up runs per measurement (default 5)
  --reps=N         timed runs per measurement; the median is reported
                   (default 50)
  --copy-mib=N     buffer size of the device-to-device copy that measures
                   the bandwidth reference (default 1024)
  --probe          print the device and exit (0 if usable, 2 if not)
  --help           this text

Environment: TAPCONV_CUDA_DENSE_CONV=direct makes the baseline tapconv's own
direct conv instead of cuDNN (set automatically, and said so in the report,
when libcudnn.so.9 cannot be loaded). TAPCONV_CUDNN_LIBRARY names the cuDNN
library to load.

Exit status: 0 ok; 1 a correctness check or an op failed; 2 no usable CUDA
device (the reason is printed); 64 bad arguments.
)";

// ---------------------------------------------------------------------------
// Command line.

struct Options {
  bool probe = false;
  bool oriented = true, dcls = true, path = true;
  int warmup = 5;
  int reps = 50;
  int64_t copy_mib = 1024;
};

bool ParsePositive(absl::string_view text, int64_t* value) {
  return absl::SimpleAtoi(text, value) && *value > 0;
}

// Parses argv into *options; on a bad argument returns its message.
std::optional<std::string> ParseOptions(int argc, char** argv, Options* options,
                                        bool* help) {
  *help = false;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    int64_t n = 0;
    if (arg == "--help" || arg == "-h") {
      *help = true;
      continue;
    }
    if (arg == "--probe") {
      options->probe = true;
      continue;
    }
    if (arg == "--quick") {
      options->warmup = 3;
      options->reps = 10;
      continue;
    }
    absl::string_view value = arg;
    if (absl::ConsumePrefix(&value, "--cases=")) {
      options->oriented = options->dcls = options->path = false;
      for (absl::string_view c : absl::StrSplit(value, ',')) {
        if (c == "oriented") {
          options->oriented = true;
        } else if (c == "dcls") {
          options->dcls = true;
        } else if (c == "path") {
          options->path = true;
        } else {
          return absl::StrCat("--cases: unknown case '", c,
                              "' (expected oriented, dcls, path)");
        }
      }
    } else if (absl::ConsumePrefix(&value, "--warmup=")) {
      if (!absl::SimpleAtoi(value, &n) || n < 0 || n > 100000)
        return absl::StrCat("--warmup: expected 0..100000, got '", value, "'");
      options->warmup = static_cast<int>(n);
    } else if (absl::ConsumePrefix(&value, "--reps=")) {
      if (!ParsePositive(value, &n) || n > 100000)
        return absl::StrCat("--reps: expected 1..100000, got '", value, "'");
      options->reps = static_cast<int>(n);
    } else if (absl::ConsumePrefix(&value, "--copy-mib=")) {
      if (!ParsePositive(value, &n) || n > (int64_t{1} << 20))
        return absl::StrCat("--copy-mib: expected 1..1048576, got '", value,
                            "'");
      options->copy_mib = n;
    } else {
      return absl::StrCat("unknown argument '", arg, "'");
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// CUDA helpers.

absl::Status CudaStatus(cudaError_t e, absl::string_view what) {
  if (e == cudaSuccess) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", cudaGetErrorName(e), " (",
                                          cudaGetErrorString(e), ")"));
}

#define BENCH_CUDA(call) TAPCONV_RETURN_IF_ERROR(CudaStatus((call), #call))

// Device memory of one tensor, from the backend's allocator.
class DeviceTensor {
 public:
  DeviceTensor() = default;
  DeviceTensor(const DeviceTensor&) = delete;
  DeviceTensor& operator=(const DeviceTensor&) = delete;
  DeviceTensor(DeviceTensor&& other) noexcept { Swap(other); }
  DeviceTensor& operator=(DeviceTensor&& other) noexcept {
    Swap(other);
    return *this;
  }
  ~DeviceTensor() {
    if (backend_ != nullptr && ref_.data != nullptr) backend_->Free(ref_.data);
  }

  static absl::StatusOr<DeviceTensor> Create(const Backend& backend,
                                             DType dtype, Dims shape) {
    DeviceTensor t;
    t.backend_ = &backend;
    t.ref_ = MakeTensorRef(nullptr, dtype, shape, kDevice);
    TAPCONV_ASSIGN_OR_RETURN(t.ref_.data, backend.Allocate(t.bytes()));
    return t;
  }

  const TensorRef& ref() const { return ref_; }
  int64_t numel() const { return ref_.numel(); }
  size_t bytes() const {
    return static_cast<size_t>(ref_.numel()) * SizeOf(ref_.dtype);
  }

 private:
  void Swap(DeviceTensor& other) {
    std::swap(backend_, other.backend_);
    std::swap(ref_, other.ref_);
  }

  const Backend* backend_ = nullptr;
  TensorRef ref_;
};

// Where every measurement runs, and what the report accumulates.
struct Env {
  const Backend* backend = nullptr;
  cudaStream_t stream = nullptr;
  cudaMemPool_t pool = nullptr;  // the device's default pool, if it has one
  ExecContext ctx;
  Options options;
  std::string baseline;  // "cuDNN" or "direct"
  double copy_gbs = 0;   // measured device-to-device copy bandwidth
  std::vector<std::string> check_lines;
  std::vector<std::string> errors;
  bool checks_failed = false;

  absl::StatusOr<DeviceTensor> Tensor(DType dtype, Dims shape) const {
    return DeviceTensor::Create(*backend, dtype, std::move(shape));
  }
};

template <typename T>
absl::Status Upload(const Env& env, const DeviceTensor& t,
                    const std::vector<T>& values) {
  if (values.size() * sizeof(T) != t.bytes()) {
    return absl::InternalError("host and device sizes differ");
  }
  if (t.bytes() == 0) return absl::OkStatus();
  BENCH_CUDA(cudaMemcpyAsync(t.ref().data, values.data(), t.bytes(),
                             cudaMemcpyHostToDevice, env.stream));
  BENCH_CUDA(cudaStreamSynchronize(env.stream));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> Download(const Env& env,
                                            const DeviceTensor& t) {
  std::vector<float> values(static_cast<size_t>(t.numel()));
  BENCH_CUDA(cudaStreamSynchronize(env.stream));
  if (t.bytes() == 0) return values;
  BENCH_CUDA(cudaMemcpyAsync(values.data(), t.ref().data, t.bytes(),
                             cudaMemcpyDeviceToHost, env.stream));
  BENCH_CUDA(cudaStreamSynchronize(env.stream));
  return values;
}

// A cheap deterministic fill in [lo, hi): the values only have to be
// non-trivial for the checks.
std::vector<float> UniformValues(int64_t count, uint64_t seed, double lo,
                                 double hi) {
  std::vector<float> v(static_cast<size_t>(count));
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (float& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<float>(lo + (hi - lo) * static_cast<double>(s >> 11) /
                                    9007199254740992.0);
  }
  return v;
}

absl::StatusOr<DeviceTensor> UniformTensor(const Env& env, Dims shape,
                                           uint64_t seed, double lo = -1.0,
                                           double hi = 1.0) {
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor t, env.Tensor(DType::kF32, shape));
  TAPCONV_RETURN_IF_ERROR(
      Upload(env, t, UniformValues(t.numel(), seed, lo, hi)));
  return t;
}

// Events of one measurement, destroyed on every path out.
class EventSet {
 public:
  ~EventSet() {
    for (cudaEvent_t e : events_) cudaEventDestroy(e);
  }
  absl::StatusOr<cudaEvent_t> Add() {
    cudaEvent_t e = nullptr;
    BENCH_CUDA(cudaEventCreate(&e));
    events_.push_back(e);
    return e;
  }

 private:
  std::vector<cudaEvent_t> events_;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Median milliseconds of `step` (which enqueues on env.stream). Runs are
// enqueued back to back, as a training loop would: a step whose host side is
// slower than its kernels shows as the time between its events.
absl::StatusOr<double> MedianMs(const Env& env,
                                const std::function<absl::Status()>& step) {
  for (int i = 0; i < env.options.warmup; ++i) TAPCONV_RETURN_IF_ERROR(step());
  BENCH_CUDA(cudaStreamSynchronize(env.stream));
  EventSet events;
  std::vector<std::pair<cudaEvent_t, cudaEvent_t>> marks;
  for (int i = 0; i < env.options.reps; ++i) {
    TAPCONV_ASSIGN_OR_RETURN(cudaEvent_t start, events.Add());
    TAPCONV_ASSIGN_OR_RETURN(cudaEvent_t stop, events.Add());
    marks.emplace_back(start, stop);
  }
  for (const auto& [start, stop] : marks) {
    BENCH_CUDA(cudaEventRecord(start, env.stream));
    TAPCONV_RETURN_IF_ERROR(step());
    BENCH_CUDA(cudaEventRecord(stop, env.stream));
  }
  BENCH_CUDA(cudaStreamSynchronize(env.stream));
  std::vector<double> ms;
  for (const auto& [start, stop] : marks) {
    float elapsed = 0;
    BENCH_CUDA(cudaEventElapsedTime(&elapsed, start, stop));
    ms.push_back(elapsed);
  }
  return Median(std::move(ms));
}

// Device-to-device copy bandwidth in GB/s (read + write bytes), on the largest
// buffer of at most `mib` MiB that fits.
absl::StatusOr<double> CopyBandwidth(const Env& env, int64_t mib,
                                     size_t* bytes_used) {
  size_t bytes = static_cast<size_t>(mib) << 20;
  void* src = nullptr;
  void* dst = nullptr;
  for (;;) {
    cudaError_t e = cudaMalloc(&src, bytes);
    if (e == cudaSuccess) {
      e = cudaMalloc(&dst, bytes);
      if (e == cudaSuccess) break;
      cudaFree(src);
      src = nullptr;
    }
    if (e != cudaErrorMemoryAllocation || bytes <= (size_t{64} << 20))
      return CudaStatus(e, "cudaMalloc of the copy buffers");
    cudaGetLastError();  // clear the allocation failure
    bytes /= 2;
  }
  struct Release {
    void* a;
    void* b;
    ~Release() {
      cudaFree(a);
      cudaFree(b);
    }
  } release{src, dst};
  *bytes_used = bytes;
  BENCH_CUDA(cudaMemsetAsync(src, 1, bytes, env.stream));
  TAPCONV_ASSIGN_OR_RETURN(
      const double ms, MedianMs(env, [&] {
        return CudaStatus(cudaMemcpyAsync(dst, src, bytes,
                                          cudaMemcpyDeviceToDevice, env.stream),
                          "cudaMemcpyAsync");
      }));
  return 2.0 * static_cast<double>(bytes) / (ms * 1e-3) * 1e-9;
}

// ---------------------------------------------------------------------------
// Checks and report cells.

// max |got - want| / max |want|; infinity if either holds a non-finite value.
double RelativeError(const std::vector<float>& got,
                     const std::vector<float>& want) {
  if (got.size() != want.size()) return std::numeric_limits<double>::infinity();
  double err = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], w = want[i];
    if (!std::isfinite(g) || !std::isfinite(w))
      return std::numeric_limits<double>::infinity();
    err = std::max(err, std::fabs(g - w));
    scale = std::max(scale, std::fabs(w));
  }
  return err / std::max(scale, 1e-30);
}

// Compares two device tensors; records the line (and a failure) in env.
absl::Status Check(Env& env, const std::string& what, const DeviceTensor& got,
                   const DeviceTensor& want) {
  TAPCONV_ASSIGN_OR_RETURN(const std::vector<float> g, Download(env, got));
  TAPCONV_ASSIGN_OR_RETURN(const std::vector<float> w, Download(env, want));
  const double err = RelativeError(g, w);
  const bool ok = err <= kTolerance;
  env.checks_failed |= !ok;
  env.check_lines.push_back(absl::StrFormat("- %s %s: max relative error %.2e",
                                            ok ? "ok  " : "FAIL", what, err));
  return absl::OkStatus();
}

// Runs `step` once, recording a failure as an error of the case `what`.
bool RunOnce(Env& env, const std::string& what,
             const std::function<absl::Status()>& step) {
  absl::Status s = step();
  if (s.ok()) s = CudaStatus(cudaStreamSynchronize(env.stream), "sync");
  if (!s.ok()) env.errors.push_back(absl::StrCat(what, ": ", s.ToString()));
  return s.ok();
}

// Returns the pool's cached workspace to the driver between cases, so that
// one case's workspace never crowds out the next case's tensors.
void TrimPool(Env& env) {
  if (env.pool == nullptr) return;
  absl::Status s = CudaStatus(cudaStreamSynchronize(env.stream), "sync");
  if (s.ok())
    s = CudaStatus(cudaMemPoolTrimTo(env.pool, 0), "cudaMemPoolTrimTo");
  if (!s.ok()) env.errors.push_back(s.ToString());
}

// A measurement, with its failure recorded in env.
std::optional<double> Time(Env& env, const std::string& what,
                           const std::function<absl::Status()>& step) {
  std::fprintf(stderr, "  %s\n", what.c_str());
  absl::StatusOr<double> ms = MedianMs(env, step);
  if (!ms.ok()) {
    env.errors.push_back(absl::StrCat(what, ": ", ms.status().ToString()));
    return std::nullopt;
  }
  return *ms;
}

std::string MsCell(std::optional<double> ms) {
  return ms ? absl::StrFormat("%.3f", *ms) : "error";
}

std::string RatioCell(std::optional<double> baseline,
                      std::optional<double> ours) {
  if (!baseline || !ours || *ours <= 0) return "-";
  return absl::StrFormat("%.2f", *baseline / *ours);
}

// "GB/s | % of copy" for `bytes` moved in `ms`.
std::string BandwidthCells(const Env& env, double bytes,
                           std::optional<double> ms) {
  if (!ms || *ms <= 0) return "- | -";
  const double gbs = bytes / (*ms * 1e-3) * 1e-9;
  return absl::StrFormat("%.0f | %.0f%%", gbs, 100.0 * gbs / env.copy_gbs);
}

void PrintRow(const std::vector<std::string>& cells) {
  std::printf("| %s |\n", absl::StrJoin(cells, " | ").c_str());
}

void PrintErrorsOf(const Env& env, size_t first_error) {
  for (size_t i = first_error; i < env.errors.size(); ++i)
    std::printf("- error: %s\n", env.errors[i].c_str());
}

// ---------------------------------------------------------------------------
// Oriented conv: seed 000's Table 5.

constexpr int64_t kOrientedBatch = 64;
constexpr int64_t kOrientedChannels = 512;

// The models' angle assignment: channel c of C is in group
// floor((8 (c + 1) - 1) / C), whose angle is pi * group / 8.
std::vector<float> ModelAngles(int64_t channels) {
  std::vector<float> theta(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c)
    theta[c] = static_cast<float>(
        kPi * static_cast<double>((8 * (c + 1) - 1) / channels) / 8.0);
  return theta;
}

// Cell of tap k of channel c in the K x K kernel (trunc rule: every offset is
// within +-K/2).
int64_t DenseCell(float theta, int64_t k, int64_t taps) {
  const TapOffset o =
      OrientedTapOffset(static_cast<double>(theta),
                        static_cast<int>(k - taps / 2), TapRule::kTrunc);
  return (taps / 2 + o.dh) * taps + (taps / 2 + o.dw);
}

struct OrientedRow {
  std::string pass;
  std::optional<double> ours, line, square;
  double bytes;
};

absl::Status RunOrientedShape(Env& env, int64_t hw, int64_t k,
                              std::vector<OrientedRow>* rows) {
  const int64_t n = kOrientedBatch, c = kOrientedChannels;
  const std::string name =
      absl::StrFormat("oriented %lld^2 K=%lld", static_cast<long long>(hw),
                      static_cast<long long>(k));
  std::fprintf(stderr, "%s\n", name.c_str());
  const Dims act = {n, c, hw, hw};
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor x, UniformTensor(env, act, 1));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dy, UniformTensor(env, act, 2));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor y, env.Tensor(DType::kF32, act));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dx, env.Tensor(DType::kF32, act));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor y_ref, env.Tensor(DType::kF32, act));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dx_ref, env.Tensor(DType::kF32, act));
  const std::vector<float> w_host = UniformValues(c * k, 3, -1.0, 1.0);
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor weight,
                           env.Tensor(DType::kF32, {c, 1, 1, k}));
  TAPCONV_RETURN_IF_ERROR(Upload(env, weight, w_host));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor bias, UniformTensor(env, {c}, 4));
  const std::vector<float> theta_host = ModelAngles(c);
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor theta, env.Tensor(DType::kF32, {c}));
  TAPCONV_RETURN_IF_ERROR(Upload(env, theta, theta_host));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor theta0, env.Tensor(DType::kF32, {c}));
  TAPCONV_RETURN_IF_ERROR(
      Upload(env, theta0, std::vector<float>(static_cast<size_t>(c), 0.0f)));
  // The K x K kernel that computes the same conv as the oriented taps.
  std::vector<float> dense_host(static_cast<size_t>(c * k * k), 0.0f);
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t t = 0; t < k; ++t)
      dense_host[ch * k * k + DenseCell(theta_host[ch], t, k)] +=
          w_host[ch * k + t];
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dense,
                           env.Tensor(DType::kF32, {c, 1, k, k}));
  TAPCONV_RETURN_IF_ERROR(Upload(env, dense, dense_host));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dw,
                           env.Tensor(DType::kF32, {c, 1, 1, k}));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dw_ref,
                           env.Tensor(DType::kF32, {c, 1, 1, k}));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor ddense,
                           env.Tensor(DType::kF32, {c, 1, k, k}));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor db, env.Tensor(DType::kF32, {c}));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor db_ref, env.Tensor(DType::kF32, {c}));

  const OrientedConvArgs args{};  // stride 1, trunc, NCHW
  ConvNdArgs line_args;           // the 1 x K conv theta = 0 equals
  line_args.padding = {0, k / 2};
  line_args.groups = c;
  ConvNdArgs square_args;  // the K x K conv
  square_args.padding = {k / 2};
  square_args.groups = c;
  const ExecContext& ctx = env.ctx;
  using OptRef = std::optional<TensorRef>;

  auto ours_fwd = [&](const DeviceTensor& th, bool with_bias) {
    return ops::OrientedConv2dForward(
        args,
        {x.ref(), weight.ref(), th.ref(),
         with_bias ? OptRef(bias.ref()) : std::nullopt, y.ref()},
        ctx);
  };
  auto ours_dgrad = [&](const DeviceTensor& th) {
    return ops::OrientedConv2dBackwardInput(
        args, {dy.ref(), weight.ref(), th.ref(), dx.ref()}, ctx);
  };
  auto ours_wgrad = [&](const DeviceTensor& th, bool with_bias) {
    return ops::OrientedConv2dBackwardParams(
        args,
        {dy.ref(), x.ref(), th.ref(), dw.ref(),
         with_bias ? OptRef(db.ref()) : std::nullopt},
        ctx);
  };
  // A dense baseline: 1 x K with `weight`, or K x K with `dense`.
  auto base_fwd = [&](bool square, bool with_bias) {
    return ops::ConvNdForward(
        square ? square_args : line_args,
        {x.ref(), square ? dense.ref() : weight.ref(),
         with_bias ? OptRef(bias.ref()) : std::nullopt, y_ref.ref()},
        ctx);
  };
  auto base_dgrad = [&](bool square) {
    return ops::ConvNdBackwardInput(
        square ? square_args : line_args,
        {dy.ref(), square ? dense.ref() : weight.ref(), dx_ref.ref()}, ctx);
  };
  auto base_wgrad = [&](bool square, bool with_bias) {
    return ops::ConvNdBackwardParams(
        square ? square_args : line_args,
        {dy.ref(), x.ref(), square ? ddense.ref() : dw_ref.ref(),
         with_bias ? OptRef(db_ref.ref()) : std::nullopt},
        ctx);
  };

  // Checks. theta = 0 is the 1 x K conv with the same weight.
  if (RunOnce(env, name + " check theta=0", [&] {
        TAPCONV_RETURN_IF_ERROR(ours_fwd(theta0, true));
        TAPCONV_RETURN_IF_ERROR(ours_dgrad(theta0));
        TAPCONV_RETURN_IF_ERROR(ours_wgrad(theta0, true));
        TAPCONV_RETURN_IF_ERROR(base_fwd(false, true));
        TAPCONV_RETURN_IF_ERROR(base_dgrad(false));
        return base_wgrad(false, true);
      })) {
    const std::string what = name + ", theta = 0 vs " + env.baseline + " 1xK";
    TAPCONV_RETURN_IF_ERROR(Check(env, what + ": y", y, y_ref));
    TAPCONV_RETURN_IF_ERROR(Check(env, what + ": dx", dx, dx_ref));
    TAPCONV_RETURN_IF_ERROR(Check(env, what + ": dweight", dw, dw_ref));
    TAPCONV_RETURN_IF_ERROR(Check(env, what + ": dbias", db, db_ref));
  }
  // The model angles are the K x K conv with the equivalent dense kernel; the
  // tap gradient is the dense gradient read at the tap's cell.
  if (RunOnce(env, name + " check model angles", [&] {
        TAPCONV_RETURN_IF_ERROR(ours_fwd(theta, false));
        TAPCONV_RETURN_IF_ERROR(ours_dgrad(theta));
        TAPCONV_RETURN_IF_ERROR(ours_wgrad(theta, false));
        TAPCONV_RETURN_IF_ERROR(base_fwd(true, false));
        TAPCONV_RETURN_IF_ERROR(base_dgrad(true));
        return base_wgrad(true, false);
      })) {
    const std::string what =
        name + ", model angles vs " + env.baseline + " KxK (equivalent kernel)";
    TAPCONV_RETURN_IF_ERROR(Check(env, what + ": y", y, y_ref));
    TAPCONV_RETURN_IF_ERROR(Check(env, what + ": dx", dx, dx_ref));
    TAPCONV_ASSIGN_OR_RETURN(const std::vector<float> got, Download(env, dw));
    TAPCONV_ASSIGN_OR_RETURN(const std::vector<float> dd,
                             Download(env, ddense));
    std::vector<float> want(got.size());
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t t = 0; t < k; ++t)
        want[ch * k + t] = dd[ch * k * k + DenseCell(theta_host[ch], t, k)];
    const double err = RelativeError(got, want);
    const bool ok = err <= kTolerance;
    env.checks_failed |= !ok;
    env.check_lines.push_back(
        absl::StrFormat("- %s %s: dweight: max relative error %.2e",
                        ok ? "ok  " : "FAIL", what, err));
  }

  // Timing. Minimum traffic: each activation tensor a pass touches, once.
  const double act_bytes = static_cast<double>(x.bytes());
  const double w_bytes = static_cast<double>(weight.bytes() + theta.bytes());
  const double b_bytes = static_cast<double>(bias.bytes());
  const double fwd_bytes = 2 * act_bytes + w_bytes;
  const double wgrad_bytes = 2 * act_bytes + w_bytes;
  const double dgrad_bytes = 2 * act_bytes + w_bytes;

  OrientedRow fwd{"fwd", {}, {}, {}, fwd_bytes};
  fwd.ours =
      Time(env, name + " fwd tapconv", [&] { return ours_fwd(theta, false); });
  fwd.line =
      Time(env, name + " fwd 1xK", [&] { return base_fwd(false, false); });
  fwd.square =
      Time(env, name + " fwd KxK", [&] { return base_fwd(true, false); });
  rows->push_back(fwd);

  OrientedRow seed{"fwd+wgrad (seed)", {}, {}, {}, fwd_bytes + wgrad_bytes};
  seed.ours = Time(env, name + " fwd+wgrad tapconv", [&] {
    TAPCONV_RETURN_IF_ERROR(ours_fwd(theta, false));
    return ours_wgrad(theta, false);
  });
  seed.line = Time(env, name + " fwd+wgrad 1xK", [&] {
    TAPCONV_RETURN_IF_ERROR(base_fwd(false, false));
    return base_wgrad(false, false);
  });
  seed.square = Time(env, name + " fwd+wgrad KxK", [&] {
    TAPCONV_RETURN_IF_ERROR(base_fwd(true, false));
    return base_wgrad(true, false);
  });
  rows->push_back(seed);

  OrientedRow full{"fwd+bwd (dx, dw, db)",
                   {},
                   {},
                   {},
                   fwd_bytes + dgrad_bytes + wgrad_bytes + 3 * b_bytes};
  full.ours = Time(env, name + " fwd+bwd tapconv", [&] {
    TAPCONV_RETURN_IF_ERROR(ours_fwd(theta, true));
    TAPCONV_RETURN_IF_ERROR(ours_dgrad(theta));
    return ours_wgrad(theta, true);
  });
  full.line = Time(env, name + " fwd+bwd 1xK", [&] {
    TAPCONV_RETURN_IF_ERROR(base_fwd(false, true));
    TAPCONV_RETURN_IF_ERROR(base_dgrad(false));
    return base_wgrad(false, true);
  });
  full.square = Time(env, name + " fwd+bwd KxK", [&] {
    TAPCONV_RETURN_IF_ERROR(base_fwd(true, true));
    TAPCONV_RETURN_IF_ERROR(base_dgrad(true));
    return base_wgrad(true, true);
  });
  rows->push_back(full);
  return absl::OkStatus();
}

void RunOriented(Env& env) {
  const size_t first_check = env.check_lines.size();
  const size_t first_error = env.errors.size();
  const std::string& b = env.baseline;
  std::printf(
      "\n## Oriented conv (seed 000, Table 5)\n\n"
      "N = %lld, C = %lld, stride 1, no padding trick, trunc tap rule, the "
      "models' eight angles (pi*g/8) over the channels. Baselines: %s "
      "depthwise 1xK (padding (0, K/2); what the seed compared against) and "
      "%s depthwise KxK (padding K/2), both through tapconv's conv_nd. "
      "`fwd+wgrad` is what Table 5 timed (forward + weight gradient, no "
      "bias); `fwd+bwd` adds dx and the bias. Ratio = baseline time / "
      "tapconv time (> 1: tapconv is faster).\n\n",
      static_cast<long long>(kOrientedBatch),
      static_cast<long long>(kOrientedChannels), b.c_str(), b.c_str());
  PrintRow({"H=W", "K", "pass", "tapconv ms", b + " 1xK ms", b + " KxK ms",
            "1xK / tapconv", "KxK / tapconv", "tapconv GB/s", "% of copy BW"});
  PrintRow({"---:", "---:", "---",
            "---:", "---:", "---:", "---:", "---:", "---:", "---:"});
  std::fflush(stdout);
  for (int64_t hw : {14, 28, 56}) {
    for (int64_t k : {7, 31}) {
      std::vector<OrientedRow> rows;
      const absl::Status s = RunOrientedShape(env, hw, k, &rows);
      TrimPool(env);
      if (!s.ok()) {
        env.errors.push_back(absl::StrFormat(
            "oriented %lld^2 K=%lld: %s", static_cast<long long>(hw),
            static_cast<long long>(k), s.ToString()));
      }
      for (const OrientedRow& r : rows) {
        PrintRow({absl::StrCat(hw), absl::StrCat(k), r.pass, MsCell(r.ours),
                  MsCell(r.line), MsCell(r.square), RatioCell(r.line, r.ours),
                  RatioCell(r.square, r.ours),
                  BandwidthCells(env, r.bytes, r.ours)});
      }
      std::fflush(stdout);
    }
  }
  std::printf(
      "\nChecks (tolerance %.0e relative to the baseline's largest "
      "magnitude):\n\n",
      kTolerance);
  for (size_t i = first_check; i < env.check_lines.size(); ++i)
    std::printf("%s\n", env.check_lines[i].c_str());
  PrintErrorsOf(env, first_error);
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------
// DCLS: depthwise, bilinear, S = 17 x 17, Kc = 34.

constexpr int64_t kDclsBatch = 64;
constexpr int64_t kDclsSize = 17;
constexpr int64_t kDclsCount = 34;

struct DclsRow {
  std::string pass;
  std::optional<double> fused, two_step;
  double bytes;
};

absl::Status RunDclsLayer(Env& env, int64_t c, int64_t hw,
                          std::vector<DclsRow>* rows) {
  const int64_t n = kDclsBatch;
  const std::string name =
      absl::StrFormat("dcls C=%lld %lld^2", static_cast<long long>(c),
                      static_cast<long long>(hw));
  std::fprintf(stderr, "%s\n", name.c_str());
  const Dims act = {n, c, hw, hw};
  const Dims w_shape = {c, 1, kDclsCount};
  const Dims p_shape = {2, c, 1, kDclsCount};
  const Dims k_shape = {c, 1, kDclsSize, kDclsSize};
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor x, UniformTensor(env, act, 1));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dy, UniformTensor(env, act, 2));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor weight,
                           UniformTensor(env, w_shape, 3, -0.1, 0.1));
  // Spread over the box, as trained layers are: almost every element has
  // four distinct bilinear taps.
  TAPCONV_ASSIGN_OR_RETURN(
      DeviceTensor positions,
      UniformTensor(env, p_shape, 4, -(kDclsSize / 2), kDclsSize / 2));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor bias, UniformTensor(env, {c}, 5));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor y, env.Tensor(DType::kF32, act));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor y_ref, env.Tensor(DType::kF32, act));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dx, env.Tensor(DType::kF32, act));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dx_ref, env.Tensor(DType::kF32, act));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor kernel,
                           env.Tensor(DType::kF32, k_shape));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dkernel,
                           env.Tensor(DType::kF32, k_shape));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dw, env.Tensor(DType::kF32, w_shape));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dw_ref,
                           env.Tensor(DType::kF32, w_shape));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dp, env.Tensor(DType::kF32, p_shape));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dp_ref,
                           env.Tensor(DType::kF32, p_shape));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor db, env.Tensor(DType::kF32, {c}));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor db_ref, env.Tensor(DType::kF32, {c}));

  DclsDepthwiseArgs args;
  args.dcls.dilated_kernel_size = {kDclsSize, kDclsSize};
  args.conv.padding = {kDclsSize / 2};
  args.conv.groups = c;
  const ExecContext& ctx = env.ctx;

  auto fused_fwd = [&] {
    return ops::DclsDepthwiseForward(
        args, {x.ref(), weight.ref(), positions.ref(), bias.ref(), y.ref()},
        ctx);
  };
  auto fused_bwd = [&] {
    TAPCONV_RETURN_IF_ERROR(ops::DclsDepthwiseBackwardInput(
        args, {dy.ref(), weight.ref(), positions.ref(), dx.ref()}, ctx));
    return ops::DclsDepthwiseBackwardParams(
        args,
        {dy.ref(), x.ref(), weight.ref(), positions.ref(), dw.ref(), dp.ref(),
         db.ref()},
        ctx);
  };
  auto two_step_fwd = [&] {
    ops::DclsConvForwardIO io;
    io.x = x.ref();
    io.weight = weight.ref();
    io.positions = positions.ref();
    io.bias = bias.ref();
    io.kernel = kernel.ref();
    io.y = y_ref.ref();
    return ops::DclsConvForward(args.dcls, args.conv, io, ctx);
  };
  auto two_step_bwd = [&] {
    ops::DclsConvBackwardIO io;
    io.dy = dy.ref();
    io.x = x.ref();
    io.weight = weight.ref();
    io.positions = positions.ref();
    io.kernel = kernel.ref();
    io.dkernel = dkernel.ref();
    io.dx = dx_ref.ref();
    io.dweight = dw_ref.ref();
    io.dpositions = dp_ref.ref();
    io.dbias = db_ref.ref();
    return ops::DclsConvBackward(args.dcls, args.conv, io, ctx);
  };

  if (RunOnce(env, name + " check", [&] {
        TAPCONV_RETURN_IF_ERROR(fused_fwd());
        TAPCONV_RETURN_IF_ERROR(fused_bwd());
        TAPCONV_RETURN_IF_ERROR(two_step_fwd());
        return two_step_bwd();
      })) {
    const std::string what = name + ", fused vs construct + " + env.baseline;
    TAPCONV_RETURN_IF_ERROR(Check(env, what + ": y", y, y_ref));
    TAPCONV_RETURN_IF_ERROR(Check(env, what + ": dx", dx, dx_ref));
    TAPCONV_RETURN_IF_ERROR(Check(env, what + ": dweight", dw, dw_ref));
    TAPCONV_RETURN_IF_ERROR(Check(env, what + ": dpositions", dp, dp_ref));
    TAPCONV_RETURN_IF_ERROR(Check(env, what + ": dbias", db, db_ref));
  }

  const double act_bytes = static_cast<double>(x.bytes());
  const double p_bytes =
      static_cast<double>(weight.bytes() + positions.bytes() + bias.bytes());
  const double fwd_bytes = 2 * act_bytes + p_bytes;
  // dgrad: dy -> dx; params: dy and x -> dW, dP, dbias.
  const double bwd_bytes = 4 * act_bytes + 3 * p_bytes;
  DclsRow fwd{"fwd", {}, {}, fwd_bytes};
  fwd.fused = Time(env, name + " fwd fused", fused_fwd);
  fwd.two_step = Time(env, name + " fwd construct+conv", two_step_fwd);
  rows->push_back(fwd);
  DclsRow full{"fwd+bwd (dx, dW, dP, db)", {}, {}, fwd_bytes + bwd_bytes};
  full.fused = Time(env, name + " fwd+bwd fused", [&] {
    TAPCONV_RETURN_IF_ERROR(fused_fwd());
    return fused_bwd();
  });
  full.two_step = Time(env, name + " fwd+bwd construct+conv", [&] {
    TAPCONV_RETURN_IF_ERROR(two_step_fwd());
    return two_step_bwd();
  });
  rows->push_back(full);
  return absl::OkStatus();
}

void RunDcls(Env& env) {
  const size_t first_check = env.check_lines.size();
  const size_t first_error = env.errors.size();
  const std::string& b = env.baseline;
  std::printf(
      "\n## DCLS depthwise (seed 002, ConvNeXt-T-dcls layers)\n\n"
      "N = %lld, bilinear, S = %lld x %lld, Kc = %lld, stride 1, padding "
      "S/2, bias, positions spread over the box. `fused` = "
      "ops::DclsDepthwise* (at most 4 Kc taps per channel, no dense kernel); "
      "`construct + %s` = ops::DclsConvForward / DclsConvBackward (construct "
      "the 17x17 kernel, then %s depthwise conv_nd). Ratio = two-step time / "
      "fused time.\n\n",
      static_cast<long long>(kDclsBatch), static_cast<long long>(kDclsSize),
      static_cast<long long>(kDclsSize), static_cast<long long>(kDclsCount),
      b.c_str(), b.c_str());
  PrintRow({"C", "H=W", "pass", "fused ms", "construct + " + b + " ms", "ratio",
            "fused GB/s", "% of copy BW"});
  PrintRow({"---:", "---:", "---", "---:", "---:", "---:", "---:", "---:"});
  std::fflush(stdout);
  const std::vector<std::pair<int64_t, int64_t>> layers = {
      {96, 56}, {192, 28}, {384, 28}, {384, 14}, {768, 7}};
  for (const auto& [c, hw] : layers) {
    std::vector<DclsRow> rows;
    const absl::Status s = RunDclsLayer(env, c, hw, &rows);
    TrimPool(env);
    if (!s.ok()) {
      env.errors.push_back(
          absl::StrFormat("dcls C=%lld %lld^2: %s", static_cast<long long>(c),
                          static_cast<long long>(hw), s.ToString()));
    }
    for (const DclsRow& r : rows) {
      PrintRow({absl::StrCat(c), absl::StrCat(hw), r.pass, MsCell(r.fused),
                MsCell(r.two_step), RatioCell(r.two_step, r.fused),
                BandwidthCells(env, r.bytes, r.fused)});
    }
    std::fflush(stdout);
  }
  std::printf("\nChecks:\n\n");
  for (size_t i = first_check; i < env.check_lines.size(); ++i)
    std::printf("%s\n", env.check_lines[i].c_str());
  PrintErrorsOf(env, first_error);
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------
// Path conv: PathConv's block conv.

constexpr int64_t kPathBatch = 64;
constexpr int64_t kPathChannels = 96;
constexpr int64_t kPathTaps = 9;

// The three shifted Hilbert paths PathConv's main.py uses at each size.
std::vector<PathSpec> PathSpecsFor(int64_t size) {
  if (size == 32) {
    return {PathSpec{Curve::kHilbert, 0, 0, 0, 0},
            PathSpec{Curve::kHilbert, 24, 14, 1, 180},
            PathSpec{Curve::kHilbert, 18, 7, 0, 270}};
  }
  return {PathSpec{Curve::kHilbert, 0, 0, 0, 0},
          PathSpec{Curve::kHilbert, 7, 7, 0, 180},
          PathSpec{Curve::kHilbert, 40, 13, 1, 0}};
}

struct PathRow {
  std::string pass;
  std::optional<double> fused, unfused;
  double bytes;
};

absl::Status RunPathSize(Env& env, int64_t hw, std::vector<PathRow>* rows) {
  const int64_t n = kPathBatch, c = kPathChannels, k = kPathTaps;
  const std::vector<PathSpec> specs = PathSpecsFor(hw);
  const int64_t paths = static_cast<int64_t>(specs.size());
  const int64_t length = hw * hw;
  const int64_t g = paths * c;  // sequence channels
  const std::string name =
      absl::StrFormat("path %lld^2", static_cast<long long>(hw));
  std::fprintf(stderr, "%s\n", name.c_str());
  std::vector<int64_t> perm_host, inv_host;
  for (const PathSpec& spec : specs) {
    TAPCONV_ASSIGN_OR_RETURN(const std::vector<int64_t> path,
                             BuildPath(hw, hw, spec));
    const std::vector<int64_t> inverse = InvertPermutation(path);
    perm_host.insert(perm_host.end(), path.begin(), path.end());
    inv_host.insert(inv_host.end(), inverse.begin(), inverse.end());
  }
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor perm,
                           env.Tensor(DType::kI64, {paths, length}));
  TAPCONV_RETURN_IF_ERROR(Upload(env, perm, perm_host));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor inv,
                           env.Tensor(DType::kI64, {paths, length}));
  TAPCONV_RETURN_IF_ERROR(Upload(env, inv, inv_host));
  const Dims image = {n, c, hw, hw};
  const Dims seq_shape = {n, g, length};  // stride 1, padding K/2
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor x, UniformTensor(env, image, 1));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dy, UniformTensor(env, seq_shape, 2));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor weight,
                           UniformTensor(env, {g, 1, k}, 3));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor bias, UniformTensor(env, {g}, 4));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor seq,
                           env.Tensor(DType::kF32, seq_shape));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dseq,
                           env.Tensor(DType::kF32, seq_shape));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor y, env.Tensor(DType::kF32, seq_shape));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor y_ref,
                           env.Tensor(DType::kF32, seq_shape));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dx, env.Tensor(DType::kF32, image));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dx_ref, env.Tensor(DType::kF32, image));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dw, env.Tensor(DType::kF32, {g, 1, k}));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor dw_ref,
                           env.Tensor(DType::kF32, {g, 1, k}));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor db, env.Tensor(DType::kF32, {g}));
  TAPCONV_ASSIGN_OR_RETURN(DeviceTensor db_ref, env.Tensor(DType::kF32, {g}));

  PathConvArgs args;
  args.stride = 1;
  args.padding = k / 2;
  ConvNdArgs conv;  // nn.Conv1d(G, G, K, padding=K/2, groups=G)
  conv.padding = {k / 2};
  conv.groups = g;
  const ExecContext& ctx = env.ctx;

  auto fused_fwd = [&] {
    return ops::PathConvForward(
        args, {x.ref(), perm.ref(), weight.ref(), bias.ref(), y.ref()}, ctx);
  };
  auto fused_bwd = [&] {
    TAPCONV_RETURN_IF_ERROR(ops::PathConvBackwardInput(
        args, {dy.ref(), inv.ref(), weight.ref(), dx.ref()}, ctx));
    return ops::PathConvBackwardParams(
        args, {dy.ref(), x.ref(), perm.ref(), dw.ref(), db.ref()}, ctx);
  };
  auto unfused_fwd = [&] {
    TAPCONV_RETURN_IF_ERROR(
        ops::PathGather({x.ref(), perm.ref(), seq.ref()}, ctx));
    return ops::ConvNdForward(
        conv, {seq.ref(), weight.ref(), bias.ref(), y_ref.ref()}, ctx);
  };
  auto unfused_bwd = [&] {
    TAPCONV_RETURN_IF_ERROR(ops::ConvNdBackwardInput(
        conv, {dy.ref(), weight.ref(), dseq.ref()}, ctx));
    TAPCONV_RETURN_IF_ERROR(
        ops::PathScatter({dseq.ref(), inv.ref(), dx_ref.ref()}, ctx));
    return ops::ConvNdBackwardParams(
        conv, {dy.ref(), seq.ref(), dw_ref.ref(), db_ref.ref()}, ctx);
  };

  if (RunOnce(env, name + " check", [&] {
        TAPCONV_RETURN_IF_ERROR(fused_fwd());
        TAPCONV_RETURN_IF_ERROR(fused_bwd());
        TAPCONV_RETURN_IF_ERROR(unfused_fwd());
        return unfused_bwd();
      })) {
    const std::string what =
        name + ", fused vs gather + " + env.baseline + " conv1d + scatter";
    TAPCONV_RETURN_IF_ERROR(Check(env, what + ": y", y, y_ref));
    TAPCONV_RETURN_IF_ERROR(Check(env, what + ": dx", dx, dx_ref));
    TAPCONV_RETURN_IF_ERROR(Check(env, what + ": dweight", dw, dw_ref));
    TAPCONV_RETURN_IF_ERROR(Check(env, what + ": dbias", db, db_ref));
  }

  const double image_bytes = static_cast<double>(x.bytes());
  const double seq_bytes = static_cast<double>(y.bytes());
  const double index_bytes = static_cast<double>(perm.bytes());
  const double p_bytes = static_cast<double>(weight.bytes() + bias.bytes());
  const double fwd_bytes = image_bytes + seq_bytes + index_bytes + p_bytes;
  // dgrad: dy -> dx through inv; params: dy and x through perm.
  const double bwd_bytes =
      2 * (image_bytes + seq_bytes + index_bytes) + 2 * p_bytes;
  PathRow fwd{"fwd", {}, {}, fwd_bytes};
  fwd.fused = Time(env, name + " fwd fused", fused_fwd);
  fwd.unfused = Time(env, name + " fwd gather+conv", unfused_fwd);
  rows->push_back(fwd);
  PathRow full{"fwd+bwd (dx, dw, db)", {}, {}, fwd_bytes + bwd_bytes};
  full.fused = Time(env, name + " fwd+bwd fused", [&] {
    TAPCONV_RETURN_IF_ERROR(fused_fwd());
    return fused_bwd();
  });
  full.unfused = Time(env, name + " fwd+bwd gather+conv+scatter", [&] {
    TAPCONV_RETURN_IF_ERROR(unfused_fwd());
    return unfused_bwd();
  });
  rows->push_back(full);
  return absl::OkStatus();
}

void RunPath(Env& env) {
  const size_t first_check = env.check_lines.size();
  const size_t first_error = env.errors.size();
  const std::string& b = env.baseline;
  std::printf(
      "\n## Path conv (seed 001, PathConv block conv)\n\n"
      "N = %lld, C = %lld, 3 shifted Hilbert paths (PathConv's), K = %lld, "
      "stride 1, padding K/2, bias, int64 indices. `fused` = "
      "ops::PathConv* (no gathered copy); `gather + %s` = PathGather + "
      "conv_nd 1D (groups = 3C) and, backward, conv_nd dx + PathScatter + "
      "conv_nd dW/db: what PathConv runs. Ratio = unfused time / fused "
      "time.\n\n",
      static_cast<long long>(kPathBatch), static_cast<long long>(kPathChannels),
      static_cast<long long>(kPathTaps), b.c_str());
  PrintRow({"H=W", "pass", "fused ms", "gather + " + b + " ms", "ratio",
            "fused GB/s", "% of copy BW"});
  PrintRow({"---:", "---", "---:", "---:", "---:", "---:", "---:"});
  std::fflush(stdout);
  for (int64_t hw : {32, 64}) {
    std::vector<PathRow> rows;
    const absl::Status s = RunPathSize(env, hw, &rows);
    TrimPool(env);
    if (!s.ok()) {
      env.errors.push_back(absl::StrFormat(
          "path %lld^2: %s", static_cast<long long>(hw), s.ToString()));
    }
    for (const PathRow& r : rows) {
      PrintRow({absl::StrCat(hw), r.pass, MsCell(r.fused), MsCell(r.unfused),
                RatioCell(r.unfused, r.fused),
                BandwidthCells(env, r.bytes, r.fused)});
    }
    std::fflush(stdout);
  }
  std::printf("\nChecks:\n\n");
  for (size_t i = first_check; i < env.check_lines.size(); ++i)
    std::printf("%s\n", env.check_lines[i].c_str());
  PrintErrorsOf(env, first_error);
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------
// Setup.

// What the dense-conv baseline is: cuDNN when it loads (the same search the
// backend makes, cudnn_library.h), else tapconv's direct conv, which the
// backend falls back to anyway; setting TAPCONV_CUDA_DENSE_CONV makes the
// choice explicit for every op of the run.
std::string ChooseBaseline(std::string* description) {
  const char* mode = std::getenv("TAPCONV_CUDA_DENSE_CONV");
  if (mode != nullptr && std::strcmp(mode, "direct") == 0) {
    *description =
        "tapconv's direct conv kernels (TAPCONV_CUDA_DENSE_CONV=direct), "
        "not cuDNN";
    return "direct";
  }
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("TAPCONV_CUDNN_LIBRARY"); env && *env)
    candidates.emplace_back(env);
  candidates.insert(candidates.end(), {"libcudnn.so.9", "libcudnn.so",
                                       "/usr/local/cuda/lib64/libcudnn.so.9"});
  std::vector<std::string> errors;
  for (const std::string& path : candidates) {
    void* handle = dlopen(path.c_str(), RTLD_LAZY | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* e = dlerror();
      errors.push_back(e != nullptr ? e : path);
      continue;
    }
    using GetVersion = size_t (*)();
    auto get_version =
        reinterpret_cast<GetVersion>(dlsym(handle, "cudnnGetVersion"));
    if (get_version == nullptr) {
      errors.push_back(path + " has no cudnnGetVersion");
      continue;
    }
    const size_t v = get_version();
    // cuDNN 9 encodes major*10000 + minor*100 + patch; 8 encodes major*1000.
    const size_t major = v >= 90000 ? v / 10000 : v / 1000;
    const size_t minor = v >= 90000 ? (v % 10000) / 100 : (v % 1000) / 100;
    *description = absl::StrFormat(
        "cuDNN %d.%d.%d (%s), FMA math (no TF32), deterministic algorithms "
        "chosen by cudnnFind; where cuDNN declines a configuration the "
        "backend falls back to its direct kernels",
        major, minor, v % 100, path);
    return "cuDNN";
  }
  setenv("TAPCONV_CUDA_DENSE_CONV", "direct", 1);
  *description = absl::StrCat(
      "tapconv's direct conv kernels, NOT cuDNN: cuDNN could not be loaded (",
      absl::StrJoin(errors, "; "), ")");
  return "direct";
}

// Keeps freed stream-ordered memory in the pool: the ops' workspace (and
// cuDNN's) is then recycled between runs instead of being returned to the
// driver at every synchronisation, as a framework's caching allocator would.
absl::Status KeepPoolMemory(int device, cudaMemPool_t* kept,
                            std::string* note) {
  *kept = nullptr;
  int pools = 0;
  BENCH_CUDA(
      cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device));
  if (pools == 0) {
    *note = "no stream-ordered memory pools: workspace uses cudaMalloc";
    return absl::OkStatus();
  }
  cudaMemPool_t pool = nullptr;
  BENCH_CUDA(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t threshold = std::numeric_limits<uint64_t>::max();
  BENCH_CUDA(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold,
                                     &threshold));
  *kept = pool;
  *note =
      "workspace from the default memory pool, release threshold "
      "unlimited (cached between runs)";
  return absl::OkStatus();
}

std::string VersionString(int v) {
  return absl::StrCat(v / 1000, ".", (v % 1000) / 10);
}

absl::Status Run(Env& env) {
  BENCH_CUDA(cudaSetDevice(0));
  cudaDeviceProp prop;
  BENCH_CUDA(cudaGetDeviceProperties(&prop, 0));
  int driver = 0, runtime = 0;
  BENCH_CUDA(cudaDriverGetVersion(&driver));
  BENCH_CUDA(cudaRuntimeGetVersion(&runtime));
  BENCH_CUDA(cudaStreamCreateWithFlags(&env.stream, cudaStreamNonBlocking));
  env.ctx.backend = "cuda";
  env.ctx.stream = env.stream;
  std::string pool_note;
  TAPCONV_RETURN_IF_ERROR(KeepPoolMemory(0, &env.pool, &pool_note));
  std::string baseline_note;
  env.baseline = ChooseBaseline(&baseline_note);

  std::fprintf(stderr, "measuring device-to-device copy bandwidth\n");
  size_t copy_bytes = 0;
  TAPCONV_ASSIGN_OR_RETURN(
      env.copy_gbs, CopyBandwidth(env, env.options.copy_mib, &copy_bytes));

  std::printf("# tapconv GPU benchmark\n\n");
  std::printf("- device: %s, sm_%d%d, %d SMs, %.1f GiB\n", prop.name,
              prop.major, prop.minor, prop.multiProcessorCount,
              static_cast<double>(prop.totalGlobalMem) / (1 << 30));
  std::printf("- CUDA driver %s, runtime %s (static)\n",
              VersionString(driver).c_str(), VersionString(runtime).c_str());
  std::printf("- dense-conv baseline: %s\n", baseline_note.c_str());
  std::printf(
      "- device-to-device copy bandwidth: %.0f GB/s (cudaMemcpyAsync of "
      "%zu MiB, read + write bytes, median of %d)\n",
      env.copy_gbs, copy_bytes >> 20, env.options.reps);
  std::printf(
      "- timing: median of %d runs after %d warm-up runs, CUDA events, one "
      "non-blocking stream, float32, NCHW; %s\n",
      env.options.reps, env.options.warmup, pool_note.c_str());
  std::printf(
      "- GB/s: minimum traffic of the timed passes (each activation tensor a "
      "pass reads or writes, once, plus parameters) / median time\n");
  std::fflush(stdout);

  if (env.options.oriented) RunOriented(env);
  if (env.options.dcls) RunDcls(env);
  if (env.options.path) RunPath(env);
  BENCH_CUDA(cudaStreamSynchronize(env.stream));
  BENCH_CUDA(cudaStreamDestroy(env.stream));
  env.stream = nullptr;
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  Options options;
  bool help = false;
  if (std::optional<std::string> error =
          ParseOptions(argc, argv, &options, &help)) {
    std::fprintf(stderr, "gpu_bench: %s\n\n%s", error->c_str(), kUsage);
    return kExitUsage;
  }
  if (help) {
    std::printf("%s", kUsage);
    return 0;
  }
  const Backend* backend = BackendRegistry::Global().Find("cuda");
  if (backend == nullptr) {
    std::fprintf(stderr,
                 "no CUDA device: the cuda backend is not linked into this "
                 "binary\n");
    return kExitNoDevice;
  }
  if (!backend->available()) {
    // The backend's reason may already start with the same words.
    const std::string why = backend->unavailable_reason();
    absl::string_view reason = why;
    absl::ConsumePrefix(&reason, "no usable CUDA device: ");
    std::fprintf(stderr, "no CUDA device: %s\n", std::string(reason).c_str());
    return kExitNoDevice;
  }
  if (options.probe) {
    cudaDeviceProp prop;
    int driver = 0;
    const absl::Status s = [&]() -> absl::Status {
      BENCH_CUDA(cudaGetDeviceProperties(&prop, 0));
      BENCH_CUDA(cudaDriverGetVersion(&driver));
      return absl::OkStatus();
    }();
    if (!s.ok()) {
      std::fprintf(stderr, "no CUDA device: %s\n", s.ToString().c_str());
      return kExitNoDevice;
    }
    std::printf("cuda device 0: %s, sm_%d%d, %d SMs; CUDA driver %s\n",
                prop.name, prop.major, prop.minor, prop.multiProcessorCount,
                VersionString(driver).c_str());
    return 0;
  }
  Env env;
  env.backend = backend;
  env.options = options;
  const absl::Status status = Run(env);
  if (!status.ok()) {
    std::fprintf(stderr, "gpu_bench: %s\n", status.ToString().c_str());
    std::printf("\nFAILED: %s\n", status.ToString().c_str());
    return kExitCheckFailed;
  }
  const size_t checks = env.check_lines.size();
  if (env.checks_failed || !env.errors.empty()) {
    std::printf("\n**FAILED**: %s%s\n",
                env.checks_failed ? "a correctness check failed (times of "
                                    "the failing case are meaningless)"
                                  : "",
                env.errors.empty()
                    ? ""
                    : absl::StrCat(env.checks_failed ? "; " : "",
                                   env.errors.size(), " op error(s)")
                          .c_str());
    std::fprintf(stderr, "gpu_bench: FAILED (see the report)\n");
    return kExitCheckFailed;
  }
  std::printf("\nAll %zu checks passed.\n", checks);
  return 0;
}

}  // namespace
}  // namespace tapconv

int main(int argc, char** argv) { return tapconv::Main(argc, argv); }
