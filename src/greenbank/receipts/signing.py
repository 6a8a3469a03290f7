"""Seal a rendered receipt: a PAdES certification signature that permits no changes.

A certification (author) signature with DocMDP P=1 tells every reader that *any* later
revision voids the seal, which is what 电子签名法 Art. 13 asks for ("any later change to the
document must be detectable"). The signer's chain is embedded so a verifier needs only the
bank's root; an optional RFC 3161 timestamp (PAdES B-T) fixes the signing time.
"""

from __future__ import annotations

import asyncio
import io
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.timestamps.api import TimeStamper

from greenbank.errors import ValidationFailed
from greenbank.receipts.gm_algorithms import SM2_SIGNATURE_MAX_SIZE
from greenbank.receipts.pki import SealIdentity
from greenbank.receipts.render import receipt_no_from_keywords
from greenbank.receipts.tsa import TimestampAuthority

SEAL_FIELD = "ReceiptSeal"
REASON_PREFIX = "电子回单 "
# Space reserved for the CMS container. pyHanko would otherwise build a whole dummy signature
# (and timestamp) per document to measure it; too much slack costs verification time instead,
# since pyHanko reads the zero padding of /Contents one hex digit at a time (~0.5 ms per KiB).
# Measured with the dev PKI: ~290 bytes of structure and attributes besides the embedded
# certificates, the issuer name (in the signer id), the signature value and the timestamp
# token; a larger CMS falls back to pyHanko's own measurement.
_CMS_OVERHEAD = 400
_token_sizes: weakref.WeakKeyDictionary[TimeStamper, int] = weakref.WeakKeyDictionary()


class NotAReceiptDocument(ValidationFailed):
    code = "not_a_receipt_document"
    title = "The PDF is not a rendered receipt"


@dataclass(frozen=True)
class DocumentKind:
    """What a sealed document is: where its number sits in the document-info keywords and how
    the seal's reason names it. Receipts are the default; another document sealed with the same
    seal (the carbon reduction certificate) brings its own kind, so neither passes for the other.
    """

    name: str
    reason_prefix: str
    number_from_keywords: Callable[[str], str | None]

    def reason(self, number: str) -> str:
        return self.reason_prefix + number


RECEIPT = DocumentKind("receipt", REASON_PREFIX, receipt_no_from_keywords)


def document_number(reader: PdfFileReader, kind: DocumentKind) -> str | None:
    """The document number the renderer put into the document info keywords."""
    info = reader.trailer_view.get("/Info")
    keywords = info.get_object().get("/Keywords") if info is not None else None
    return kind.number_from_keywords(str(keywords)) if keywords is not None else None


def document_receipt_no(reader: PdfFileReader) -> str | None:
    return document_number(reader, RECEIPT)


def seal_pdf(
    pdf_bytes: bytes,
    identity: SealIdentity,
    *,
    tsa: TimestampAuthority | None = None,
    kind: DocumentKind = RECEIPT,
) -> bytes:
    """Return the sealed PDF (the input plus one signed incremental update)."""
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
    except (PdfError, ValueError) as exc:
        raise NotAReceiptDocument(f"cannot read the PDF: {exc}") from exc
    number = document_number(writer.prev, kind)
    if number is None:
        raise NotAReceiptDocument(f"the PDF carries no {kind.name} number")
    meta = PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        md_algorithm=identity.digest_algorithm,
        reason=kind.reason(number),
        location="CN",
        certify=True,
        docmdp_permissions=MDPPerm.NO_CHANGES,
        subfilter=SigSeedSubFilter.PADES,
    )
    stamper = tsa.timestamper() if tsa is not None else None
    signer = PdfSigner(meta, signer=identity.signer, timestamper=stamper)
    try:
        out = signer.sign_pdf(writer, bytes_reserved=_reserve(identity, stamper))
    except SigningError:
        # A larger chain or token than the allowance: let pyHanko measure, on a fresh writer.
        out = signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False))
    return bytes(out.getbuffer())


def _reserve(identity: SealIdentity, stamper: TimeStamper | None) -> int:
    # Roots are not embedded (the verifier brings its own), so they take no space.
    embedded = [c for c in (identity.cert, *identity.chain) if c.issuer != c.subject]
    certs = sum(len(c.public_bytes(Encoding.DER)) for c in embedded)
    issuer = len(identity.cert.issuer.public_bytes())
    token = _token_size(stamper) if stamper is not None else 0
    size = _CMS_OVERHEAD + certs + issuer + _signature_size(identity) + token
    return 2 * size  # pyHanko counts the hex digits of /Contents


def _signature_size(identity: SealIdentity) -> int:
    """Largest DER signature value: an ECDSA (r, s) pair, an RSA block, or an SM2 (r, s) pair."""
    key = identity.key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return 2 * ((key.curve.key_size + 7) // 8) + 9
    if isinstance(key, rsa.RSAPrivateKey):
        return (key.key_size + 7) // 8
    return SM2_SIGNATURE_MAX_SIZE


def _token_size(stamper: TimeStamper) -> int:
    """Size of one timestamp token from this TSA, asked once (pyHanko caches the dummy too)."""
    size = _token_sizes.get(stamper)
    if size is None:
        token = asyncio.run(stamper.async_dummy_response("sha256"))
        size = _token_sizes[stamper] = len(token.dump()) + 64  # nonce and serial vary a little
    return size
