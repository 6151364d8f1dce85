"""The consent ledger: every consent, confirmation and withdrawal, append-only.

One item per event, keyed ``subject`` (``consumer#{id}``; after an erasure, the retained proofs of
withdrawal live under ``proof#{keyed hash}``) and ``event_id`` (``{ISO time}#{random}``, so a
subject's history is one Query in time order). Each event holds the purpose, the action, the SHA-256
of the exact text the consumer was shown (the text itself is archived in S3 under that hash), the
channel and the proof of confirmation.

Append-only is enforced here: :meth:`ConsentEvent.append` is the only write (a conditional put that
fails if the key exists), and ``save``/``update``/``delete`` raise. The one exception the law makes,
erasure (GDPR art. 17, keeping the proof of withdrawal), goes through
:meth:`ConsentEvent.erase_subject`, which the erasure code alone calls.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import MapAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.models.base import region, table_name_for


class AppendOnlyError(RuntimeError):
    """Raised by any attempt to change or delete a ledger event outside erasure."""


class ConsentEvent(Model):
    class Meta:
        suffix = "consent-ledger"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    subject = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    purpose = UnicodeAttribute()
    action = UnicodeAttribute()  # granted | confirmed | withdrawn | erased
    text_version = UnicodeAttribute()
    lang = UnicodeAttribute()
    channel = UnicodeAttribute()
    proof = MapAttribute[str, str](default=dict)
    recorded_at = UTCDateTimeAttribute()
    expires = TTLAttribute(null=True)  # set only on proofs retained after an erasure

    def append(self) -> None:
        """Write this event once; raises PutError (ConditionalCheckFailed) if the key already exists."""
        super().save(condition=ConsentEvent.subject.does_not_exist())

    def append_in(self, tx: TransactWrite) -> None:
        """Add this event to a transaction, with the same never-overwrite condition as :meth:`append`."""
        tx.save(self, condition=ConsentEvent.subject.does_not_exist())

    def save(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("the consent ledger is append-only: use ConsentEvent.append()")

    def update(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("the consent ledger is append-only: events are never updated")

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("the consent ledger is append-only: only erasure removes events")

    @classmethod
    def erase_subject(cls, subject: str) -> int:
        """Erasure only (GDPR art. 17): delete every event of a subject; return how many went."""
        connection = cls._get_connection()
        count = 0
        for event in cls.query(subject):
            connection.delete_item(event.subject, range_key=event.event_id)
            count += 1
        return count
