#ifndef TAPCONV_OPS_BACKEND_H_
#define TAPCONV_OPS_BACKEND_H_

// The contract every backend implements, and the registry the ops:: entry
// points dispatch through. Entry points validate first (ops/<family>.cc), so a
// backend method receives only well-formed arguments: shapes consistent, dtypes
// and devices matching, sizes within kMaxIndex. A backend returns Unimplemented
// for what it does not support (a dtype, a layout), never crashes on it.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ops/conv_nd.h"
#include "ops/dcls.h"
#include "ops/device.h"
#include "ops/exec_context.h"
#include "ops/oriented_conv.h"
#include "ops/path_conv.h"

namespace tapconv {

class Backend {
 public:
  virtual ~Backend() = default;

  // "reference", "cpu", "cuda", "hip".
  virtual absl::string_view name() const = 0;
  // The device whose memory this backend's kernels read and write.
  virtual DeviceKind device_kind() const = 0;
  // Among available backends of one device kind, the highest priority is the
  // default.
  virtual int priority() const = 0;
  // False when the backend is built but cannot run here (a CUDA build without a
  // GPU); then unavailable_reason() says why.
  virtual bool available() const { return true; }
  virtual std::string unavailable_reason() const { return ""; }

  // Memory of this backend's device, for callers that have no framework
  // allocator (tests, benchmarks, the demo). Host backends use the C heap; GPU
  // backends their runtime.
  virtual absl::StatusOr<void*> Allocate(size_t bytes) const;
  virtual void Free(void* pointer) const;
  virtual absl::Status CopyToDevice(void* device_dst, const void* host_src,
                                    size_t bytes) const;
  virtual absl::Status CopyToHost(void* host_dst, const void* device_src,
                                  size_t bytes) const;
  // Waits for work enqueued on ctx's stream (GPU backends); host backends
  // return at once.
  virtual absl::Status Synchronize(const ExecContext& ctx) const {
    return absl::OkStatus();
  }

  // Oriented conv (ops/oriented_conv.h).
  virtual absl::Status OrientedConvForward(const OrientedConvArgs& args,
                                           const OrientedConvForwardIO& io,
                                           const ExecContext& ctx) const;
  virtual absl::Status OrientedConvBackwardInput(
      const OrientedConvArgs& args, const OrientedConvBackwardInputIO& io,
      const ExecContext& ctx) const;
  virtual absl::Status OrientedConvBackwardParams(
      const OrientedConvArgs& args, const OrientedConvBackwardParamsIO& io,
      const ExecContext& ctx) const;

  // Dense N-D conv (ops/conv_nd.h).
  virtual absl::Status ConvNdForward(const ConvNdArgs& args,
                                     const ConvNdForwardIO& io,
                                     const ExecContext& ctx) const;
  virtual absl::Status ConvNdBackwardInput(const ConvNdArgs& args,
                                           const ConvNdBackwardInputIO& io,
                                           const ExecContext& ctx) const;
  virtual absl::Status ConvNdBackwardParams(const ConvNdArgs& args,
                                            const ConvNdBackwardParamsIO& io,
                                            const ExecContext& ctx) const;

  // DCLS (ops/dcls.h).
  virtual absl::Status DclsConstruct(const DclsArgs& args,
                                     const DclsConstructIO& io,
                                     const ExecContext& ctx) const;
  virtual absl::Status DclsConstructBackward(const DclsArgs& args,
                                             const DclsConstructBackwardIO& io,
                                             const ExecContext& ctx) const;
  virtual absl::Status DclsDepthwiseForward(const DclsDepthwiseArgs& args,
                                            const DclsDepthwiseForwardIO& io,
                                            const ExecContext& ctx) const;
  virtual absl::Status DclsDepthwiseBackwardInput(
      const DclsDepthwiseArgs& args, const DclsDepthwiseBackwardInputIO& io,
      const ExecContext& ctx) const;
  virtual absl::Status DclsDepthwiseBackwardParams(
      const DclsDepthwiseArgs& args, const DclsDepthwiseBackwardParamsIO& io,
      const ExecContext& ctx) const;

  // Path ops (ops/path_conv.h).
  virtual absl::Status PathGather(const PathGatherIO& io,
                                  const ExecContext& ctx) const;
  virtual absl::Status PathScatter(const PathScatterIO& io,
                                   const ExecContext& ctx) const;
  virtual absl::Status PathConvForward(const PathConvArgs& args,
                                       const PathConvForwardIO& io,
                                       const ExecContext& ctx) const;
  virtual absl::Status PathConvBackwardInput(const PathConvArgs& args,
                                             const PathConvBackwardInputIO& io,
                                             const ExecContext& ctx) const;
  virtual absl::Status PathConvBackwardParams(
      const PathConvArgs& args, const PathConvBackwardParamsIO& io,
      const ExecContext& ctx) const;

 protected:
  // Unimplemented status naming this backend and the op.
  absl::Status NotSupported(absl::string_view op,
                            absl::string_view detail = "") const;
};

// Process-wide table of backends. Backends register themselves at
// static-initialisation time through a BackendRegistration in their library
// (linked with alwayslink).
class BackendRegistry {
 public:
  static BackendRegistry& Global();

  // Takes ownership. Names must be unique; a duplicate is ignored (and reported
  // by Find).
  void Register(std::unique_ptr<Backend> backend);

  // All registered backends, available or not, in registration order.
  std::vector<const Backend*> All() const;
  const Backend* Find(absl::string_view name) const;

  // The backend to run on tensors of `device`: ctx.backend if named (it must
  // exist, be available, and serve that device kind), else the available one
  // with the highest priority.
  absl::StatusOr<const Backend*> Select(const Device& device,
                                        const ExecContext& ctx) const;

 private:
  std::vector<std::unique_ptr<Backend>> backends_;
};

// Registers a backend at static-initialisation time:
//   static BackendRegistration registration(std::make_unique<MyBackend>());
struct BackendRegistration {
  explicit BackendRegistration(std::unique_ptr<Backend> backend) {
    BackendRegistry::Global().Register(std::move(backend));
  }
};

}  // namespace tapconv

#endif  // TAPCONV_OPS_BACKEND_H_
