"""SES and SNS senders: one message handed to the provider, its failures classified for retries.

Email goes out as a raw MIME message (text and HTML) so it can carry ``List-Unsubscribe`` and
``List-Unsubscribe-Post`` (RFC 8058 one-click unsubscribe), which mail clients show as a button.
SMS are promotional messages; a number the provider has on its opt-out list (a "STOP" reply to SNS)
is refused before sending and reported as ``opted_out``.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.campaigns.messages import OfferMessage
from chalicelib.campaigns.ports import SendFailure

MIME_POLICY = policy.SMTP.clone(max_line_length=998)
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
        "RequestTimeout",
        "KMSThrottlingException",
    }
)


def classify(exc: Exception) -> SendFailure:
    """A provider error as a SendFailure: throttling, 5xx and network errors are transient."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        message = exc.response.get("Error", {}).get("Message", "")
        return SendFailure(code, code in TRANSIENT_CODES or status >= 500, message)
    return SendFailure(type(exc).__name__, True, str(exc))


@dataclass
class SesSender:
    client: Any
    sender_address: str
    sender_name: str = "Commerçants de Niort"
    configuration_set: str | None = None

    def mime(self, message: OfferMessage, to: str) -> bytes:
        # Lines up to RFC 5322's 998 characters: with the default 78 a long List-Unsubscribe URL would
        # be folded into RFC 2047 encoded words, which mail clients do not read as a link.
        mail = EmailMessage(policy=MIME_POLICY)
        mail["Subject"] = message.subject
        mail["From"] = formataddr((self.sender_name, self.sender_address))
        mail["To"] = to
        mail["Message-ID"] = make_msgid(domain=self.sender_address.split("@")[-1])
        if message.unsubscribe_url:
            mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
            mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        # Quoted-printable keeps the message 7-bit whatever the accents: safe on every relay.
        mail.set_content(message.text, cte="quoted-printable")
        mail.add_alternative(message.html, subtype="html", cte="quoted-printable")
        return mail.as_bytes()

    def send(self, message: OfferMessage, to: str, *, test: bool = False) -> str:
        kwargs: dict[str, Any] = {
            "Source": self.sender_address,
            "Destinations": [to],
            "RawMessage": {"Data": self.mime(message, to)},
            "Tags": [{"Name": "kind", "Value": "test" if test else "offer"}],
        }
        if self.configuration_set:
            kwargs["ConfigurationSetName"] = self.configuration_set
        try:
            return str(self.client.send_raw_email(**kwargs)["MessageId"])
        except (ClientError, BotoCoreError) as exc:
            raise classify(exc) from exc


@dataclass
class SnsSender:
    client: Any
    sender_id: str = "NIORT"

    def send(self, message: OfferMessage, to: str, *, test: bool = False) -> str:
        try:
            if self.client.check_if_phone_number_is_opted_out(phoneNumber=to)["isOptedOut"]:
                raise SendFailure("opted_out", transient=False, detail="number on the SMS opt-out list")
            response = self.client.publish(
                PhoneNumber=to,
                Message=message.text,
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Promotional"},
                    "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": self.sender_id},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise classify(exc) from exc
        return str(response["MessageId"])
