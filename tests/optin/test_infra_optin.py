"""The opt-in's infrastructure as deployed on the emulator: its API route to the function, the SES
sender identity, and least privilege checked call by call with the policy evaluator (what each of the
three functions may do, and what it may not: the ledger is append-only for IAM too)."""

from __future__ import annotations

import boto3

from chalicelib.consent.keys import secret_name
from chalicelib.naming import resource_name
from infra.optin import sender_identity
from infra.policy_eval import allows
from infra.stack import StackOutputs


def role_policies(stack: StackOutputs, function: str) -> list[dict]:
    role_arn = boto3.client("lambda").get_function_configuration(FunctionName=stack.functions[function])["Role"]
    role = role_arn.rsplit("/", 1)[1]
    iam = boto3.client("iam")
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert names and iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    return [iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"] for n in names]


def table_arn(stack: StackOutputs, name: str) -> str:
    return f"arn:aws:dynamodb:{stack.region}:{stack.account_id}:table/{stack.tables[name]}"


def secret_arn(stack: StackOutputs, what: str) -> str:
    ssm = boto3.client("ssm")
    return str(ssm.get_parameter(Name=secret_name(what, stack.stage))["Parameter"]["ARN"])


def test_the_portal_api_routes_to_the_optin_function(stack: StackOutputs) -> None:
    apis = boto3.client("apigateway").get_rest_apis()["items"]
    (api,) = [a for a in apis if a["name"] == resource_name("optin", stack.stage)]
    assert api["id"] in stack.optin_url
    resources = boto3.client("apigateway").get_resources(restApiId=api["id"])["items"]
    proxy = next(r for r in resources if r["path"] == "/{proxy+}")
    integration = boto3.client("apigateway").get_integration(
        restApiId=api["id"], resourceId=proxy["id"], httpMethod="ANY"
    )
    assert integration["type"] == "AWS_PROXY" and stack.functions["optin"] in integration["uri"]


def test_the_ses_sender_is_a_verified_identity(stack: StackOutputs) -> None:
    sender = sender_identity()
    status = boto3.client("ses").get_identity_verification_attributes(Identities=[sender])
    assert status["VerificationAttributes"][sender]["VerificationStatus"] == "Success"


def test_optin_function_may_do_its_job_and_nothing_more(stack: StackOutputs) -> None:
    p = role_policies(stack, "optin")
    ses = f"arn:aws:ses:{stack.region}:{stack.account_id}:identity"
    ledger, consumers = table_arn(stack, "ConsentEvent"), table_arn(stack, "Consumer")
    bucket = f"arn:aws:s3:::{stack.bucket}"
    may = [
        ("ses:SendEmail", f"{ses}/{sender_identity()}"),
        ("sns:Publish", "*"),
        ("dynamodb:PutItem", ledger),
        ("dynamodb:Query", ledger),
        ("dynamodb:PutItem", consumers),
        ("s3:PutObject", f"{bucket}/consent-texts/abc.json"),
        ("ssm:GetParameter", secret_arn(stack, "consent-key")),
        ("lambda:InvokeFunction", stack.functions["allowlist"]),
    ]
    may_not = [
        ("ses:SendEmail", f"{ses}/someone-else@example.com"),
        ("dynamodb:UpdateItem", ledger),  # the ledger is append-only
        ("dynamodb:Scan", consumers),  # no listing of who is registered
        ("s3:GetObject", f"{bucket}/raw/s1/batch.json.gz"),
        ("s3:PutObject", f"{bucket}/allowlist/latest.json"),  # only the publisher writes the list
        ("ssm:GetParameter", secret_arn(stack, "allowlist-signing-key")),  # ... and signs it
        ("dynamodb:PutItem", table_arn(stack, "AllowlistState")),
    ]
    assert [m for m in may if not allows(p, *m)] == []
    assert [m for m in may_not if allows(p, *m)] == []


def test_allowlist_publisher_sees_devices_not_people(stack: StackOutputs) -> None:
    p = role_policies(stack, "allowlist")
    bucket = f"arn:aws:s3:::{stack.bucket}"
    assert allows(p, "dynamodb:Scan", table_arn(stack, "AllowlistEntry"))
    assert allows(p, "s3:PutObject", f"{bucket}/allowlist/latest.json")
    assert allows(p, "ssm:GetParameter", secret_arn(stack, "allowlist-signing-key"))
    for action, resource in (
        ("dynamodb:GetItem", table_arn(stack, "Consumer")),  # emails and numbers stay out of its reach
        ("dynamodb:Query", table_arn(stack, "ConsentEvent")),
        ("s3:PutObject", f"{bucket}/allowlist/other.json"),
        ("ses:SendEmail", f"arn:aws:ses:{stack.region}:{stack.account_id}:identity/{sender_identity()}"),
    ):
        assert not allows(p, action, resource), (action, resource)
