"""Consumers who registered through the captive portal: the profile behind a consumer pseudonym.

``consumer_id`` is the stable consumer pseudonym the sensors emit for allowlisted devices and the
campaigns address: a random 128-bit id drawn at registration, derived from nothing about the person.
Contacts are looked up through keyed hashes (GSIs), never scanned in clear. ``consents`` is the
projection of the consent ledger (:class:`~chalicelib.models.consent_event.ConsentEvent`, the
truth), written in the same transaction as each ledger event so that a withdrawal stops offers at
once. Unconfirmed contacts and lapsed consents are ended by the daily expiry job, which records it in
the ledger (no TTL here: a TTL would delete without leaving the proof).
"""

from __future__ import annotations

from pynamodb.attributes import MapAttribute, UnicodeAttribute, UTCDateTimeAttribute, VersionAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for


class EmailHashIndex(GlobalSecondaryIndex["Consumer"]):
    class Meta:
        index_name = "email-hash"
        projection = KeysOnlyProjection()

    email_hash = UnicodeAttribute(hash_key=True)


class PhoneHashIndex(GlobalSecondaryIndex["Consumer"]):
    class Meta:
        index_name = "phone-hash"
        projection = KeysOnlyProjection()

    phone_hash = UnicodeAttribute(hash_key=True)


class Consumer(Model):
    class Meta:
        suffix = "consumers"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    consumer_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute()
    lang = UnicodeAttribute(default="fr")
    first_name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    email_hash = UnicodeAttribute(null=True)
    email_status = UnicodeAttribute(null=True)  # pending | confirmed
    phone = UnicodeAttribute(null=True)  # E.164
    phone_hash = UnicodeAttribute(null=True)
    phone_status = UnicodeAttribute(null=True)
    consents = MapAttribute[str, str](default=dict)  # purpose -> pending | active | withdrawn
    pending = MapAttribute[str, str](default=dict)  # channel -> JSON of the open confirmation (hashed secrets)
    version = VersionAttribute()  # optimistic locking: a confirmation cannot overwrite a concurrent withdrawal

    email_index = EmailHashIndex()
    phone_index = PhoneHashIndex()
