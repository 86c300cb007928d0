#include <optional>
#include <string>
#include <vector>

#include "ops/dcls.h"
#include "pybind11/pybind11.h"
#include "pybind11/stl.h"
#include "pypkg/core/arg_parsing.h"
#include "pypkg/core/bindings.h"
#include "pypkg/core/dlpack_tensor.h"
#include "pypkg/core/run_op.h"

namespace tapconv {
namespace python {
namespace py = pybind11;
namespace {

using Sizes = std::vector<int64_t>;

DclsArgs MakeDclsArgs(const Sizes& dilated, const Sizes& dense,
                      const std::string& interpolation,
                      const std::string& axis_order,
                      std::optional<double> sigma_floor, double eps) {
  DclsArgs args;
  args.dilated_kernel_size = ToSpatialDims(dilated, "dilated_kernel_size");
  args.dense_kernel_size = ToSpatialDims(dense, "dense_kernel_size");
  args.interpolation = ParseInterpolation(interpolation);
  args.axis_order = ParseAxisOrder(axis_order);
  args.sigma_floor = sigma_floor;
  args.normalization_epsilon = eps;
  return args;
}

ConvNdArgs MakeConvArgs(const Sizes& stride, const Sizes& padding,
                        const Sizes& dilation, int64_t groups) {
  ConvNdArgs args;
  args.stride = ToSpatialDims(stride, "stride");
  args.padding = ToSpatialDims(padding, "padding");
  args.dilation = ToSpatialDims(dilation, "dilation");
  args.groups = groups;
  return args;
}

// Depthwise: one group per channel, read from the activation (validation
// reports a mismatch).
DclsDepthwiseArgs MakeDepthwiseArgs(const TensorRef& activation,
                                    const Sizes& dilated, const Sizes& dense,
                                    const std::string& axis_order,
                                    const Sizes& stride, const Sizes& padding) {
  DclsDepthwiseArgs args;
  args.dcls =
      MakeDclsArgs(dilated, dense, "bilinear", axis_order, std::nullopt, 1e-7);
  args.conv = MakeConvArgs(stride, padding, {1},
                           activation.rank() >= 2 ? activation.dim(1) : 1);
  return args;
}

constexpr char kConstructDoc[] =
    "kernel[o, i, *dense, x] = sum_k weight[o, i, *dense, k] * coeff_k(x), "
    "where element k sits "
    "at q_d = positions[d, o, i, *dense, k] + floor(S_d / 2) along learnable "
    "axis d; "
    "bilinear: coeff = prod_d (1 - |x_d - q_d|) over the two neighbours of "
    "floor(q) (corners "
    "outside the box dropped); gauss: prod_d exp(-((x_d - q_d)/sigma_d)^2 / 2) "
    "/ (Z + eps); "
    "triangle: prod_d max(0, sigma_d - |x_d - q_d|) / (Z + eps); sigma = "
    "|sigma param| + "
    "sigma_floor. weight (C_out, C_in/g, *dense, K), positions (M, "
    "*weight.shape), sigma like "
    "positions (gauss/triangle), kernel (C_out, C_in/g, *dense, *S) written.";

}  // namespace

void BindDcls(py::module_& m) {
  m.def(
      "dcls_construct",
      [](py::handle weight, py::handle positions, py::handle kernel,
         py::handle sigma, const Sizes& dilated, const Sizes& dense,
         const std::string& interpolation, const std::string& axis_order,
         std::optional<double> sigma_floor, double eps,
         const std::string& backend, uintptr_t stream, int num_threads) {
        const DclsArgs args = MakeDclsArgs(dilated, dense, interpolation,
                                           axis_order, sigma_floor, eps);
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tw = BorrowTensor(weight, "weight", stream);
        auto tp = BorrowTensor(positions, "positions", stream);
        auto ts = BorrowOptionalTensor(sigma, "sigma", stream);
        auto tk = BorrowTensor(kernel, "kernel", stream);
        const DclsConstructIO io{tw.ref(), tp.ref(), RefOf(ts), tk.ref()};
        RunOp(tw.ref().device, ctx, [&](const ExecContext& c) {
          return ops::DclsConstructKernel(args, io, c);
        });
      },
      py::arg("weight"), py::arg("positions"), py::arg("kernel"), py::kw_only(),
      py::arg("sigma") = py::none(), py::arg("dilated_kernel_size"),
      py::arg("dense_kernel_size") = Sizes{},
      py::arg("interpolation") = "bilinear", py::arg("axis_order") = "natural",
      py::arg("sigma_floor") = py::none(), py::arg("eps") = 1e-7,
      TAPCONV_PY_EXEC_ARGS, kConstructDoc);

  m.def(
      "dcls_construct_backward",
      [](py::handle dkernel, py::handle weight, py::handle positions,
         py::handle sigma, py::handle dweight, py::handle dpositions,
         py::handle dsigma, const Sizes& dilated, const Sizes& dense,
         const std::string& interpolation, const std::string& axis_order,
         std::optional<double> sigma_floor, double eps,
         const std::string& backend, uintptr_t stream, int num_threads) {
        const DclsArgs args = MakeDclsArgs(dilated, dense, interpolation,
                                           axis_order, sigma_floor, eps);
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tdk = BorrowTensor(dkernel, "dkernel", stream);
        auto tw = BorrowTensor(weight, "weight", stream);
        auto tp = BorrowTensor(positions, "positions", stream);
        auto ts = BorrowOptionalTensor(sigma, "sigma", stream);
        auto tdw = BorrowOptionalTensor(dweight, "dweight", stream);
        auto tdp = BorrowOptionalTensor(dpositions, "dpositions", stream);
        auto tds = BorrowOptionalTensor(dsigma, "dsigma", stream);
        const DclsConstructBackwardIO io{tdk.ref(), tw.ref(),   tp.ref(),
                                         RefOf(ts), RefOf(tdw), RefOf(tdp),
                                         RefOf(tds)};
        RunOp(tw.ref().device, ctx, [&](const ExecContext& c) {
          return ops::DclsConstructKernelBackward(args, io, c);
        });
      },
      py::arg("dkernel"), py::arg("weight"), py::arg("positions"),
      py::kw_only(), py::arg("sigma") = py::none(),
      py::arg("dweight") = py::none(), py::arg("dpositions") = py::none(),
      py::arg("dsigma") = py::none(), py::arg("dilated_kernel_size"),
      py::arg("dense_kernel_size") = Sizes{},
      py::arg("interpolation") = "bilinear", py::arg("axis_order") = "natural",
      py::arg("sigma_floor") = py::none(), py::arg("eps") = 1e-7,
      TAPCONV_PY_EXEC_ARGS,
      "Gradients of dcls_construct given dkernel = dL/dkernel; the requested "
      "ones of dweight, "
      "dpositions, dsigma are overwritten.");

  m.def(
      "dcls_depthwise_forward",
      [](py::handle x, py::handle weight, py::handle positions, py::handle y,
         py::handle bias, const Sizes& dilated, const Sizes& dense,
         const std::string& axis_order, const Sizes& stride,
         const Sizes& padding, const std::string& backend, uintptr_t stream,
         int num_threads) {
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tx = BorrowTensor(x, "x", stream);
        auto tw = BorrowTensor(weight, "weight", stream);
        auto tp = BorrowTensor(positions, "positions", stream);
        auto tb = BorrowOptionalTensor(bias, "bias", stream);
        auto ty = BorrowTensor(y, "y", stream);
        const DclsDepthwiseArgs args = MakeDepthwiseArgs(
            tx.ref(), dilated, dense, axis_order, stride, padding);
        const DclsDepthwiseForwardIO io{tx.ref(), tw.ref(), tp.ref(), RefOf(tb),
                                        ty.ref()};
        RunOp(tx.ref().device, ctx, [&](const ExecContext& c) {
          return ops::DclsDepthwiseForward(args, io, c);
        });
      },
      py::arg("x"), py::arg("weight"), py::arg("positions"), py::arg("y"),
      py::kw_only(), py::arg("bias") = py::none(),
      py::arg("dilated_kernel_size"), py::arg("dense_kernel_size") = Sizes{},
      py::arg("axis_order") = "natural", py::arg("stride") = Sizes{1},
      py::arg("padding") = Sizes{0}, TAPCONV_PY_EXEC_ARGS,
      "Depthwise bilinear DCLS conv straight from the taps (no dense kernel): "
      "equal to "
      "conv_nd(x, dcls_construct(weight, positions), bias, stride, padding, "
      "groups=C).");

  m.def(
      "dcls_depthwise_backward_input",
      [](py::handle dy, py::handle weight, py::handle positions, py::handle dx,
         const Sizes& dilated, const Sizes& dense,
         const std::string& axis_order, const Sizes& stride,
         const Sizes& padding, const std::string& backend, uintptr_t stream,
         int num_threads) {
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tdy = BorrowTensor(dy, "dy", stream);
        auto tw = BorrowTensor(weight, "weight", stream);
        auto tp = BorrowTensor(positions, "positions", stream);
        auto tdx = BorrowTensor(dx, "dx", stream);
        const DclsDepthwiseArgs args = MakeDepthwiseArgs(
            tdx.ref(), dilated, dense, axis_order, stride, padding);
        const DclsDepthwiseBackwardInputIO io{tdy.ref(), tw.ref(), tp.ref(),
                                              tdx.ref()};
        RunOp(tdx.ref().device, ctx, [&](const ExecContext& c) {
          return ops::DclsDepthwiseBackwardInput(args, io, c);
        });
      },
      py::arg("dy"), py::arg("weight"), py::arg("positions"), py::arg("dx"),
      py::kw_only(), py::arg("dilated_kernel_size"),
      py::arg("dense_kernel_size") = Sizes{}, py::arg("axis_order") = "natural",
      py::arg("stride") = Sizes{1}, py::arg("padding") = Sizes{0},
      TAPCONV_PY_EXEC_ARGS,
      "dx = the adjoint of dcls_depthwise_forward (without bias) applied to "
      "dy.");

  m.def(
      "dcls_depthwise_backward_params",
      [](py::handle dy, py::handle x, py::handle weight, py::handle positions,
         py::handle dweight, py::handle dpositions, py::handle dbias,
         const Sizes& dilated, const Sizes& dense,
         const std::string& axis_order, const Sizes& stride,
         const Sizes& padding, const std::string& backend, uintptr_t stream,
         int num_threads) {
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tdy = BorrowTensor(dy, "dy", stream);
        auto tx = BorrowTensor(x, "x", stream);
        auto tw = BorrowTensor(weight, "weight", stream);
        auto tp = BorrowTensor(positions, "positions", stream);
        auto tdw = BorrowOptionalTensor(dweight, "dweight", stream);
        auto tdp = BorrowOptionalTensor(dpositions, "dpositions", stream);
        auto tdb = BorrowOptionalTensor(dbias, "dbias", stream);
        const DclsDepthwiseArgs args = MakeDepthwiseArgs(
            tx.ref(), dilated, dense, axis_order, stride, padding);
        const DclsDepthwiseBackwardParamsIO io{
            tdy.ref(),  tx.ref(),   tw.ref(),  tp.ref(),
            RefOf(tdw), RefOf(tdp), RefOf(tdb)};
        RunOp(tx.ref().device, ctx, [&](const ExecContext& c) {
          return ops::DclsDepthwiseBackwardParams(args, io, c);
        });
      },
      py::arg("dy"), py::arg("x"), py::arg("weight"), py::arg("positions"),
      py::kw_only(), py::arg("dweight") = py::none(),
      py::arg("dpositions") = py::none(), py::arg("dbias") = py::none(),
      py::arg("dilated_kernel_size"), py::arg("dense_kernel_size") = Sizes{},
      py::arg("axis_order") = "natural", py::arg("stride") = Sizes{1},
      py::arg("padding") = Sizes{0}, TAPCONV_PY_EXEC_ARGS,
      "Gradients of dcls_depthwise_forward's weight, positions and bias; the "
      "requested ones "
      "are overwritten.");

  m.def(
      "dcls_conv_forward",
      [](py::handle x, py::handle weight, py::handle positions,
         py::handle kernel, py::handle y, py::handle sigma, py::handle bias,
         const Sizes& dilated, const Sizes& dense,
         const std::string& interpolation, const std::string& axis_order,
         std::optional<double> sigma_floor, double eps, const Sizes& stride,
         const Sizes& padding, int64_t groups, const std::string& backend,
         uintptr_t stream, int num_threads) {
        const DclsArgs dcls = MakeDclsArgs(dilated, dense, interpolation,
                                           axis_order, sigma_floor, eps);
        const ConvNdArgs conv = MakeConvArgs(stride, padding, {1}, groups);
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tx = BorrowTensor(x, "x", stream);
        auto tw = BorrowTensor(weight, "weight", stream);
        auto tp = BorrowTensor(positions, "positions", stream);
        auto ts = BorrowOptionalTensor(sigma, "sigma", stream);
        auto tb = BorrowOptionalTensor(bias, "bias", stream);
        auto tk = BorrowTensor(kernel, "kernel", stream);
        auto ty = BorrowTensor(y, "y", stream);
        const ops::DclsConvForwardIO io{tx.ref(),  tw.ref(),  tp.ref(),
                                        RefOf(ts), RefOf(tb), tk.ref(),
                                        ty.ref()};
        RunOp(tx.ref().device, ctx, [&](const ExecContext& c) {
          return ops::DclsConvForward(dcls, conv, io, c);
        });
      },
      py::arg("x"), py::arg("weight"), py::arg("positions"), py::arg("kernel"),
      py::arg("y"), py::kw_only(), py::arg("sigma") = py::none(),
      py::arg("bias") = py::none(), py::arg("dilated_kernel_size"),
      py::arg("dense_kernel_size") = Sizes{},
      py::arg("interpolation") = "bilinear", py::arg("axis_order") = "natural",
      py::arg("sigma_floor") = py::none(), py::arg("eps") = 1e-7,
      py::arg("stride") = Sizes{1}, py::arg("padding") = Sizes{0},
      py::arg("groups") = 1, TAPCONV_PY_EXEC_ARGS,
      "End-to-end DCLS conv for callers without torch: kernel = "
      "dcls_construct(...) (written, "
      "keep it for the backward), then y = conv_nd(x, kernel, bias, stride, "
      "padding, groups).");

  m.def(
      "dcls_conv_backward",
      [](py::handle dy, py::handle x, py::handle weight, py::handle positions,
         py::handle kernel, py::handle dkernel, py::handle sigma, py::handle dx,
         py::handle dweight, py::handle dpositions, py::handle dsigma,
         py::handle dbias, const Sizes& dilated, const Sizes& dense,
         const std::string& interpolation, const std::string& axis_order,
         std::optional<double> sigma_floor, double eps, const Sizes& stride,
         const Sizes& padding, int64_t groups, const std::string& backend,
         uintptr_t stream, int num_threads) {
        const DclsArgs dcls = MakeDclsArgs(dilated, dense, interpolation,
                                           axis_order, sigma_floor, eps);
        const ConvNdArgs conv = MakeConvArgs(stride, padding, {1}, groups);
        const ExecContext ctx = MakeExecContext(backend, stream, num_threads);
        auto tdy = BorrowTensor(dy, "dy", stream);
        auto tx = BorrowTensor(x, "x", stream);
        auto tw = BorrowTensor(weight, "weight", stream);
        auto tp = BorrowTensor(positions, "positions", stream);
        auto ts = BorrowOptionalTensor(sigma, "sigma", stream);
        auto tk = BorrowTensor(kernel, "kernel", stream);
        auto tdk = BorrowTensor(dkernel, "dkernel", stream);
        auto tdx = BorrowOptionalTensor(dx, "dx", stream);
        auto tdw = BorrowOptionalTensor(dweight, "dweight", stream);
        auto tdp = BorrowOptionalTensor(dpositions, "dpositions", stream);
        auto tds = BorrowOptionalTensor(dsigma, "dsigma", stream);
        auto tdb = BorrowOptionalTensor(dbias, "dbias", stream);
        const ops::DclsConvBackwardIO io{tdy.ref(),  tx.ref(),   tw.ref(),
                                         tp.ref(),   RefOf(ts),  tk.ref(),
                                         tdk.ref(),  RefOf(tdx), RefOf(tdw),
                                         RefOf(tdp), RefOf(tds), RefOf(tdb)};
        RunOp(tx.ref().device, ctx, [&](const ExecContext& c) {
          return ops::DclsConvBackward(dcls, conv, io, c);
        });
      },
      py::arg("dy"), py::arg("x"), py::arg("weight"), py::arg("positions"),
      py::arg("kernel"), py::arg("dkernel"), py::kw_only(),
      py::arg("sigma") = py::none(), py::arg("dx") = py::none(),
      py::arg("dweight") = py::none(), py::arg("dpositions") = py::none(),
      py::arg("dsigma") = py::none(), py::arg("dbias") = py::none(),
      py::arg("dilated_kernel_size"), py::arg("dense_kernel_size") = Sizes{},
      py::arg("interpolation") = "bilinear", py::arg("axis_order") = "natural",
      py::arg("sigma_floor") = py::none(), py::arg("eps") = 1e-7,
      py::arg("stride") = Sizes{1}, py::arg("padding") = Sizes{0},
      py::arg("groups") = 1, TAPCONV_PY_EXEC_ARGS,
      "Gradients of dcls_conv_forward; kernel is the forward's, dkernel a "
      "workspace of the same "
      "shape; the requested ones of dx, dweight, dpositions, dsigma, dbias are "
      "overwritten.");
}

}  // namespace python
}  // namespace tapconv
