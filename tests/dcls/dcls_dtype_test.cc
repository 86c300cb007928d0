// Every DCLS op in float32, bfloat16 and float16 against the same (rounded)
// inputs in float64, within Tolerance(dtype, reduction length).

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ops/dcls.h"
#include "tests/dcls/dcls_test_util.h"
#include "tests/test_util.h"

namespace tapconv::testing {
namespace {

constexpr DType kReducedDTypes[] = {DType::kF32, DType::kBF16, DType::kF16};

void ExpectNear(const HostTensor& actual, const HostTensor& expected,
                DType dtype, int64_t reduction, const std::string& what) {
  const std::vector<double> e = expected.ToDoubles();
  const double tol = Tolerance(dtype, reduction);
  ExpectAllClose(actual.ToDoubles(), e, tol * Scale(e), tol, what);
}

std::optional<TensorRef> Ref(const std::optional<HostTensor>& t) {
  if (!t) return std::nullopt;
  return t->ref();
}

int64_t Volume(const SpatialDims& d) {
  int64_t v = 1;
  for (int64_t s : d) v *= s;
  return v;
}

// Outputs of construct and its backward for one dtype.
struct ConstructOutputs {
  HostTensor kernel, dweight, dpositions;
  std::optional<HostTensor> dsigma;
};

ConstructOutputs RunConstruct(const DclsArgs& args, const DclsParams& p,
                              const HostTensor& dkernel) {
  const DType dtype = p.weight.dtype();
  ConstructOutputs o;
  o.kernel = HostTensor(dtype, DclsKernelShape(args, p.weight.shape()));
  EXPECT_TRUE(ops::DclsConstructKernel(args, {p.weight.ref(), p.positions.ref(),
                                              p.sigma_ref(), o.kernel.ref()})
                  .ok());
  o.dweight = HostTensor(dtype, p.weight.shape());
  o.dpositions = HostTensor(dtype, p.positions.shape());
  if (p.sigma) o.dsigma = HostTensor(dtype, p.positions.shape());
  const absl::Status s = ops::DclsConstructKernelBackward(
      args, {dkernel.ref(), p.weight.ref(), p.positions.ref(), p.sigma_ref(),
             o.dweight.ref(), o.dpositions.ref(), Ref(o.dsigma)});
  EXPECT_TRUE(s.ok()) << s;
  return o;
}

TEST(DclsDTypeTest, ConstructAndBackward) {
  std::mt19937_64 rng(41);
  for (DType dtype : kReducedDTypes) {
    for (const DclsVariant& v : AllDclsVariants()) {
      for (DclsInterpolation interpolation :
           {DclsInterpolation::kBilinear, DclsInterpolation::kGauss,
            DclsInterpolation::kTriangle}) {
        const std::string what = v.name + " " +
                                 InterpolationName(interpolation) + " " +
                                 std::string(DTypeName(dtype));
        SCOPED_TRACE(what);
        const DclsArgs args = MakeDclsArgs(v, interpolation);
        const int64_t k = 4;
        const DclsParams low =
            RandomDclsParams(args, dtype, 2, 2, k, rng, true);
        const DclsParams high = Converted(low, DType::kF64);
        const HostTensor dk_low =
            Uniform(dtype, DclsKernelShape(args, low.weight.shape()), rng);
        const HostTensor dk_high = Converted(dk_low, DType::kF64);
        const ConstructOutputs a = RunConstruct(args, low, dk_low);
        const ConstructOutputs b = RunConstruct(args, high, dk_high);
        // A kernel entry sums K elements; a parameter gradient sums the box.
        const int64_t box = Volume(args.dilated_kernel_size);
        ExpectNear(a.kernel, b.kernel, dtype, k, what + " kernel");
        ExpectNear(a.dweight, b.dweight, dtype, box, what + " dweight");
        ExpectNear(a.dpositions, b.dpositions, dtype, box,
                   what + " dpositions");
        if (a.dsigma) {
          ExpectNear(*a.dsigma, *b.dsigma, dtype, box, what + " dsigma");
        }
      }
    }
  }
}

// Depthwise (bilinear) and composite (every interpolation) runs for one
// dtype.
struct ConvOutputs {
  HostTensor y, dx, dweight, dpositions, dbias;
  std::optional<HostTensor> dsigma;
};

struct ConvInputs {
  DclsParams p;
  HostTensor x, bias, dy;
};

ConvInputs Convert(const ConvInputs& in, DType dtype) {
  return {Converted(in.p, dtype), Converted(in.x, dtype),
          Converted(in.bias, dtype), Converted(in.dy, dtype)};
}

ConvOutputs RunDepthwise(const DclsDepthwiseArgs& args, const ConvInputs& in) {
  const DType dtype = in.x.dtype();
  ConvOutputs o;
  o.y = HostTensor(dtype, in.dy.shape());
  o.dx = HostTensor(dtype, in.x.shape());
  o.dweight = HostTensor(dtype, in.p.weight.shape());
  o.dpositions = HostTensor(dtype, in.p.positions.shape());
  o.dbias = HostTensor(dtype, in.bias.shape());
  EXPECT_TRUE(ops::DclsDepthwiseForward(
                  args, {in.x.ref(), in.p.weight.ref(), in.p.positions.ref(),
                         in.bias.ref(), o.y.ref()})
                  .ok());
  EXPECT_TRUE(
      ops::DclsDepthwiseBackwardInput(args, {in.dy.ref(), in.p.weight.ref(),
                                             in.p.positions.ref(), o.dx.ref()})
          .ok());
  EXPECT_TRUE(ops::DclsDepthwiseBackwardParams(
                  args, {in.dy.ref(), in.x.ref(), in.p.weight.ref(),
                         in.p.positions.ref(), o.dweight.ref(),
                         o.dpositions.ref(), o.dbias.ref()})
                  .ok());
  return o;
}

ConvOutputs RunComposite(const DclsArgs& dcls, const ConvNdArgs& conv,
                         const ConvInputs& in) {
  const DType dtype = in.x.dtype();
  ConvOutputs o;
  const Dims k_shape = DclsKernelShape(dcls, in.p.weight.shape());
  HostTensor kernel(dtype, k_shape), dkernel(dtype, k_shape);
  o.y = HostTensor(dtype, in.dy.shape());
  o.dx = HostTensor(dtype, in.x.shape());
  o.dweight = HostTensor(dtype, in.p.weight.shape());
  o.dpositions = HostTensor(dtype, in.p.positions.shape());
  o.dbias = HostTensor(dtype, in.bias.shape());
  if (in.p.sigma) o.dsigma = HostTensor(dtype, in.p.positions.shape());
  absl::Status s = ops::DclsConvForward(
      dcls, conv,
      {in.x.ref(), in.p.weight.ref(), in.p.positions.ref(), in.p.sigma_ref(),
       in.bias.ref(), kernel.ref(), o.y.ref()});
  EXPECT_TRUE(s.ok()) << s;
  s = ops::DclsConvBackward(
      dcls, conv,
      {in.dy.ref(), in.x.ref(), in.p.weight.ref(), in.p.positions.ref(),
       in.p.sigma_ref(), kernel.ref(), dkernel.ref(), o.dx.ref(),
       o.dweight.ref(), o.dpositions.ref(), Ref(o.dsigma), o.dbias.ref()});
  EXPECT_TRUE(s.ok()) << s;
  return o;
}

void ExpectConvOutputsNear(const ConvOutputs& a, const ConvOutputs& b,
                           DType dtype, int64_t conv_reduction,
                           int64_t param_reduction, const std::string& what) {
  ExpectNear(a.y, b.y, dtype, conv_reduction, what + " y");
  ExpectNear(a.dx, b.dx, dtype, conv_reduction, what + " dx");
  ExpectNear(a.dweight, b.dweight, dtype, param_reduction, what + " dweight");
  ExpectNear(a.dpositions, b.dpositions, dtype, param_reduction,
             what + " dpositions");
  ExpectNear(a.dbias, b.dbias, dtype, param_reduction, what + " dbias");
  if (a.dsigma) {
    ExpectNear(*a.dsigma, *b.dsigma, dtype, param_reduction, what + " dsigma");
  }
}

TEST(DclsDTypeTest, DepthwiseAndComposites) {
  std::mt19937_64 rng(42);
  const DclsVariant v{"2d", {}, {5, 4}};
  const ConvNdArgs conv{{1, 2}, {2, 1}, {1}, 1};
  for (DType dtype : kReducedDTypes) {
    const std::string dname(DTypeName(dtype));
    // Depthwise, 3 channels.
    {
      DclsDepthwiseArgs args;
      args.dcls = MakeDclsArgs(v, DclsInterpolation::kBilinear);
      args.conv = conv;
      args.conv.groups = 3;
      ConvInputs low;
      low.p = RandomDclsParams(args.dcls, dtype, 3, 1, 4, rng, true);
      low.x = Uniform(dtype, {2, 3, 6, 7}, rng);
      low.bias = Uniform(dtype, {3}, rng);
      low.dy = Uniform(dtype,
                       NaiveConvOutputShape(
                           args.conv, low.x.shape(),
                           DclsKernelShape(args.dcls, low.p.weight.shape())),
                       rng);
      const ConvOutputs a = RunDepthwise(args, low);
      const ConvOutputs b = RunDepthwise(args, Convert(low, DType::kF64));
      ExpectConvOutputsNear(a, b, dtype, 20, low.dy.numel(),
                            "depthwise " + dname);
    }
    // Composites, every interpolation, groups 2.
    for (DclsInterpolation interpolation :
         {DclsInterpolation::kBilinear, DclsInterpolation::kGauss,
          DclsInterpolation::kTriangle}) {
      const DclsArgs dcls = MakeDclsArgs(v, interpolation);
      ConvNdArgs grouped = conv;
      grouped.groups = 2;
      ConvInputs low;
      low.p = RandomDclsParams(dcls, dtype, 4, 2, 3, rng, true);
      low.x = Uniform(dtype, {2, 4, 6, 7}, rng);
      low.bias = Uniform(dtype, {4}, rng);
      low.dy = Uniform(
          dtype,
          NaiveConvOutputShape(grouped, low.x.shape(),
                               DclsKernelShape(dcls, low.p.weight.shape())),
          rng);
      const ConvOutputs a = RunComposite(dcls, grouped, low);
      const ConvOutputs b =
          RunComposite(dcls, grouped, Convert(low, DType::kF64));
      // The composite rounds the constructed kernel and its gradient to the
      // dtype between the two steps: count them as part of the reduction.
      ExpectConvOutputsNear(
          a, b, dtype, 2 * 20, low.dy.numel(),
          "composite " + InterpolationName(interpolation) + " " + dname);
    }
  }
}

}  // namespace
}  // namespace tapconv::testing
