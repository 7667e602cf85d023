"""A state-vector simulator for n qutrits: 3ⁿ complex amplitudes, gates as pxos kernels.

Basis state ``|d_{n-1} … d_1 d_0⟩`` (each ``d_j`` in 0..2) is amplitude index
``sum d_j · 3^j``: qutrit 0 is the least significant digit. Amplitudes are two float64
arrays (real, imaginary parts), NumPy arrays on a CPU backend, CuPy arrays with
``device="cuda"`` (they stay on the GPU between gates).

Gates: the generalized Pauli ``X|k⟩ = |k+1 mod 3⟩`` and ``Z|k⟩ = ω^k|k⟩`` (ω = e^{2πi/3}),
the ternary Fourier gate ``F₃|j⟩ = Σ_k ω^{jk}|k⟩ / √3``, any 3×3 unitary, and the
controlled SUM ``|c, t⟩ → |c, t + c mod 3⟩``. :meth:`Qutrits.sample` draws measurement
outcomes of all qutrits from the probabilities (a kernel), by a batched search of their
cumulative sum.
"""

from __future__ import annotations

import numpy as np

import pxos
from pxos import Array, f64, i64, registry
from pxos.errors import PxArgumentError

OMEGA = np.exp(2j * np.pi / 3)
X = np.roll(np.eye(3), 1, axis=0)                  # X|k> = |k+1>
Z = np.diag([1, OMEGA, OMEGA**2])
F3 = np.array([[OMEGA ** (j * k) for k in range(3)] for j in range(3)]) / np.sqrt(3)


@pxos.kernel
def gate_kernel(re: Array[f64, 1], im: Array[f64, 1], ure: Array[f64, 1],
                uim: Array[f64, 1], stride: i64):
    """Apply the 3×3 matrix u (row-major, real and imaginary parts) to the qutrit whose
    digit has place value ``stride``: one thread per triple of amplitudes."""
    for g in pxos.parallel(len(re) // 3):
        i0 = (g // stride) * stride * 3 + g % stride
        ar0 = re[i0]
        ai0 = im[i0]
        ar1 = re[i0 + stride]
        ai1 = im[i0 + stride]
        ar2 = re[i0 + 2 * stride]
        ai2 = im[i0 + 2 * stride]
        for r in range(3):
            sr = (ure[3 * r] * ar0 - uim[3 * r] * ai0 + ure[3 * r + 1] * ar1
                  - uim[3 * r + 1] * ai1 + ure[3 * r + 2] * ar2 - uim[3 * r + 2] * ai2)
            si = (ure[3 * r] * ai0 + uim[3 * r] * ar0 + ure[3 * r + 1] * ai1
                  + uim[3 * r + 1] * ar1 + ure[3 * r + 2] * ai2 + uim[3 * r + 2] * ar2)
            re[i0 + r * stride] = sr
            im[i0 + r * stride] = si


@pxos.kernel
def csum_kernel(re: Array[f64, 1], im: Array[f64, 1], control: i64, stride: i64):
    """|c, t> -> |c, t + c mod 3> for the control digit of place value ``control`` and the
    target of place value ``stride``: one thread per triple along the target."""
    for g in pxos.parallel(len(re) // 3):
        i0 = (g // stride) * stride * 3 + g % stride
        s = (i0 // control) % 3
        if s != 0:
            ar0 = re[i0]
            ai0 = im[i0]
            ar1 = re[i0 + stride]
            ai1 = im[i0 + stride]
            ar2 = re[i0 + 2 * stride]
            ai2 = im[i0 + 2 * stride]
            if s == 1:            # t -> t + 1: new[1] = old[0], new[2] = old[1], new[0] = old[2]
                re[i0] = ar2
                im[i0] = ai2
                re[i0 + stride] = ar0
                im[i0 + stride] = ai0
                re[i0 + 2 * stride] = ar1
                im[i0 + 2 * stride] = ai1
            else:                 # t -> t + 2
                re[i0] = ar1
                im[i0] = ai1
                re[i0 + stride] = ar2
                im[i0 + stride] = ai2
                re[i0 + 2 * stride] = ar0
                im[i0 + 2 * stride] = ai0


@pxos.kernel
def probability_kernel(re: Array[f64, 1], im: Array[f64, 1], p: Array[f64, 1]):
    """p[i] = |amplitude i|²."""
    for i in pxos.parallel(len(re)):
        p[i] = re[i] * re[i] + im[i] * im[i]


class Qutrits:
    """n qutrits in the state |0…0⟩.

    Args:
        n: the number of qutrits (1 ≤ n ≤ 19: 3¹⁹ amplitudes take 17 GB).
        device: the backend the kernels run on (one whose arrays are CuPy arrays,
            ``cuda``: the amplitudes stay on its GPU).

    Raises:
        PxArgumentError: n out of range.
    """

    def __init__(self, n: int, device: str | None = None):
        if not 1 <= n <= 19:
            raise PxArgumentError(f"n must be 1..19 qutrits, got {n}")
        self.n, self.device = n, device
        xp = self._xp()
        self.re, self.im = xp.zeros(3**n), xp.zeros(3**n)
        self.re[0] = 1.0

    def _xp(self):
        if self.device is not None and registry.known(self.device) \
                and "cupy" in registry.entry(self.device).libraries:
            import cupy                    # the backend whose arrays are CuPy arrays

            return cupy
        return np

    def _place(self, q: int, what: str = "qutrit") -> int:
        if not 0 <= q < self.n:
            raise PxArgumentError(f"{what} {q} is not one of the {self.n} qutrits 0..{self.n - 1}")
        return 3**q

    def gate(self, u, q: int) -> "Qutrits":
        """Apply the 3×3 matrix ``u`` to qutrit ``q``; returns self.

        Raises:
            PxArgumentError: ``u`` is not 3×3 or ``q`` is not a qutrit.
        """
        u = np.asarray(u, np.complex128)
        if u.shape != (3, 3):
            raise PxArgumentError(f"a qutrit gate is a 3×3 matrix, got shape {u.shape}")
        xp = self._xp()
        ure, uim = (xp.asarray(np.ascontiguousarray(v.reshape(-1))) for v in (u.real, u.imag))
        gate_kernel(self.re, self.im, ure, uim, self._place(q), device=self.device)
        return self

    def x(self, q: int, power: int = 1) -> "Qutrits":
        """Generalized X (``|k⟩ → |k + power mod 3⟩``) on qutrit ``q``."""
        return self.gate(np.linalg.matrix_power(X, power % 3), q)

    def z(self, q: int, power: int = 1) -> "Qutrits":
        """Generalized Z (``|k⟩ → ω^{k·power}|k⟩``) on qutrit ``q``."""
        return self.gate(np.linalg.matrix_power(Z, power % 3), q)

    def f3(self, q: int) -> "Qutrits":
        """The ternary Fourier gate F₃ on qutrit ``q``."""
        return self.gate(F3, q)

    def csum(self, control: int, target: int) -> "Qutrits":
        """Controlled SUM: ``|c, t⟩ → |c, t + c mod 3⟩``.

        Raises:
            PxArgumentError: the same qutrit twice, or not a qutrit.
        """
        if control == target:
            raise PxArgumentError(f"csum needs two different qutrits, got {control} twice")
        csum_kernel(self.re, self.im, self._place(control, "control"),
                    self._place(target, "target"), device=self.device)
        return self

    def probabilities(self):
        """``|amplitude|²`` per basis state (float64, 3ⁿ; on the state's device)."""
        p = self._xp().empty(3**self.n)
        probability_kernel(self.re, self.im, p, device=self.device)
        return p

    def amplitudes(self) -> np.ndarray:
        """The state as a complex128 NumPy array of 3ⁿ amplitudes."""
        re, im = (v.get() if hasattr(v, "get") else v for v in (self.re, self.im))
        return re + 1j * im

    def sample(self, shots: int, seed: int = 0) -> np.ndarray:
        """Measure every qutrit ``shots`` times (the state is not changed).

        Returns:
            int8 digits ``(shots, n)``, qutrit 0 first.
        """
        from pxos.lib.ternary.search import searchsorted

        p = self.probabilities()
        p = p.get() if hasattr(p, "get") else p
        cdf = np.cumsum(p)
        u = np.random.default_rng(seed).random(shots) * cdf[-1]
        idx = np.minimum(searchsorted(cdf, u), 3**self.n - 1)
        return ((idx[:, None] // 3 ** np.arange(self.n)) % 3).astype(np.int8)


__all__ = ["F3", "OMEGA", "Qutrits", "X", "Z"]
