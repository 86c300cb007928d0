#include "ops/libtorch/tensor_conversion.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tapconv {
namespace torch_ops {
namespace {

bool ToDType(at::ScalarType type, DType* dtype) {
  switch (type) {
    case at::kHalf:
      *dtype = DType::kF16;
      return true;
    case at::kBFloat16:
      *dtype = DType::kBF16;
      return true;
    case at::kFloat:
      *dtype = DType::kF32;
      return true;
    case at::kDouble:
      *dtype = DType::kF64;
      return true;
    case at::kInt:
      *dtype = DType::kI32;
      return true;
    case at::kLong:
      *dtype = DType::kI64;
      return true;
    default:
      return false;
  }
}

}  // namespace

TensorRef ToTensorRef(const at::Tensor& t, absl::string_view name) {
  TORCH_CHECK_VALUE(t.defined(), std::string(name),
                    ": expected a tensor, got an undefined one");
  TensorRef ref;
  TORCH_CHECK_TYPE(
      ToDType(t.scalar_type(), &ref.dtype), std::string(name),
      ": unsupported dtype ", t.scalar_type(),
      "; expected float16, bfloat16, float32, float64, int32 or int64");
  const c10::Device device = t.device();
  if (device.is_cpu()) {
    ref.device = Device{DeviceKind::kCpu, 0};
  } else if (device.is_cuda()) {
    // A ROCm build of torch reports its GPUs as cuda too; the core tells them
    // apart by backend.
    ref.device =
        Device{DeviceKind::kCuda, device.index() < 0 ? 0 : device.index()};
  } else if (device.is_hip()) {
    ref.device =
        Device{DeviceKind::kHip, device.index() < 0 ? 0 : device.index()};
  } else {
    TORCH_CHECK_VALUE(false, std::string(name), ": unsupported device ",
                      device.str(), "; expected cpu, cuda or hip");
  }
  ref.shape.assign(t.sizes().begin(), t.sizes().end());
  ref.strides.assign(t.strides().begin(), t.strides().end());
  if (t.numel() == 0) ref.strides = ContiguousStrides(ref.shape);
  ref.data = t.numel() == 0 ? nullptr : t.data_ptr();
  return ref;
}

std::optional<TensorRef> ToTensorRef(const c10::optional<at::Tensor>& t,
                                     absl::string_view name) {
  if (!t.has_value() || !t->defined()) return std::nullopt;
  return ToTensorRef(*t, name);
}

void ThrowIfError(const absl::Status& status) {
  if (status.ok()) return;
  const std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      if (absl::StrContains(message, "dtype")) TORCH_CHECK_TYPE(false, message);
      TORCH_CHECK_VALUE(false, message);
    case absl::StatusCode::kUnimplemented:
      TORCH_CHECK_NOT_IMPLEMENTED(false, message);
    default:
      TORCH_CHECK(false, message);
  }
}

}  // namespace torch_ops
}  // namespace tapconv
