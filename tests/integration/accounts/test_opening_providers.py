"""The sandbox vendors behave as documented (they keep a call log, so they need a database), and
the real RapidOCR adapter reads a synthetic ID card when the ``ocr`` extra is installed."""

from __future__ import annotations

import io
from datetime import timedelta
from importlib import resources
from importlib.util import find_spec

import pytest

from greenbank.accounts.providers import VendorCode
from greenbank.accounts.sandbox import (
    SandboxCardCheck,
    SandboxFace,
    SandboxIdCheck,
    SandboxOcr,
    SandboxVendor,
    sandbox_payload,
    sandbox_person,
)
from greenbank.bootstrap import Container


def vendor(container: Container, name: str, **kw: object) -> SandboxVendor:
    slept: list[float] = []
    return SandboxVendor(
        vendor=name,
        uow=container.uow,
        clock=container.clock,
        sleep=slept.append,
        **kw,  # type: ignore[arg-type]
    )


def test_id_check_codes_per_person(container: Container) -> None:
    check = SandboxIdCheck(vendor(container, "id_check"))
    zhang = sandbox_person("zhang_san").card
    assert check.check(name=zhang.name, id_number=zhang.id_number).code is VendorCode.OK
    assert check.check(name="张四", id_number=zhang.id_number).code is VendorCode.MISMATCH
    li = sandbox_person("li_si").card
    assert check.check(name=li.name, id_number=li.id_number).code is VendorCode.NO_RECORD


def test_flaky_person_times_out_then_answers_after_the_timeout(container: Container) -> None:
    slept: list[float] = []
    flaky = SandboxVendor(
        vendor="id_check",
        uow=container.uow,
        clock=container.clock,
        timeout=timedelta(seconds=2),
        sleep=slept.append,
    )
    wu = sandbox_person("wu_shi").card
    check = SandboxIdCheck(flaky)
    codes = [check.check(name=wu.name, id_number=wu.id_number).code for _ in range(3)]
    assert codes == [VendorCode.TIMEOUT, VendorCode.OK, VendorCode.TIMEOUT]
    assert slept == [2.0, 2.0]


def test_daily_quota_resets_at_shanghai_midnight(container: Container) -> None:
    limited = vendor(container, "id_check", daily_quota=2)
    check = SandboxIdCheck(limited)
    zhang = sandbox_person("zhang_san").card
    codes = [check.check(name=zhang.name, id_number=zhang.id_number).code for _ in range(3)]
    assert codes == [VendorCode.OK, VendorCode.OK, VendorCode.QUOTA_EXCEEDED]
    container.clock.advance(timedelta(hours=24))  # type: ignore[attr-defined]
    assert check.check(name=zhang.name, id_number=zhang.id_number).code is VendorCode.OK


def test_ocr_reads_sandbox_payloads_only(container: Container) -> None:
    ocr = SandboxOcr(vendor(container, "ocr"))
    read = ocr.read_id_card(
        front=sandbox_payload("wang_xiaoming", "front"),
        back=sandbox_payload("wang_xiaoming", "back"),
    )
    assert read.code is VendorCode.OK
    assert (read.fields.name, read.fields.id_number) == ("王小明", "440106199003071231")
    assert read.fields.validity == "2015.03.01-2035.03.01"
    swapped = ocr.read_id_card(
        front=sandbox_payload("wang_xiaoming", "back"),
        back=sandbox_payload("wang_xiaoming", "front"),
    )
    assert swapped.code is VendorCode.UNREADABLE
    assert ocr.read_id_card(front=b"\x89PNG...", back=b"").code is VendorCode.UNREADABLE


def test_face_similarity_and_liveness(container: Container) -> None:
    face = SandboxFace(vendor(container, "face"), challenge_ttl=timedelta(minutes=3))
    challenge = face.challenge(now=container.clock.now())
    assert len(challenge.actions) == 2 and len(set(challenge.actions)) == 2
    wang_wu = sandbox_person("wang_wu").card
    low = face.verify(
        token=challenge.token,
        actions=challenge.actions,
        selfie=b"x" * 32,
        name=wang_wu.name,
        id_number=wang_wu.id_number,
    )
    assert (low.code, low.similarity) == (VendorCode.OK, 72)
    assert low.template_id and low.template_id.startswith("sbx-face-")
    spoof = face.verify(
        token="t",
        actions=(),
        selfie=b'{"liveness": "fail", "x": 1}',
        name=wang_wu.name,
        id_number=wang_wu.id_number,
    )
    assert spoof.code is VendorCode.LIVENESS_FAILED
    assert (
        face.verify(token="t", actions=(), selfie=b"", name="a", id_number="1").code
        is VendorCode.NO_FACE
    )


def test_card_elements(container: Container) -> None:
    card = SandboxCardCheck(vendor(container, "card"))
    wang = sandbox_person("wang_xiaoming")

    def check(person_card: str, mobile: str | None, who: str = "wang_xiaoming") -> VendorCode:
        p = sandbox_person(who)
        return card.check(
            name=p.card.name,
            id_type="resident_id_card",
            id_number=p.card.id_number,
            card_number=person_card,
            mobile=mobile or "13926260007",
        ).code

    assert check(wang.card_number, wang.bank_mobile) is VendorCode.OK
    assert check(sandbox_person("zhang_san").card_number, wang.bank_mobile) is (
        VendorCode.CARD_NOT_OWNED
    )
    assert check(wang.card_number, "13926269999") is VendorCode.MOBILE_MISMATCH
    qian = sandbox_person("qian_qi")
    assert check(qian.card_number, "13926260007", "qian_qi") is VendorCode.MOBILE_MISMATCH


def _font(size: int) -> object:
    from PIL import ImageFont

    path = resources.files("paperang_p2_fonts_cjk").joinpath("fonts/wqy-microhei.ttc")
    return ImageFont.truetype(str(path), size)


def _card_images() -> tuple[bytes, bytes]:
    """A synthetic resident ID card (both sides) drawn with a CJK font."""
    from PIL import Image, ImageDraw

    def side(rows: list[tuple[int, int, str, int]]) -> bytes:
        image = Image.new("RGB", (856, 540), (246, 248, 240))
        draw = ImageDraw.Draw(image)
        for x, y, text, size in rows:
            draw.text((x, y), text, fill=(0, 0, 0), font=_font(size))  # type: ignore[arg-type]
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()

    front = side(
        [
            (60, 50, "姓名", 26),
            (160, 46, "王小明", 32),
            (60, 120, "性别", 26),
            (160, 116, "男", 30),
            (260, 120, "民族", 26),
            (350, 116, "汉", 30),
            (60, 190, "出生", 26),
            (160, 186, "1990年3月7日", 30),
            (60, 260, "住址", 26),
            (160, 256, "广东省广州市天河区", 30),
            (160, 300, "体育西路1号", 30),
            (60, 440, "公民身份号码", 26),
            (260, 434, "440106199003071231", 36),
        ]
    )
    back = side(
        [
            (200, 80, "中华人民共和国", 44),
            (250, 160, "居民身份证", 52),
            (150, 380, "签发机关", 26),
            (290, 376, "广州市公安局天河分局", 30),
            (150, 440, "有效期限", 26),
            (290, 436, "2015.03.01-2035.03.01", 30),
        ]
    )
    return front, back


@pytest.mark.slow
@pytest.mark.skipif(
    find_spec("rapidocr_onnxruntime") is None, reason="greenbank[ocr] not installed"
)
def test_rapidocr_reads_a_drawn_id_card() -> None:
    from greenbank.accounts.ocr import RapidOcr

    front, back = _card_images()
    result = RapidOcr().read_id_card(front=front, back=back)
    assert result.code is VendorCode.OK, result
    fields = result.fields
    assert (fields.name, fields.sex, fields.ethnicity) == ("王小明", "男", "汉")
    assert fields.id_number == "440106199003071231"
    assert fields.address == "广东省广州市天河区体育西路1号"
    assert fields.validity == "2015.03.01-2035.03.01"
    assert fields.authority == "广州市公安局天河分局"
    assert RapidOcr().read_id_card(front=b"not an image", back=b"").code in {
        VendorCode.SERVICE_ERROR,
        VendorCode.UNREADABLE,
    }
