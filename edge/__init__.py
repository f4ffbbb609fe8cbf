"""Packline edge: the packing-station appliance (kiosk, local ledger, devices, sync, backup)."""
