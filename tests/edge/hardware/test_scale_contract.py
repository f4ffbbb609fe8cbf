"""The real SerialScale against ScaleSimulator over a real pty, for every protocol."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from edge.hardware import open_scale
from edge.hardware.fakes import ScaleSimulator
from edge.hardware.scale_serial import SerialScale

PROTOCOLS = ["yaohua", "toledo", "generic"]


@pytest.fixture(params=PROTOCOLS)
def sim(request: pytest.FixtureRequest) -> Iterator[ScaleSimulator]:
    with ScaleSimulator(request.param, interval=0.01, settle_frames=4) as s:
        yield s


def _scale(sim: ScaleSimulator) -> SerialScale:
    scale = open_scale(sim.url(stable=3))
    assert isinstance(scale, SerialScale)
    scale.link.reconnect_interval = 0.05
    return scale


def _wait(pred: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_reads_stable_weight_after_settling(sim: ScaleSimulator) -> None:
    with _scale(sim) as scale:
        assert scale.read(timeout=3.0) is not None
        sim.put(1234)
        seen = []
        stable = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            w = scale.read(timeout=1.0)
            assert w is not None
            seen.append(w)
            if w.stable and w.grams == 1234:
                stable = w
                break
        assert stable is not None, seen
        assert scale.connected
        # the settling phase produced unstable readings of other values
        assert any(not w.stable and w.grams != 1234 for w in seen)
        # once stable it stays stable at that weight
        again = scale.wait_stable(timeout=2.0)
        assert again is not None and again.grams == 1234
        sim.remove()
        zero = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and zero is None:
            w = scale.read(timeout=1.0)
            if w is not None and w.stable and w.grams == 0:
                zero = w
        assert zero is not None


def test_bad_frames_are_dropped_and_counted(sim: ScaleSimulator) -> None:
    sim.put(500)
    with _scale(sim) as scale:
        assert scale.wait_stable(timeout=3.0) is not None
        before = scale.bad_frames
        sim.bad_frames(5)
        assert _wait(lambda: scale.bad_frames >= before + 5)
        w = scale.wait_stable(timeout=3.0)
        assert w is not None and w.grams == 500
        assert scale.connected


def test_unplug_is_seen_and_the_scale_reconnects(sim: ScaleSimulator) -> None:
    sim.put(800)
    with _scale(sim) as scale:
        assert scale.wait_stable(timeout=3.0) is not None
        sim.unplug()
        assert _wait(lambda: not scale.connected), "disconnect not detected"
        assert scale.read(timeout=0.3) is None
        sim.replug()
        sim.put(2500)
        assert _wait(lambda: scale.connected), "did not reconnect"
        assert scale.link.reconnects == 1
        w = scale.wait_stable(timeout=3.0)
        assert w is not None and w.grams == 2500


def test_missing_device_does_not_raise_and_connects_when_it_appears(tmp_path: object) -> None:
    sim = ScaleSimulator("generic", interval=0.01, settle_frames=0)
    scale = open_scale(sim.url())
    assert isinstance(scale, SerialScale)
    scale.link.reconnect_interval = 0.05
    with scale:
        assert scale.read(timeout=0.2) is None
        assert not scale.connected
        sim.start()
        try:
            sim.put(42)
            w = scale.wait_stable(timeout=3.0)
            assert w is not None and w.grams == 42
        finally:
            sim.stop()


def test_shake_makes_readings_unstable_then_stable_again(sim: ScaleSimulator) -> None:
    sim.put(300)
    with _scale(sim) as scale:
        assert scale.wait_stable(timeout=3.0) is not None
        sim.shake(6)
        unstable = None
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and unstable is None:
            w = scale.read(timeout=1.0)
            if w is not None and not w.stable:
                unstable = w
        assert unstable is not None
        w = scale.wait_stable(timeout=3.0)
        assert w is not None and w.grams == 300
