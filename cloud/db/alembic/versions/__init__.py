"""Named, incremental cloud migrations: ``NNNN_<name>.py``."""
