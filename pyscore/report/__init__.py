"""This package contains the HTML report of an evaluation: tables and inline SVG plots in one file."""

from pyscore.report.html import render_report, write_report

__all__ = ["render_report", "write_report"]
