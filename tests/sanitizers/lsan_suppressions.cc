// Leaks that are not ours, suppressed for the sanitizer builds of the tests
// that load GPU runtimes (--config=asan). ROCm's runtime keeps the kernel
// registrations of a loaded code object (__hipRegisterFunction) until exit and
// never frees them.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libamdhip64.so\n";
}
