"""Stokman & van Oosten's exchange model: actors trade position shifts across issues of different salience
(logrolling), then the compromise model forecasts from the positions after the exchanges.

Sources: F. Stokman & R. van Oosten (1994), "The exchange of voting positions: an object-oriented model of policy
networks", in Bueno de Mesquita & Stokman (eds.), European Community Decision Making; J. Arregui, F. Stokman &
R. Thomson (2006), "Compromise, exchange and challenge in the European Union", in The European Union Decides.

One round (docs/forecasting.md has the equations). With O_d the compromise outcome of issue d and W_d = sum_k w_kd
(w = capability x salience), actor i shifting its position on d by delta moves O_d by w_id delta / W_d. Actor k values
a shift of O_d by |dO| towards its position at s_kd |dO|. An exchange (i shifts on d, j shifts on e) is possible when
i and j lie on opposite sides of O_d and of O_e and i cares relatively more about e, j about d:
s_ie s_jd > s_id s_je. The outcome shifts a on d and b on e split the gain equally,
b = a (s_id + s_jd) / (s_ie + s_je), and are as large as possible without an actor moving past the outcome:
a <= w_id |x_id - O_d| / W_d, b <= w_je |x_je - O_e| / W_e. Exchanges are made greedily, largest gain first, the
outcomes recomputed after each; by default each actor makes at most one exchange per round (a matching of exchange
partners, LIMIT = "actor"); LIMIT = "position" lets an actor make several, shifting each issue's position once.
"""

from __future__ import annotations

import numpy as np

from sim.forecasting.compromise import weighted_mean
from sim.forecasting.model import ForecastingModel
from sim.forecasting.problem import Problem

ROUNDS = 1
"""Exchange rounds (the original model's single round of bilateral exchanges)."""
LIMIT = "actor"
"""What one round allows: "actor" -- each actor makes at most one exchange; "position" -- each actor shifts each
issue's position at most once (so it can make several exchanges). Chosen on the DEU development file, the one
parameter of this model chosen on data: MAE 22.81 against 23.07, and "actor" also beats the compromise model on
each half of the file split by proposal (and on both halves of 94.5 % of 1,000 random splits by proposal, against
66 % for "position"). docs/forecasting.md has the figures."""
LIMITS = ("actor", "position")

_MIN_GAIN = 1e-9  # in salience x scale units: smaller gains are rounding noise, not exchanges


def exchanged_positions(problem: Problem, rounds: int = ROUNDS, limit: str = LIMIT) -> np.ndarray:
    """(M, N) positions after `rounds` rounds of bilateral exchanges (NaN where an actor took no position)."""
    if limit not in LIMITS:
        raise ValueError(f"limit must be one of {', '.join(LIMITS)} (got {limit!r})")
    x = np.where(problem.has_position, problem.positions, 0.0).copy()
    has = problem.has_position
    s = problem.saliences
    w = problem.weights()
    m, n = x.shape
    total = w.sum(axis=1)
    if m < 2 or n < 2:
        return problem.positions.copy()
    safe_w = np.where(w > 0, w, 1.0)
    for _ in range(rounds):
        used = ~has | (w <= 0)               # (M, N): may not shift (done this round, or cannot move the outcome)
        while True:
            outcome = weighted_mean(np.where(has, x, np.nan), w)
            side = np.sign(x - outcome[:, None]) * has                        # (M, N): -1, 0, +1
            reach = np.divide(w * np.abs(x - outcome[:, None]), total[:, None],
                              out=np.zeros_like(x), where=total[:, None] > 0)  # max outcome shift an actor gives
            best_gain, best = _MIN_GAIN, None
            for d in range(m):
                for e in range(m):
                    if d == e:
                        continue
                    # i (rows) shifts on d, j (columns) shifts on e
                    ok = ((side[d][:, None] * side[d][None, :]) < 0) & ((side[e][:, None] * side[e][None, :]) < 0)
                    ok &= ~used[d][:, None] & ~used[e][None, :] & has[e][:, None] & has[d][None, :]
                    s_id, s_ie = s[d][:, None], s[e][:, None]
                    s_jd, s_je = s[d][None, :], s[e][None, :]
                    ok &= s_ie * s_jd > s_id * s_je
                    if not ok.any():
                        continue
                    rate = (s_id + s_jd) / np.where(ok, s_ie + s_je, 1.0)          # b = a * rate
                    a = np.minimum(reach[d][:, None], reach[e][None, :] / np.where(rate > 0, rate, 1.0))
                    gain = np.where(ok, s_ie * a * rate - s_id * a, -np.inf)
                    k = int(np.argmax(gain))
                    if gain.flat[k] > best_gain:
                        i, j = divmod(k, n)
                        best_gain, best = float(gain.flat[k]), (d, e, i, j, float(a.flat[k]), float((a * rate).flat[k]))
            if best is None:
                break
            d, e, i, j, a, b = best
            # each actor moves towards the outcome, never past it
            x[d, i] += np.sign(outcome[d] - x[d, i]) * min(a * total[d] / safe_w[d, i], abs(outcome[d] - x[d, i]))
            x[e, j] += np.sign(outcome[e] - x[e, j]) * min(b * total[e] / safe_w[e, j], abs(outcome[e] - x[e, j]))
            if limit == "actor":
                used[:, i] = used[:, j] = True
            else:
                used[d, i] = used[e, j] = True
    return np.where(has, x, np.nan)


def forecast(problem: Problem) -> np.ndarray:
    """The compromise (weighted mean) of the positions after the exchanges."""
    return weighted_mean(exchanged_positions(problem), problem.weights())


ERRORS = (0.029, 0.064, 0.121, 0.148, 0.177, 0.248, 0.274, 0.313, 0.376, 0.419,
          0.490, 0.570, 0.644, 0.744, 0.833, 0.889, 1.079, 1.275, 1.443, 1.963)
"""This model's interval calibration (`ForecastingModel.errors`): the 20 quantiles of |outcome - forecast| / sigma
on the DEU development file, cross-validated (`python -m sim.forecasting.validation FILE --calibrate`)."""

MODEL = ForecastingModel(forecast, errors=ERRORS)
