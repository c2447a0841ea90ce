"""ASIC hardware profiles shipped with hashfleet (one YAML file per model, by vendor folder).

Installed as the data package ``simulator.hardware_profiles``; read with
``importlib.resources`` by :func:`simulator.hardware.load_library`.
"""
