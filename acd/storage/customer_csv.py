"""Customers to and from CSV: ``acd customers import FILE.csv`` and ``acd customers export``.

The file is UTF-8 (a BOM is accepted), comma- or semicolon-separated (spreadsheets in France write
semicolons), with a header row. Columns: ``name`` and ``numbers`` are required; ``id``, ``kind``,
``segment``, ``vip``, ``language``, ``preferred_agent``, ``region`` and ``attributes`` (a JSON
object) are optional. Several numbers are separated by ``|``; national numbers are read in the
centre's country.

Consent (the customer owns it; outbound telemarketing to consumers needs it, Code de la
consommation L. 223-1 since 11 August 2026) comes in optional columns: ``consent`` (``given`` or
``withdrawn``), ``consent_date`` (ISO-8601 date or time of that act; without an offset, in the
centre's zone; required with ``consent``, never in the future), ``consent_source`` (how: ``phone``,
``web``, ``paper``, ``ivr``...; ``import`` when empty), ``consent_proof`` (where the proof is) and
``consent_purpose`` (``marketing_calls`` when empty: what the outbound check reads). Importing adds
to the customer's consent records, never erases one: a withdrawal closes the consents in force.

A row that cannot go in (bad number, duplicate number or id, bad value) is rejected with its line
and reason while the good rows go in; a file that cannot be read at all (encoding, missing
columns, no header) is refused as a whole, before anything is written.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal
from zoneinfo import ZoneInfo

from acd.core.customers import (
    PURPOSE,
    AttributeValue,
    Consent,
    Customer,
    CustomerError,
    CustomerKind,
)
from acd.core.outbound_rules import OutboundRules
from acd.runtime.phone_numbers import NumberError, to_e164

REQUIRED: Final = ("name", "numbers")
OPTIONAL: Final = (
    "id",
    "kind",
    "segment",
    "vip",
    "language",
    "preferred_agent",
    "region",
    "attributes",
    "consent",
    "consent_date",
    "consent_source",
    "consent_proof",
    "consent_purpose",
)
CONSENT_COLUMNS: Final = ("consent_date", "consent_source", "consent_proof", "consent_purpose")
# The purpose the outbound consent check reads by default ([outbound] purpose).
DEFAULT_CONSENT_PURPOSE: Final = next(
    str(f.default) for f in dataclasses.fields(OutboundRules) if f.name == "purpose"
)
COLUMNS: Final = ("id", "name", "kind", "segment", "vip", "language", "preferred_agent", "region")
EXPORT_COLUMNS: Final = (*COLUMNS, "numbers", "attributes")
NUMBER_SEPARATOR: Final = "|"
MAX_FILE_BYTES: Final = 200 * 1024 * 1024


class CustomerFileError(ValueError):
    """The whole file is refused (unreadable encoding, missing columns); nothing was imported."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row left out, with its line in the file (the header is line 1) and why."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class ConsentAct:
    """A row's consent columns: consent given or withdrawn for a purpose at an instant."""

    action: Literal["given", "withdrawn"]
    purpose: str
    at: float
    source: str
    proof_ref: str

    def applied_to(self, consents: tuple[Consent, ...]) -> tuple[Consent, ...]:
        """The customer's records with this act: a consent added (unless the same grant is
        already there), or the consents in force then withdrawn. A withdrawal with nothing to
        close is kept as a record given and withdrawn at once: the refusal stays on file."""
        if self.action == "given":
            if any(c.purpose == self.purpose and c.given_at == self.at for c in consents):
                return consents
            added = Consent(
                purpose=self.purpose,
                given_at=self.at,
                collected_by=self.source,
                proof_ref=self.proof_ref,
            )
            return (*consents, added)
        closed = tuple(
            dataclasses.replace(c, withdrawn_at=self.at)
            if c.purpose == self.purpose and c.in_force(self.at)
            else c
            for c in consents
        )
        if closed != consents or any(
            c.purpose == self.purpose and c.withdrawn_at == self.at for c in consents
        ):
            return closed
        refusal = Consent(
            purpose=self.purpose,
            given_at=self.at,
            withdrawn_at=self.at,
            collected_by=self.source,
            proof_ref=self.proof_ref,
        )
        return (*consents, refusal)


@dataclass(slots=True)
class ParsedFile:
    """The rows that may go in (with their lines), their consent acts, and the rejected ones."""

    customers: list[tuple[int, Customer]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    consents: dict[str, ConsentAct] = field(default_factory=dict)  # by customer id


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CustomerFileError(
            f"not UTF-8 text (line {line}, byte {exc.start}): save the file as CSV UTF-8"
        ) from None


def _delimiter(header: str) -> str:
    return ";" if header.count(";") > header.count(",") else ","


def _generated_id(numbers: tuple[str, ...]) -> str:
    # Stable across imports of the same file: the same first number gives the same id.
    return "c" + hashlib.sha256(numbers[0].encode()).hexdigest()[:15]


def _attributes(text: str) -> dict[str, AttributeValue]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CustomerError("attributes", f"not JSON ({exc.msg})") from None
    if not isinstance(value, dict) or not all(
        isinstance(v, str | int | float | bool) or v is None for v in value.values()
    ):
        raise CustomerError("attributes", "a JSON object of plain values (text, numbers, true)")
    return value


def customer_from_fields(row: Mapping[str, str], country: str) -> Customer:
    """One CSV row (or API form) as a customer; raises ``CustomerError`` naming the field."""
    numbers: list[str] = []
    for text in (row.get("numbers") or "").split(NUMBER_SEPARATOR):
        if not text.strip():
            continue
        try:
            numbers.append(to_e164(text, country))
        except NumberError as exc:
            raise CustomerError("numbers", str(exc)) from None
    if not numbers:
        raise CustomerError("numbers", "at least one number is required")
    kind_text = (row.get("kind") or "consumer").strip().lower()
    try:
        kind = CustomerKind(kind_text)
    except ValueError:
        raise CustomerError("kind", f"consumer or business, not {kind_text!r}") from None
    vip_text = (row.get("vip") or "0").strip()
    if not vip_text.isdigit():
        raise CustomerError("vip", f"a level from 0 to 9, not {vip_text!r}")
    unique = tuple(dict.fromkeys(numbers))
    return Customer(
        customer_id=(row.get("id") or "").strip() or _generated_id(unique),
        name=(row.get("name") or "").strip(),
        kind=kind,
        segment=(row.get("segment") or "").strip(),
        vip_level=int(vip_text),
        language=(row.get("language") or "").strip().lower(),
        preferred_agent=(row.get("preferred_agent") or "").strip(),
        region=(row.get("region") or "").strip(),
        numbers=unique,
        attributes=_attributes(row.get("attributes") or ""),
    )


def consent_from_fields(row: Mapping[str, str], zone: ZoneInfo, now: float) -> ConsentAct | None:
    """A row's consent columns, or None when they are empty; raises ``CustomerError`` naming
    the column at fault."""

    def get(name: str) -> str:
        return (row.get(name) or "").strip()

    action = get("consent").lower()
    if not action:
        filled = [name for name in CONSENT_COLUMNS if get(name)]
        if filled:
            raise CustomerError("consent", f"given or withdrawn, required with {filled[0]}")
        return None
    if action not in ("given", "withdrawn"):
        raise CustomerError("consent", f"given or withdrawn, not {action!r}")
    date_text = get("consent_date")
    if not date_text:
        raise CustomerError("consent_date", f"required with consent {action} (when)")
    try:
        moment = dt.datetime.fromisoformat(date_text)
    except ValueError:
        raise CustomerError(
            "consent_date", f"not an ISO-8601 date or time (2026-08-11): {date_text!r}"
        ) from None
    at = (moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp()
    if at > now:
        raise CustomerError("consent_date", f"in the future: {date_text!r}")
    purpose = get("consent_purpose") or DEFAULT_CONSENT_PURPOSE
    if not PURPOSE.match(purpose):
        raise CustomerError(
            "consent_purpose", f"a lower-case word of letters, digits and _, not {purpose!r}"
        )
    source = get("consent_source").lower() or "import"
    if not PURPOSE.match(source):
        raise CustomerError(
            "consent_source", f"a word such as phone, web, paper, ivr (≤ 32), not {source!r}"
        )
    proof = get("consent_proof")
    if len(proof) > 128:
        raise CustomerError("consent_proof", "at most 128 characters")
    return ConsentAct("given" if action == "given" else "withdrawn", purpose, at, source, proof)


def parse_customers_csv(
    data: bytes,
    country: str,
    *,
    owners: Mapping[str, str] | None = None,
    timezone: str = "Europe/Paris",
    now: float | None = None,
) -> ParsedFile:
    """Read a customer file; ``owners`` (number -> customer id) are the numbers already taken;
    consent dates without an offset are in ``timezone``, and none may be after ``now``.

    Raises ``CustomerFileError`` when the file cannot be read as a whole.
    """
    zone = ZoneInfo(timezone)
    until = dt.datetime.now(dt.UTC).timestamp() if now is None else now
    if len(data) > MAX_FILE_BYTES:
        raise CustomerFileError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise CustomerFileError("no header row (expected columns: name, numbers, ...)")
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    header = [name.strip().lower() for name in reader.fieldnames or ()]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise CustomerFileError(
            f"missing column(s) {', '.join(missing)} in the header {first_line.strip()!r}"
        )
    unknown = [name for name in header if name and name not in REQUIRED + OPTIONAL]
    if unknown:
        raise CustomerFileError(
            f"unknown column(s) {', '.join(unknown)}; known: {', '.join(REQUIRED + OPTIONAL)}"
        )
    reader.fieldnames = header
    taken = dict(owners or {})
    seen_ids: dict[str, int] = {}
    parsed = ParsedFile()
    try:
        for row in reader:
            line = reader.line_num
            if None in row:
                parsed.rejections.append(Rejection(line, "more fields than columns"))
                continue
            if not any((value or "").strip() for value in row.values()):
                continue
            try:
                customer = customer_from_fields(row, country)
                act = consent_from_fields(row, zone, until)
            except CustomerError as exc:
                parsed.rejections.append(Rejection(line, str(exc)))
                continue
            earlier = seen_ids.get(customer.customer_id)
            if earlier is not None:
                reason = f"duplicate id {customer.customer_id} (line {earlier})"
                parsed.rejections.append(Rejection(line, reason))
                continue
            clash = next(
                (
                    n
                    for n in customer.numbers
                    if taken.get(n, customer.customer_id) != customer.customer_id
                ),
                None,
            )
            if clash is not None:
                parsed.rejections.append(
                    Rejection(line, f"duplicate number {clash} (held by {taken[clash]})")
                )
                continue
            seen_ids[customer.customer_id] = line
            for number in customer.numbers:
                taken[number] = customer.customer_id
            parsed.customers.append((line, customer))
            if act is not None:
                parsed.consents[customer.customer_id] = act
    except csv.Error as exc:
        raise CustomerFileError(f"line {reader.line_num}: not readable as CSV ({exc})") from None
    return parsed


def render_customers_csv(customers: Iterable[Customer]) -> str:
    """The customers as a CSV file ``parse_customers_csv`` reads back (comma-separated, UTF-8)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for c in customers:
        writer.writerow(
            [
                c.customer_id,
                c.name,
                c.kind.value,
                c.segment,
                c.vip_level,
                c.language,
                c.preferred_agent,
                c.region,
                NUMBER_SEPARATOR.join(c.numbers),
                json.dumps(dict(c.attributes), ensure_ascii=False) if c.attributes else "",
            ]
        )
    return out.getvalue()
