#!/usr/bin/python3
"""Prints 'N passed, N failed, N skipped' for one `bazel test` run.

Counts test cases, not targets: each test target's JUnit XML (gtest writes one <testcase> per
TEST, pytest one per test function) is read from the location the Build Event Protocol file of
that very run names, so stale XML of earlier runs never counts. A target that was expected to
run but has no result in the run (it failed to build, or the run was aborted) counts as one
failure.

Usage: test_summary.py BUILD_EVENTS_JSON EXPECTED_LABELS_FILE
"""

import json
import sys
import urllib.parse
import xml.etree.ElementTree as ET


def read_events(path):
    results = {}  # label -> (status, [xml paths])
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            event = json.loads(line)
            test_id = event.get("id", {}).get("testResult")
            if not test_id or "testResult" not in event:
                continue
            label = test_id["label"]
            payload = event["testResult"]
            xmls = []
            for output in payload.get("testActionOutput", []):
                if output.get("name") == "test.xml" and output.get("uri", "").startswith("file://"):
                    xmls.append(urllib.parse.unquote(output["uri"][len("file://"):]))
            status, previous = results.get(label, ("PASSED", []))
            if payload.get("status", "NO_STATUS") != "PASSED":
                status = payload.get("status", "NO_STATUS")
            results[label] = (status, previous + xmls)
    return results


def count_cases(xml_paths):
    passed = failed = skipped = 0
    for path in xml_paths:
        for case in ET.parse(path).iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif (case.find("skipped") is not None or case.get("result") == "skipped"
                  or case.get("status") == "notrun"):
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped


def main():
    events_path, labels_path = sys.argv[1], sys.argv[2]
    with open(labels_path, encoding="utf-8") as f:
        expected = [l.strip() for l in f if l.strip()]
    results = read_events(events_path)
    passed = failed = skipped = 0
    for label in expected:
        if label not in results:
            print(f"  {label}: no result (did not build or did not run)", file=sys.stderr)
            failed += 1
            continue
        status, xmls = results[label]
        try:
            p, f, s = count_cases(xmls)
        except (OSError, ET.ParseError) as e:
            print(f"  {label}: unreadable test XML ({e})", file=sys.stderr)
            p, f, s = 0, 0, 0
        if status != "PASSED" and f == 0:
            f = 1  # a crash, timeout or harness failure that left no failed <testcase>
        if p + f + s == 0:
            p = 1 if status == "PASSED" else 0
        passed, failed, skipped = passed + p, failed + f, skipped + s
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 and passed + skipped > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
