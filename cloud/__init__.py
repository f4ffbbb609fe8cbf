"""Packline cloud: marketplace sync (Pinduoduo, Taobao), allocation, station ingest and the
command line. Purchasing, users, reports and the web app are not built yet (README, "Not yet")."""
