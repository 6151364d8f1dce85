"""The send ledger: one item per (campaign, consumer), written once with a not-exists condition.

It is what makes offers idempotent ("never twice the same offer") and what campaign results are
computed from. Sparse indexes find a record from a tracked link's token, a coupon code, an SES
message id (bounces, complaints) and, for the consumer's rights (access, erasure), from the consumer
pseudonym. Items expire 13 months after assignment, the lifetime of an offers consent.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for

OFFER_SEND_TTL_DAYS = 395


class OfferTokenIndex(GlobalSecondaryIndex["OfferSend"]):
    class Meta:
        index_name = "token"
        projection = AllProjection()

    token = UnicodeAttribute(hash_key=True)


class OfferCodeIndex(GlobalSecondaryIndex["OfferSend"]):
    class Meta:
        index_name = "code"
        projection = AllProjection()

    code = UnicodeAttribute(hash_key=True)


class OfferMessageIndex(GlobalSecondaryIndex["OfferSend"]):
    class Meta:
        index_name = "message"
        projection = AllProjection()

    message_id = UnicodeAttribute(hash_key=True)


class OfferConsumerIndex(GlobalSecondaryIndex["OfferSend"]):
    class Meta:
        index_name = "consumer"
        projection = KeysOnlyProjection()

    consumer = UnicodeAttribute(hash_key=True)


class OfferSend(Model):
    class Meta:
        suffix = "offer-sends"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    campaign_id = UnicodeAttribute(hash_key=True)
    consumer = UnicodeAttribute(range_key=True)
    group = UnicodeAttribute()
    status = UnicodeAttribute()
    assigned_at = NumberAttribute()
    sender = UnicodeAttribute()
    trigger = UnicodeAttribute()
    sensor_id = UnicodeAttribute(null=True)
    detected_at = NumberAttribute(null=True)
    channel = UnicodeAttribute(null=True)
    token = UnicodeAttribute(null=True)
    code = UnicodeAttribute(null=True)
    cost_ueur = NumberAttribute(default=0)
    reserved_at = NumberAttribute(null=True)
    sent_at = NumberAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    error = UnicodeAttribute(null=True)
    clicks = NumberAttribute(default=0)
    first_click_at = NumberAttribute(null=True)
    delivered_at = NumberAttribute(null=True)
    feedback = UnicodeAttribute(null=True)
    redeemed_at = NumberAttribute(null=True)
    redeemed_by = UnicodeAttribute(null=True)
    expires = TTLAttribute()

    token_index = OfferTokenIndex()
    code_index = OfferCodeIndex()
    message_index = OfferMessageIndex()
    consumer_index = OfferConsumerIndex()
