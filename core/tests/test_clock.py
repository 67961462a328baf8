from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from servicesync import SystemClock, VirtualClock


async def test_virtual_clock_sleep_costs_no_real_time() -> None:
    clock = VirtualClock(datetime(2026, 3, 1, tzinfo=UTC))

    await clock.sleep(3 * 3600)

    assert clock.now() == datetime(2026, 3, 1, 3, tzinfo=UTC)
    assert clock.monotonic() == 3 * 3600


async def test_virtual_clock_concurrent_sleepers_overlap() -> None:
    clock = VirtualClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    await asyncio.gather(sleeper("slow", 10), sleeper("fast", 2), sleeper("mid", 5))

    assert woke == [("fast", 2), ("mid", 5), ("slow", 10)]
    assert clock.monotonic() == 10


async def test_virtual_clock_waits_for_ready_work_before_jumping() -> None:
    clock = VirtualClock()
    steps: list[float] = []

    async def busy() -> None:
        for _ in range(50):
            steps.append(clock.monotonic())
            await asyncio.sleep(0)

    await asyncio.gather(clock.sleep(60), busy())

    assert steps == [0.0] * 50


async def test_virtual_clock_cancelled_sleeper_does_not_move_time() -> None:
    clock = VirtualClock()
    task = asyncio.create_task(clock.sleep(1000))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await clock.sleep(1)

    assert clock.monotonic() == 1


def test_virtual_clock_advance_by_hand() -> None:
    clock = VirtualClock()

    clock.advance(90)

    assert clock.now() - VirtualClock().now() == timedelta(seconds=90)


def test_virtual_clock_refuses_naive_start() -> None:
    with pytest.raises(ValueError, match="aware"):
        VirtualClock(datetime(2026, 1, 1))


def test_system_clock_scale_speeds_time_up() -> None:
    clock = SystemClock(scale=1000)

    assert clock.now().tzinfo is not None
    assert clock.monotonic() >= 0


def test_system_clock_refuses_zero_scale() -> None:
    with pytest.raises(ValueError, match="positive"):
        SystemClock(scale=0)
