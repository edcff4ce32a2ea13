"""The web server's settings, for every way it runs in production (Procfile,
Dockerfile, docker-compose) and for `bench.api`.

Threads, not only processes: `POST /api/v1/generate` may wait up to two
minutes for its job (without a database connection), and a waiting request
must hold a thread, not a whole worker process. With gthread the worker's
heartbeat is not blocked by a long request either, so `timeout` only catches
a stuck process.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
timeout = 120
graceful_timeout = 30
# Access log on standard output; WEB_ACCESS_LOG="" turns it off (the benchmark does).
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None
