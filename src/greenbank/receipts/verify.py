"""Offline verification of a sealed receipt against the bank's root, with a precise reason.

The checks run from the outside in, and the first failure is the reason reported: is it a
whole PDF, is it signed, do the signed bytes still hash to the signed digest, was anything
appended after the seal (a certification signature with no changes permitted, so any later
revision that is not pure signature maintenance is tampering), does the chain lead to our
root and is it within its validity, and is the signer the *receipt* seal of a document that
carries its receipt number.
"""

from __future__ import annotations

import binascii
import enum
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from cryptography import x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.xref import read_object_header
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from greenbank.receipts.gm_algorithms import GM_SIGNATURE_VALIDATOR
from greenbank.receipts.pki import RECEIPT_SEAL_POLICY_OID, to_asn1
from greenbank.receipts.signing import RECEIPT, DocumentKind, document_number

_EXPIRED = {AdESIndeterminate.OUT_OF_BOUNDS_NO_POE, AdESIndeterminate.EXPIRED}
_ACCEPTED_UPDATES = {ModificationLevel.NONE, ModificationLevel.LTA_UPDATES}
_CONTENTS_HEX = re.compile(rb"/Contents\s*<([0-9A-Fa-f]*)>")


class Reason(enum.StrEnum):
    OK = "ok"
    NOT_A_PDF = "not_a_pdf"
    TRUNCATED = "truncated"
    NO_SIGNATURE = "no_signature"
    BYTES_CHANGED = "bytes_changed"
    MODIFIED_AFTER_SIGNING = "modified_after_signing"
    UNKNOWN_SIGNER = "unknown_signer"
    CERTIFICATE_EXPIRED = "certificate_expired"
    CERTIFICATE_NOT_YET_VALID = "certificate_not_yet_valid"
    NOT_A_RECEIPT = "not_a_receipt"


@dataclass(frozen=True)
class VerificationResult:
    valid: bool
    reason: Reason
    detail: str = ""
    receipt_no: str | None = None
    signer_subject: str | None = None
    signing_time: datetime | None = None
    timestamped: bool = False


def verify_receipt_pdf(
    pdf_bytes: bytes,
    trust_roots: Sequence[x509.Certificate],
    *,
    at: datetime | None = None,
    kind: DocumentKind = RECEIPT,
) -> VerificationResult:
    """Verify a sealed receipt; ``at`` (aware) validates the chain at another moment than now.
    ``kind`` checks another document sealed with the receipt seal (its number and reason)."""
    if not pdf_bytes.startswith(b"%PDF-"):
        return VerificationResult(False, Reason.NOT_A_PDF, "no %PDF- header")
    if not pdf_bytes.rstrip().endswith(b"%%EOF"):
        return VerificationResult(False, Reason.TRUNCATED, "the file does not end with %%EOF")
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        preload_signature_dicts(reader, pdf_bytes)
        signatures = reader.embedded_regular_signatures
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        return VerificationResult(False, Reason.TRUNCATED, f"unreadable PDF structure: {exc}")
    if not signatures:
        return VerificationResult(False, Reason.NO_SIGNATURE, "the PDF carries no signature")
    seal = signatures[0]
    reason_text = str(seal.sig_object.get("/Reason", ""))
    prefix = kind.reason_prefix
    claimed_no = reason_text.removeprefix(prefix) if reason_text.startswith(prefix) else None
    context = ValidationContext(
        trust_roots=list(_asn1_roots(tuple(trust_roots))),
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=at,
        signature_validator=GM_SIGNATURE_VALIDATOR,  # SM2 seals; anything else as pyHanko does
    )
    try:
        status = validate_pdf_signature(seal, context)
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
        return VerificationResult(
            False, Reason.BYTES_CHANGED, f"signature cannot be checked: {exc}", claimed_no
        )
    info_no = document_number(reader, kind)
    return _judge(status, claimed_no, info_no, len(signatures), kind)


def preload_signature_dicts(reader: PdfFileReader, pdf_bytes: bytes) -> None:
    """Put the signature dictionaries into pyHanko's object cache, /Contents read in one slice.

    pyHanko reads a hex string one digit per Python call: ~3 ms for the ~6,500 digits of a
    sealed receipt, a third of its verification. Top-level signature fields whose dictionary
    qualifies (see ``_parse_signature_dict``) are parsed here instead; pyHanko parses anything
    else itself, and every check after parsing is still pyHanko's.
    """
    if reader.encrypted:
        return
    try:
        fields = reader.root["/AcroForm"]["/Fields"]
        for item in fields:
            field = item.get_object()
            if not isinstance(field, generic.DictionaryObject) or field.get("/FT") != "/Sig":
                continue
            value = field.raw_get("/V") if "/V" in field else None
            if isinstance(value, generic.IndirectObject):
                ref = value.reference
                parsed = _parse_signature_dict(reader, pdf_bytes, ref)
                if parsed is not None:
                    reader.cache_indirect_object(  # type: ignore[no-untyped-call]
                        ref.generation, ref.idnum, parsed
                    )
    except (PdfError, ValueError, KeyError, TypeError, IndexError):
        return  # pyHanko reads (and judges) the file its own way


def _parse_signature_dict(
    reader: PdfFileReader, pdf_bytes: bytes, ref: generic.Reference
) -> generic.DictionaryObject | None:
    """The object pyHanko would read at ``ref``, or None when it is not the plain case.

    The plain case: an uncompressed object whose bytes name ``/Contents`` exactly once, with no
    ``#`` name escapes, followed by an even-length string of hex digits only. pyHanko's own parser
    reads the object with that string emptied (so it must be the top-level /Contents, and the
    rest parses exactly as in the file), then the value is decoded as pyHanko's hex reader does.
    """
    offset = reader.xrefs[ref]
    end = pdf_bytes.find(b"endobj", offset) if isinstance(offset, int) else -1
    if end < 0:
        return None
    raw = pdf_bytes[offset:end]
    match = _CONTENTS_HEX.search(raw)
    if match is None or raw.count(b"/Contents") != 1 or b"#" in raw or len(match[1]) % 2:
        return None
    stream = io.BytesIO(raw[: match.start(1)] + raw[match.end(1) :])
    header = read_object_header(stream, strict=False)  # type: ignore[no-untyped-call]
    if header != (ref.idnum, ref.generation):
        return None
    parsed = generic.read_object(stream, generic.Reference(ref.idnum, ref.generation, reader))
    if not isinstance(parsed, generic.DictionaryObject):
        return None
    placeholder = parsed.raw_get("/Contents") if "/Contents" in parsed else None
    if not isinstance(placeholder, generic.TextStringObject | generic.ByteStringObject):
        return None
    if len(placeholder) != 0:
        return None
    parsed[generic.NameObject("/Contents")] = generic.pdf_string(binascii.unhexlify(match[1]))
    return parsed


def _judge(
    status: PdfSignatureStatus,
    claimed_no: str | None,
    info_no: str | None,
    count: int,
    kind: DocumentKind,
) -> VerificationResult:
    tst: Any = status.timestamp_validity
    timestamped = tst is not None and tst.intact and tst.valid and tst.trusted
    facts: dict[str, Any] = {
        "receipt_no": claimed_no,
        "signer_subject": status.signing_cert.subject.human_friendly,
        "signing_time": tst.timestamp if timestamped else status.signer_reported_dt,
        "timestamped": timestamped,
    }

    def fail(reason: Reason, detail: str) -> VerificationResult:
        return VerificationResult(False, reason, detail, **facts)

    if not (status.intact and status.valid):
        return fail(Reason.BYTES_CHANGED, "the signed bytes do not match the signature")
    if tst is not None and not (tst.intact and tst.valid):
        return fail(Reason.BYTES_CHANGED, "the timestamp token does not match the signature")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE and not (
        status.docmdp_ok and status.modification_level in _ACCEPTED_UPDATES and count == 1
    ):
        level = status.modification_level.name if status.modification_level else "unknown"
        return fail(Reason.MODIFIED_AFTER_SIGNING, f"revision added after the seal ({level})")
    indication = status.trust_problem_indic
    if indication in _EXPIRED:
        return fail(Reason.CERTIFICATE_EXPIRED, f"seal certificate expired ({indication})")
    if indication == AdESIndeterminate.NOT_YET_VALID:
        return fail(Reason.CERTIFICATE_NOT_YET_VALID, "seal certificate is not yet valid")
    if not status.trusted:
        return fail(Reason.UNKNOWN_SIGNER, f"no trusted chain to the bank's root ({indication})")
    if tst is not None and not tst.trusted:
        return fail(Reason.UNKNOWN_SIGNER, "the timestamp authority is not trusted")
    if not _is_receipt_seal(status):
        return fail(Reason.NOT_A_RECEIPT, "signed by a certificate that is not the receipt seal")
    if claimed_no is None or claimed_no != info_no:
        return fail(Reason.NOT_A_RECEIPT, f"the document carries no matching {kind.name} number")
    return VerificationResult(True, Reason.OK, "", **facts)


def _is_receipt_seal(status: PdfSignatureStatus) -> bool:
    policies = status.signing_cert.certificate_policies_value
    if policies is None:
        return False
    wanted = RECEIPT_SEAL_POLICY_OID.dotted_string
    return any(p["policy_identifier"].dotted == wanted for p in policies)


@lru_cache(maxsize=16)
def _asn1_roots(roots: tuple[x509.Certificate, ...]) -> tuple[Any, ...]:
    """Converting roots to asn1crypto once per root set keeps repeated verification cheap."""
    return tuple(to_asn1(root) for root in roots)
