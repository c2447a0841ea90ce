"""What ``hashfleet calibrate``'s fits report: one :class:`Estimate` per fitted quantity, and
the interval constants the fits share."""
from __future__ import annotations

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


#: Columns of :meth:`simulator.workflows.calibrate.Calibration.rows`.
ROW_COLUMNS = ("model", "parameter", "value", "se", "ci_low", "ci_high", "unit", "written", "method")
