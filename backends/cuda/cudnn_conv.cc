#include "backends/cuda/cudnn_conv.h"

#include <cuda_runtime_api.h>

#include <climits>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backends/cuda/cuda_kernels.h"
#include "backends/cuda/cudnn_library.h"

// The legacy convolution API is deprecated in cuDNN 9 (still supported).
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace tapconv::cudnn {
namespace {

using gpu::ConvProblem;
using gpu::ElementType;

absl::Status CudnnError(const Library& lib, cudnnStatus_t s,
                        absl::string_view what) {
  return absl::InternalError(
      absl::StrCat("cuDNN ", what, ": ", lib.cudnnGetErrorString(s)));
}

// Statuses meaning "this configuration is not for cuDNN" rather than a fault.
bool IsDecline(cudnnStatus_t s) {
  return s == CUDNN_STATUS_NOT_SUPPORTED || s == CUDNN_STATUS_BAD_PARAM;
}

cudnnDataType_t DataType(ElementType t) {
  switch (t) {
    case ElementType::kF16:
      return CUDNN_DATA_HALF;
    case ElementType::kBF16:
      return CUDNN_DATA_BFLOAT16;
    case ElementType::kF64:
      return CUDNN_DATA_DOUBLE;
    case ElementType::kF32:
      break;
  }
  return CUDNN_DATA_FLOAT;
}

// Descriptors of one problem, destroyed with it.
struct Descriptors {
  const Library& lib;
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  explicit Descriptors(const Library& l) : lib(l) {}
  ~Descriptors() {
    if (x) lib.cudnnDestroyTensorDescriptor(x);
    if (y) lib.cudnnDestroyTensorDescriptor(y);
    if (w) lib.cudnnDestroyFilterDescriptor(w);
    if (conv) lib.cudnnDestroyConvolutionDescriptor(conv);
  }
};

// Spatial axes handed to cuDNN: at least 2 (a 1-D conv is a 2-D one over
// (1, L)).
std::vector<int64_t> Axes(const int64_t* v, int rank, int64_t pad_value) {
  std::vector<int64_t> out;
  if (rank == 1) out.push_back(pad_value);
  for (int a = 3 - rank; a < 3; ++a) out.push_back(v[a]);
  return out;
}

bool FitsInt(const std::vector<int64_t>& v) {
  for (int64_t x : v)
    if (x > INT_MAX || x < 0) return false;
  return true;
}

std::vector<int> ToInt(const std::vector<int64_t>& v) {
  return std::vector<int>(v.begin(), v.end());
}

std::vector<int> Strides(const std::vector<int>& dims) {
  std::vector<int> s(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * dims[i + 1];
  return s;
}

struct Shapes {
  std::vector<int64_t> x, y, w, pad, stride, dilation;
};

Shapes ShapesOf(const ConvProblem& p) {
  Shapes s;
  const int r = p.spatial_rank;
  std::vector<int64_t> in = Axes(p.in, r, 1), out = Axes(p.out, r, 1),
                       k = Axes(p.kernel, r, 1);
  s.x = {p.batch, p.in_channels};
  s.x.insert(s.x.end(), in.begin(), in.end());
  s.y = {p.batch, p.out_channels};
  s.y.insert(s.y.end(), out.begin(), out.end());
  s.w = {p.out_channels, p.in_channels / p.groups};
  s.w.insert(s.w.end(), k.begin(), k.end());
  s.pad = Axes(p.padding, r, 0);
  s.stride = Axes(p.stride, r, 1);
  s.dilation = Axes(p.dilation, r, 1);
  return s;
}

int64_t Product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

struct Choice {
  int algo = -1;
  size_t workspace = 0;
  bool declined = false;
};

struct HandleCache {
  std::mutex mutex;  // serialises every cuDNN call of the process
  std::map<int, cudnnHandle_t> handles;
  std::map<std::string, Choice> choices;
};

HandleCache& Cache() {
  static HandleCache* cache = new HandleCache();
  return *cache;
}

template <typename Perf>
Choice Pick(const Perf* perf, int count) {
  Choice c;
  c.declined = true;
  for (int i = 0; i < count; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
    if (perf[i].determinism != CUDNN_DETERMINISTIC) continue;
    c.algo = static_cast<int>(perf[i].algo);
    c.workspace = perf[i].memory;
    c.declined = false;
    return c;
  }
  return c;
}

}  // namespace

bool Available(std::string* why) {
  const Library& lib = Get();
  if (!lib.loaded && why != nullptr) *why = lib.error;
  return lib.loaded;
}

absl::Status Run(Pass pass, const ConvProblem& p, const gpu::LaunchEnv& env,
                 bool* declined) {
  *declined = false;
  const Library& lib = Get();
  // Without cuDNN the direct kernels run: slower, equally correct, and a
  // machine with only the driver still runs every op.
  if (!lib.loaded) {
    *declined = true;
    return absl::OkStatus();
  }
  const Shapes s = ShapesOf(p);
  // cuDNN's legacy descriptors hold int sizes and strides.
  if (!FitsInt(s.x) || !FitsInt(s.y) || !FitsInt(s.w) || !FitsInt(s.pad) ||
      !FitsInt(s.stride) || !FitsInt(s.dilation) || Product(s.x) > INT_MAX ||
      Product(s.y) > INT_MAX || Product(s.w) > INT_MAX || p.groups > INT_MAX) {
    *declined = true;
    return absl::OkStatus();
  }
  if (Product(s.x) == 0 || Product(s.y) == 0 || Product(s.w) == 0) {
    *declined = true;  // empty tensors: our kernels handle them (zero fills)
    return absl::OkStatus();
  }
  HandleCache& cache = Cache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  int previous = -1;
  cudaGetDevice(&previous);
  if (previous != env.device && cudaSetDevice(env.device) != cudaSuccess)
    return absl::InternalError("cudaSetDevice failed before a cuDNN call");
  struct Restore {
    int device;
    ~Restore() {
      int now = -1;
      if (device >= 0 && cudaGetDevice(&now) == cudaSuccess && now != device)
        cudaSetDevice(device);
    }
  } restore{previous};

  cudnnHandle_t& handle = cache.handles[env.device];
  cudnnStatus_t st;
  if (handle == nullptr) {
    st = lib.cudnnCreate(&handle);
    if (st != CUDNN_STATUS_SUCCESS) {
      handle = nullptr;
      return CudnnError(lib, st, "cudnnCreate");
    }
  }
  st = lib.cudnnSetStream(handle, static_cast<cudaStream_t>(env.stream));
  if (st != CUDNN_STATUS_SUCCESS) return CudnnError(lib, st, "cudnnSetStream");

  const cudnnDataType_t data = DataType(p.type);
  const cudnnDataType_t compute =
      p.type == ElementType::kF64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  // float32/float64: FMA only (no TF32); 16-bit types may use tensor cores.
  const cudnnMathType_t math =
      (p.type == ElementType::kF32 || p.type == ElementType::kF64)
          ? CUDNN_FMA_MATH
          : CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;

  Descriptors d(lib);
  const std::vector<int> xd = ToInt(s.x), yd = ToInt(s.y), wd = ToInt(s.w);
  const std::vector<int> pad = ToInt(s.pad), stride = ToInt(s.stride),
                         dil = ToInt(s.dilation);
  const int nd = static_cast<int>(xd.size());
  auto check = [&](cudnnStatus_t status, const char* what) -> absl::Status {
    if (status == CUDNN_STATUS_SUCCESS) return absl::OkStatus();
    if (IsDecline(status)) {
      *declined = true;
      return absl::OkStatus();
    }
    return CudnnError(lib, status, what);
  };
#define TAPCONV_CUDNN_TRY(call, what)      \
  do {                                     \
    absl::Status _s = check((call), what); \
    if (!_s.ok() || *declined) return _s;  \
  } while (0)
  TAPCONV_CUDNN_TRY(lib.cudnnCreateTensorDescriptor(&d.x), "descriptor");
  TAPCONV_CUDNN_TRY(lib.cudnnCreateTensorDescriptor(&d.y), "descriptor");
  TAPCONV_CUDNN_TRY(lib.cudnnCreateFilterDescriptor(&d.w), "descriptor");
  TAPCONV_CUDNN_TRY(lib.cudnnCreateConvolutionDescriptor(&d.conv),
                    "descriptor");
  TAPCONV_CUDNN_TRY(lib.cudnnSetTensorNdDescriptor(d.x, data, nd, xd.data(),
                                                   Strides(xd).data()),
                    "x descriptor");
  TAPCONV_CUDNN_TRY(lib.cudnnSetTensorNdDescriptor(d.y, data, nd, yd.data(),
                                                   Strides(yd).data()),
                    "y descriptor");
  TAPCONV_CUDNN_TRY(lib.cudnnSetFilterNdDescriptor(d.w, data, CUDNN_TENSOR_NCHW,
                                                   nd, wd.data()),
                    "filter descriptor");
  TAPCONV_CUDNN_TRY(lib.cudnnSetConvolutionNdDescriptor(
                        d.conv, nd - 2, pad.data(), stride.data(), dil.data(),
                        CUDNN_CROSS_CORRELATION, compute),
                    "convolution descriptor");
  TAPCONV_CUDNN_TRY(
      lib.cudnnSetConvolutionGroupCount(d.conv, static_cast<int>(p.groups)),
      "group count");
  TAPCONV_CUDNN_TRY(lib.cudnnSetConvolutionMathType(d.conv, math), "math type");

  const std::string key = absl::StrCat(
      static_cast<int>(pass), "|", env.device, "|", static_cast<int>(p.type),
      "|", absl::StrJoin(xd, ","), "|", absl::StrJoin(wd, ","), "|",
      absl::StrJoin(yd, ","), "|", absl::StrJoin(pad, ","), "|",
      absl::StrJoin(stride, ","), "|", absl::StrJoin(dil, ","), "|", p.groups);
  auto found = cache.choices.find(key);
  if (found == cache.choices.end()) {
    Choice c;
    int returned = 0;
    if (pass == Pass::kForward) {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      TAPCONV_CUDNN_TRY(lib.cudnnFindConvolutionForwardAlgorithm(
                            handle, d.x, d.w, d.conv, d.y,
                            CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf),
                        "algorithm search");
      c = Pick(perf, returned);
    } else if (pass == Pass::kBackwardData) {
      cudnnConvolutionBwdDataAlgoPerf_t
          perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      TAPCONV_CUDNN_TRY(
          lib.cudnnFindConvolutionBackwardDataAlgorithm(
              handle, d.w, d.y, d.conv, d.x,
              CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, perf),
          "algorithm search");
      c = Pick(perf, returned);
    } else {
      cudnnConvolutionBwdFilterAlgoPerf_t
          perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      TAPCONV_CUDNN_TRY(
          lib.cudnnFindConvolutionBackwardFilterAlgorithm(
              handle, d.x, d.y, d.conv, d.w,
              CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, perf),
          "algorithm search");
      c = Pick(perf, returned);
    }
    found = cache.choices.emplace(key, c).first;
  }
  const Choice& choice = found->second;
  if (choice.declined) {
    *declined = true;
    return absl::OkStatus();
  }

  const gpu::DeviceInfo* info = nullptr;
  const gpu::Status info_status = gpu::CudaDeviceInfo(env.device, &info);
  if (!info_status.ok()) return absl::InternalError(info_status.message);
  cudaStream_t stream = static_cast<cudaStream_t>(env.stream);
  void* workspace = nullptr;
  if (choice.workspace > 0) {
    const cudaError_t e =
        info->stream_ordered_alloc
            ? cudaMallocAsync(&workspace, choice.workspace, stream)
            : cudaMalloc(&workspace, choice.workspace);
    if (e != cudaSuccess) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cuDNN workspace of ", choice.workspace,
                       " bytes: ", cudaGetErrorString(e)));
    }
  }
  const float one_f = 1.0f, zero_f = 0.0f;
  const double one_d = 1.0, zero_d = 0.0;
  const bool dbl = p.type == ElementType::kF64;
  const void* alpha = dbl ? static_cast<const void*>(&one_d) : &one_f;
  const void* beta = dbl ? static_cast<const void*>(&zero_d) : &zero_f;
  if (pass == Pass::kForward) {
    st = lib.cudnnConvolutionForward(
        handle, alpha, d.x, p.x, d.w, p.weight, d.conv,
        static_cast<cudnnConvolutionFwdAlgo_t>(choice.algo), workspace,
        choice.workspace, beta, d.y, p.y);
  } else if (pass == Pass::kBackwardData) {
    st = lib.cudnnConvolutionBackwardData(
        handle, alpha, d.w, p.weight, d.y, p.dy, d.conv,
        static_cast<cudnnConvolutionBwdDataAlgo_t>(choice.algo), workspace,
        choice.workspace, beta, d.x, p.dx);
  } else {
    st = lib.cudnnConvolutionBackwardFilter(
        handle, alpha, d.x, p.x, d.y, p.dy, d.conv,
        static_cast<cudnnConvolutionBwdFilterAlgo_t>(choice.algo), workspace,
        choice.workspace, beta, d.w, p.dweight);
  }
  if (workspace != nullptr) {
    if (info->stream_ordered_alloc) {
      cudaFreeAsync(workspace, stream);
    } else {
      cudaFree(workspace);
    }
  }
  if (st != CUDNN_STATUS_SUCCESS) return CudnnError(lib, st, "convolution");
  return absl::OkStatus();
#undef TAPCONV_CUDNN_TRY
}

}  // namespace tapconv::cudnn
