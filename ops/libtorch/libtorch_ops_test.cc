// The LibTorch adapter against ATen's own convolutions and indexing as oracles.

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ops/geometry/paths.h"
#include "ops/libtorch/autograd.h"
#include "ops/libtorch/tapconv_torch.h"

namespace tapconv {
namespace torch_ops {
namespace {

constexpr double kPi = 3.14159265358979323846;

at::Tensor Rand(at::IntArrayRef size, int seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn(size, gen, at::TensorOptions().dtype(at::kDouble));
}

void ExpectClose(const at::Tensor& a, const at::Tensor& b, double tol = 1e-12) {
  ASSERT_EQ(a.sizes(), b.sizes());
  EXPECT_TRUE(at::allclose(a, b, tol, tol))
      << "max |a - b| = " << (a - b).abs().max().item<double>();
}

// at::conv2d with explicit size vectors (brace lists are ambiguous with the
// string overload).
at::Tensor Conv2d(const at::Tensor& x, const at::Tensor& w,
                  const c10::optional<at::Tensor>& b,
                  std::vector<int64_t> stride, std::vector<int64_t> padding,
                  int64_t groups) {
  const std::vector<int64_t> dilation{1, 1};
  return at::conv2d(x, w, b, at::IntArrayRef(stride), at::IntArrayRef(padding),
                    at::IntArrayRef(dilation), groups);
}

template <typename Error, typename Call>
void ExpectErrorNaming(Call call, const std::string& arg) {
  try {
    call();
    ADD_FAILURE() << "no error; expected one naming " << arg;
  } catch (const Error& e) {
    const std::string message = e.what_without_backtrace();
    EXPECT_EQ(message.rfind(arg + ": ", 0), 0u) << message;
  }
}

TEST(OrientedConv2d, HorizontalEqualsAtenConv1xK) {
  const at::Tensor x = Rand({2, 3, 7, 9}, 1), w = Rand({3, 1, 1, 5}, 2),
                   b = Rand({3}, 3);
  OrientedConvArgs args;
  args.stride = 2;
  const at::Tensor y = OrientedConv2d(x, w, at::zeros({3}), b, args);
  ExpectClose(y, Conv2d(x, w, b, {2, 2}, {0, 2}, 3));
}

TEST(OrientedConv2d, VerticalEqualsAtenConvKx1AndChannelsLastAgrees) {
  const at::Tensor x = Rand({1, 4, 8, 6}, 4), w = Rand({4, 1, 1, 7}, 5);
  const at::Tensor theta = at::full({4}, kPi / 2);
  const at::Tensor y = OrientedConv2d(x, w, theta);
  // +90 degrees: tap j reads row -j, i.e. the (K, 1) kernel flipped.
  ExpectClose(y, Conv2d(x, w.reshape({4, 1, 7, 1}).flip({2}), c10::nullopt,
                        {1, 1}, {3, 0}, 4));
  const at::Tensor y_cl =
      OrientedConv2d(x.contiguous(at::MemoryFormat::ChannelsLast), w, theta);
  EXPECT_TRUE(y_cl.is_contiguous(at::MemoryFormat::ChannelsLast));
  ExpectClose(y_cl, y);
}

TEST(OrientedConv2d, AutogradMatchesAtenConvGradients) {
  const at::Tensor x = Rand({2, 3, 5, 6}, 6).requires_grad_();
  const at::Tensor w = Rand({3, 1, 1, 3}, 7).requires_grad_();
  const at::Tensor b = Rand({3}, 8).requires_grad_();
  const at::Tensor cot = Rand({2, 3, 3, 3}, 9);
  OrientedConvArgs args;
  args.stride = 2;
  const auto ours = torch::autograd::grad(
      {(OrientedConv2dAutograd(x, w, at::zeros({3}), b, args) * cot).sum()},
      {x, w, b});
  const auto theirs = torch::autograd::grad(
      {(Conv2d(x, w, b, {2, 2}, {0, 1}, 3) * cot).sum()}, {x, w, b});
  for (size_t i = 0; i < ours.size(); ++i) ExpectClose(ours[i], theirs[i]);
}

at::Tensor Paths(int64_t h, int64_t w, at::Tensor* inv) {
  std::vector<at::Tensor> perms, invs;
  for (Curve curve : {Curve::kHilbert, Curve::kRaster}) {
    PathSpec spec;
    spec.curve = curve;
    std::vector<int64_t> p = BuildPath(h, w, spec).value();
    std::vector<int64_t> i = InvertPermutation(p);
    perms.push_back(at::tensor(p, at::kLong));
    invs.push_back(at::tensor(i, at::kLong));
  }
  *inv = at::stack(invs);
  return at::stack(perms);
}

at::Tensor GatherOracle(const at::Tensor& x, const at::Tensor& perm) {
  const at::Tensor flat = x.reshape({x.size(0), x.size(1), -1});
  std::vector<at::Tensor> parts;
  for (int64_t p = 0; p < perm.size(0); ++p)
    parts.push_back(flat.index_select(2, perm[p]));
  return at::cat(parts, 1);
}

TEST(PathOps, GatherAndFusedConvEqualIndexingThenAtenConv1d) {
  at::Tensor inv;
  const at::Tensor perm = Paths(4, 5, &inv);
  const at::Tensor x = Rand({2, 3, 4, 5}, 10).requires_grad_();
  const at::Tensor w = Rand({12, 1, 3}, 11).requires_grad_(),
                   b = Rand({12}, 12);
  ExpectClose(PathGather(x, perm), GatherOracle(x, perm));
  PathConvArgs args;
  args.stride = 2;
  args.padding = 1;
  const at::Tensor y = PathConv1dAutograd(x, perm, inv, w, b, args);
  const std::vector<int64_t> stride{2}, padding{1}, dilation{1};
  const at::Tensor expected =
      at::conv1d(GatherOracle(x, perm), w, b, at::IntArrayRef(stride),
                 at::IntArrayRef(padding), at::IntArrayRef(dilation), 6);
  ExpectClose(y, expected);
  const at::Tensor cot = Rand(y.sizes(), 13);
  const auto ours = torch::autograd::grad({(y * cot).sum()}, {x, w});
  const auto theirs = torch::autograd::grad({(expected * cot).sum()}, {x, w});
  for (size_t i = 0; i < ours.size(); ++i) ExpectClose(ours[i], theirs[i]);
  // scatter is the adjoint of gather
  const at::Tensor z = Rand({2, 6, 20}, 14);
  const at::Tensor xd = x.detach();
  ExpectClose((PathGather(xd, perm) * z).sum(),
              (xd * PathScatter(z, inv, 4, 5)).sum());
}

TEST(Dcls, ConvEqualsAtenConvWithTheConstructedKernelAndFusedDepthwiseAgrees) {
  DclsArgs dcls;
  dcls.dilated_kernel_size = {5, 7};
  const at::Tensor w = Rand({4, 1, 3}, 15).requires_grad_();
  const at::Tensor p =
      (at::rand({2, 4, 1, 3}, at::kDouble) * 4 - 2).requires_grad_();
  const at::Tensor x = Rand({2, 4, 8, 9}, 16).requires_grad_();
  const at::Tensor b = Rand({4}, 17);
  ConvNdArgs conv;
  conv.padding = {2, 3};
  conv.groups = 4;
  const at::Tensor kernel =
      DclsConstruct(w.detach(), p.detach(), c10::nullopt, dcls);
  ASSERT_EQ(kernel.sizes(), at::IntArrayRef({4, 1, 5, 7}));
  const at::Tensor y = DclsConvAutograd(x, w, p, {}, b, dcls, conv);
  ExpectClose(y, Conv2d(x.detach(), kernel, b, {1, 1}, {2, 3}, 4));
  DclsDepthwiseArgs depthwise;
  depthwise.dcls = dcls;
  depthwise.conv = conv;
  const at::Tensor yf = DclsDepthwiseConvAutograd(x, w, p, b, depthwise);
  ExpectClose(yf, y, 1e-10);
  const at::Tensor cot = Rand(y.sizes(), 18);
  const auto dense = torch::autograd::grad({(y * cot).sum()}, {x, w, p});
  const auto fused = torch::autograd::grad({(yf * cot).sum()}, {x, w, p});
  for (size_t i = 0; i < dense.size(); ++i)
    ExpectClose(fused[i], dense[i], 1e-9);
}

TEST(Errors, BadArgumentsThrowTorchErrorsNamingThem) {
  const at::Tensor x = Rand({1, 3, 4, 5}, 19), w = Rand({3, 1, 1, 5}, 20);
  ExpectErrorNaming<c10::ValueError>(
      [&] {
        OrientedConv2d(x, Rand({4, 1, 1, 5}, 1), at::zeros({3}));
      },
      "weight");
  ExpectErrorNaming<c10::TypeError>(
      [&] { OrientedConv2d(x, w.to(at::kFloat), at::zeros({3})); }, "weight");
  ExpectErrorNaming<c10::TypeError>(
      [&] { OrientedConv2d(x.to(at::kChar), w, at::zeros({3})); }, "x");
  ExpectErrorNaming<c10::ValueError>(
      [&] { OrientedConv2d(x, w, at::zeros({2})); }, "theta");
  ExpectErrorNaming<c10::ValueError>(
      [&] { OrientedConv2d(x[0], w, at::zeros({3})); }, "x");
  ExpectErrorNaming<c10::ValueError>(
      [&] {
        OrientedConv2d(x.to(at::kMeta), w.to(at::kMeta),
                       at::zeros({3}, at::kMeta));
      },
      "x");
  DclsArgs dcls;
  dcls.dilated_kernel_size = {5};
  ExpectErrorNaming<c10::ValueError>(
      [&] {
        DclsConstruct(Rand({2, 1, 3}, 1), Rand({1, 2, 1, 4}, 2), c10::nullopt,
                      dcls);
      },
      "positions");
}

}  // namespace
}  // namespace torch_ops
}  // namespace tapconv
