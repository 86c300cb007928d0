"""Runs pytest on the test files given as arguments, as a Bazel py_test.

Writes JUnit XML (one <testcase> per test function) to $XML_OUTPUT_FILE, so CI counts test
cases, and keeps pytest's cache out of the source tree.
"""

import os
import sys

import pytest


def main():
    args = list(sys.argv[1:]) + ["-q", "-p", "no:cacheprovider", "-o", "junit_family=xunit1"]
    xml = os.environ.get("XML_OUTPUT_FILE")
    if xml:
        args.append("--junitxml=" + xml)
    code = pytest.main(args)
    # pytest's 5 = "no tests collected": a test target without tests is a failure here.
    sys.exit(1 if code == 5 else int(code))


if __name__ == "__main__":
    main()
