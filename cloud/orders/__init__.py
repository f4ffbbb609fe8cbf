"""From a marketplace order to a shipped parcel and a stock number pushed back.

:mod:`~cloud.orders.order_sync` reads orders and refunds in the platforms' windows,
:mod:`~cloud.orders.allocation` reviews and reserves them in a warehouse,
:mod:`~cloud.orders.fulfilment` takes e-waybills, sends pack tasks and intercepts and writes
tracking numbers back, :mod:`~cloud.orders.stock_push` pushes available-to-sell, and
:mod:`~cloud.orders.worker` runs all of it per shop under a lease.
"""
