#include "pypkg/core/dlpack_tensor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pypkg/core/python_errors.h"

namespace tapconv {
namespace python {
namespace py = pybind11;

namespace {

constexpr char kCapsuleName[] = "dltensor";
constexpr char kUsedCapsuleName[] = "used_dltensor";

std::string DlpackDTypeName(const DLDataType& t) {
  std::string base;
  switch (t.code) {
    case kDLInt:
      base = "int";
      break;
    case kDLUInt:
      base = "uint";
      break;
    case kDLFloat:
      base = "float";
      break;
    case kDLBfloat:
      base = "bfloat";
      break;
    case kDLComplex:
      base = "complex";
      break;
    default:
      base = absl::StrCat("type_code_", t.code, "_");
  }
  std::string name = absl::StrCat(base, t.bits);
  if (t.lanes != 1) absl::StrAppend(&name, "x", t.lanes);
  return name;
}

bool ToDType(const DLDataType& t, DType* dtype) {
  if (t.lanes != 1) return false;
  if (t.code == kDLFloat && t.bits == 16)
    *dtype = DType::kF16;
  else if (t.code == kDLFloat && t.bits == 32)
    *dtype = DType::kF32;
  else if (t.code == kDLFloat && t.bits == 64)
    *dtype = DType::kF64;
  else if (t.code == kDLBfloat && t.bits == 16)
    *dtype = DType::kBF16;
  else if (t.code == kDLInt && t.bits == 32)
    *dtype = DType::kI32;
  else if (t.code == kDLInt && t.bits == 64)
    *dtype = DType::kI64;
  else
    return false;
  return true;
}

bool ToDevice(const DLDevice& d, Device* device) {
  switch (d.device_type) {
    case kDLCPU:
    case kDLCUDAHost:  // pinned host memory: host code reads it directly
    case kDLROCMHost:
      *device = Device{DeviceKind::kCpu, 0};
      return true;
    case kDLCUDA:
    case kDLCUDAManaged:
      *device = Device{DeviceKind::kCuda, d.device_id};
      return true;
    case kDLROCM:
      *device = Device{DeviceKind::kHip, d.device_id};
      return true;
    default:
      return false;
  }
}

// Whether obj is a torch.Tensor on the CPU, without importing torch (false
// until something else has). torch's __dlpack_device__ is a Python method that
// costs about 2 us, a tenth of a small op's whole call with four tensors;
// is_cpu is a C getter.
bool IsTorchCpuTensor(py::handle obj) {
  static PyObject* tensor_type = nullptr;
  if (tensor_type == nullptr) {
    PyObject* torch = PyDict_GetItemString(PyImport_GetModuleDict(), "torch");
    if (torch == nullptr) return false;
    tensor_type = PyObject_GetAttrString(torch, "Tensor");  // kept for good
    if (tensor_type == nullptr || !PyType_Check(tensor_type)) {
      PyErr_Clear();
      Py_CLEAR(tensor_type);
      return false;
    }
  }
  if (!PyObject_TypeCheck(obj.ptr(),
                          reinterpret_cast<PyTypeObject*>(tensor_type))) {
    return false;
  }
  PyObject* is_cpu = PyObject_GetAttrString(obj.ptr(), "is_cpu");
  if (is_cpu == nullptr) {
    PyErr_Clear();
    return false;
  }
  const bool cpu = is_cpu == Py_True;
  Py_DECREF(is_cpu);
  return cpu;
}

// Calls obj.__dlpack__ with the stream argument the DLPack protocol defines for
// the producer's device, so a GPU producer orders its work before ours.
py::object ExportCapsule(py::handle obj, absl::string_view name,
                         uintptr_t stream) {
  int device_type = kDLCPU;
  if (IsTorchCpuTensor(obj)) return obj.attr("__dlpack__")();
  if (py::hasattr(obj, "__dlpack_device__")) {
    py::tuple dev = obj.attr("__dlpack_device__")();
    device_type = dev[0].cast<int>();
  }
  if (device_type == kDLCUDA || device_type == kDLCUDAManaged ||
      device_type == kDLROCM) {
    // CUDA: 1 = the legacy default stream (0 is disallowed); ROCm: 0 = the
    // default stream.
    const uintptr_t hint =
        stream != 0 ? stream : (device_type == kDLROCM ? 0 : 1);
    try {
      return obj.attr("__dlpack__")(py::arg("stream") = hint);
    } catch (py::error_already_set& e) {
      if (!e.matches(PyExc_TypeError)) throw;
    }
  }
  return obj.attr("__dlpack__")();
}

DLManagedTensor* TakeCapsule(py::handle capsule, absl::string_view name) {
  PyObject* c = capsule.ptr();
  if (PyCapsule_IsValid(c, kUsedCapsuleName)) {
    RaiseArgError(
        PyExc_ValueError, name,
        "this DLPack capsule was already consumed; export the tensor again");
  }
  if (!PyCapsule_IsValid(c, kCapsuleName)) {
    const char* got = PyCapsule_GetName(c);
    PyErr_Clear();
    RaiseArgError(
        PyExc_TypeError, name,
        absl::StrCat(
            "expected a DLPack capsule named 'dltensor', got a capsule named '",
            got == nullptr ? "" : got, "'"));
  }
  auto* managed =
      static_cast<DLManagedTensor*>(PyCapsule_GetPointer(c, kCapsuleName));
  if (managed == nullptr) throw py::error_already_set();
  // The consumer owns a renamed capsule's tensor: its destructor will no longer
  // free it.
  if (PyCapsule_SetName(c, kUsedCapsuleName) != 0)
    throw py::error_already_set();
  return managed;
}

// Empty on success; else the message, with the Python exception type in
// *error_type.
std::string ToTensorRef(const DLTensor& t, TensorRef* ref,
                        PyObject** error_type) {
  *error_type = PyExc_ValueError;
  if (!ToDType(t.dtype, &ref->dtype)) {
    *error_type = PyExc_TypeError;
    return absl::StrCat(
        "unsupported dtype ", DlpackDTypeName(t.dtype),
        "; expected float16, bfloat16, float32, float64, int32 or int64");
  }
  if (!ToDevice(t.device, &ref->device)) {
    return absl::StrCat("unsupported DLPack device type ",
                        static_cast<int>(t.device.device_type),
                        "; expected CPU, CUDA or ROCm memory");
  }
  if (t.ndim < 0 || (t.ndim > 0 && t.shape == nullptr)) {
    return absl::StrCat("malformed DLPack tensor: ndim ", t.ndim,
                        " with no shape");
  }
  ref->shape.assign(t.shape, t.shape + t.ndim);
  bool empty = false;
  for (int64_t d : ref->shape) empty = empty || d == 0;
  if (t.strides == nullptr || empty) {
    // DLPack: no strides means compact row-major. An empty tensor's strides are
    // arbitrary (torch exports 1 for a size-0 dim); it is contiguous, as torch
    // considers it.
    ref->strides = ContiguousStrides(ref->shape);
  } else {
    ref->strides.assign(t.strides, t.strides + t.ndim);
  }
  ref->data =
      t.data == nullptr ? nullptr : static_cast<char*>(t.data) + t.byte_offset;
  return "";
}

}  // namespace

DlpackTensor::DlpackTensor(DlpackTensor&& other) noexcept
    : managed_(std::exchange(other.managed_, nullptr)),
      ref_(std::move(other.ref_)) {}

DlpackTensor& DlpackTensor::operator=(DlpackTensor&& other) noexcept {
  if (this != &other) {
    Release();
    managed_ = std::exchange(other.managed_, nullptr);
    ref_ = std::move(other.ref_);
  }
  return *this;
}

DlpackTensor::~DlpackTensor() { Release(); }

void DlpackTensor::Release() {
  if (managed_ != nullptr && managed_->deleter != nullptr)
    managed_->deleter(managed_);
  managed_ = nullptr;
}

DlpackTensor BorrowTensor(py::handle obj, absl::string_view name,
                          uintptr_t stream) {
  py::object capsule;
  if (PyCapsule_CheckExact(obj.ptr())) {
    capsule = py::reinterpret_borrow<py::object>(obj);
  } else if (py::hasattr(obj, "__dlpack__")) {
    try {
      capsule = ExportCapsule(obj, name, stream);
    } catch (py::error_already_set& e) {
      RaiseArgError(
          PyExc_ValueError, name,
          absl::StrCat("could not be exported through __dlpack__: ", e.what()));
    }
    if (!PyCapsule_CheckExact(capsule.ptr())) {
      RaiseArgError(PyExc_TypeError, name,
                    "__dlpack__() did not return a capsule");
    }
  } else {
    RaiseArgError(
        PyExc_TypeError, name,
        absl::StrCat(
            "expected a tensor supporting DLPack (an object with __dlpack__, "
            "e.g. a torch.Tensor or numpy.ndarray) or a DLPack capsule, got ",
            std::string(py::str(py::type::of(obj).attr("__name__")))));
  }

  DLManagedTensor* managed = TakeCapsule(capsule, name);
  TensorRef ref;
  PyObject* error_type = nullptr;
  const std::string error = ToTensorRef(managed->dl_tensor, &ref, &error_type);
  // Owns the tensor from here on: the error below releases it too.
  DlpackTensor borrowed(managed, std::move(ref));
  if (!error.empty()) RaiseArgError(error_type, name, error);
  return borrowed;
}

std::optional<DlpackTensor> BorrowOptionalTensor(py::handle obj,
                                                 absl::string_view name,
                                                 uintptr_t stream) {
  if (obj.is_none()) return std::nullopt;
  return BorrowTensor(obj, name, stream);
}

}  // namespace python
}  // namespace tapconv
