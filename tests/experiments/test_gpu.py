import numpy as np
import pytest

from lawloop.experiments import check_backend, make

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_pendulum_periods_agree_on_cpu_and_cuda():
    options = {"max_amplitude": "3.0", "damping": "0.1"}
    cpu = make("core/Pendulum-v0", device="cpu", options=options)
    gpu = make("core/Pendulum-v0", device="cuda", options=options)
    x = cpu.sample_inputs(np.random.default_rng(0), 5000)
    T_cpu = cpu.run_batch(x, seed=0).columns["T"]
    T_gpu = gpu.run_batch(x, seed=0).columns["T"]
    assert type(T_gpu) is np.ndarray
    np.testing.assert_allclose(T_gpu, T_cpu, rtol=1e-9)


def test_default_device_is_cuda_when_available():
    assert make("core/Pendulum-v0").device == "cuda"


def test_checker_passes_on_cuda():
    check_backend(make("core/Pendulum-v0", device="cuda"), large_batch=100_000)
