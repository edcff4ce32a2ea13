import json
import logging

from creator_site.logs import ContextFormatter, JsonFormatter


def record(**extra):
    entry = logging.LogRecord(
        "generations.pipeline", logging.INFO, __file__, 1, "job %s", ("done",), None
    )
    for key, value in extra.items():
        setattr(entry, key, value)
    return entry


def test_json_lines_carry_the_job_and_user_ids():
    line = json.loads(JsonFormatter().format(record(job_id="j1", user_id="u1")))
    assert line["message"] == "job done"
    assert (line["job_id"], line["user_id"], line["level"]) == ("j1", "u1", "INFO")


def test_plain_lines_append_the_context():
    line = ContextFormatter("%(message)s").format(record(job_id="j1", attempt=2))
    assert line == "job done job_id=j1 attempt=2"
