"""Reports (报表): summaries kept as data arrives (:mod:`~cloud.reports.summaries`), the sales
report (:mod:`~cloud.reports.sales`), the daily summary (:mod:`~cloud.reports.daily`) and
their CSV/XLSX exports (:mod:`~cloud.reports.export`). Core code: it imports no web module."""
