"""L2-regularised logistic regression on a sparse design, fitted with SciPy L-BFGS.

Minimises the mean log-loss plus ``l2 / (2 n) * ||v||^2`` over ``v = w * scale``: columns
whose values are not all 0/1 (counters) are rescaled to unit root-mean-square before
fitting, which keeps L-BFGS well conditioned; the returned weights are for the
*unscaled* design. Column 0 (the bias) is not penalised. No scikit-learn.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
import scipy.sparse

from kt.errors import ParameterError


def design_from_padded(cols: np.ndarray, vals: np.ndarray, n_columns: int) -> scipy.sparse.csr_matrix:
    """CSR matrix (n_rows, n_columns) from ``-1``-padded ``(n_rows, max_nnz)`` column/value arrays."""
    mask = cols >= 0
    indptr = np.r_[0, np.cumsum(mask.sum(axis=1))].astype(np.int64)
    X = scipy.sparse.csr_matrix(
        (vals[mask], cols[mask].astype(np.int64), indptr), shape=(cols.shape[0], n_columns)
    )
    X.sum_duplicates()
    return X


def fit_logistic(X, y: np.ndarray, l2: float = 1.0, max_iter: int = 1000, gtol: float = 1e-8) -> np.ndarray:
    """Weights (n_columns,) for P(y=1) = sigmoid(X w); ``y`` is 0/1 (n_rows,).

    Stops after ``max_iter`` L-BFGS iterations or when the projected gradient of the mean
    loss is below ``gtol``.
    """
    if l2 < 0:
        raise ParameterError(f"l2={l2!r} must be >= 0")
    y = np.asarray(y, dtype=np.float64)
    n = max(len(y), 1)
    X = scipy.sparse.csr_matrix(X, dtype=np.float64)
    sq = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel() / n)
    binary = np.ones(X.shape[1], dtype=bool)
    nonbin = X.indices[(X.data != 0.0) & (X.data != 1.0)]
    binary[np.unique(nonbin)] = False
    scale = np.where(binary | (sq == 0.0), 1.0, sq)
    pen = np.ones(X.shape[1])
    pen[0] = 0.0
    # Diagonal preconditioning (does not change the optimum): optimise u = v * d with
    # d = sqrt(diag of the Hessian at p = 1/2), so rare one-hot columns (items) and
    # frequent ones move at the same pace.
    sq_s = np.asarray(X.multiply(X).sum(axis=0)).ravel() / (scale * scale)
    d = np.sqrt(0.25 * sq_s + l2 * pen)
    d[d == 0.0] = 1.0
    Xs = (X @ scipy.sparse.diags(1.0 / (scale * d))).tocsr()
    Xt = Xs.T.tocsr()
    pen_u = l2 * pen / (d * d)

    def objective(u):
        z = Xs @ u
        loss = (np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(pen_u * u * u)) / n
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        grad = (Xt @ (p - y) + pen_u * u) / n
        return loss, grad

    v0 = np.zeros(X.shape[1])
    base = np.clip(y.mean(), 1e-6, 1 - 1e-6)
    v0[0] = np.log(base / (1 - base)) * d[0]
    from threadpoolctl import threadpool_limits

    # L-BFGS-B's small BLAS calls slow down badly when BLAS spreads them over busy cores.
    with threadpool_limits(1, user_api="blas"):
        res = scipy.optimize.minimize(
            objective, v0, jac=True, method="L-BFGS-B",
            options={"maxiter": int(max_iter), "gtol": gtol, "ftol": 1e-12},
        )
    return res.x / (d * scale)
