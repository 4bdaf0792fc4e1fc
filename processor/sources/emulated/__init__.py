"""Emulated BLE wearables on Bumble's in-process GATT stack (for ``--emulate``, tests, benchmarks).

Bumble is imported only inside this package, and only by the modules that need it: ``air`` (the
in-memory radio and the central), ``wearable`` (a band serving a device profile) and ``demo``
(ready-made sessions). ``port`` is plain data shared with the bleak adapter in
``processor.sources.ble``; ``encoders`` and ``signal`` are pure. Import the submodules directly;
this package itself imports nothing, so importing ``port`` never loads Bumble.
"""
