"""A campaign's contact list from CSV: ``acd campaign import FILE.csv --campaign NAME``.

UTF-8 (a BOM is accepted), comma- or semicolon-separated, with a header row. ``number`` is
required (E.164, or a national number of the centre's country, stored as E.164); optional:
``id``, ``name``, ``kind`` (consumer, business), ``region`` (a contact zone such as
``reunion``, which sets the time zone and holidays of the calling hours), ``language``, and the
legal basis of the call: ``legal_basis`` (consent or contract), ``given_at`` (ISO-8601 date or
time; without an offset, in the centre's zone), ``proof_ref`` (where the proof is),
``collected_by``, and ``any_time_proof`` (the proof of the contact's express agreement to be
called outside the legal hours).

Contacts are customers of the customer directory: a number someone already holds adds the row's
consent to that customer. A row that cannot go in is rejected with its line and reason while the
good rows go in; a file that cannot be read at all is refused as a whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from zoneinfo import ZoneInfo

from acd.core.customers import Consent, CustomerError, CustomerKind, LegalBasis
from acd.runtime.phone_numbers import NumberError, to_e164
from acd.storage.customer_csv import CustomerFileError, Rejection

REQUIRED: Final = ("number",)
OPTIONAL: Final = (
    "id",
    "name",
    "kind",
    "region",
    "language",
    "legal_basis",
    "given_at",
    "proof_ref",
    "collected_by",
    "any_time_proof",
)
MAX_FILE_BYTES: Final = 200 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ContactRow:
    """One contact of the file: the number to dial, who it is, and their legal basis records."""

    line: int
    number: str
    customer_id: str
    name: str
    kind: CustomerKind
    region: str
    language: str
    consents: tuple[Consent, ...]


@dataclass(slots=True)
class ParsedContacts:
    """The rows that may go in and the rejected ones (line, reason)."""

    contacts: list[ContactRow] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def _instant(text: str, zone: ZoneInfo, field_name: str) -> float:
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise CustomerError(field_name, f"not an ISO-8601 date or time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()


def _contact(
    row: Mapping[str, str], line: int, country: str, zone: ZoneInfo, purposes: tuple[str, str]
) -> ContactRow:
    def get(name: str) -> str:
        return (row.get(name) or "").strip()

    try:
        number = to_e164(get("number"), country)
    except NumberError as exc:
        raise CustomerError("number", str(exc)) from None
    kind_text = (get("kind") or "consumer").lower()
    try:
        kind = CustomerKind(kind_text)
    except ValueError:
        raise CustomerError("kind", f"consumer or business, not {kind_text!r}") from None
    consents: list[Consent] = []
    basis_text = get("legal_basis").lower()
    if basis_text:
        if basis_text not in {LegalBasis.CONSENT, LegalBasis.CONTRACT}:
            raise CustomerError("legal_basis", f"consent or contract, not {basis_text!r}")
        if not get("given_at"):
            raise CustomerError("given_at", "required with a legal basis (when it was given)")
        consents.append(
            Consent(
                purpose=purposes[0],
                legal_basis=LegalBasis(basis_text),
                given_at=_instant(get("given_at"), zone, "given_at"),
                collected_by=get("collected_by") or "import",
                proof_ref=get("proof_ref"),
            )
        )
    if get("any_time_proof"):
        if not consents:
            raise CustomerError("any_time_proof", "needs a legal basis and given_at")
        consents.append(
            Consent(
                purpose=purposes[1],
                given_at=consents[0].given_at,
                collected_by=get("collected_by") or "import",
                proof_ref=get("any_time_proof"),
            )
        )
    return ContactRow(
        line=line,
        number=number,
        customer_id=get("id"),
        name=get("name")[:128],
        kind=kind,
        region=get("region").lower()[:64],
        language=get("language").lower(),
        consents=tuple(consents),
    )


def parse_contacts_csv(
    data: bytes,
    country: str,
    timezone: str,
    *,
    purpose: str = "marketing_calls",
    any_time_purpose: str = "calls_any_time",
) -> ParsedContacts:
    """Read a contact list; raises ``CustomerFileError`` when the file cannot be read at all.

    ``purpose`` is the consent purpose the ``legal_basis`` column records and
    ``any_time_purpose`` the one of ``any_time_proof`` (the compliance rules' purposes).
    """
    if len(data) > MAX_FILE_BYTES:
        raise CustomerFileError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CustomerFileError(
            f"not UTF-8 text (line {line}): save the file as CSV UTF-8"
        ) from None
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise CustomerFileError("no header row (expected columns: number, name, ...)")
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in reader.fieldnames or ()]
    if "number" not in header:
        raise CustomerFileError(f"missing column number in the header {first_line.strip()!r}")
    unknown = [name for name in header if name and name not in REQUIRED + OPTIONAL]
    if unknown:
        raise CustomerFileError(
            f"unknown column(s) {', '.join(unknown)}; known: {', '.join(REQUIRED + OPTIONAL)}"
        )
    reader.fieldnames = header
    zone = ZoneInfo(timezone)
    seen: dict[str, int] = {}
    parsed = ParsedContacts()
    try:
        for row in reader:
            line = reader.line_num
            if None in row:
                parsed.rejections.append(Rejection(line, "more fields than columns"))
                continue
            if not any((value or "").strip() for value in row.values()):
                continue
            try:
                contact = _contact(row, line, country, zone, (purpose, any_time_purpose))
            except CustomerError as exc:
                parsed.rejections.append(Rejection(line, str(exc)))
                continue
            if contact.number in seen:
                reason = f"duplicate number {contact.number} (line {seen[contact.number]})"
                parsed.rejections.append(Rejection(line, reason))
                continue
            seen[contact.number] = line
            parsed.contacts.append(contact)
    except csv.Error as exc:
        raise CustomerFileError(f"line {reader.line_num}: not readable as CSV ({exc})") from None
    return parsed
