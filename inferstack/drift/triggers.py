"""Retraining triggers: a GitHub repository_dispatch, an EventBridge event on the default bus, or an SNS message.

Each sender returns a short description of what it did, or raises TriggerFailed
with one line saying why. The GitHub token comes from the environment
(`INFERSTACK_GITHUB_TOKEN`, which the CronJob fills from the spec's Secret),
never from the spec.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from inferstack.drift.keys import EVENT_SOURCE, GITHUB_TOKEN_ENV, retraining_topic_name
from inferstack.spec.drift import EventBridgeTrigger, GithubDispatchTrigger, NoTrigger, SnsTrigger

GITHUB_API_ENV = "INFERSTACK_GITHUB_API_URL"
GITHUB_API = "https://api.github.com"
DEFAULT_EVENT_BUS = "default"
MAX_CLIENT_PAYLOAD_KEYS = 10
"""GitHub accepts at most 10 top-level properties in client_payload."""
TIMEOUT_S = 10


class TriggerFailed(Exception):
    """The trigger could not be delivered; one line for the report."""


def fire(
    trigger: NoTrigger | GithubDispatchTrigger | EventBridgeTrigger | SnsTrigger,
    payload: dict[str, Any],
    session: Any,
    environment: str,
    model: str,
) -> str:
    """Deliver the trigger with `payload` (model, version, window, breaching features...)."""
    if isinstance(trigger, GithubDispatchTrigger):
        return _github(trigger, payload)
    if isinstance(trigger, EventBridgeTrigger):
        return _eventbridge(trigger, payload, session)
    if isinstance(trigger, SnsTrigger):
        return _sns(payload, session, environment, model)
    return "no trigger configured"


def _github(trigger: GithubDispatchTrigger, payload: dict[str, Any]) -> str:
    token = os.environ.get(GITHUB_TOKEN_ENV)
    if not token:
        raise TriggerFailed(
            f"github: no token in ${GITHUB_TOKEN_ENV}; expected it from Secret '{trigger.token_secret}' key '{trigger.token_key}'"
        )
    api = os.environ.get(GITHUB_API_ENV, GITHUB_API).rstrip("/")
    url = f"{api}/repos/{trigger.repository}/dispatches"
    client_payload = dict(list(payload.items())[:MAX_CLIENT_PAYLOAD_KEYS])
    body = json.dumps({"event_type": trigger.event_type, "client_payload": client_payload}).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": "2022-11-28",
            "Content-Type": "application/json",
            "User-Agent": "inferstack-drift",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - https API (or a test server)
            status = response.status
    except urllib.error.HTTPError as error:
        raise TriggerFailed(f"github: {url} answered {error.code} {error.reason}; expected 204 (check the token's repo scope)") from None
    except (urllib.error.URLError, OSError) as error:
        raise TriggerFailed(f"github: cannot reach {url} ({error})") from None
    if status != 204:
        raise TriggerFailed(f"github: {url} answered {status}; expected 204")
    return f"github repository_dispatch {trigger.event_type} to {trigger.repository}"


def _eventbridge(trigger: EventBridgeTrigger, payload: dict[str, Any], session: Any) -> str:
    try:
        answer = session.client("events").put_events(
            Entries=[
                {"Source": EVENT_SOURCE, "DetailType": trigger.detail_type, "Detail": json.dumps(payload), "EventBusName": DEFAULT_EVENT_BUS}
            ]
        )
    except (BotoCoreError, ClientError) as error:
        raise TriggerFailed(f"eventbridge: put_events on the default bus failed ({error})") from None
    if answer.get("FailedEntryCount", 0):
        entry = answer.get("Entries", [{}])[0]
        raise TriggerFailed(f"eventbridge: the event was refused ({entry.get('ErrorCode')}: {entry.get('ErrorMessage')})")
    return f"eventbridge event {trigger.detail_type} on the default bus"


def _sns(payload: dict[str, Any], session: Any, environment: str, model: str) -> str:
    name = retraining_topic_name(environment, model)
    try:
        account = session.client("sts").get_caller_identity()["Account"]
        region = session.region_name
        arn = f"arn:aws:sns:{region}:{account}:{name}"
        session.client("sns").publish(TopicArn=arn, Subject=f"Retrain {model}: drift paged"[:100], Message=json.dumps(payload))
    except (BotoCoreError, ClientError, KeyError) as error:
        raise TriggerFailed(f"sns: publish to {name} failed ({error})") from None
    return f"sns message on {arn}"
