#include "backends/hip/hip_backend.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tapconv {
namespace {

constexpr char kPlugin[] = "libtapconv_hip.so";
constexpr char kRunfilesPath[] = "/tapconv/backends/hip/libtapconv_hip.so";

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Where the plugin may be, most specific first.
std::vector<std::string> Candidates() {
  std::vector<std::string> c;
  if (const char* env = std::getenv("TAPCONV_HIP_PLUGIN"); env && *env)
    c.emplace_back(env);
  // Next to the binary or shared object this code is linked into (the Python
  // extension, a packed binary), or in its .libs directory.
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&Candidates), &info) != 0 &&
      info.dli_fname != nullptr) {
    const std::string dir = DirectoryOf(info.dli_fname);
    c.push_back(absl::StrCat(dir, "/", kPlugin));
    c.push_back(absl::StrCat(dir, "/.libs/", kPlugin));
  }
  // Bazel runfiles (tests, bazel run).
  for (const char* var : {"TEST_SRCDIR", "RUNFILES_DIR"}) {
    if (const char* dir = std::getenv(var); dir && *dir)
      c.push_back(absl::StrCat(dir, kRunfilesPath));
  }
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    c.push_back(absl::StrCat(exe, ".runfiles", kRunfilesPath));
  }
  return c;
}

const gpu::GpuKernels* LoadPlugin(std::string* why) {
  std::vector<std::string> tried;
  for (const std::string& path : Candidates()) {
    if (access(path.c_str(), R_OK) != 0) {
      tried.push_back(path);
      continue;
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* e = dlerror();
      *why = absl::StrCat("the HIP plugin ", path, " could not be loaded (",
                          e ? e : "unknown error",
                          "); it needs ROCm's libamdhip64.so.5");
      return nullptr;
    }
    using Entry = const gpu::GpuKernels* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(handle, "TapconvHipKernels"));
    if (entry == nullptr) {
      *why = absl::StrCat(path, " has no TapconvHipKernels entry point");
      return nullptr;
    }
    return entry();
  }
  // Last, the dynamic loader's own search path.
  void* handle = dlopen(kPlugin, RTLD_NOW | RTLD_LOCAL);
  if (handle != nullptr) {
    using Entry = const gpu::GpuKernels* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(handle, "TapconvHipKernels"));
    if (entry != nullptr) return entry();
  }
  *why = absl::StrCat(
      "the HIP kernels (", kPlugin,
      ") are not installed; looked in: ", absl::StrJoin(tried, ", "),
      " and the loader path (set TAPCONV_HIP_PLUGIN)");
  return nullptr;
}

}  // namespace

HipBackend::HipBackend()
    : GpuBackend("hip", DeviceKind::kHip, 10, LoadPlugin) {}

namespace {

const BackendRegistration registration(std::make_unique<HipBackend>());

}  // namespace
}  // namespace tapconv
