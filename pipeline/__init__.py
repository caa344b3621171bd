"""The pipeline: from fleet snapshots to analyses, reports and the live collection session."""
