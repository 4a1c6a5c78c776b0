"""The `snapshot` fixture: exact comparison with a committed file, rewritten only when asked."""

import pytest


def test_a_matching_snapshot_passes_and_a_changed_one_fails_with_a_diff(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_doc="""
        import os
        def test_doc(snapshot):
            snapshot.assert_match({"version": os.environ["DOC_VERSION"]}, "doc.json")
        """
    )
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\nfilterwarnings = error\n")
    monkeypatch.setenv("DOC_VERSION", "1")
    missing = pytester.runpytest()
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(["*no snapshot*doc.json; run with --snapshot-update*"])

    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    assert (pytester.path / "snapshots" / "doc.json").read_text() == '{\n  "version": "1"\n}\n'
    pytester.runpytest().assert_outcomes(passed=1)

    monkeypatch.setenv("DOC_VERSION", "2")
    changed = pytester.runpytest()
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(["*differs*", '*-  "version": "1"*', '*+  "version": "2"*'])
