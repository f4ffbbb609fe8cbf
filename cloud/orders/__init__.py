"""From a marketplace order to a shipped parcel and a stock number pushed back.

:mod:`~cloud.orders.order_sync` reads orders and refunds in the platforms' windows,
:mod:`~cloud.orders.allocation` reviews and reserves them in a warehouse,
:mod:`~cloud.orders.stations` picks the station (load, role, online) and moves tasks off a
dark one, :mod:`~cloud.orders.waybills` takes e-waybills and sends pack tasks,
:mod:`~cloud.orders.intercepts` stops (and releases) orders at stations,
:mod:`~cloud.orders.writeback` writes tracking numbers back,
:mod:`~cloud.orders.stock_push` pushes available-to-sell (safely), and
:mod:`~cloud.orders.worker` runs all of it per shop under a lease.
"""
