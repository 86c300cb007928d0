// Every malformed argument of every DCLS op gives InvalidArgument naming it:
// construct, construct backward, the three fused depthwise ops and the two
// composites.

#include <cmath>
#include <limits>
#include <random>

#include "gtest/gtest.h"
#include "ops/dcls.h"
#include "tests/dcls/bad_input_table.h"
#include "tests/dcls/dcls_test_util.h"

namespace tapconv::testing {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

template <typename IO>
using Rows = std::vector<BadInputRow<DclsArgs, IO>>;

// Rows on DclsArgs alone, valid for any IO (the args are checked first).
template <typename IO>
Rows<IO> ArgsRows() {
  using A = DclsArgs;
  return {
      {"no learnable axis", [](A& a, IO&) { a.dilated_kernel_size = {}; },
       "dilated_kernel_size"},
      {"four learnable axes",
       [](A& a, IO&) {
         a.dilated_kernel_size = {3, 3, 3, 3};
       },
       "dilated_kernel_size"},
      {"four axes in total",
       [](A& a, IO&) {
         a.dense_kernel_size = {2, 2};
       },
       "dense_kernel_size"},
      {"S = 0", [](A& a, IO&) { a.dilated_kernel_size[0] = 0; },
       "dilated_kernel_size"},
      {"S < 0", [](A& a, IO&) { a.dilated_kernel_size[1] = -3; },
       "dilated_kernel_size"},
      {"S too large",
       [](A& a, IO&) { a.dilated_kernel_size[0] = int64_t{1} << 31; },
       "dilated_kernel_size"},
      {"dense size 0", [](A& a, IO&) { a.dense_kernel_size[0] = 0; },
       "dense_kernel_size"},
      {"unknown interpolation",
       [](A& a, IO&) { a.interpolation = static_cast<DclsInterpolation>(9); },
       "interpolation"},
      {"unknown axis order",
       [](A& a, IO&) { a.axis_order = static_cast<DclsAxisOrder>(5); },
       "axis_order"},
      {"epsilon < 0", [](A& a, IO&) { a.normalization_epsilon = -1e-7; },
       "normalization_epsilon"},
      {"epsilon NaN", [](A& a, IO&) { a.normalization_epsilon = kNaN; },
       "normalization_epsilon"},
      {"epsilon inf", [](A& a, IO&) { a.normalization_epsilon = kInf; },
       "normalization_epsilon"},
      {"sigma floor NaN", [](A& a, IO&) { a.sigma_floor = kNaN; },
       "sigma_floor"},
      {"sigma floor inf", [](A& a, IO&) { a.sigma_floor = kInf; },
       "sigma_floor"},
  };
}

// Rows for a gauss args struct: the sigma floor must be positive.
template <typename IO>
Rows<IO> SigmaFloorRows() {
  using A = DclsArgs;
  return {
      {"sigma floor 0", [](A& a, IO&) { a.sigma_floor = 0.0; }, "sigma_floor"},
      {"sigma floor < 0", [](A& a, IO&) { a.sigma_floor = -0.1; },
       "sigma_floor"},
      {"triangle sigma floor 0",
       [](A& a, IO&) {
         a.interpolation = DclsInterpolation::kTriangle;
         a.sigma_floor = 0.0;
       },
       "sigma_floor"},
  };
}

template <typename Row>
void Append(std::vector<Row>& rows, const std::vector<Row>& more) {
  rows.insert(rows.end(), more.begin(), more.end());
}

// Parameters of a valid 3_2d gauss layer: weight (3, 2, 2, 4).
struct ParamFixture {
  DclsArgs args;
  DclsParams p;
  ParamFixture(DclsInterpolation interpolation, int64_t c_out, int64_t c_in,
               DType dtype = DType::kF64) {
    args.dense_kernel_size = {2};
    args.dilated_kernel_size = {5, 3};
    args.interpolation = interpolation;
    std::mt19937_64 rng(51);
    p = RandomDclsParams(args, dtype, c_out, c_in, 4, rng, false);
  }
};

// Rows on the DCLS parameters, for any IO with weight, positions, sigma.
template <typename IO>
Rows<IO> ParameterRows(bool with_sigma) {
  using A = DclsArgs;
  Rows<IO> rows = {
      {"weight null", [](A&, IO& io) { io.weight.data = nullptr; }, "weight"},
      {"weight int", [](A&, IO& io) { io.weight.dtype = DType::kI32; },
       "weight"},
      {"weight rank", [](A&, IO& io) { AddAxis(io.weight); }, "weight"},
      {"weight rank low", [](A&, IO& io) { DropAxis(io.weight); }, "weight"},
      {"weight dense size",
       [](A&, IO& io) {
         Resize(io.weight, 2, 3);
         Resize(io.positions, 3, 3);
         if (io.sigma) Resize(*io.sigma, 3, 3);
       },
       "weight"},
      {"weight non-contiguous",
       [](A&, IO& io) { MakeNonContiguous(io.weight); }, "weight"},
      {"weight negative size", [](A&, IO& io) { io.weight.shape[0] = -1; },
       "weight"},
      {"weight strides", [](A&, IO& io) { io.weight.strides.pop_back(); },
       "weight"},
      {"weight on another device", [](A&, IO& io) { OnGpu(io.weight); },
       "positions"},
      {"positions M", [](A&, IO& io) { Resize(io.positions, 0, 3); },
       "positions"},
      {"positions K", [](A&, IO& io) { Resize(io.positions, -1, 5); },
       "positions"},
      {"positions C_out", [](A&, IO& io) { Resize(io.positions, 1, 1); },
       "positions"},
      {"positions rank", [](A&, IO& io) { DropAxis(io.positions); },
       "positions"},
      {"positions dtype", [](A&, IO& io) { OtherFloatDType(io.positions); },
       "positions"},
      {"positions device", [](A&, IO& io) { OnGpu(io.positions); },
       "positions"},
      {"positions non-contiguous",
       [](A&, IO& io) { MakeNonContiguous(io.positions); }, "positions"},
      {"positions null", [](A&, IO& io) { io.positions.data = nullptr; },
       "positions"},
      {"kernel too large to index",
       [](A&, IO& io) {
         // 2^61 weights are fine, 15 * 2^61 kernel entries are not.
         const int64_t huge = int64_t{1} << 30;
         SetShape(io.weight, {huge, huge, 2, 1});
         SetShape(io.positions, {2, huge, huge, 2, 1});
         if (io.sigma) SetShape(*io.sigma, {2, huge, huge, 2, 1});
       },
       "dilated_kernel_size"},
  };
  if (with_sigma) {
    Append(
        rows,
        Rows<IO>{
            {"sigma missing", [](A&, IO& io) { io.sigma.reset(); }, "sigma"},
            {"sigma shape", [](A&, IO& io) { Resize(*io.sigma, 0, 1); },
             "sigma"},
            {"sigma dtype", [](A&, IO& io) { OtherFloatDType(*io.sigma); },
             "sigma"},
            {"sigma device", [](A&, IO& io) { OnGpu(*io.sigma); }, "sigma"},
            {"sigma non-contiguous",
             [](A&, IO& io) { MakeNonContiguous(*io.sigma); }, "sigma"},
            {"sigma null", [](A&, IO& io) { io.sigma->data = nullptr; },
             "sigma"},
            {"sigma given to bilinear",
             [](A& a, IO&) { a.interpolation = DclsInterpolation::kBilinear; },
             "sigma"},
        });
  } else {
    Append(rows,
           Rows<IO>{
               {"sigma required by gauss",
                [](A& a, IO&) { a.interpolation = DclsInterpolation::kGauss; },
                "sigma"},
           });
  }
  return rows;
}

TEST(DclsBadInputTest, Construct) {
  ParamFixture f(DclsInterpolation::kGauss, 3, 2);
  HostTensor kernel(DType::kF64, DclsKernelShape(f.args, f.p.weight.shape()));
  const DclsConstructIO io{f.p.weight.ref(), f.p.positions.ref(),
                           f.p.sigma_ref(), kernel.ref()};
  using IO = DclsConstructIO;
  using A = DclsArgs;
  Rows<IO> rows = ArgsRows<IO>();
  Append(rows, SigmaFloorRows<IO>());
  Append(rows, ParameterRows<IO>(true));
  Append(
      rows,
      Rows<IO>{
          {"kernel S", [](A&, IO& io) { Resize(io.kernel, -1, 4); }, "kernel"},
          {"kernel C_out", [](A&, IO& io) { Resize(io.kernel, 0, 2); },
           "kernel"},
          {"kernel rank", [](A&, IO& io) { DropAxis(io.kernel); }, "kernel"},
          {"kernel dtype", [](A&, IO& io) { OtherFloatDType(io.kernel); },
           "kernel"},
          {"kernel device", [](A&, IO& io) { OnGpu(io.kernel); }, "kernel"},
          {"kernel non-contiguous",
           [](A&, IO& io) { MakeNonContiguous(io.kernel); }, "kernel"},
          {"kernel null", [](A&, IO& io) { io.kernel.data = nullptr; },
           "kernel"},
          {"kernel aliases weight",
           [](A&, IO& io) { io.weight.data = io.kernel.data; }, "kernel"},
          {"kernel aliases positions",
           [](A&, IO& io) { io.positions.data = io.kernel.data; }, "kernel"},
          {"kernel aliases sigma",
           [](A&, IO& io) { io.sigma->data = io.kernel.data; }, "kernel"},
      });
  RunBadInputTable(
      f.args, io,
      [](const A& a, const IO& i) { return ops::DclsConstructKernel(a, i); },
      rows);
  // Bilinear: no sigma allowed, so its rows differ.
  ParamFixture b(DclsInterpolation::kBilinear, 3, 2);
  HostTensor kb(DType::kF64, DclsKernelShape(b.args, b.p.weight.shape()));
  RunBadInputTable(
      b.args, IO{b.p.weight.ref(), b.p.positions.ref(), std::nullopt, kb.ref()},
      [](const A& a, const IO& i) { return ops::DclsConstructKernel(a, i); },
      ParameterRows<IO>(false));
}

TEST(DclsBadInputTest, ConstructBackward) {
  ParamFixture f(DclsInterpolation::kGauss, 3, 2);
  const Dims k_shape = DclsKernelShape(f.args, f.p.weight.shape());
  HostTensor dkernel(DType::kF64, k_shape);
  HostTensor dw(DType::kF64, f.p.weight.shape());
  HostTensor dp(DType::kF64, f.p.positions.shape());
  HostTensor ds(DType::kF64, f.p.positions.shape());
  using IO = DclsConstructBackwardIO;
  using A = DclsArgs;
  const IO io{dkernel.ref(),   f.p.weight.ref(), f.p.positions.ref(),
              f.p.sigma_ref(), dw.ref(),         dp.ref(),
              ds.ref()};
  Rows<IO> rows = ArgsRows<IO>();
  Append(rows, SigmaFloorRows<IO>());
  Append(rows, ParameterRows<IO>(true));
  Append(
      rows,
      Rows<IO>{
          {"dkernel S", [](A&, IO& io) { Resize(io.dkernel, -2, 4); },
           "dkernel"},
          {"dkernel dtype", [](A&, IO& io) { OtherFloatDType(io.dkernel); },
           "dkernel"},
          {"dkernel device", [](A&, IO& io) { OnGpu(io.dkernel); }, "dkernel"},
          {"dkernel non-contiguous",
           [](A&, IO& io) { MakeNonContiguous(io.dkernel); }, "dkernel"},
          {"dkernel null", [](A&, IO& io) { io.dkernel.data = nullptr; },
           "dkernel"},
          {"nothing requested",
           [](A&, IO& io) {
             io.dweight.reset();
             io.dpositions.reset();
             io.dsigma.reset();
           },
           "dweight"},
          {"dsigma for bilinear",
           [](A& a, IO& io) {
             a.interpolation = DclsInterpolation::kBilinear;
             io.sigma.reset();
           },
           "dsigma"},
          {"dweight shape", [](A&, IO& io) { Resize(*io.dweight, -1, 3); },
           "dweight"},
          {"dweight dtype", [](A&, IO& io) { OtherFloatDType(*io.dweight); },
           "dweight"},
          {"dweight device", [](A&, IO& io) { OnGpu(*io.dweight); }, "dweight"},
          {"dweight non-contiguous",
           [](A&, IO& io) { MakeNonContiguous(*io.dweight); }, "dweight"},
          {"dweight null", [](A&, IO& io) { io.dweight->data = nullptr; },
           "dweight"},
          {"dweight aliases dkernel",
           [](A&, IO& io) { io.dweight->data = io.dkernel.data; }, "dweight"},
          {"dweight aliases weight",
           [](A&, IO& io) { io.dweight->data = io.weight.data; }, "dweight"},
          {"dpositions shape", [](A&, IO& io) { Resize(*io.dpositions, 0, 1); },
           "dpositions"},
          {"dpositions dtype",
           [](A&, IO& io) { OtherFloatDType(*io.dpositions); }, "dpositions"},
          {"dpositions aliases positions",
           [](A&, IO& io) { io.dpositions->data = io.positions.data; },
           "dpositions"},
          {"dpositions aliases dweight",
           [](A&, IO& io) { io.dweight->data = io.dpositions->data; },
           "dpositions"},
          {"dsigma shape", [](A&, IO& io) { Resize(*io.dsigma, -1, 1); },
           "dsigma"},
          {"dsigma non-contiguous",
           [](A&, IO& io) { MakeNonContiguous(*io.dsigma); }, "dsigma"},
          {"dsigma aliases sigma",
           [](A&, IO& io) { io.dsigma->data = io.sigma->data; }, "dsigma"},
          {"dsigma aliases dpositions",
           [](A&, IO& io) { io.dsigma->data = io.dpositions->data; }, "dsigma"},
      });
  RunBadInputTable(
      f.args, io,
      [](const A& a, const IO& i) {
        return ops::DclsConstructKernelBackward(a, i);
      },
      rows);
}

// Depthwise: 3 channels, 2-D bilinear S = (5, 4), x (2, 3, 6, 7).
struct DepthwiseFixture {
  DclsDepthwiseArgs args;
  DclsParams p;
  HostTensor x, bias, y, dx, dw, dp, db;
  DepthwiseFixture() {
    args.dcls.dilated_kernel_size = {5, 4};
    args.conv = {{1}, {2, 1}, {1}, 3};
    std::mt19937_64 rng(52);
    p = RandomDclsParams(args.dcls, DType::kF64, 3, 1, 4, rng, false);
    x = Uniform(DType::kF64, {2, 3, 6, 7}, rng);
    bias = Uniform(DType::kF64, {3}, rng);
    y = HostTensor(DType::kF64, {2, 3, 6, 6});
    dx = HostTensor(DType::kF64, x.shape());
    dw = HostTensor(DType::kF64, p.weight.shape());
    dp = HostTensor(DType::kF64, p.positions.shape());
    db = HostTensor(DType::kF64, {3});
  }
};

template <typename IO>
using DwRows = std::vector<BadInputRow<DclsDepthwiseArgs, IO>>;

// Rows on the depthwise args and parameters; `x` names the activation that
// sets the shapes (x or dx).
template <typename IO, typename GetX>
DwRows<IO> DepthwiseCommonRows(const std::string& x_name, GetX get_x) {
  using A = DclsDepthwiseArgs;
  DwRows<IO> rows = {
      {"gauss",
       [](A& a, IO&) { a.dcls.interpolation = DclsInterpolation::kGauss; },
       "interpolation"},
      {"no learnable axis", [](A& a, IO&) { a.dcls.dilated_kernel_size = {}; },
       "dilated_kernel_size"},
      {"S = 0", [](A& a, IO&) { a.dcls.dilated_kernel_size[0] = 0; },
       "dilated_kernel_size"},
      {"unknown axis order",
       [](A& a, IO&) { a.dcls.axis_order = static_cast<DclsAxisOrder>(3); },
       "axis_order"},
      {"epsilon", [](A& a, IO&) { a.dcls.normalization_epsilon = kNaN; },
       "normalization_epsilon"},
      {"groups 1", [](A& a, IO&) { a.conv.groups = 1; }, "groups"},
      {"groups 0", [](A& a, IO&) { a.conv.groups = 0; }, "groups"},
      {"stride 0", [](A& a, IO&) { a.conv.stride = {0}; }, "stride"},
      {"stride count",
       [](A& a, IO&) {
         a.conv.stride = {1, 1, 1};
       },
       "stride"},
      {"padding < 0", [](A& a, IO&) { a.conv.padding = {-1}; }, "padding"},
      {"dilation 0",
       [](A& a, IO&) {
         a.conv.dilation = {1, 0};
       },
       "dilation"},
      {"dilation too large",
       [](A& a, IO&) { a.conv.dilation = {int64_t{1} << 59}; },
       "dilated_kernel_size"},
      {"kernel larger than padded input",
       [](A& a, IO&) {
         a.conv.padding = {0};
         a.conv.dilation = {2};
       },
       x_name},
      {x_name + " rank", [get_x](A&, IO& io) { DropAxis(get_x(io)); }, x_name},
      {x_name + " int", [get_x](A&, IO& io) { get_x(io).dtype = DType::kI64; },
       x_name},
      {x_name + " non-contiguous",
       [get_x](A&, IO& io) { MakeNonContiguous(get_x(io)); }, x_name},
      {x_name + " null", [get_x](A&, IO& io) { get_x(io).data = nullptr; },
       x_name},
      {"weight dtype", [](A&, IO& io) { OtherFloatDType(io.weight); },
       "weight"},
      {"weight device", [](A&, IO& io) { OnGpu(io.weight); }, "weight"},
      {"weight for 4 channels",
       [](A&, IO& io) {
         Resize(io.weight, 0, 4);
         Resize(io.positions, 1, 4);
       },
       "weight"},
      {"weight not depthwise",
       [](A&, IO& io) {
         Resize(io.weight, 1, 2);
         Resize(io.positions, 2, 2);
       },
       "weight"},
      {"weight rank", [](A&, IO& io) { AddAxis(io.weight); }, "weight"},
      {"weight null", [](A&, IO& io) { io.weight.data = nullptr; }, "weight"},
      {"positions shape", [](A&, IO& io) { Resize(io.positions, 0, 1); },
       "positions"},
      {"positions dtype", [](A&, IO& io) { OtherFloatDType(io.positions); },
       "positions"},
      {"positions non-contiguous",
       [](A&, IO& io) { MakeNonContiguous(io.positions); }, "positions"},
  };
  return rows;
}

TEST(DclsBadInputTest, DepthwiseForward) {
  DepthwiseFixture f;
  using IO = DclsDepthwiseForwardIO;
  using A = DclsDepthwiseArgs;
  const IO io{f.x.ref(), f.p.weight.ref(), f.p.positions.ref(), f.bias.ref(),
              f.y.ref()};
  DwRows<IO> rows =
      DepthwiseCommonRows<IO>("x", [](IO& io) -> TensorRef& { return io.x; });
  Append(
      rows,
      DwRows<IO>{
          {"bias shape", [](A&, IO& io) { Resize(*io.bias, 0, 2); }, "bias"},
          {"bias dtype", [](A&, IO& io) { OtherFloatDType(*io.bias); }, "bias"},
          {"bias device", [](A&, IO& io) { OnGpu(*io.bias); }, "bias"},
          {"y shape", [](A&, IO& io) { Resize(io.y, 2, 5); }, "y"},
          {"y channels", [](A&, IO& io) { Resize(io.y, 1, 4); }, "y"},
          {"y dtype", [](A&, IO& io) { OtherFloatDType(io.y); }, "y"},
          {"y device", [](A&, IO& io) { OnGpu(io.y); }, "y"},
          {"y non-contiguous", [](A&, IO& io) { MakeNonContiguous(io.y); },
           "y"},
          {"y null", [](A&, IO& io) { io.y.data = nullptr; }, "y"},
          {"y aliases x", [](A&, IO& io) { io.y.data = io.x.data; }, "y"},
          {"y aliases weight", [](A&, IO& io) { io.weight.data = io.y.data; },
           "y"},
          {"y aliases positions",
           [](A&, IO& io) { io.positions.data = io.y.data; }, "y"},
          {"y aliases bias", [](A&, IO& io) { io.bias->data = io.y.data; },
           "y"},
      });
  RunBadInputTable(
      f.args, io,
      [](const A& a, const IO& i) { return ops::DclsDepthwiseForward(a, i); },
      rows);
}

TEST(DclsBadInputTest, DepthwiseBackwardInput) {
  DepthwiseFixture f;
  using IO = DclsDepthwiseBackwardInputIO;
  using A = DclsDepthwiseArgs;
  const IO io{f.y.ref(), f.p.weight.ref(), f.p.positions.ref(), f.dx.ref()};
  DwRows<IO> rows =
      DepthwiseCommonRows<IO>("dx", [](IO& io) -> TensorRef& { return io.dx; });
  Append(
      rows,
      DwRows<IO>{
          {"dy shape", [](A&, IO& io) { Resize(io.dy, -1, 7); }, "dy"},
          {"dy rank", [](A&, IO& io) { AddAxis(io.dy); }, "dy"},
          {"dy dtype", [](A&, IO& io) { OtherFloatDType(io.dy); }, "dy"},
          {"dy device", [](A&, IO& io) { OnGpu(io.dy); }, "dy"},
          {"dy non-contiguous", [](A&, IO& io) { MakeNonContiguous(io.dy); },
           "dy"},
          {"dy null", [](A&, IO& io) { io.dy.data = nullptr; }, "dy"},
          {"dx aliases dy", [](A&, IO& io) { io.dy.data = io.dx.data; }, "dx"},
          {"dx aliases weight", [](A&, IO& io) { io.weight.data = io.dx.data; },
           "dx"},
          {"dx aliases positions",
           [](A&, IO& io) { io.positions.data = io.dx.data; }, "dx"},
      });
  RunBadInputTable(
      f.args, io,
      [](const A& a, const IO& i) {
        return ops::DclsDepthwiseBackwardInput(a, i);
      },
      rows);
}

TEST(DclsBadInputTest, DepthwiseBackwardParams) {
  DepthwiseFixture f;
  using IO = DclsDepthwiseBackwardParamsIO;
  using A = DclsDepthwiseArgs;
  const IO io{f.y.ref(),  f.x.ref(),  f.p.weight.ref(), f.p.positions.ref(),
              f.dw.ref(), f.dp.ref(), f.db.ref()};
  DwRows<IO> rows =
      DepthwiseCommonRows<IO>("x", [](IO& io) -> TensorRef& { return io.x; });
  Append(
      rows,
      DwRows<IO>{
          {"dy shape", [](A&, IO& io) { Resize(io.dy, 0, 1); }, "dy"},
          {"dy dtype", [](A&, IO& io) { OtherFloatDType(io.dy); }, "dy"},
          {"dy null", [](A&, IO& io) { io.dy.data = nullptr; }, "dy"},
          {"nothing requested",
           [](A&, IO& io) {
             io.dweight.reset();
             io.dpositions.reset();
             io.dbias.reset();
           },
           "dweight"},
          {"dweight shape", [](A&, IO& io) { Resize(*io.dweight, -1, 5); },
           "dweight"},
          {"dweight dtype", [](A&, IO& io) { OtherFloatDType(*io.dweight); },
           "dweight"},
          {"dweight non-contiguous",
           [](A&, IO& io) { MakeNonContiguous(*io.dweight); }, "dweight"},
          {"dweight aliases x",
           [](A&, IO& io) { io.dweight->data = io.x.data; }, "dweight"},
          {"dweight aliases dy",
           [](A&, IO& io) { io.dweight->data = io.dy.data; }, "dweight"},
          {"dpositions shape", [](A&, IO& io) { Resize(*io.dpositions, 0, 3); },
           "dpositions"},
          {"dpositions device", [](A&, IO& io) { OnGpu(*io.dpositions); },
           "dpositions"},
          {"dpositions aliases positions",
           [](A&, IO& io) { io.dpositions->data = io.positions.data; },
           "dpositions"},
          {"dpositions aliases dweight",
           [](A&, IO& io) { io.dweight->data = io.dpositions->data; },
           "dpositions"},
          {"dbias shape", [](A&, IO& io) { Resize(*io.dbias, 0, 4); }, "dbias"},
          {"dbias dtype", [](A&, IO& io) { OtherFloatDType(*io.dbias); },
           "dbias"},
          {"dbias aliases weight",
           [](A&, IO& io) { io.dbias->data = io.weight.data; }, "dbias"},
          {"dbias aliases dpositions",
           [](A&, IO& io) { io.dbias->data = io.dpositions->data; }, "dbias"},
      });
  RunBadInputTable(
      f.args, io,
      [](const A& a, const IO& i) {
        return ops::DclsDepthwiseBackwardParams(a, i);
      },
      rows);
}

// Composites: gauss 2-D S = (5, 4), C_in 4, C_out 2, groups 2, x (2, 4, 6, 7).
struct CompositeArgs {
  DclsArgs dcls;
  ConvNdArgs conv;
};

struct CompositeFixture {
  CompositeArgs args;
  DclsParams p;
  HostTensor x, bias, kernel, y, dkernel, dx, dw, dp, ds, db;
  explicit CompositeFixture(DclsInterpolation interpolation) {
    args.dcls.dilated_kernel_size = {5, 4};
    args.dcls.interpolation = interpolation;
    args.conv = {{1}, {2, 1}, {1}, 2};
    std::mt19937_64 rng(53);
    p = RandomDclsParams(args.dcls, DType::kF64, 2, 2, 3, rng, false);
    x = Uniform(DType::kF64, {2, 4, 6, 7}, rng);
    bias = Uniform(DType::kF64, {2}, rng);
    const Dims k_shape = DclsKernelShape(args.dcls, p.weight.shape());
    kernel = HostTensor(DType::kF64, k_shape);
    dkernel = HostTensor(DType::kF64, k_shape);
    y = HostTensor(DType::kF64, {2, 2, 6, 6});
    dx = HostTensor(DType::kF64, x.shape());
    dw = HostTensor(DType::kF64, p.weight.shape());
    dp = HostTensor(DType::kF64, p.positions.shape());
    ds = HostTensor(DType::kF64, p.positions.shape());
    db = HostTensor(DType::kF64, {2});
  }
};

template <typename IO>
using CRows = std::vector<BadInputRow<CompositeArgs, IO>>;

// Rows shared by the composites (x, the channel axes, the conv args).
template <typename IO>
CRows<IO> CompositeCommonRows() {
  using A = CompositeArgs;
  return {
      {"S = 0", [](A& a, IO&) { a.dcls.dilated_kernel_size[1] = 0; },
       "dilated_kernel_size"},
      {"interpolation",
       [](A& a, IO&) {
         a.dcls.interpolation = static_cast<DclsInterpolation>(4);
       },
       "interpolation"},
      {"sigma floor", [](A& a, IO&) { a.dcls.sigma_floor = -1.0; },
       "sigma_floor"},
      {"weight rank", [](A&, IO& io) { AddAxis(io.weight); }, "weight"},
      {"weight null", [](A&, IO& io) { io.weight.data = nullptr; }, "weight"},
      {"positions shape", [](A&, IO& io) { Resize(io.positions, -1, 2); },
       "positions"},
      {"positions dtype", [](A&, IO& io) { OtherFloatDType(io.positions); },
       "positions"},
      {"sigma missing", [](A&, IO& io) { io.sigma.reset(); }, "sigma"},
      {"sigma shape", [](A&, IO& io) { Resize(*io.sigma, 0, 1); }, "sigma"},
      {"kernel shape", [](A&, IO& io) { Resize(io.kernel, -1, 3); }, "kernel"},
      {"kernel dtype", [](A&, IO& io) { OtherFloatDType(io.kernel); },
       "kernel"},
      {"kernel null", [](A&, IO& io) { io.kernel.data = nullptr; }, "kernel"},
      {"x rank", [](A&, IO& io) { AddAxis(io.x); }, "x"},
      {"x dtype", [](A&, IO& io) { OtherFloatDType(io.x); }, "x"},
      {"x int", [](A&, IO& io) { io.x.dtype = DType::kI32; }, "x"},
      {"x device", [](A&, IO& io) { OnGpu(io.x); }, "x"},
      {"x non-contiguous", [](A&, IO& io) { MakeNonContiguous(io.x); }, "x"},
      {"x null", [](A&, IO& io) { io.x.data = nullptr; }, "x"},
      {"x channels for other groups", [](A&, IO& io) { Resize(io.x, 1, 6); },
       "weight"},
      {"groups 0", [](A& a, IO&) { a.conv.groups = 0; }, "groups"},
      {"groups 3", [](A& a, IO&) { a.conv.groups = 3; }, "groups"},
      {"groups 4", [](A& a, IO&) { a.conv.groups = 4; }, "weight"},
      {"stride 0", [](A& a, IO&) { a.conv.stride = {0}; }, "stride"},
      {"padding count",
       [](A& a, IO&) {
         a.conv.padding = {1, 1, 1};
       },
       "padding"},
      {"dilation 0", [](A& a, IO&) { a.conv.dilation = {0}; }, "dilation"},
  };
}

TEST(DclsBadInputTest, ConvForwardComposite) {
  CompositeFixture f(DclsInterpolation::kGauss);
  using IO = ops::DclsConvForwardIO;
  using A = CompositeArgs;
  const IO io{f.x.ref(),       f.p.weight.ref(), f.p.positions.ref(),
              f.p.sigma_ref(), f.bias.ref(),     f.kernel.ref(),
              f.y.ref()};
  CRows<IO> rows = CompositeCommonRows<IO>();
  Append(
      rows,
      CRows<IO>{
          {"x smaller than the kernel",
           [](A& a, IO& io) {
             a.conv.padding = {0};
             Resize(io.x, 2, 4);
           },
           "x"},
          {"bias shape", [](A&, IO& io) { Resize(*io.bias, 0, 1); }, "bias"},
          {"bias dtype", [](A&, IO& io) { OtherFloatDType(*io.bias); }, "bias"},
          {"y shape", [](A&, IO& io) { Resize(io.y, -1, 5); }, "y"},
          {"y dtype", [](A&, IO& io) { OtherFloatDType(io.y); }, "y"},
          {"y null", [](A&, IO& io) { io.y.data = nullptr; }, "y"},
          {"y aliases x", [](A&, IO& io) { io.y.data = io.x.data; }, "y"},
          {"y aliases weight", [](A&, IO& io) { io.weight.data = io.y.data; },
           "y"},
          {"y aliases sigma", [](A&, IO& io) { io.sigma->data = io.y.data; },
           "y"},
          {"y aliases kernel", [](A&, IO& io) { io.kernel.data = io.y.data; },
           "kernel"},
          {"kernel aliases x", [](A&, IO& io) { io.kernel.data = io.x.data; },
           "kernel"},
          {"kernel aliases weight",
           [](A&, IO& io) { io.weight.data = io.kernel.data; }, "kernel"},
          {"kernel aliases bias",
           [](A&, IO& io) { io.bias->data = io.kernel.data; }, "kernel"},
      });
  RunBadInputTable(
      f.args, io,
      [](const A& a, const IO& i) {
        return ops::DclsConvForward(a.dcls, a.conv, i);
      },
      rows);
}

TEST(DclsBadInputTest, ConvBackwardComposite) {
  CompositeFixture f(DclsInterpolation::kGauss);
  using IO = ops::DclsConvBackwardIO;
  using A = CompositeArgs;
  const IO io{f.y.ref(),           f.x.ref(),       f.p.weight.ref(),
              f.p.positions.ref(), f.p.sigma_ref(), f.kernel.ref(),
              f.dkernel.ref(),     f.dx.ref(),      f.dw.ref(),
              f.dp.ref(),          f.ds.ref(),      f.db.ref()};
  CRows<IO> rows = CompositeCommonRows<IO>();
  Append(
      rows,
      CRows<IO>{
          {"nothing requested",
           [](A&, IO& io) {
             io.dx.reset();
             io.dweight.reset();
             io.dpositions.reset();
             io.dsigma.reset();
             io.dbias.reset();
           },
           "dx"},
          {"dsigma for bilinear",
           [](A& a, IO& io) {
             a.dcls.interpolation = DclsInterpolation::kBilinear;
             io.sigma.reset();
           },
           "dsigma"},
          {"dkernel shape", [](A&, IO& io) { Resize(io.dkernel, -2, 4); },
           "dkernel"},
          {"dkernel dtype", [](A&, IO& io) { OtherFloatDType(io.dkernel); },
           "dkernel"},
          {"dkernel null", [](A&, IO& io) { io.dkernel.data = nullptr; },
           "dkernel"},
          {"dkernel aliases dy",
           [](A&, IO& io) { io.dkernel.data = io.dy.data; }, "dkernel"},
          {"dkernel aliases kernel",
           [](A&, IO& io) { io.dkernel.data = io.kernel.data; }, "dkernel"},
          {"dkernel aliases dx",
           [](A&, IO& io) { io.dkernel.data = io.dx->data; }, "dkernel"},
          {"dy shape", [](A&, IO& io) { Resize(io.dy, -1, 5); }, "dy"},
          {"dy channels", [](A&, IO& io) { Resize(io.dy, 1, 1); }, "dy"},
          {"dy rank", [](A&, IO& io) { DropAxis(io.dy); }, "dy"},
          {"dy dtype", [](A&, IO& io) { OtherFloatDType(io.dy); }, "dy"},
          {"dy null", [](A&, IO& io) { io.dy.data = nullptr; }, "dy"},
          {"dy shape, only params",
           [](A&, IO& io) {
             io.dx.reset();
             Resize(io.dy, -1, 5);
           },
           "dy"},
          {"dy shape, only dbias",
           [](A&, IO& io) {
             io.dx.reset();
             io.dweight.reset();
             io.dpositions.reset();
             io.dsigma.reset();
             Resize(io.dy, -1, 5);
           },
           "dy"},
          {"x smaller than the kernel",
           [](A& a, IO& io) {
             a.conv.padding = {0};
             Resize(io.x, 2, 4);
             Resize(*io.dx, 2, 4);
           },
           "x"},
          {"dx shape", [](A&, IO& io) { Resize(*io.dx, -1, 5); }, "dx"},
          {"dx dtype", [](A&, IO& io) { OtherFloatDType(*io.dx); }, "dx"},
          {"dx aliases x", [](A&, IO& io) { io.dx->data = io.x.data; }, "dx"},
          {"dx aliases kernel",
           [](A&, IO& io) { io.kernel.data = io.dx->data; }, "dx"},
          {"dweight shape", [](A&, IO& io) { Resize(*io.dweight, 0, 1); },
           "dweight"},
          {"dweight aliases dx",
           [](A&, IO& io) { io.dweight->data = io.dx->data; }, "dweight"},
          {"dweight aliases dy",
           [](A&, IO& io) { io.dweight->data = io.dy.data; }, "dweight"},
          {"dpositions shape", [](A&, IO& io) { Resize(*io.dpositions, 0, 1); },
           "dpositions"},
          {"dpositions aliases x",
           [](A&, IO& io) { io.dpositions->data = io.x.data; }, "dpositions"},
          {"dsigma shape", [](A&, IO& io) { Resize(*io.dsigma, -1, 1); },
           "dsigma"},
          {"dsigma aliases kernel",
           [](A&, IO& io) { io.dsigma->data = io.kernel.data; }, "dsigma"},
          {"dbias shape", [](A&, IO& io) { Resize(*io.dbias, 0, 1); }, "dbias"},
          {"dbias dtype", [](A&, IO& io) { OtherFloatDType(*io.dbias); },
           "dbias"},
          {"dbias aliases dweight",
           [](A&, IO& io) { io.dbias->data = io.dweight->data; }, "dbias"},
          {"dbias aliases x", [](A&, IO& io) { io.dbias->data = io.x.data; },
           "dbias"},
      });
  RunBadInputTable(
      f.args, io,
      [](const A& a, const IO& i) {
        return ops::DclsConvBackward(a.dcls, a.conv, i);
      },
      rows);
}

}  // namespace
}  // namespace tapconv::testing
