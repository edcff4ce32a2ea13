"""A watched file's status moves only as SourceFile.TRANSITIONS allows, and
only through `source_file_mark`."""

import pytest

from drive.models import SourceConnection, SourceFile
from drive.services import IllegalTransition, source_file_mark

pytestmark = pytest.mark.django_db

S = SourceFile.Status
LEGAL = [(start, to) for start, targets in SourceFile.TRANSITIONS.items() for to in targets]
ILLEGAL = [
    (start, to) for start in S.values for to in S.values if to not in SourceFile.TRANSITIONS[start]
]


@pytest.fixture
def make_file(alice):
    connection = SourceConnection.objects.create(user=alice, kind=SourceConnection.Kind.INBOX)

    def make(status: str) -> SourceFile:
        return SourceFile.objects.create(
            connection=connection,
            file_id=f"f-{status}",
            version_key="1",
            name="a.png",
            status=status,
        )

    return make


def test_nothing_leads_back_to_detected_and_skipped_and_delivered_are_final():
    assert set(SourceFile.TRANSITIONS) == set(S.values)
    assert SourceFile.TRANSITIONS[S.SKIPPED] == frozenset()
    assert SourceFile.TRANSITIONS[S.DELIVERED] == frozenset()
    assert not any(S.DETECTED in targets for targets in SourceFile.TRANSITIONS.values())


@pytest.mark.parametrize(("start", "to"), LEGAL)
def test_a_legal_move_changes_the_row_and_writes_its_fields(make_file, start, to):
    row = make_file(start)

    moved = source_file_mark(source_file=row, to=to, reason_code="why", message="Because.")

    assert moved is True
    stored = SourceFile.objects.get(id=row.id)
    assert (stored.status, stored.reason_code, stored.message) == (to, "why", "Because.")
    assert (row.status, row.reason_code) == (to, "why")  # mirrored in memory


@pytest.mark.parametrize(("start", "to"), ILLEGAL)
def test_an_illegal_move_raises_and_changes_nothing(make_file, start, to):
    row = make_file(start)

    with pytest.raises(IllegalTransition):
        source_file_mark(source_file=row, to=to, reason_code="why")

    stored = SourceFile.objects.get(id=row.id)
    assert (stored.status, stored.reason_code) == (start, "")


def test_expecting_a_status_the_table_forbids_raises_whatever_the_row_is_in(make_file):
    row = make_file(S.DETECTED)

    with pytest.raises(IllegalTransition):
        source_file_mark(source_file=row, to=S.QUEUED, expect=[S.DETECTED, S.SKIPPED])

    assert SourceFile.objects.get(id=row.id).status == S.DETECTED


def test_a_row_that_moved_on_since_the_caller_saw_it_is_left_alone(make_file):
    """Two polls read the same detected file: the second claim finds it queued."""
    row = make_file(S.DETECTED)
    stale = SourceFile.objects.get(id=row.id)
    assert source_file_mark(source_file=row, to=S.QUEUED, expect=[S.DETECTED])

    again = source_file_mark(source_file=stale, to=S.QUEUED, expect=[S.DETECTED])
    skipped = source_file_mark(source_file=stale, to=S.SKIPPED, expect=[S.DETECTED])

    assert (again, skipped) == (False, False)
    assert SourceFile.objects.get(id=row.id).status == S.QUEUED
    assert stale.status == S.DETECTED
