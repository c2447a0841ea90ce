"""Company finance: debt instruments, depreciation, and (with issue 6) the ledger that turns
the engine's per-day operating flows into statements, treasury, dilution and valuation.

Finance reads the operations' flow table only; it never imports ``simulator.fleet`` or
``simulator.site`` (DESIGN.md, "Layers").
"""
