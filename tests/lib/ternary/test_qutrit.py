"""pxos.ternary.qutrit against dense matrix products (np.kron) for n <= 6."""

from __future__ import annotations

import numpy as np
import pytest

import pxos.ternary as T
from pxos.errors import PxArgumentError
from pxos.testing import for_each_backend

Q = T.qutrit


def full(u, q: int, n: int) -> np.ndarray:
    """The 3^n × 3^n matrix of u on qutrit q (qutrit 0: the least significant digit)."""
    out = np.eye(1)
    for j in reversed(range(n)):
        out = np.kron(out, u if j == q else np.eye(3))
    return out


def full_csum(c: int, t: int, n: int) -> np.ndarray:
    m = np.zeros((3**n, 3**n))
    for i in range(3**n):
        d = [(i // 3**j) % 3 for j in range(n)]
        d[t] = (d[t] + d[c]) % 3
        m[sum(v * 3**j for j, v in enumerate(d)), i] = 1
    return m


def random_unitary(rng) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3)))
    return q


@for_each_backend(argname="device")
@pytest.mark.parametrize("n", [1, 2, 4, 6])
def test_random_circuits_match_dense_products(device, n):
    if device == "interp" and n > 4:
        pytest.skip("interp: small n is enough")
    rng = np.random.default_rng(n)
    state = Q.Qutrits(n, device)
    ref = np.zeros(3**n, complex)
    ref[0] = 1
    for _ in range(12):
        q = int(rng.integers(n))
        kind = rng.integers(5) if n > 1 else rng.integers(4)
        if kind == 0:
            state.x(q, 1 + int(q % 2))
            ref = full(np.linalg.matrix_power(Q.X, 1 + q % 2), q, n) @ ref
        elif kind == 1:
            state.z(q)
            ref = full(Q.Z, q, n) @ ref
        elif kind == 2:
            state.f3(q)
            ref = full(Q.F3, q, n) @ ref
        elif kind == 3:
            u = random_unitary(rng)
            state.gate(u, q)
            ref = full(u, q, n) @ ref
        else:
            t = int((q + 1 + rng.integers(n - 1)) % n)
            state.csum(q, t)
            ref = full_csum(q, t, n) @ ref
    assert np.allclose(state.amplitudes(), ref, atol=1e-12)
    p = state.probabilities()
    assert np.allclose(p.get() if hasattr(p, "get") else p, np.abs(ref) ** 2, atol=1e-12)


def test_gates_are_the_textbook_ones():
    w = np.exp(2j * np.pi / 3)
    assert np.allclose(Q.F3 @ Q.F3.conj().T, np.eye(3))
    assert np.allclose(Q.Z @ Q.X, w * Q.X @ Q.Z)          # ZX = ωXZ
    s = Q.Qutrits(2, "c").f3(0).csum(0, 1)                # a qutrit Bell state
    assert np.allclose(np.abs(s.amplitudes()) ** 2,
                       [1 / 3 if i in (0, 4, 8) else 0 for i in range(9)])


def test_sampling_follows_the_probabilities():
    s = Q.Qutrits(2, "c").f3(0).csum(0, 1)
    d = s.sample(30000, seed=1)
    assert (d[:, 0] == d[:, 1]).all()                     # entangled: always equal
    counts = np.bincount(d[:, 0], minlength=3) / len(d)
    assert np.allclose(counts, 1 / 3, atol=0.015)
    assert (Q.Qutrits(3, "c").x(2, 2).sample(5) == [0, 0, 2]).all()


def test_errors():
    with pytest.raises(PxArgumentError, match="qutrit 3 is not one of the 3"):
        Q.Qutrits(3, "c").x(3)
    with pytest.raises(PxArgumentError, match="two different"):
        Q.Qutrits(3, "c").csum(1, 1)
    with pytest.raises(PxArgumentError, match="3×3"):
        Q.Qutrits(1, "c").gate(np.eye(2), 0)
