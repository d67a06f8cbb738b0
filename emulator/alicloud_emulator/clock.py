"""The emulated clock: wall time at start, then running at ``speed`` times real time, plus manual jumps."""
import threading
import time


class Clock:
    def __init__(self, speed=1.0):
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self._lock = threading.Lock()
        self._speed = float(speed)
        self._real_base = time.monotonic()
        self._emulated_base = time.time()

    @property
    def speed(self):
        return self._speed

    def now(self):
        """Emulated seconds since the epoch."""
        with self._lock:
            return self._emulated_base + (time.monotonic() - self._real_base) * self._speed

    def set_speed(self, speed):
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        with self._lock:
            # Rebase so that changing speed never makes emulated time jump.
            real_now = time.monotonic()
            self._emulated_base += (real_now - self._real_base) * self._speed
            self._real_base = real_now
            self._speed = float(speed)

    def advance(self, seconds):
        """Jump forward (never backward: state transitions are one-way)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._emulated_base += seconds

    def restore(self, emulated_now):
        """Continue from a saved emulated time (state file) if it lies in the future of ours."""
        with self._lock:
            current = self._emulated_base + (time.monotonic() - self._real_base) * self._speed
            if emulated_now > current:
                self._emulated_base += emulated_now - current
