"""What ``hashfleet calibrate``'s fits report: one :class:`Estimate` per fitted quantity, a
:class:`ModelFit` per price or fee model (with its information criteria), and the interval
constants the fits share."""
from __future__ import annotations

import math
from dataclasses import dataclass

#: 97.5 % quantile of the standard normal: half-width of a 95 % Wald interval [sd].
Z_95 = 1.959963984540054
#: 95 % quantile of chi-square with one degree of freedom (profile-likelihood intervals).
CHI2_1_95 = 3.841458820694124
#: 95 % quantile of chi-square with two degrees of freedom (the ARMA(1,1) error test).
CHI2_2_95 = 5.991464547107979


@dataclass(frozen=True)
class Estimate:
    """One fitted quantity: its value [``unit``], standard error and 95 % interval.

    ``se``, ``ci_low`` and ``ci_high`` are ``None`` where they do not apply (a fit statistic)
    or cannot be computed (a parameter the data do not identify). ``written`` says whether
    the value goes into the fragment.
    """

    model: str
    parameter: str
    value: float
    unit: str
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    method: str = ""
    written: bool = False

    def row(self) -> dict:
        return {"model": self.model, "parameter": self.parameter, "value": self.value, "se": self.se,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "unit": self.unit,
                "written": self.written, "method": self.method}


#: Columns of :meth:`simulator.workflows.calibrate.calibration.Calibration.rows`.
ROW_COLUMNS = ("model", "parameter", "value", "se", "ci_low", "ci_high", "unit", "written", "method")


@dataclass(frozen=True)
class ModelFit:
    """A fitted price or fee model.

    ``params`` are the fragment's keys (without ``model``); ``estimates`` the reported
    parameters with uncertainty; ``loglik`` the maximised log-likelihood of ``n_obs``
    observations with ``n_params`` free parameters.
    """

    model: str
    params: dict
    estimates: tuple[Estimate, ...]
    loglik: float
    n_obs: int
    n_params: int
    notes: tuple[str, ...] = ()

    @property
    def aic(self) -> float:
        """Akaike information criterion ``2k − 2 ln L``."""
        return 2.0 * self.n_params - 2.0 * self.loglik

    @property
    def bic(self) -> float:
        """Bayesian information criterion ``k ln n − 2 ln L``."""
        return self.n_params * math.log(self.n_obs) - 2.0 * self.loglik
