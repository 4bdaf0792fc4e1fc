"""SIGTERM stops ``record`` (live path) as Ctrl-C does: summary, recording kept, exit 143."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from processor.config import ReplayConfig
from processor.io.readers import open_recording
from processor.model import Chunk


@pytest.mark.bumble
@pytest.mark.slow
def test_sigterm_stops_record_cleanly(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "twitchwatch"
    out = tmp_path / "night.twrec"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    argv = [str(script), "record", "--emulate", "myo", "--duration", "120", "--out", str(out)]
    with subprocess.Popen(  # noqa: S603 - our own console script
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        lines = iter(proc.stdout.readline, "")
        connected = next((line for line in lines if "[myo] connected" in line), "")
        assert connected, "the band never streamed"
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr
    assert "Summary of session" in stdout
    assert "NOTE       interrupted by SIGTERM" in stdout
    recorded = re.search(r"recorded (\d+) notifications", stdout)
    assert recorded is not None, stdout
    assert int(recorded.group(1)) > 0
    with open_recording(out, ReplayConfig()) as reader:
        assert any(isinstance(item, Chunk) for item in reader.items())


@pytest.mark.bumble
def test_a_detection_bug_in_run_keeps_streaming_then_reports_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from processor import runtime
    from processor.cli import main
    from processor.model import Event, Gap
    from tests.cli.fakes import FakePipeline

    class BrokenPipeline(FakePipeline):
        def process(self, item: Chunk | Gap) -> list[Event]:
            raise ZeroDivisionError("bug in a stage")

    monkeypatch.setattr(runtime, "default_pipeline_factory", lambda: (BrokenPipeline, ""))
    argv = ["run", "--emulate", "myo", "--duration", "1.5", "--no-history", "--quiet"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err
    assert "ZeroDivisionError: bug in a stage" in captured.err
    assert "FAILED     processing of myo: ZeroDivisionError" in captured.out
    received = re.search(r"myo: (\d+) notifications", captured.out)
    assert received is not None, captured.out
    assert int(received.group(1)) > 50, "the band kept streaming after the failure"
