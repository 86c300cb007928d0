#include "ops/backend.h"

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace tapconv {

absl::Status Backend::NotSupported(absl::string_view op,
                                   absl::string_view detail) const {
  return absl::UnimplementedError(
      absl::StrCat("backend '", name(), "' does not implement ", op,
                   detail.empty() ? "" : ": ", detail));
}

absl::StatusOr<void*> Backend::Allocate(size_t bytes) const {
  void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
  if (p == nullptr)
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", bytes, " bytes"));
  return p;
}

void Backend::Free(void* pointer) const { std::free(pointer); }

absl::Status Backend::CopyToDevice(void* device_dst, const void* host_src,
                                   size_t bytes) const {
  if (bytes > 0) std::memcpy(device_dst, host_src, bytes);
  return absl::OkStatus();
}

absl::Status Backend::CopyToHost(void* host_dst, const void* device_src,
                                 size_t bytes) const {
  if (bytes > 0) std::memcpy(host_dst, device_src, bytes);
  return absl::OkStatus();
}

absl::Status Backend::OrientedConvForward(const OrientedConvArgs&,
                                          const OrientedConvForwardIO&,
                                          const ExecContext&) const {
  return NotSupported("OrientedConvForward");
}
absl::Status Backend::OrientedConvBackwardInput(
    const OrientedConvArgs&, const OrientedConvBackwardInputIO&,
    const ExecContext&) const {
  return NotSupported("OrientedConvBackwardInput");
}
absl::Status Backend::OrientedConvBackwardParams(
    const OrientedConvArgs&, const OrientedConvBackwardParamsIO&,
    const ExecContext&) const {
  return NotSupported("OrientedConvBackwardParams");
}
absl::Status Backend::ConvNdForward(const ConvNdArgs&, const ConvNdForwardIO&,
                                    const ExecContext&) const {
  return NotSupported("ConvNdForward");
}
absl::Status Backend::ConvNdBackwardInput(const ConvNdArgs&,
                                          const ConvNdBackwardInputIO&,
                                          const ExecContext&) const {
  return NotSupported("ConvNdBackwardInput");
}
absl::Status Backend::ConvNdBackwardParams(const ConvNdArgs&,
                                           const ConvNdBackwardParamsIO&,
                                           const ExecContext&) const {
  return NotSupported("ConvNdBackwardParams");
}
absl::Status Backend::DclsConstruct(const DclsArgs&, const DclsConstructIO&,
                                    const ExecContext&) const {
  return NotSupported("DclsConstruct");
}
absl::Status Backend::DclsConstructBackward(const DclsArgs&,
                                            const DclsConstructBackwardIO&,
                                            const ExecContext&) const {
  return NotSupported("DclsConstructBackward");
}
absl::Status Backend::DclsDepthwiseForward(const DclsDepthwiseArgs&,
                                           const DclsDepthwiseForwardIO&,
                                           const ExecContext&) const {
  return NotSupported("DclsDepthwiseForward");
}
absl::Status Backend::DclsDepthwiseBackwardInput(
    const DclsDepthwiseArgs&, const DclsDepthwiseBackwardInputIO&,
    const ExecContext&) const {
  return NotSupported("DclsDepthwiseBackwardInput");
}
absl::Status Backend::DclsDepthwiseBackwardParams(
    const DclsDepthwiseArgs&, const DclsDepthwiseBackwardParamsIO&,
    const ExecContext&) const {
  return NotSupported("DclsDepthwiseBackwardParams");
}
absl::Status Backend::PathGather(const PathGatherIO&,
                                 const ExecContext&) const {
  return NotSupported("PathGather");
}
absl::Status Backend::PathScatter(const PathScatterIO&,
                                  const ExecContext&) const {
  return NotSupported("PathScatter");
}
absl::Status Backend::PathConvForward(const PathConvArgs&,
                                      const PathConvForwardIO&,
                                      const ExecContext&) const {
  return NotSupported("PathConvForward");
}
absl::Status Backend::PathConvBackwardInput(const PathConvArgs&,
                                            const PathConvBackwardInputIO&,
                                            const ExecContext&) const {
  return NotSupported("PathConvBackwardInput");
}
absl::Status Backend::PathConvBackwardParams(const PathConvArgs&,
                                             const PathConvBackwardParamsIO&,
                                             const ExecContext&) const {
  return NotSupported("PathConvBackwardParams");
}

BackendRegistry& BackendRegistry::Global() {
  static BackendRegistry* registry = new BackendRegistry();
  return *registry;
}

void BackendRegistry::Register(std::unique_ptr<Backend> backend) {
  if (Find(backend->name()) != nullptr) return;
  backends_.push_back(std::move(backend));
}

std::vector<const Backend*> BackendRegistry::All() const {
  std::vector<const Backend*> all;
  for (const auto& b : backends_) all.push_back(b.get());
  return all;
}

const Backend* BackendRegistry::Find(absl::string_view name) const {
  for (const auto& b : backends_) {
    if (b->name() == name) return b.get();
  }
  return nullptr;
}

absl::StatusOr<const Backend*> BackendRegistry::Select(
    const Device& device, const ExecContext& ctx) const {
  if (!ctx.backend.empty()) {
    const Backend* b = Find(ctx.backend);
    if (b == nullptr) {
      std::vector<std::string> names;
      for (const auto& r : backends_) names.emplace_back(r->name());
      return absl::InvalidArgumentError(absl::StrCat(
          "backend: no backend named '", ctx.backend,
          "' is registered (registered: ", absl::StrJoin(names, ", "), ")"));
    }
    if (b->device_kind() != device.kind) {
      return absl::InvalidArgumentError(absl::StrCat(
          "backend: '", ctx.backend, "' runs on ",
          DeviceKindName(b->device_kind()), " tensors, but the tensors are on ",
          DeviceName(device)));
    }
    if (!b->available()) {
      return absl::FailedPreconditionError(
          absl::StrCat("backend: '", ctx.backend,
                       "' is not available here: ", b->unavailable_reason()));
    }
    return b;
  }
  const Backend* best = nullptr;
  for (const auto& b : backends_) {
    if (b->device_kind() != device.kind || !b->available()) continue;
    if (best == nullptr || b->priority() > best->priority()) best = b.get();
  }
  if (best == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no available backend for tensors on ", DeviceName(device),
        "; this build's backends are listed by tapconv.backends() / //:demo"));
  }
  return best;
}

}  // namespace tapconv
