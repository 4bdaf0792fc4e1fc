"""Sources: where samples come from (recordings, BLE wearables, emulated wearables)."""
