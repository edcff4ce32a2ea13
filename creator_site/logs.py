"""Log formatting: plain lines for people, JSON lines for log pipelines.

Either way, context passed as `extra={"job_id": …, "user_id": …}` is kept,
so every line about a job can be found by its id.
"""

import json
import logging

CONTEXT_KEYS = ("job_id", "user_id", "server", "attempt", "connection_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            if hasattr(record, key):
                entry[key] = str(getattr(record, key))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class ContextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(
            f"{key}={getattr(record, key)}" for key in CONTEXT_KEYS if hasattr(record, key)
        )
        return f"{line} {context}" if context else line
