"""Answers that are not AWS's fail their call, and only their call.

* A body that is not an answer: botocore reads a JSON-protocol body that is not JSON as an empty
  answer (ListEndpoints would list no endpoints, with no error), and an XML document with the
  wrong root as an answer without fields. A successful AWS answer of the JSON protocols is one
  JSON object, and of the query protocol (STS) an `<OperationResponse>` document; anything else
  raises `UnreadableAnswer` before parsing, so "0 endpoints" never stands for "not an AWS answer".
* A field that is not of its type (a structure where a list belongs, CreationTime "yesterday"):
  botocore's parsers raise whatever Python raises there; the parsers made here turn that into
  `UnreadableAnswer`, which the part that asked reports, instead of an exception ending the run.
"""

from __future__ import annotations

from typing import Any

from aiobotocore.parsers import AioResponseParserFactory
from botocore.parsers import ResponseParserError

from collectors.failures import UnreadableAnswer
from ground.untrusted import inert

_LOOK_AT = 512  # bytes of the body looked at: the start says what a document is


def _preview(body: bytes, content_type: str) -> str:
    text = inert(body[:_LOOK_AT].decode("utf-8", "replace"), one_line=True, limit=60)
    kind = f"{inert(content_type, one_line=True, limit=40)}: " if content_type else ""
    return f"{kind}{text}" if text else f"{kind}an empty body"


def check_answer(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
    if int(response_dict.get("status_code", 500)) >= 300:
        return  # error answers carry their own code; botocore reads what it can of them
    body = response_dict.get("body")
    if not isinstance(body, bytes):
        return  # a streamed object (S3 GetObject): its content is not an API answer
    protocol = operation_model.service_model.resolved_protocol
    output = operation_model.output_shape
    if output is None or output.serialization.get("payload"):
        return  # no answer document, or one that is the payload itself
    start = body[:_LOOK_AT].lstrip()
    if protocol == "json":
        fits = start[:1] == b"{"
    elif protocol == "rest-json":
        fits = not start or start[:1] == b"{"  # an empty body: no field was set
    elif protocol == "query":
        fits = f"<{operation_model.name}Response".encode() in start
    else:
        return  # CBOR and rest-xml answers are checked by their parsers
    if not fits:
        content_type = str((response_dict.get("headers") or {}).get("content-type", ""))
        raise UnreadableAnswer(detail=f"not an AWS answer ({_preview(body, content_type)})")


def install(session: Any, timestamp_parser: Any) -> None:
    """Checked parsers (with `timestamp_parser`) and the body check, before any client exists."""
    factory = CheckedParserFactory()
    factory.set_parser_defaults(timestamp_parser=timestamp_parser)
    session.register_component("response_parser_factory", factory)
    emitter = session.get_component("event_emitter")
    emitter.register_first("before-parse", check_answer, unique_id="sagetop-answer-check")


class _CheckedParser:
    """A botocore parser whose failure on a malformed field is an `UnreadableAnswer`."""

    def __init__(self, parser: Any) -> None:
        self._parser = parser

    async def parse(self, response: dict[str, Any], shape: Any) -> Any:
        try:
            return await self._parser.parse(response, shape)
        except (UnreadableAnswer, ResponseParserError):
            raise
        except (AttributeError, TypeError, ValueError, KeyError, IndexError, OverflowError,
                RecursionError) as exc:
            raise UnreadableAnswer(detail="a field of the answer is not of its type "
                                          f"({type(exc).__name__})") from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


class CheckedParserFactory(AioResponseParserFactory):  # type: ignore[misc]
    """The session's parser factory: every client it makes parses through `_CheckedParser`."""

    def create_parser(self, protocol_name: str) -> Any:
        return _CheckedParser(super().create_parser(protocol_name))
