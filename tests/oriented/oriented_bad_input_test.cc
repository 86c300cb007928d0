// Every malformed argument of the three oriented ops gives InvalidArgument
// whose message starts with the argument's name, and touches no memory: each
// table row mutates one valid call, and the rows with null, foreign-device,
// mis-strided or oversized tensors would read out of bounds (caught by
// --config=asan) if validation let them through. Outputs and inputs must be
// unchanged afterwards.

#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ops/oriented_conv.h"
#include "tests/oriented/oriented_test_support.h"
#include "tests/test_util.h"

namespace tapconv::testing {
namespace {

constexpr Device kCuda{DeviceKind::kCuda, 0};

// The tensors of one valid call of each op (N=2, C=3, H=5, W=6, K=5, stride 2,
// so the output is 3x3), and storage for the replacement tensors rows make.
class Tensors {
 public:
  Tensors() {
    std::mt19937_64 rng(41);
    for (HostTensor* t :
         {&x, &weight, &theta, &bias, &y, &dy, &dx, &dweight, &dbias}) {
      t->FillUniform(rng);
    }
  }

  // A tensor that lives as long as this object.
  TensorRef Make(DType dtype, Dims shape) {
    spares_.emplace_back(dtype, std::move(shape));
    return spares_.back().ref();
  }

  std::vector<std::vector<double>> Snapshot() const {
    std::vector<std::vector<double>> all;
    for (const HostTensor* t :
         {&x, &weight, &theta, &bias, &y, &dy, &dx, &dweight, &dbias}) {
      all.push_back(t->ToDoubles());
    }
    return all;
  }

  HostTensor x{DType::kF32, {2, 3, 5, 6}};
  HostTensor weight{DType::kF32, {3, 1, 1, 5}};
  HostTensor theta{DType::kF32, {3}};
  HostTensor bias{DType::kF32, {3}};
  HostTensor y{DType::kF32, {2, 3, 3, 3}};
  HostTensor dy{DType::kF32, {2, 3, 3, 3}};
  HostTensor dx{DType::kF32, {2, 3, 5, 6}};
  HostTensor dweight{DType::kF32, {3, 1, 1, 5}};
  HostTensor dbias{DType::kF32, {3}};

 private:
  std::deque<HostTensor> spares_;
};

OrientedConvArgs ValidArgs() {
  OrientedConvArgs args;
  args.stride = 2;
  return args;
}

template <typename IO>
struct Row {
  std::string what;
  std::string arg;  // the argument the message must start with
  std::function<void(OrientedConvArgs&, IO&, Tensors&)> mutate;
};

template <typename IO>
using Access = std::function<TensorRef&(IO&)>;

// Mutations that are wrong for any tensor argument. `anchor` is true for the
// tensor every other is compared with (x, or dx for backward_input): a dtype or
// device change of it is reported by `next`, the first tensor compared with it.
// `any_float` is true for theta, whose float dtype need not match the
// activations'.
template <typename IO>
void AddGenericRows(std::vector<Row<IO>>& rows, const std::string& name,
                    Access<IO> get, bool anchor, const std::string& next,
                    bool any_float) {
  const std::string mismatch = anchor ? next : name;
  rows.push_back({name + " null data", name,
                  [get](auto&, IO& io, Tensors&) { get(io).data = nullptr; }});
  rows.push_back({name + " negative size", name,
                  [get](auto&, IO& io, Tensors&) { get(io).shape[0] = -1; }});
  rows.push_back(
      {name + " fewer strides than sizes", name,
       [get](auto&, IO& io, Tensors&) { get(io).strides.pop_back(); }});
  rows.push_back(
      {name + " non-contiguous", name,
       [get](auto&, IO& io, Tensors&) { get(io).strides.back() = 2; }});
  rows.push_back(
      {name + " more than 2^62 elements", name, [get](auto&, IO& io, Tensors&) {
         TensorRef& t = get(io);
         const int64_t size =
             t.rank() == 1 ? (int64_t{1} << 62) + 1 : int64_t{1} << 40;
         for (int64_t& d : t.shape) d = size;
       }});
  rows.push_back({name + " int32", name, [get](auto&, IO& io, Tensors&) {
                    get(io).dtype = DType::kI32;
                  }});
  rows.push_back({name + " int64", name, [get](auto&, IO& io, Tensors&) {
                    get(io).dtype = DType::kI64;
                  }});
  if (any_float) {
    rows.push_back({name + " float16", name, [get](auto&, IO& io, Tensors&) {
                      get(io).dtype = DType::kF16;
                    }});
    rows.push_back({name + " bfloat16", name, [get](auto&, IO& io, Tensors&) {
                      get(io).dtype = DType::kBF16;
                    }});
  } else {
    rows.push_back(
        {name + " float64 among float32", mismatch,
         [get](auto&, IO& io, Tensors&) { get(io).dtype = DType::kF64; }});
    rows.push_back(
        {name + " float16 among float32", mismatch,
         [get](auto&, IO& io, Tensors&) { get(io).dtype = DType::kF16; }});
  }
  // Host memory labelled as a GPU's: validation must reject it before anything
  // dereferences.
  rows.push_back({name + " on another device", mismatch,
                  [get](auto&, IO& io, Tensors&) { get(io).device = kCuda; }});
  rows.push_back({name + " on another cpu index", mismatch,
                  [get](auto&, IO& io, Tensors&) {
                    get(io).device = Device{DeviceKind::kCpu, 1};
                  }});
}

// `layout_arg`: the first argument an NCHW call read as NHWC fails on.
template <typename IO>
void AddArgsRows(std::vector<Row<IO>>& rows, const std::string& layout_arg) {
  auto args_row = [&rows](std::string what, std::string arg,
                          std::function<void(OrientedConvArgs&)> f) {
    rows.push_back(
        {what, arg, [f](OrientedConvArgs& a, IO&, Tensors&) { f(a); }});
  };
  args_row("stride 0", "stride", [](OrientedConvArgs& a) { a.stride = 0; });
  args_row("stride -2", "stride", [](OrientedConvArgs& a) { a.stride = -2; });
  args_row("stride int64 min", "stride", [](OrientedConvArgs& a) {
    a.stride = std::numeric_limits<int64_t>::min();
  });
  args_row("dilation 0", "dilation",
           [](OrientedConvArgs& a) { a.dilation = 0; });
  args_row("dilation -1", "dilation",
           [](OrientedConvArgs& a) { a.dilation = -1; });
  // K = 5: offsets up to 2 * dilation must stay below 2^30.
  args_row("dilation 2^40", "dilation",
           [](OrientedConvArgs& a) { a.dilation = int64_t{1} << 40; });
  args_row("dilation 2^29", "dilation",
           [](OrientedConvArgs& a) { a.dilation = int64_t{1} << 29; });
  args_row("dilation int64 max", "dilation", [](OrientedConvArgs& a) {
    a.dilation = std::numeric_limits<int64_t>::max();
  });
  args_row("tap_rule 2", "tap_rule",
           [](OrientedConvArgs& a) { a.tap_rule = static_cast<TapRule>(2); });
  args_row("tap_rule 255", "tap_rule",
           [](OrientedConvArgs& a) { a.tap_rule = static_cast<TapRule>(255); });
  args_row("layout 2", "layout",
           [](OrientedConvArgs& a) { a.layout = static_cast<Layout>(2); });
  args_row("layout 200", "layout",
           [](OrientedConvArgs& a) { a.layout = static_cast<Layout>(200); });
  // NHWC reads (2, 3, 5, 6) as C = 6, H = 3, W = 5.
  args_row("layout NHWC for NCHW tensors", layout_arg,
           [](OrientedConvArgs& a) { a.layout = Layout::kNHWC; });
}

// Rows for the weight (or dweight): (C, 1, 1, K) with K odd.
template <typename IO>
void AddWeightRows(std::vector<Row<IO>>& rows, const std::string& name,
                   Access<IO> get) {
  auto shape_row = [&](std::string what, Dims shape) {
    rows.push_back(
        {name + " " + what, name, [get, shape](auto&, IO& io, Tensors& t) {
           get(io) = t.Make(get(io).dtype, shape);
         }});
  };
  shape_row("rank 3", {3, 1, 5});
  shape_row("rank 5", {3, 1, 1, 1, 5});
  shape_row("4 channels for 3", {4, 1, 1, 5});
  shape_row("shape[1] = 2", {3, 2, 1, 5});
  shape_row("shape[2] = 3", {3, 1, 3, 5});
  shape_row("2-D kernel", {3, 1, 5, 5});
  shape_row("even K", {3, 1, 1, 4});
  shape_row("K = 2", {3, 1, 1, 2});
  shape_row("K = 0", {3, 1, 1, 0});
  // K/2 >= 2^30: the tap offsets would overflow int32. The memory is never
  // read.
  rows.push_back({name + " K = 2^31 + 1", name, [get](auto&, IO& io, Tensors&) {
                    TensorRef& w = get(io);
                    w.shape = {3, 1, 1, (int64_t{1} << 31) + 1};
                    w.strides = ContiguousStrides(w.shape);
                  }});
}

template <typename IO>
void AddThetaRows(std::vector<Row<IO>>& rows, Access<IO> get) {
  auto shape_row = [&](std::string what, Dims shape) {
    rows.push_back(
        {"theta " + what, "theta", [get, shape](auto&, IO& io, Tensors& t) {
           get(io) = t.Make(DType::kF32, shape);
         }});
  };
  shape_row("4 angles for 3 channels", {4});
  shape_row("2 angles for 3 channels", {2});
  shape_row("(C, 2)", {3, 2});
  shape_row("(1, C)", {1, 3});
  shape_row("(C, 1, 1)", {3, 1, 1});
  shape_row("scalar", {});
  shape_row("empty", {0});
  AddGenericRows<IO>(rows, "theta", get, false, "", true);
}

// Rows for a (C) vector (bias or dbias).
template <typename IO>
void AddVectorRows(std::vector<Row<IO>>& rows, const std::string& name,
                   Access<IO> get) {
  auto shape_row = [&](std::string what, Dims shape) {
    rows.push_back(
        {name + " " + what, name, [get, shape](auto&, IO& io, Tensors& t) {
           get(io) = t.Make(get(io).dtype, shape);
         }});
  };
  shape_row("4 for 3 channels", {4});
  shape_row("(C, 1)", {3, 1});
  shape_row("scalar", {});
  AddGenericRows<IO>(rows, name, get, false, "", false);
}

// Rows for an activation-shaped tensor whose shape is implied by another one
// (y, dy).
template <typename IO>
void AddImpliedShapeRows(std::vector<Row<IO>>& rows, const std::string& name,
                         Access<IO> get) {
  auto shape_row = [&](std::string what, Dims shape) {
    rows.push_back(
        {name + " " + what, name, [get, shape](auto&, IO& io, Tensors& t) {
           get(io) = t.Make(get(io).dtype, shape);
         }});
  };
  shape_row("not subsampled by the stride", {2, 3, 5, 6});
  shape_row("floor instead of ceil", {2, 3, 2, 3});
  shape_row("one column too many", {2, 3, 3, 4});
  shape_row("batch 1 for 2", {1, 3, 3, 3});
  shape_row("4 channels for 3", {2, 4, 3, 3});
  shape_row("rank 3", {2, 3, 9});
  shape_row("rank 5", {2, 3, 3, 3, 1});
}

// An output sharing memory with an input.
template <typename IO>
void AddOverlapRow(std::vector<Row<IO>>& rows, const std::string& out,
                   Access<IO> get_out, const std::string& in, Access<IO> get_in,
                   int64_t element_offset = 0) {
  rows.push_back({out + " overlaps " + in, out,
                  [get_out, get_in, element_offset](auto&, IO& io, Tensors&) {
                    TensorRef& o = get_out(io);
                    o.data =
                        static_cast<char*>(get_in(io).data) +
                        element_offset * static_cast<int64_t>(SizeOf(o.dtype));
                  }});
}

template <typename IO, typename Call>
void RunRows(const std::vector<Row<IO>>& rows, Call call) {
  ASSERT_GT(rows.size(), 0u);
  for (const Row<IO>& row : rows) {
    Tensors tensors;
    OrientedConvArgs args = ValidArgs();
    IO io = IO::Rebind(tensors);
    const auto before = tensors.Snapshot();
    row.mutate(args, io, tensors);
    const absl::Status status = call(args, io);
    ExpectInvalidArgument(status, row.arg, row.what);
    const auto after = tensors.Snapshot();
    for (size_t i = 0; i < before.size(); ++i) {
      ExpectAllClose(after[i], before[i], 0.0, 0.0,
                     row.what + ": memory changed");
    }
  }
}

struct ForwardIO : OrientedConvForwardIO {
  static ForwardIO Rebind(const Tensors& t) {
    return {
        {t.x.ref(), t.weight.ref(), t.theta.ref(), t.bias.ref(), t.y.ref()}};
  }
};
struct BackwardInputIO : OrientedConvBackwardInputIO {
  static BackwardInputIO Rebind(const Tensors& t) {
    return {{t.dy.ref(), t.weight.ref(), t.theta.ref(), t.dx.ref()}};
  }
};
struct BackwardParamsIO : OrientedConvBackwardParamsIO {
  static BackwardParamsIO Rebind(const Tensors& t) {
    return {
        {t.dy.ref(), t.x.ref(), t.theta.ref(), t.dweight.ref(), t.dbias.ref()}};
  }
};

TEST(OrientedBadInputTest, ValidCallsSucceed) {
  // The tables below mutate these calls: each must be valid as it stands.
  Tensors t;
  const ExecContext ctx = ReferenceContext();
  EXPECT_TRUE(
      ops::OrientedConv2dForward(ValidArgs(), ForwardIO::Rebind(t), ctx).ok());
  EXPECT_TRUE(ops::OrientedConv2dBackwardInput(ValidArgs(),
                                               BackwardInputIO::Rebind(t), ctx)
                  .ok());
  EXPECT_TRUE(ops::OrientedConv2dBackwardParams(
                  ValidArgs(), BackwardParamsIO::Rebind(t), ctx)
                  .ok());
}

TEST(OrientedBadInputTest, Forward) {
  using IO = ForwardIO;
  std::vector<Row<IO>> rows;
  const Access<IO> x = [](IO& io) -> TensorRef& { return io.x; };
  const Access<IO> weight = [](IO& io) -> TensorRef& { return io.weight; };
  const Access<IO> theta = [](IO& io) -> TensorRef& { return io.theta; };
  const Access<IO> bias = [](IO& io) -> TensorRef& { return *io.bias; };
  const Access<IO> y = [](IO& io) -> TensorRef& { return io.y; };
  AddGenericRows<IO>(rows, "x", x, true, "weight", false);
  rows.push_back({"x rank 3", "x", [](auto&, IO& io, Tensors& t) {
                    io.x = t.Make(DType::kF32, {2, 3, 30});
                  }});
  rows.push_back({"x rank 5", "x", [](auto&, IO& io, Tensors& t) {
                    io.x = t.Make(DType::kF32, {2, 3, 5, 6, 1});
                  }});
  rows.push_back(
      {"x 4 channels for weight's 3", "weight", [](auto&, IO& io, Tensors& t) {
         io.x = t.Make(DType::kF32, {2, 4, 5, 6});
       }});
  AddWeightRows<IO>(rows, "weight", weight);
  AddGenericRows<IO>(rows, "weight", weight, false, "", false);
  AddThetaRows<IO>(rows, theta);
  AddVectorRows<IO>(rows, "bias", bias);
  AddImpliedShapeRows<IO>(rows, "y", y);
  AddGenericRows<IO>(rows, "y", y, false, "", false);
  AddOverlapRow<IO>(rows, "y", y, "x", x);
  AddOverlapRow<IO>(rows, "y", y, "x", x, 100);
  AddOverlapRow<IO>(rows, "y", y, "weight", weight);
  AddOverlapRow<IO>(rows, "y", y, "theta", theta);
  AddOverlapRow<IO>(rows, "y", y, "bias", bias);
  AddArgsRows<IO>(rows, "weight");
  RunRows<IO>(rows, [](const OrientedConvArgs& args, const IO& io) {
    return ops::OrientedConv2dForward(args, io, ReferenceContext());
  });
}

TEST(OrientedBadInputTest, BackwardInput) {
  using IO = BackwardInputIO;
  std::vector<Row<IO>> rows;
  const Access<IO> dy = [](IO& io) -> TensorRef& { return io.dy; };
  const Access<IO> weight = [](IO& io) -> TensorRef& { return io.weight; };
  const Access<IO> theta = [](IO& io) -> TensorRef& { return io.theta; };
  const Access<IO> dx = [](IO& io) -> TensorRef& { return io.dx; };
  // dx fixes the input size (ceil(H/s) does not determine H): everything is
  // checked against it.
  AddGenericRows<IO>(rows, "dx", dx, true, "dy", false);
  rows.push_back({"dx rank 3", "dx", [](auto&, IO& io, Tensors& t) {
                    io.dx = t.Make(DType::kF32, {2, 3, 30});
                  }});
  rows.push_back({"dx 4 channels", "dy", [](auto&, IO& io, Tensors& t) {
                    io.dx = t.Make(DType::kF32, {2, 4, 5, 6});
                  }});
  rows.push_back({"dx too tall for dy", "dy", [](auto&, IO& io, Tensors& t) {
                    io.dx = t.Make(DType::kF32, {2, 3, 7, 6});
                  }});
  AddImpliedShapeRows<IO>(rows, "dy", dy);
  AddGenericRows<IO>(rows, "dy", dy, false, "", false);
  AddWeightRows<IO>(rows, "weight", weight);
  AddGenericRows<IO>(rows, "weight", weight, false, "", false);
  AddThetaRows<IO>(rows, theta);
  AddOverlapRow<IO>(rows, "dx", dx, "dy", dy);
  AddOverlapRow<IO>(rows, "dx", dx, "weight", weight);
  AddOverlapRow<IO>(rows, "dx", dx, "theta", theta);
  AddArgsRows<IO>(rows, "dy");
  RunRows<IO>(rows, [](const OrientedConvArgs& args, const IO& io) {
    return ops::OrientedConv2dBackwardInput(args, io, ReferenceContext());
  });
}

TEST(OrientedBadInputTest, BackwardParams) {
  using IO = BackwardParamsIO;
  std::vector<Row<IO>> rows;
  const Access<IO> dy = [](IO& io) -> TensorRef& { return io.dy; };
  const Access<IO> x = [](IO& io) -> TensorRef& { return io.x; };
  const Access<IO> theta = [](IO& io) -> TensorRef& { return io.theta; };
  const Access<IO> dweight = [](IO& io) -> TensorRef& { return *io.dweight; };
  const Access<IO> dbias = [](IO& io) -> TensorRef& { return *io.dbias; };
  AddGenericRows<IO>(rows, "x", x, true, "dy", false);
  rows.push_back({"x rank 3", "x", [](auto&, IO& io, Tensors& t) {
                    io.x = t.Make(DType::kF32, {2, 3, 30});
                  }});
  AddImpliedShapeRows<IO>(rows, "dy", dy);
  AddGenericRows<IO>(rows, "dy", dy, false, "", false);
  AddThetaRows<IO>(rows, theta);
  AddWeightRows<IO>(rows, "dweight", dweight);
  AddGenericRows<IO>(rows, "dweight", dweight, false, "", false);
  AddVectorRows<IO>(rows, "dbias", dbias);
  rows.push_back({"nothing requested", "dweight", [](auto&, IO& io, Tensors&) {
                    io.dweight.reset();
                    io.dbias.reset();
                  }});
  // dbias alone still checks dy against x, and dbias itself.
  rows.push_back({"dbias alone, dy of the wrong size", "dy",
                  [](auto&, IO& io, Tensors& t) {
                    io.dweight.reset();
                    io.dy = t.Make(DType::kF32, {2, 3, 5, 6});
                  }});
  rows.push_back(
      {"dbias alone, 4 channels", "dbias", [](auto&, IO& io, Tensors& t) {
         io.dweight.reset();
         io.dbias = t.Make(DType::kF32, {4});
       }});
  rows.push_back(
      {"dweight alone, even K", "dweight", [](auto&, IO& io, Tensors& t) {
         io.dbias.reset();
         io.dweight = t.Make(DType::kF32, {3, 1, 1, 6});
       }});
  AddOverlapRow<IO>(rows, "dweight", dweight, "x", x);
  AddOverlapRow<IO>(rows, "dweight", dweight, "dy", dy);
  AddOverlapRow<IO>(rows, "dweight", dweight, "theta", theta);
  AddOverlapRow<IO>(rows, "dbias", dbias, "x", x);
  AddOverlapRow<IO>(rows, "dbias", dbias, "dy", dy, 7);
  AddOverlapRow<IO>(rows, "dbias", dbias, "dweight", dweight, 2);
  AddOverlapRow<IO>(rows, "dbias", dbias, "theta", theta);
  AddArgsRows<IO>(rows, "dy");
  RunRows<IO>(rows, [](const OrientedConvArgs& args, const IO& io) {
    return ops::OrientedConv2dBackwardParams(args, io, ReferenceContext());
  });
}

// theta's values are checked by the backend once it reads them (they may live
// on a GPU, out of the validators' reach): a non-finite angle, or one beyond
// float32 range, would make the tap offsets undefined behaviour.
TEST(OrientedBadInputTest, NonFiniteAnglesAreRejected) {
  const std::vector<double> non_finite = {
      std::numeric_limits<double>::quiet_NaN(),
      std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity()};
  std::vector<double> beyond_float = non_finite;
  beyond_float.push_back(1e300);
  beyond_float.push_back(-1e39);
  for (DType dtype : {DType::kF32, DType::kF64}) {
    for (double value : dtype == DType::kF32 ? non_finite : beyond_float) {
      for (TapRule rule : {TapRule::kTrunc, TapRule::kLine}) {
        const std::string what =
            absl::StrCat("theta[1] = ", value, " as ", DTypeName(dtype),
                         rule == TapRule::kTrunc ? " trunc" : " line");
        Tensors t;
        HostTensor theta = ThetaTensor({0.5, value, 1.0}, dtype);
        OrientedConvArgs args = ValidArgs();
        args.tap_rule = rule;
        const ExecContext ctx = ReferenceContext();
        const auto before = t.Snapshot();
        ForwardIO f = ForwardIO::Rebind(t);
        f.theta = theta.ref();
        ExpectInvalidArgument(ops::OrientedConv2dForward(args, f, ctx), "theta",
                              what);
        BackwardInputIO bi = BackwardInputIO::Rebind(t);
        bi.theta = theta.ref();
        ExpectInvalidArgument(ops::OrientedConv2dBackwardInput(args, bi, ctx),
                              "theta", what);
        BackwardParamsIO bp = BackwardParamsIO::Rebind(t);
        bp.theta = theta.ref();
        ExpectInvalidArgument(ops::OrientedConv2dBackwardParams(args, bp, ctx),
                              "theta", what);
        const auto after = t.Snapshot();
        for (size_t i = 0; i < before.size(); ++i) {
          ExpectAllClose(after[i], before[i], 0.0, 0.0,
                         what + ": memory changed");
        }
      }
    }
  }
  // The largest float32 angle is fine.
  Tensors t;
  HostTensor theta =
      ThetaTensor({0.0, std::numeric_limits<float>::max(), -1e38}, DType::kF64);
  ForwardIO f = ForwardIO::Rebind(t);
  f.theta = theta.ref();
  EXPECT_TRUE(
      ops::OrientedConv2dForward(ValidArgs(), f, ReferenceContext()).ok());
}

TEST(OrientedBadInputTest, UnknownOrMismatchedBackend) {
  Tensors t;
  ExecContext unknown;
  unknown.backend = "no_such_backend";
  ExpectInvalidArgument(
      ops::OrientedConv2dForward(ValidArgs(), ForwardIO::Rebind(t), unknown),
      "backend", "forward, unknown backend");
  ExpectInvalidArgument(ops::OrientedConv2dBackwardInput(
                            ValidArgs(), BackwardInputIO::Rebind(t), unknown),
                        "backend", "backward_input, unknown backend");
  ExpectInvalidArgument(ops::OrientedConv2dBackwardParams(
                            ValidArgs(), BackwardParamsIO::Rebind(t), unknown),
                        "backend", "backward_params, unknown backend");

  // Every tensor labelled cuda:0 is consistent, but the reference backend runs
  // on host memory.
  ForwardIO f = ForwardIO::Rebind(t);
  for (TensorRef* r : {&f.x, &f.weight, &f.theta, &*f.bias, &f.y})
    r->device = kCuda;
  ExpectInvalidArgument(
      ops::OrientedConv2dForward(ValidArgs(), f, ReferenceContext()), "backend",
      "reference backend on cuda tensors");
  // With no backend named, none serves cuda in this binary (only the reference
  // is linked).
  EXPECT_EQ(ops::OrientedConv2dForward(ValidArgs(), f).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace tapconv::testing
