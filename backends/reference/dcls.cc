// Reference DCLS: kernel construction element by element over each element's
// support (ops/geometry/dcls_interpolation.h), and the fused depthwise ops as
// construct + the reference dense conv, all in double.

#include <vector>

#include "backends/reference/double_buffer.h"
#include "backends/reference/reference_backend.h"
#include "ops/geometry/dcls_interpolation.h"
#include "ops/status_macros.h"

namespace tapconv {
namespace {

// The parameters as doubles; sigma is empty for bilinear.
struct Parameters {
  std::vector<double> weight, positions, sigma;
};

Parameters LoadParameters(const TensorRef& weight, const TensorRef& positions,
                          const std::optional<TensorRef>& sigma) {
  Parameters p;
  p.weight = reference::LoadDoubles(weight);
  p.positions = reference::LoadDoubles(positions);
  if (sigma) p.sigma = reference::LoadDoubles(*sigma);
  return p;
}

int64_t BoxVolume(const DclsShape& s) {
  int64_t v = 1;
  for (int64_t d : s.dilated_size) v *= d;
  return v;
}

// Calls visit(e, block, element) for every element e = block * K + k, where
// `block` indexes (o, i, *dense) and the kernel's block is kernel[block * S_1 *
// ... * S_M + ...].
template <typename Visit>
void ForEachElement(const DclsArgs& args, const DclsShape& s,
                    const Parameters& p, Visit visit) {
  const int m = s.learnable_rank;
  const int64_t elements = s.groups_of_elements * s.kernel_count;
  const bool has_sigma = !p.sigma.empty();
  const double sigma_floor = DclsSigmaFloor(args);
  for (int64_t block = 0; block < s.groups_of_elements; ++block) {
    for (int64_t k = 0; k < s.kernel_count; ++k) {
      const int64_t e = block * s.kernel_count + k;
      double pos[kMaxDclsAxes], sig[kMaxDclsAxes];
      for (int d = 0; d < m; ++d) {
        pos[d] = p.positions[d * elements + e];
        sig[d] = has_sigma ? p.sigma[d * elements + e] : 0.0;
      }
      DclsElement<double> element;
      element.InitFromParameters(args.interpolation, args.axis_order, m,
                                 s.dilated_size.data(), pos, sig, sigma_floor,
                                 args.normalization_epsilon);
      visit(e, block, element);
    }
  }
}

// Calls visit(offset, x) for every grid point x of the element's support,
// offset = the row-major index of x inside the S_1 x ... x S_M box.
template <typename Visit>
void ForEachSupportPoint(const DclsShape& s, const DclsElement<double>& element,
                         Visit visit) {
  const int m = s.learnable_rank;
  int64_t first[kMaxDclsAxes], last[kMaxDclsAxes], x[kMaxDclsAxes];
  for (int a = 0; a < m; ++a) {
    first[a] = element.axis[a].first();
    last[a] = element.axis[a].last();
    if (first[a] > last[a]) return;
    x[a] = first[a];
  }
  while (true) {
    int64_t offset = 0;
    for (int a = 0; a < m; ++a) offset = offset * s.dilated_size[a] + x[a];
    visit(offset, x);
    int a = m - 1;
    while (a >= 0 && x[a] == last[a]) {
      x[a] = first[a];
      --a;
    }
    if (a < 0) return;
    ++x[a];
  }
}

std::vector<double> Construct(const DclsArgs& args, const DclsShape& s,
                              const Parameters& p) {
  const int64_t box = BoxVolume(s);
  std::vector<double> kernel(s.groups_of_elements * box, 0.0);
  ForEachElement(
      args, s, p,
      [&](int64_t e, int64_t block, const DclsElement<double>& element) {
        const double w = p.weight[e];
        ForEachSupportPoint(s, element, [&](int64_t offset, const int64_t* x) {
          kernel[block * box + offset] += w * element.Coefficient(x);
        });
      });
  return kernel;
}

// Gradients of <kernel, dkernel> with respect to the parameters; an output is
// filled only when its vector is non-null.
void ConstructBackward(const DclsArgs& args, const DclsShape& s,
                       const Parameters& p, const std::vector<double>& dkernel,
                       std::vector<double>* dweight,
                       std::vector<double>* dpositions,
                       std::vector<double>* dsigma) {
  const int m = s.learnable_rank;
  const int64_t box = BoxVolume(s);
  const int64_t elements = s.groups_of_elements * s.kernel_count;
  if (dweight) dweight->assign(elements, 0.0);
  if (dpositions) dpositions->assign(m * elements, 0.0);
  if (dsigma) dsigma->assign(m * elements, 0.0);
  ForEachElement(
      args, s, p,
      [&](int64_t e, int64_t block, const DclsElement<double>& element) {
        const double w = p.weight[e];
        double dw = 0.0, dq[kMaxDclsAxes] = {}, dsig[kMaxDclsAxes] = {};
        ForEachSupportPoint(s, element, [&](int64_t offset, const int64_t* x) {
          const double g = dkernel[block * box + offset];
          dw += g * element.Coefficient(x);
          double cq[kMaxDclsAxes], cs[kMaxDclsAxes];
          element.CoefficientGradient(x, cq, cs);
          for (int a = 0; a < m; ++a) {
            dq[a] += g * cq[a];
            dsig[a] += g * cs[a];
          }
        });
        for (int a = 0; a < m; ++a) {
          dq[a] *= w;
          dsig[a] *= w;
        }
        double dp[kMaxDclsAxes], dsg[kMaxDclsAxes];
        element.ParameterGradient(dq, dsig, dp, dsg);
        if (dweight) (*dweight)[e] = dw;
        for (int d = 0; d < m; ++d) {
          if (dpositions) (*dpositions)[d * elements + e] = dp[d];
          if (dsigma) (*dsigma)[d * elements + e] = dsg[d];
        }
      });
}

// A float64 view of a double buffer, for the reference dense conv.
TensorRef F64(std::vector<double>& v, absl::Span<const int64_t> shape) {
  return MakeTensorRef(v.data(), DType::kF64, shape);
}

}  // namespace

absl::Status ReferenceBackend::DclsConstruct(const DclsArgs& args,
                                             const DclsConstructIO& io,
                                             const ExecContext&) const {
  DclsShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateDclsConstruct(args, io, &s));
  const Parameters p = LoadParameters(io.weight, io.positions, io.sigma);
  reference::StoreDoubles(Construct(args, s, p), io.kernel);
  return absl::OkStatus();
}

absl::Status ReferenceBackend::DclsConstructBackward(
    const DclsArgs& args, const DclsConstructBackwardIO& io,
    const ExecContext&) const {
  DclsShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateDclsConstructBackward(args, io, &s));
  const Parameters p = LoadParameters(io.weight, io.positions, io.sigma);
  const std::vector<double> dkernel = reference::LoadDoubles(io.dkernel);
  std::vector<double> dw, dp, dsig;
  ConstructBackward(args, s, p, dkernel, io.dweight ? &dw : nullptr,
                    io.dpositions ? &dp : nullptr, io.dsigma ? &dsig : nullptr);
  if (io.dweight) reference::StoreDoubles(dw, *io.dweight);
  if (io.dpositions) reference::StoreDoubles(dp, *io.dpositions);
  if (io.dsigma) reference::StoreDoubles(dsig, *io.dsigma);
  return absl::OkStatus();
}

absl::Status ReferenceBackend::DclsDepthwiseForward(
    const DclsDepthwiseArgs& args, const DclsDepthwiseForwardIO& io,
    const ExecContext& ctx) const {
  DclsShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateDclsDepthwiseForward(args, io, &s));
  const Parameters p = LoadParameters(io.weight, io.positions, std::nullopt);
  std::vector<double> kernel = Construct(args.dcls, s, p);
  std::vector<double> x = reference::LoadDoubles(io.x);
  std::vector<double> bias;
  if (io.bias) bias = reference::LoadDoubles(*io.bias);
  std::vector<double> y(io.y.numel(), 0.0);
  std::optional<TensorRef> bias_ref;
  if (io.bias) bias_ref = F64(bias, io.bias->shape);
  TAPCONV_RETURN_IF_ERROR(
      ConvNdForward(args.conv,
                    {F64(x, io.x.shape), F64(kernel, s.kernel_shape), bias_ref,
                     F64(y, io.y.shape)},
                    ctx));
  reference::StoreDoubles(y, io.y);
  return absl::OkStatus();
}

absl::Status ReferenceBackend::DclsDepthwiseBackwardInput(
    const DclsDepthwiseArgs& args, const DclsDepthwiseBackwardInputIO& io,
    const ExecContext& ctx) const {
  DclsShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateDclsDepthwiseBackwardInput(args, io, &s));
  const Parameters p = LoadParameters(io.weight, io.positions, std::nullopt);
  std::vector<double> kernel = Construct(args.dcls, s, p);
  std::vector<double> dy = reference::LoadDoubles(io.dy);
  std::vector<double> dx(io.dx.numel(), 0.0);
  TAPCONV_RETURN_IF_ERROR(ConvNdBackwardInput(
      args.conv,
      {F64(dy, io.dy.shape), F64(kernel, s.kernel_shape), F64(dx, io.dx.shape)},
      ctx));
  reference::StoreDoubles(dx, io.dx);
  return absl::OkStatus();
}

absl::Status ReferenceBackend::DclsDepthwiseBackwardParams(
    const DclsDepthwiseArgs& args, const DclsDepthwiseBackwardParamsIO& io,
    const ExecContext& ctx) const {
  DclsShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateDclsDepthwiseBackwardParams(args, io, &s));
  const Parameters p = LoadParameters(io.weight, io.positions, std::nullopt);
  std::vector<double> dy = reference::LoadDoubles(io.dy);
  std::vector<double> x = reference::LoadDoubles(io.x);
  const bool any_param = io.dweight || io.dpositions;
  std::vector<double> dkernel(any_param ? s.groups_of_elements * BoxVolume(s)
                                        : 0);
  std::vector<double> dbias(io.dbias ? io.dbias->numel() : 0);
  std::optional<TensorRef> dkernel_ref, dbias_ref;
  if (any_param) dkernel_ref = F64(dkernel, s.kernel_shape);
  if (io.dbias) dbias_ref = F64(dbias, io.dbias->shape);
  TAPCONV_RETURN_IF_ERROR(ConvNdBackwardParams(
      args.conv,
      {F64(dy, io.dy.shape), F64(x, io.x.shape), dkernel_ref, dbias_ref}, ctx));
  if (io.dbias) reference::StoreDoubles(dbias, *io.dbias);
  if (!any_param) return absl::OkStatus();
  std::vector<double> dw, dp;
  ConstructBackward(args.dcls, s, p, dkernel, io.dweight ? &dw : nullptr,
                    io.dpositions ? &dp : nullptr, nullptr);
  if (io.dweight) reference::StoreDoubles(dw, *io.dweight);
  if (io.dpositions) reference::StoreDoubles(dp, *io.dpositions);
  return absl::OkStatus();
}

}  // namespace tapconv
