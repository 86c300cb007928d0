#include "backends/cpu/onednn_conv.h"

#include <omp.h>

#include <algorithm>
#include <dnnl.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/onednn_cache.h"
#include "backends/cpu/parallel.h"
#include "ops/float16.h"

namespace tapconv::cpu {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

// Distinct problems kept: a network has a few dozen conv shapes, each with up
// to three ops.
constexpr size_t kCacheCapacity = 256;
// The weight gradient's batch split (see onednn_conv.h).
constexpr int64_t kWeightGradientParts = 8;

// The engine, created once. oneDNN's own instruction set is capped like the
// backend's kernels (TAPCONV_CPU_ISA), so a run under a lowered ISA exercises
// what an older processor would run; this must precede any oneDNN JIT.
const dnnl::engine& Engine() {
  static const dnnl::engine* engine = [] {
    switch (ActiveIsa()) {
      case Isa::kScalar:
        dnnl::set_max_cpu_isa(dnnl::cpu_isa::sse41);
        break;
      case Isa::kAvx2:
        dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx2);
        break;
      case Isa::kAvx512:
        break;
    }
    return new dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return *engine;
}

// Sets the calling thread's OpenMP thread count, which oneDNN reads both when
// a primitive is created (it fixes the work split) and when it runs.
class ScopedOmpThreads {
 public:
  explicit ScopedOmpThreads(int threads) : saved_(omp_get_max_threads()) {
    omp_set_num_threads(threads);
  }
  ~ScopedOmpThreads() { omp_set_num_threads(saved_); }

 private:
  int saved_;
};

// One thread in a forked child: libgomp's thread team does not survive fork()
// and a region of more than one thread would hang there (InForkedChild).
int ThreadCount(int requested) {
  if (InForkedChild()) return 1;
  return ThreadsFor(requested);
}

bool DataTypeOf(DType dtype, Dt* dt) {
  switch (dtype) {
    case DType::kF32:
      *dt = Dt::f32;
      return true;
    case DType::kBF16:
      *dt = Dt::bf16;
      return true;
    default:
      return false;  // oneDNN has no float64 convolution
  }
}

// oneDNN's reference kernels and its im2col + gemm convolutions are far slower
// than the direct kernels (a 17x17 depthwise conv runs ~30x slower through
// gemm), and the gemm path may split reductions by thread count.
bool Acceptable(const std::string& impl) {
  if (impl.empty()) return false;
  if (impl.rfind("ref", 0) == 0 || impl.rfind("gemm", 0) == 0) return false;
  return impl.find(":gemm") == std::string::npos &&
         impl.find("ref:") == std::string::npos;
}

struct Reorder {
  dnnl::reorder primitive;
  memory::desc scratchpad;
};

// A primitive with the layouts it wants and the reorders from and to the
// user's plain (row-major NC*, OI* / GOI*) tensors. Which roles the three
// activations play depends on the op:
//   forward:          in_a = src,      in_b = weights, out = dst
//   backward data:    in_a = diff_dst, in_b = weights, out = diff_src
//   backward weights: in_a = src,      in_b = diff_dst, out = diff_weights
// (diff_weights in float32 for both data types).
struct ConvEntry {
  std::string impl;  // "" = declined
  memory::desc user_a, user_b, user_out, user_bias;
  memory::desc a, b, out;
  memory::desc scratchpad;
  dnnl::primitive primitive;
  std::optional<Reorder> reorder_a, reorder_b, reorder_out;
};

LruCache<ConvEntry>& Cache() {
  static auto* cache = new LruCache<ConvEntry>(kCacheCapacity);
  return *cache;
}

memory::dims ToDims(const SpatialDims& v) {
  return memory::dims(v.begin(), v.end());
}

Tag ActivationTag(int rank) {
  return rank == 1 ? Tag::ncw : (rank == 2 ? Tag::nchw : Tag::ncdhw);
}
Tag WeightTag(int rank, bool grouped) {
  if (grouped)
    return rank == 1 ? Tag::goiw : (rank == 2 ? Tag::goihw : Tag::goidhw);
  return rank == 1 ? Tag::oiw : (rank == 2 ? Tag::oihw : Tag::oidhw);
}

struct ProblemDims {
  memory::dims src, weights, dst, bias, strides, dilates, padding;
};

ProblemDims DimsOf(const ConvNdShape& s, int64_t batch) {
  ProblemDims d;
  d.src = {batch, s.in_channels};
  d.dst = {batch, s.out_channels};
  if (s.groups > 1) {
    d.weights = {s.groups, s.out_channels / s.groups, s.in_channels / s.groups};
  } else {
    d.weights = {s.out_channels, s.in_channels};
  }
  for (int i = 0; i < s.spatial_rank; ++i) {
    d.src.push_back(s.in[i]);
    d.dst.push_back(s.out[i]);
    d.weights.push_back(s.kernel[i]);
    d.dilates.push_back(s.dilation[i] - 1);
  }
  d.bias = {s.out_channels};
  d.strides = ToDims(s.stride);
  d.padding = ToDims(s.padding);
  return d;
}

std::string KeyOf(OnednnConvOp op, const ConvNdShape& s, int64_t batch, Dt dt,
                  bool bias, int threads) {
  return absl::StrCat(
      static_cast<int>(op), "|", static_cast<int>(dt), "|", s.spatial_rank, "|",
      batch, ",", s.in_channels, ",", s.out_channels, ",", s.groups, "|",
      absl::StrJoin(s.in, ","), "|", absl::StrJoin(s.kernel, ","), "|",
      absl::StrJoin(s.stride, ","), "|", absl::StrJoin(s.padding, ","), "|",
      absl::StrJoin(s.dilation, ","), "|", bias, "|", threads);
}

std::optional<Reorder> MakeReorder(const memory::desc& from,
                                   const memory::desc& to) {
  if (from == to) return std::nullopt;
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::reorder::primitive_desc pd(Engine(), from, Engine(), to, attr);
  return Reorder{dnnl::reorder(pd), pd.scratchpad_desc()};
}

std::shared_ptr<const ConvEntry> Build(OnednnConvOp op, const ConvNdShape& s,
                                       int64_t batch, Dt dt, bool with_bias,
                                       int threads) {
  auto entry = std::make_shared<ConvEntry>();
  ScopedOmpThreads omp_threads(threads);
  const ProblemDims d = DimsOf(s, batch);
  const int rank = s.spatial_rank;
  const memory::desc src_any(d.src, dt, Tag::any);
  const memory::desc dst_any(d.dst, dt, Tag::any);
  const memory::desc weights_any(d.weights, dt, Tag::any);
  const memory::desc bias_md(d.bias, Dt::f32, Tag::a);
  const memory::desc user_src(d.src, dt, ActivationTag(rank));
  const memory::desc user_dst(d.dst, dt, ActivationTag(rank));
  const memory::desc user_weights(d.weights, dt, WeightTag(rank, s.groups > 1));
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  try {
    const auto alg = dnnl::algorithm::convolution_direct;
    const auto prop = dnnl::prop_kind::forward_training;
    auto forward_desc =
        with_bias && op == OnednnConvOp::kForward
            ? dnnl::convolution_forward::desc(prop, alg, src_any, weights_any,
                                              bias_md, dst_any, d.strides,
                                              d.dilates, d.padding, d.padding)
            : dnnl::convolution_forward::desc(prop, alg, src_any, weights_any,
                                              dst_any, d.strides, d.dilates,
                                              d.padding, d.padding);
    switch (op) {
      case OnednnConvOp::kForward: {
        dnnl::convolution_forward::primitive_desc pd(forward_desc, attr,
                                                     Engine());
        entry->impl = pd.impl_info_str();
        if (!Acceptable(entry->impl)) break;
        entry->user_a = user_src;
        entry->user_b = user_weights;
        entry->user_out = user_dst;
        entry->user_bias = bias_md;
        entry->a = pd.src_desc();
        entry->b = pd.weights_desc();
        entry->out = pd.dst_desc();
        entry->scratchpad = pd.scratchpad_desc();
        entry->primitive = dnnl::convolution_forward(pd);
        entry->reorder_a = MakeReorder(user_src, entry->a);
        entry->reorder_b = MakeReorder(user_weights, entry->b);
        entry->reorder_out = MakeReorder(entry->out, user_dst);
        break;
      }
      case OnednnConvOp::kBackwardData: {
        dnnl::convolution_forward::primitive_desc hint(forward_desc, Engine());
        dnnl::convolution_backward_data::desc desc(
            alg, src_any, weights_any, dst_any, d.strides, d.dilates, d.padding,
            d.padding);
        dnnl::convolution_backward_data::primitive_desc pd(desc, attr, Engine(),
                                                           hint);
        entry->impl = pd.impl_info_str();
        if (!Acceptable(entry->impl)) break;
        entry->user_a = user_dst;
        entry->user_b = user_weights;
        entry->user_out = user_src;
        entry->a = pd.diff_dst_desc();
        entry->b = pd.weights_desc();
        entry->out = pd.diff_src_desc();
        entry->scratchpad = pd.scratchpad_desc();
        entry->primitive = dnnl::convolution_backward_data(pd);
        entry->reorder_a = MakeReorder(user_dst, entry->a);
        entry->reorder_b = MakeReorder(user_weights, entry->b);
        entry->reorder_out = MakeReorder(entry->out, user_src);
        break;
      }
      case OnednnConvOp::kBackwardWeights: {
        dnnl::convolution_forward::primitive_desc hint(forward_desc, Engine());
        const memory::desc dweights_any(d.weights, Dt::f32, Tag::any);
        const memory::desc user_dweights(d.weights, Dt::f32,
                                         WeightTag(rank, s.groups > 1));
        dnnl::convolution_backward_weights::desc desc(
            alg, src_any, dweights_any, dst_any, d.strides, d.dilates,
            d.padding, d.padding);
        dnnl::convolution_backward_weights::primitive_desc pd(desc, attr,
                                                              Engine(), hint);
        entry->impl = pd.impl_info_str();
        if (!Acceptable(entry->impl)) break;
        entry->user_a = user_src;
        entry->user_b = user_dst;
        entry->user_out = user_dweights;
        entry->a = pd.src_desc();
        entry->b = pd.diff_dst_desc();
        entry->out = pd.diff_weights_desc();
        entry->scratchpad = pd.scratchpad_desc();
        entry->primitive = dnnl::convolution_backward_weights(pd);
        entry->reorder_a = MakeReorder(user_src, entry->a);
        entry->reorder_b = MakeReorder(user_dst, entry->b);
        entry->reorder_out = MakeReorder(entry->out, user_dweights);
        break;
      }
    }
  } catch (const dnnl::error&) {
    // No implementation (or an unsupported combination): declined.
    entry->impl.clear();
  }
  if (!Acceptable(entry->impl)) entry->impl.clear();
  return entry;
}

std::shared_ptr<const ConvEntry> Lookup(OnednnConvOp op, const ConvNdShape& s,
                                        int64_t batch, Dt dt, bool bias,
                                        int threads) {
  return Cache().GetOrCreate(KeyOf(op, s, batch, dt, bias, threads), [&] {
    return Build(op, s, batch, dt, bias, threads);
  });
}

// The primitive's view of a user input: the user's memory itself, or a
// reordered copy.
memory Prepare(const std::optional<Reorder>& reorder, const memory& user,
               const memory::desc& wanted, dnnl::stream& stream) {
  if (!reorder) return user;
  memory converted(wanted, Engine());
  memory scratch(reorder->scratchpad, Engine());
  reorder->primitive.execute(stream, {{DNNL_ARG_FROM, user},
                                      {DNNL_ARG_TO, converted},
                                      {DNNL_ARG_SCRATCHPAD, scratch}});
  return converted;
}

// Runs the entry's primitive on user memory (a, b -> out), with the extra
// arguments of its op.
void Execute(const ConvEntry& e, OnednnConvOp op, void* a, void* b, void* out,
             const float* bias) {
  dnnl::stream stream(Engine());
  const memory user_a(e.user_a, Engine(), a);
  const memory user_b(e.user_b, Engine(), b);
  memory user_out(e.user_out, Engine(), out);
  const memory in_a = Prepare(e.reorder_a, user_a, e.a, stream);
  const memory in_b = Prepare(e.reorder_b, user_b, e.b, stream);
  memory result = e.reorder_out ? memory(e.out, Engine()) : user_out;
  memory scratch(e.scratchpad, Engine());
  std::unordered_map<int, memory> args{{DNNL_ARG_SCRATCHPAD, scratch}};
  switch (op) {
    case OnednnConvOp::kForward:
      args[DNNL_ARG_SRC] = in_a;
      args[DNNL_ARG_WEIGHTS] = in_b;
      args[DNNL_ARG_DST] = result;
      if (bias != nullptr) {
        args[DNNL_ARG_BIAS] =
            memory(e.user_bias, Engine(), const_cast<float*>(bias));
      }
      break;
    case OnednnConvOp::kBackwardData:
      args[DNNL_ARG_DIFF_DST] = in_a;
      args[DNNL_ARG_WEIGHTS] = in_b;
      args[DNNL_ARG_DIFF_SRC] = result;
      break;
    case OnednnConvOp::kBackwardWeights:
      args[DNNL_ARG_SRC] = in_a;
      args[DNNL_ARG_DIFF_DST] = in_b;
      args[DNNL_ARG_DIFF_WEIGHTS] = result;
      break;
  }
  e.primitive.execute(stream, args);
  if (e.reorder_out) {
    memory out_scratch(e.reorder_out->scratchpad, Engine());
    e.reorder_out->primitive.execute(stream,
                                     {{DNNL_ARG_FROM, result},
                                      {DNNL_ARG_TO, user_out},
                                      {DNNL_ARG_SCRATCHPAD, out_scratch}});
  }
  stream.wait();
}

std::vector<float> BiasAsFloats(const TensorRef& bias) {
  std::vector<float> b(bias.numel());
  for (size_t i = 0; i < b.size(); ++i) {
    b[i] = bias.dtype == DType::kBF16
               ? ToFloat(bias.data_as<const BFloat16>()[i])
               : bias.data_as<const float>()[i];
  }
  return b;
}

int64_t SpatialVolume(const SpatialDims& v) {
  int64_t p = 1;
  for (int64_t d : v) p *= d;
  return p;
}

}  // namespace

std::string OnednnConvImplementation(OnednnConvOp op, const ConvNdShape& s,
                                     DType dtype, int num_threads) {
  Dt dt;
  if (!DataTypeOf(dtype, &dt)) return "";
  if (op == OnednnConvOp::kBackwardWeights) {
    const int64_t per_part =
        (s.batch + kWeightGradientParts - 1) / kWeightGradientParts;
    return Lookup(op, s, std::max<int64_t>(per_part, 1), dt, false, 1)->impl;
  }
  return Lookup(op, s, s.batch, dt, false, ThreadCount(num_threads))->impl;
}

absl::StatusOr<bool> OnednnConvForward(const ConvNdShape& s,
                                       const ConvNdForwardIO& io,
                                       int num_threads) {
  Dt dt;
  if (!DataTypeOf(io.x.dtype, &dt)) return false;
  const int threads = ThreadCount(num_threads);
  const std::shared_ptr<const ConvEntry> e = Lookup(
      OnednnConvOp::kForward, s, s.batch, dt, io.bias.has_value(), threads);
  if (e->impl.empty()) return false;
  std::vector<float> bias;
  if (io.bias) bias = BiasAsFloats(*io.bias);
  ScopedOmpThreads omp_threads(threads);
  try {
    Execute(*e, OnednnConvOp::kForward, io.x.data, io.weight.data, io.y.data,
            io.bias ? bias.data() : nullptr);
  } catch (const dnnl::error& error) {
    return absl::InternalError(
        absl::StrCat("oneDNN convolution forward failed: ", error.what()));
  }
  return true;
}

absl::StatusOr<bool> OnednnConvBackwardData(const ConvNdShape& s,
                                            const ConvNdBackwardInputIO& io,
                                            int num_threads) {
  Dt dt;
  if (!DataTypeOf(io.dx.dtype, &dt)) return false;
  const int threads = ThreadCount(num_threads);
  const std::shared_ptr<const ConvEntry> e =
      Lookup(OnednnConvOp::kBackwardData, s, s.batch, dt, false, threads);
  if (e->impl.empty()) return false;
  ScopedOmpThreads omp_threads(threads);
  try {
    Execute(*e, OnednnConvOp::kBackwardData, io.dy.data, io.weight.data,
            io.dx.data, nullptr);
  } catch (const dnnl::error& error) {
    return absl::InternalError(absl::StrCat(
        "oneDNN convolution backward data failed: ", error.what()));
  }
  return true;
}

absl::StatusOr<bool> OnednnConvBackwardWeights(const ConvNdShape& s,
                                               const TensorRef& dy,
                                               const TensorRef& x,
                                               const TensorRef& dweight,
                                               int num_threads) {
  Dt dt;
  if (!DataTypeOf(x.dtype, &dt) || s.batch < 1) return false;
  const int64_t per_part =
      (s.batch + kWeightGradientParts - 1) / kWeightGradientParts;
  const int64_t parts = (s.batch + per_part - 1) / per_part;
  const int64_t last = s.batch - (parts - 1) * per_part;
  const std::shared_ptr<const ConvEntry> full =
      Lookup(OnednnConvOp::kBackwardWeights, s, per_part, dt, false, 1);
  const std::shared_ptr<const ConvEntry> tail =
      last == per_part
          ? full
          : Lookup(OnednnConvOp::kBackwardWeights, s, last, dt, false, 1);
  if (full->impl.empty() || tail->impl.empty()) return false;

  const int64_t count = dweight.numel();
  const size_t es = SizeOf(x.dtype);
  const int64_t x_image = s.in_channels * SpatialVolume(s.in) * es;
  const int64_t dy_image = s.out_channels * SpatialVolume(s.out) * es;
  std::vector<float> partial(parts * count);
  std::mutex error_mutex;
  absl::Status error;
  ParallelFor(parts, 1, num_threads, [&](int64_t begin, int64_t end) {
    // Every part is a single-threaded primitive: its sums do not depend on
    // how many threads run the parts.
    ScopedOmpThreads omp_threads(1);
    for (int64_t part = begin; part < end; ++part) {
      const ConvEntry& e = part == parts - 1 ? *tail : *full;
      try {
        Execute(e, OnednnConvOp::kBackwardWeights,
                static_cast<char*>(x.data) + part * per_part * x_image,
                static_cast<char*>(dy.data) + part * per_part * dy_image,
                partial.data() + part * count, nullptr);
      } catch (const dnnl::error& failure) {
        std::lock_guard<std::mutex> lock(error_mutex);
        error = absl::InternalError(absl::StrCat(
            "oneDNN convolution backward weights failed: ", failure.what()));
      }
    }
  });
  if (!error.ok()) return error;
  for (int64_t i = 0; i < count; ++i) {
    double sum = 0.0;
    for (int64_t part = 0; part < parts; ++part)
      sum += partial[part * count + i];
    if (dweight.dtype == DType::kBF16) {
      dweight.data_as<BFloat16>()[i] = ToBFloat16(static_cast<float>(sum));
    } else {
      dweight.data_as<float>()[i] = static_cast<float>(sum);
    }
  }
  return true;
}

}  // namespace tapconv::cpu
