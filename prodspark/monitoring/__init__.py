"""What Spark reports about a running or finished application, read back for the course.

- :mod:`~prodspark.monitoring.rest`: the monitoring REST API (a live UI or the History Server),
  and its stages, tasks and executors as pandas frames;
- :mod:`~prodspark.monitoring.progress`: the StatusTracker polled in a background thread;
- :mod:`~prodspark.monitoring.eventlog`: event logs (rolled, zstd-compressed) read without a server,
  into the same frames;
- :mod:`~prodspark.monitoring.scrape`: Spark's Prometheus endpoints scraped and parsed;
- :mod:`~prodspark.monitoring.timeline`: a task timeline per executor slot;
- :mod:`~prodspark.monitoring.health`: Dr. Elephant's stage and executor checks over those frames.
"""
