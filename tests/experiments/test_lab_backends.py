"""The lab backends: Projectile, Kepler, Blackbody, Decay and Cosmology.

Each passes the conformance checker on 100_000 points, agrees with an
independent reference (analytic law, scipy integration or quadrature) and
is reproducible from its seed.
"""

import math
from pathlib import Path

import numpy as np
import pytest
import sympy
from scipy import constants
from scipy.integrate import quad, solve_ivp
from scipy.special import hyp2f1

from lawloop.experiments import check_backend, list_backends, make

LAB_IDS = [
    "core/Projectile-v0",
    "core/Kepler-v0",
    "core/Blackbody-v0",
    "core/Decay-v0",
    "core/Cosmology-v0",
]
NOISY = {"core/Blackbody-v0", "core/Decay-v0", "core/Cosmology-v0"}
G = 9.81


def _inputs(**values):
    n = max(np.size(v) for v in values.values())
    return {
        k: np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy()
        for k, v in values.items()
    }


def _truth(lab, name, x):
    """Evaluate `lab.ground_truth()[name]` at the inputs `x` (2F1 through SciPy)."""
    names = [v.name for v in lab.inputs]
    expr = sympy.sympify(
        lab.ground_truth()[name], locals={n: sympy.Symbol(n) for n in names}
    )
    hyper = {"hyper": lambda a, b, z: hyp2f1(a[0], a[1], b[0], z)}
    fn = sympy.lambdify(
        [sympy.Symbol(n) for n in names], expr, modules=[hyper, "numpy"]
    )
    return np.broadcast_to(fn(*[x[n] for n in names]), next(iter(x.values())).shape)


# -- conformance and seeds ---------------------------------------------------


FEYNMAN = (
    Path(__file__).resolve().parents[2] / "benchmarks" / "problems" / "feynman_dev.json"
)
# Backends that cannot be built without options get them here; a new
# built-in without an entry fails the test below rather than being skipped.
BUILTIN_OPTIONS = {
    "core/Formula-v0": {"problem_file": str(FEYNMAN), "problem_id": "I.12.1"}
}


BUILTIN_IDS = sorted(s.id for s in list_backends() if s.id.startswith("core/"))


@pytest.mark.parametrize("backend_id", BUILTIN_IDS, ids=str)
def test_every_builtin_passes_the_checker_on_100_000_points(backend_id):
    lab = make(backend_id, options=BUILTIN_OPTIONS.get(backend_id, {}))
    report = check_backend(lab, large_batch=100_000)
    assert report.ok
    assert {"units", "names", "edges", "out_of_range", "batch_of_100000"} <= set(
        report.passed
    )


def test_the_counter_declares_its_poisson_noise_to_the_agent():
    assert make("core/Decay-v0").declared_noise.kind == "poisson"


@pytest.mark.parametrize("backend_id", LAB_IDS, ids=str)
def test_same_seed_repeats_and_another_seed_redraws_only_the_noise(backend_id):
    lab = make(backend_id, device="cpu")
    assert lab.deterministic is True
    x = lab.sample_inputs(np.random.default_rng(3), 300)
    first, again, other = (lab.run_batch(x, seed=s) for s in (11, 11, 12))
    assert first.status.ok
    for name, col in first.columns.items():
        assert np.array_equal(col, again.columns[name])
        if backend_id in NOISY:
            assert not np.array_equal(col, other.columns[name])
        else:
            assert np.array_equal(col, other.columns[name])


@pytest.mark.parametrize(
    ("backend_id", "secrets"),
    [
        ("core/Decay-v0", {"half_life": "5"}),
        ("core/Cosmology-v0", {"H0": "60", "Omega_m": "0.25"}),
    ],
    ids=["decay", "cosmology"],
)
def test_hidden_options_never_reach_the_agent(backend_id, secrets):
    lab = make(backend_id, options=secrets)
    assert not set(secrets) & set(lab.options)
    result = lab.run_batch(lab.sample_inputs(np.random.default_rng(0), 5), seed=0)
    assert not set(secrets) & set(result.info["options"])
    assert not hasattr(lab, "ground_truth")


@pytest.mark.parametrize(
    "backend_id", ["core/Projectile-v0", "core/Kepler-v0"], ids=str
)
def test_chunked_batches_match_single_points(backend_id):
    lab = make(backend_id, device="cpu")
    x = lab.sample_inputs(np.random.default_rng(7), 16_500)  # more than one CPU chunk
    batch = lab.run_batch(x, seed=0).columns
    for i in (0, 16_499):
        single = lab.run_batch({k: v[i : i + 1] for k, v in x.items()}, seed=0).columns
        for name, col in batch.items():
            assert single[name][0] == pytest.approx(col[i], rel=1e-12)


# -- Projectile ----------------------------------------------------------------


def test_projectile_with_tiny_drag_follows_the_vacuum_law():
    lab = make("core/Projectile-v0", device="cpu", blind=False)
    rng = np.random.default_rng(0)
    # k = c*v0**2/(m*g) <= 1e-7: the drag changes the range by less than 1e-6.
    x = _inputs(
        v0=rng.uniform(1, 10, 200),
        theta=rng.uniform(0.05, 1.5, 200),
        m=10.0,
        c=1e-6,
    )
    cols = lab.run_batch(x, seed=0).columns
    np.testing.assert_allclose(
        cols["R"], x["v0"] ** 2 * np.sin(2 * x["theta"]) / G, rtol=1e-6
    )
    np.testing.assert_allclose(
        cols["t_f"], 2 * x["v0"] * np.sin(x["theta"]) / G, rtol=1e-6
    )
    np.testing.assert_allclose(cols["R"], _truth(lab, "R", x), rtol=1e-6)


def test_projectile_range_strictly_decreases_with_drag():
    lab = make("core/Projectile-v0", device="cpu")
    c = np.geomspace(1e-6, 0.1, 40)
    for theta in (0.1, 0.7, 1.4):
        R = lab.run_batch(_inputs(v0=40.0, theta=theta, m=0.05, c=c), seed=0).columns[
            "R"
        ]
        assert np.all(np.diff(R) < 0)
        assert R[-1] < 0.05 * R[0]  # the drag-dominated end is reached


@pytest.mark.parametrize("k", [0.05, 1.0, 20.0], ids=lambda k: f"k={k}")
def test_projectile_matches_an_independent_scipy_integration(k):
    lab = make("core/Projectile-v0", device="cpu")
    theta = np.array([0.2, 0.8, 1.3])
    v0, m = 25.0, 0.1
    x = _inputs(v0=v0, theta=theta, m=m, c=k * m * G / v0**2)
    cols = lab.run_batch(x, seed=0).columns

    def rhs(t, s):
        speed = math.hypot(s[0], s[1])
        return [-k * speed * s[0], -1 - k * speed * s[1], s[0], s[1]]

    def ground(t, s):
        return s[3]

    ground.terminal, ground.direction = True, -1
    for i, th in enumerate(theta):
        sol = solve_ivp(
            rhs,
            (0, 10),
            [math.cos(th), math.sin(th), 0, 0],
            method="DOP853",
            rtol=1e-12,
            atol=1e-14,
            events=ground,
        )
        t_land, x_land = sol.t_events[0][-1], sol.y_events[0][-1][2]
        assert cols["R"][i] == pytest.approx(x_land * v0**2 / G, rel=1e-6)
        assert cols["t_f"][i] == pytest.approx(t_land * v0 / G, rel=1e-6)


# -- Kepler --------------------------------------------------------------------


def test_kepler_period_and_periapsis_match_the_analytic_orbit():
    lab = make("core/Kepler-v0", device="cpu", blind=False)
    x = lab.sample_inputs(np.random.default_rng(1), 3000)
    x["f"][:3] = [0.6, 1.0, 1.3]  # both ends of the range and the circle
    cols = lab.run_batch(x, seed=0).columns
    mu = 6.674e-11 * (x["m1"] + x["m2"])
    energy = (x["f"] ** 2 * mu / x["r0"]) / 2 - mu / x["r0"]  # vis-viva
    a = -mu / (2 * energy)
    h = x["f"] * np.sqrt(mu * x["r0"])  # angular momentum per reduced mass
    e = np.sqrt(np.maximum(1 - h**2 / (mu * a), 0.0))
    np.testing.assert_allclose(cols["P"], 2 * np.pi * np.sqrt(a**3 / mu), rtol=1e-6)
    np.testing.assert_allclose(cols["r_p"], a * (1 - e), rtol=1e-6)
    np.testing.assert_allclose(cols["P"], _truth(lab, "P", x), rtol=1e-6)
    np.testing.assert_allclose(cols["r_p"], _truth(lab, "r_p", x), rtol=1e-6)


def test_kepler_earth_moon_period_is_27_days():
    lab = make("core/Kepler-v0", device="cpu")
    x = _inputs(m1=5.972e24, m2=7.342e22, r0=3.844e8, f=1.0)
    P = lab.run_batch(x, seed=0).columns["P"][0]
    assert pytest.approx(27.28, abs=0.01) == P / 86400


# -- Blackbody -----------------------------------------------------------------


def _planck(lam, T):
    h, c, k = constants.h, constants.c, constants.k
    return 2 * h * c**2 / lam**5 / np.expm1(h * c / (lam * k * T))


def test_blackbody_without_noise_is_planck_law():
    lab = make("core/Blackbody-v0", options={"read_noise": "0"}, blind=False)
    x = lab.sample_inputs(np.random.default_rng(2), 5000)
    B = lab.run_batch(x, seed=0).columns["B"]
    np.testing.assert_allclose(B, _planck(x["lam"], x["T"]), rtol=1e-12)
    np.testing.assert_allclose(B, _truth(lab, "B", x), rtol=1e-12)
    assert lab.precision == 1e-12


@pytest.mark.parametrize("T", [400.0, 1500.0, 5772.0, 9000.0], ids=str)
def test_blackbody_peak_follows_wien_displacement(T):
    lab = make("core/Blackbody-v0", options={"read_noise": "0"})
    wien = constants.physical_constants["Wien wavelength displacement law constant"][0]
    lam = np.geomspace(0.5 * wien / T, 2 * wien / T, 4001)
    B = lab.run_batch(_inputs(lam=lam, T=T), seed=0).columns["B"]
    assert lam[np.argmax(B)] * T == pytest.approx(wien, rel=5e-4)


def test_blackbody_read_noise_is_relative_at_the_set_level():
    clean = make("core/Blackbody-v0", options={"read_noise": "0"})
    noisy = make("core/Blackbody-v0", options={"read_noise": "0.05"})
    x = clean.sample_inputs(np.random.default_rng(4), 20_000)
    ratio = (
        noisy.run_batch(x, seed=1).columns["B"]
        / clean.run_batch(x, seed=1).columns["B"]
    )
    assert abs(ratio.mean() - 1) < 4 * 0.05 / math.sqrt(ratio.size)
    assert ratio.std() == pytest.approx(0.05, rel=0.03)
    assert make("core/Blackbody-v0").options["read_noise"] == 0.01


# -- Decay ---------------------------------------------------------------------


@pytest.mark.parametrize("half_life", [None, 7.5], ids=["default", "7.5s"])
def test_decay_mean_counts_follow_the_exponential_law(half_life):
    options = {} if half_life is None else {"half_life": str(half_life)}
    lab = make("core/Decay-v0", options=options, blind=False)
    tau = (half_life or 20.0) / math.log(2)
    repeats = 2000
    windows = [
        (0.0, 1.0, 500.0),
        (5.0, 2.0, 50.0),
        (20.0, 0.1, 9000.0),
        (60.0, 10.0, 300.0),
    ]
    x = _inputs(
        t=np.repeat([w[0] for w in windows], repeats),
        dt=np.repeat([w[1] for w in windows], repeats),
        A0=np.repeat([w[2] for w in windows], repeats),
    )
    counts = lab.run_batch(x, seed=5).columns["counts"].reshape(len(windows), repeats)
    assert np.all(counts == np.rint(counts))
    assert np.all(counts >= 0)
    for (t, dt, A0), row in zip(windows, counts, strict=True):
        mean = A0 * tau * (math.exp(-t / tau) - math.exp(-(t + dt) / tau))
        assert abs(row.mean() - mean) < 4 * math.sqrt(mean / repeats)
        assert row.var() == pytest.approx(mean, rel=0.15)  # Poisson: variance = mean
    truth = _truth(lab, "counts", x).reshape(len(windows), repeats)[:, 0]
    expected = [
        A0 * tau * (math.exp(-t / tau) - math.exp(-(t + dt) / tau))
        for t, dt, A0 in windows
    ]
    np.testing.assert_allclose(truth, expected, rtol=1e-12)


# -- Cosmology -----------------------------------------------------------------


def _luminosity_distance_mpc(mu):
    return 10 ** ((mu - 25) / 5)


def test_cosmology_low_redshift_distance_is_hubble_law():
    lab = make("core/Cosmology-v0", options={"scatter": "0"})
    z = np.linspace(0.01, 0.02, 11)
    d_l = _luminosity_distance_mpc(lab.run_batch(_inputs(z=z), seed=0).columns["mu"])
    hubble = constants.c / 1e3 * z / 70.0
    np.testing.assert_allclose(d_l, hubble, rtol=2e-2)
    q0 = 0.3 / 2 - 0.7  # deceleration parameter: next order of the expansion
    np.testing.assert_allclose(d_l, hubble * (1 + (1 - q0) * z / 2), rtol=3e-4)


@pytest.mark.parametrize(
    ("H0", "omega"), [(70.0, 0.3), (67.4, 0.315), (73.0, 0.0)], ids=str
)
def test_cosmology_distance_matches_scipy_quad(H0, omega):
    options = {"scatter": "0", "H0": str(H0), "Omega_m": str(omega)}
    lab = make("core/Cosmology-v0", options=options, blind=False)
    z = np.array([0.01, 0.3, 1.0, 2.0])
    mu = lab.run_batch(_inputs(z=z), seed=0).columns["mu"]
    for zi, d_l in zip(z, _luminosity_distance_mpc(mu), strict=True):
        chi, _ = quad(
            lambda s: 1 / math.sqrt(omega * (1 + s) ** 3 + 1 - omega),
            0,
            zi,
            epsabs=0,
            epsrel=1e-13,
        )
        assert d_l == pytest.approx((1 + zi) * constants.c / 1e3 / H0 * chi, rel=1e-8)
    np.testing.assert_allclose(mu, _truth(lab, "mu", _inputs(z=z)), rtol=1e-10)


def test_cosmology_scatter_is_gaussian_in_magnitudes():
    clean = make("core/Cosmology-v0", options={"scatter": "0"})
    noisy = make("core/Cosmology-v0")
    x = clean.sample_inputs(np.random.default_rng(6), 20_000)
    residual = (
        noisy.run_batch(x, seed=2).columns["mu"]
        - clean.run_batch(x, seed=2).columns["mu"]
    )
    assert abs(residual.mean()) < 4 * 0.1 / math.sqrt(residual.size)
    assert residual.std() == pytest.approx(0.1, rel=0.03)


# -- GPU -----------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize(
    "backend_id", ["core/Projectile-v0", "core/Kepler-v0"], ids=str
)
def test_torch_backends_agree_on_cpu_and_cuda(backend_id):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    cpu, gpu = make(backend_id, device="cpu"), make(backend_id, device="cuda")
    x = cpu.sample_inputs(np.random.default_rng(8), 5000)
    on_cpu, on_gpu = cpu.run_batch(x, seed=0).columns, gpu.run_batch(x, seed=0).columns
    for name, col in on_cpu.items():
        assert type(on_gpu[name]) is np.ndarray
        np.testing.assert_allclose(on_gpu[name], col, rtol=1e-9)
    check_backend(gpu, large_batch=100_000)
