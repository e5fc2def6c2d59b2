"""The test suite's kernel start (conftest.py): a notebook whose kernel fails to start once still runs."""
import nbval.kernel
import nbval.plugin
import pytest


def test_a_kernel_that_fails_to_start_once_is_started_again(monkeypatch, capsys):
    calls = []
    real_start = nbval.kernel.start_new_kernel

    def flaky_start(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel didn't respond in 60 seconds")
        return real_start(*args, **kwargs)

    monkeypatch.setattr(nbval.kernel, "start_new_kernel", flaky_start)
    kernel = nbval.plugin.RunningKernel(nbval.kernel.CURRENT_ENV_KERNEL_NAME, startup_timeout=60)
    try:
        assert len(calls) == 2
        assert "start 1 of 3 failed" in capsys.readouterr().out
    finally:
        kernel.stop()


def test_a_kernel_that_never_starts_still_fails(monkeypatch):
    def dead_start(*args, **kwargs):
        raise RuntimeError("Kernel didn't respond in 60 seconds")

    monkeypatch.setattr(nbval.kernel, "start_new_kernel", dead_start)
    with pytest.raises(RuntimeError, match="didn't respond"):
        nbval.plugin.RunningKernel(nbval.kernel.CURRENT_ENV_KERNEL_NAME, startup_timeout=60)
