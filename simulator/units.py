"""Named scale factors (DESIGN.md, "Units").

Every scale factor the package uses lives here, so a formula reads
``hashrate_ths * HS_PER_THS`` instead of ``hashrate_ths * 1e12`` (STYLE.md, "Docstrings and
names"). Quantity names elsewhere carry their unit: ``hashrate_ths``, ``power_w``,
``energy_mwh``, ``sats``, ``btc`` ...

Integer factors are Python ``int`` (so satoshi arithmetic stays exact); the SI prefixes of
hashrate and power are ``float`` powers of ten (exactly representable: 1e12, 1e15 and 1e18
are integers below 2**63 and 1e6 is exact).

This module imports nothing.
"""
from __future__ import annotations


# --- Money -------------------------------------------------------------------------------

#: Satoshis in one bitcoin [sats/BTC] (Bitcoin Core ``COIN`` in src/consensus/amount.h).
SATS_PER_BTC: int = 100_000_000

# --- Time --------------------------------------------------------------------------------

#: Seconds in one minute [s/min].
SECONDS_PER_MINUTE: int = 60
#: Seconds in one hour [s/h].
SECONDS_PER_HOUR: int = 3_600
#: Seconds in one day [s/day] (UTC days; no leap seconds, as Bitcoin's nTime).
SECONDS_PER_DAY: int = 86_400
#: Hours in one day [h/day].
HOURS_PER_DAY: int = 24
#: Days in one year [days/yr]: DESIGN.md fixes a year at exactly 365 days for every annual
#: rate and per-year amount, unless an instrument states its own day count.
DAYS_PER_YEAR: int = 365
#: Hours in one (365-day) year [h/yr].
HOURS_PER_YEAR: int = HOURS_PER_DAY * DAYS_PER_YEAR
#: Seconds in one (365-day) year [s/yr].
SECONDS_PER_YEAR: int = SECONDS_PER_DAY * DAYS_PER_YEAR
#: Months in one year [months/yr].
MONTHS_PER_YEAR: int = 12

# --- Hashrate ----------------------------------------------------------------------------

#: Hashes per second in one TH/s [(H/s)/(TH/s)].
HS_PER_THS: float = 1e12
#: Hashes per second in one PH/s [(H/s)/(PH/s)].
HS_PER_PHS: float = 1e15
#: Hashes per second in one EH/s [(H/s)/(EH/s)].
HS_PER_EHS: float = 1e18
#: TH/s in one PH/s [(TH/s)/(PH/s)].
THS_PER_PHS: float = 1e3
#: TH/s in one EH/s [(TH/s)/(EH/s)].
THS_PER_EHS: float = 1e6
#: PH/s in one EH/s [(PH/s)/(EH/s)].
PHS_PER_EHS: float = 1e3

# --- Power and energy --------------------------------------------------------------------

#: Watts in one kilowatt [W/kW].
W_PER_KW: float = 1e3
#: Watts in one megawatt [W/MW].
W_PER_MW: float = 1e6
#: Kilowatts in one megawatt [kW/MW].
KW_PER_MW: float = 1e3
#: Kilowatt-hours in one megawatt-hour [kWh/MWh].
KWH_PER_MWH: float = 1e3
#: Watt-hours in one megawatt-hour [Wh/MWh].
WH_PER_MWH: float = 1e6
#: Joules in one watt-hour [J/Wh].
J_PER_WH: int = 3_600

# --- Bitcoin protocol scale factors ------------------------------------------------------

#: Expected hashes to find a block at difficulty 1 [hashes]: 2**32. Exactly,
#: 2**256 / (target(0x1d00ffff) + 1) = 2**32 * (1 + 2**-16 + ...); the convention
#: D * 2**32 hashes per block is the one every pool and explorer uses (DESIGN.md,
#: "Bitcoin mechanics"), and the 1.5e-5 relative difference is far below model error.
HASHES_PER_DIFFICULTY_1: int = 2**32
#: Target block interval [s] (Bitcoin Core ``consensus.nPowTargetSpacing`` = 10 * 60,
#: src/kernel/chainparams.cpp, mainnet).
TARGET_BLOCK_INTERVAL_S: int = 600
#: Blocks per day at the target interval [blocks/day] = 86400 / 600.
TARGET_BLOCKS_PER_DAY: int = SECONDS_PER_DAY // TARGET_BLOCK_INTERVAL_S
