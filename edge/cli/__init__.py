"""The station's administrative commands (init, catalog import/export, stock, demo data).

Each command is a click command mounted lazily by ``edge.__main__.COMMANDS``; they call the
same store and domain code the kiosk uses.
"""
