"""SNS: the alarm topic (with the admin's e-mail subscribed) and the account's SMS settings."""

from __future__ import annotations

from typing import Any, ClassVar

from infra.core import Context, Observed, Resource


class Topic(Resource):
    kind: ClassVar[str] = "sns-topic"

    def __init__(self, name: str, email: str | None = None) -> None:
        """Not encrypted at rest by SNS: alarm messages hold no personal data, and CloudWatch cannot publish
        under ``aws/sns`` (docs/privacy.md, "Encryption at rest"); a topic deployed under a customer key
        (before 26 November 2026) has it removed by the next deploy. ``email``: subscribed once (AWS mails
        a confirmation link). Without an e-mail, subscriptions are left as they are (a deploy that omits
        it removes nobody)."""
        super().__init__(name)
        self.email = email

    def arn(self, ctx: Context) -> str:
        return ctx.arn("sns", self.name)

    def desired(self, ctx: Context) -> dict[str, Any]:
        want: dict[str, Any] = {"KmsMasterKeyId": None}
        if self.email:
            want["emails"] = [self.email]
        return want

    def read(self, ctx: Context) -> Observed | None:
        sns = ctx.client("sns")
        try:
            attributes = sns.get_topic_attributes(TopicArn=self.arn(ctx))["Attributes"]
        except sns.exceptions.NotFoundException:
            return None
        subs = sns.list_subscriptions_by_topic(TopicArn=self.arn(ctx))["Subscriptions"]
        emails = sorted(s["Endpoint"] for s in subs if s["Protocol"] == "email")
        state = {"KmsMasterKeyId": attributes.get("KmsMasterKeyId"), "emails": emails}
        return Observed(state, {"arn": self.arn(ctx), "name": self.name})

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        ctx.client("sns").create_topic(
            Name=self.name,
            Tags=[{"Key": "wifivip:stage", "Value": ctx.stage}],
        )
        if "emails" in desired:
            self.update(ctx, desired, {"emails": []}, ["emails"])

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        sns = ctx.client("sns")
        if "KmsMasterKeyId" in fields:
            sns.set_topic_attributes(
                TopicArn=self.arn(ctx), AttributeName="KmsMasterKeyId", AttributeValue=desired["KmsMasterKeyId"] or ""
            )
        if "emails" in fields:
            for email in set(desired["emails"]) - set(current.get("emails") or []):  # the others are kept
                sns.subscribe(TopicArn=self.arn(ctx), Protocol="email", Endpoint=email)

    def delete(self, ctx: Context) -> None:
        ctx.client("sns").delete_topic(TopicArn=self.arn(ctx))


class SmsSettings(Resource):
    """Account-wide SMS settings: transactional (offers' confirmation codes), a monthly spend cap, a sender."""

    kind: ClassVar[str] = "sns-sms-settings"

    def __init__(self, monthly_spend_limit_usd: int, sender_id: str) -> None:
        super().__init__("account")
        self.attributes = {
            "DefaultSMSType": "Transactional",
            "MonthlySpendLimit": str(monthly_spend_limit_usd),
            "DefaultSenderID": sender_id,
        }

    def desired(self, ctx: Context) -> dict[str, Any]:
        return dict(self.attributes)

    def read(self, ctx: Context) -> Observed | None:
        found = ctx.client("sns").get_sms_attributes()["attributes"]  # all: the emulator mishandles the filter
        return Observed({k: found.get(k) for k in self.attributes})

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:  # pragma: no cover - read never misses
        self.update(ctx, desired, {}, list(desired))

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        ctx.client("sns").set_sms_attributes(attributes={f: desired[f] for f in fields})

    def delete(self, ctx: Context) -> None:
        """Account settings outlive a stage: nothing to delete."""
