"""pytest_test: one py_test running pytest on one file with Debian's interpreter."""

def pytest_test(name, src, deps = [], data = [], size = "small", tags = [], **kwargs):
    """A py_test that runs `pytest src`, writing JUnit XML where Bazel expects it.

    Args:
      name: target name.
      src: the test file (outside pypkg/tapconv, see build.md: Python puts the script's real
        directory first on sys.path).
      deps: py_library deps (usually //pypkg:tapconv).
      data: extra runfiles.
      size: Bazel test size.
      tags: extra tags; "no_asan" is always added (an ASan build cannot be loaded by Python).
      **kwargs: passed to py_test.
    """
    native.py_test(
        name = name,
        srcs = ["//pypkg/tests:pytest_main.py", src],
        main = "//pypkg/tests:pytest_main.py",
        args = ["$(location %s)" % src],
        python_version = "PY3",
        srcs_version = "PY3",
        deps = deps,
        data = data,
        size = size,
        tags = tags + ["no_asan"],
        **kwargs
    )
