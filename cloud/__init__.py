"""Packline cloud: marketplace sync, purchasing, allocation, users and reports."""
