"""Envelope encryption: key stores, field tokens bound to their cell, rotation, blind indexes."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenbank.crypto import (
    CryptoBadInput,
    CryptoDecryptFailed,
    CryptoKeyStoreError,
    CryptoUnknownKeyVersion,
    EnvKeyStore,
    FileKeyStore,
    KeyRing,
    KeyStore,
    export_env,
    hmac_sm3,
    init_keys,
)
from greenbank.crypto.keyring import normalise

CELL = {
    "table": "customers",
    "column": "id_number",
    "record_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
}


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    init_keys(tmp_path / "keys")
    return tmp_path / "keys"


@pytest.fixture
def ring(keys_dir: Path) -> KeyRing:
    return KeyRing(FileKeyStore(keys_dir))


def test_init_keys_lays_out_private_files(keys_dir: Path) -> None:
    names = sorted(p.name for p in keys_dir.iterdir())
    assert names == ["dek-1.wrapped", "index.wrapped", "kek.key"]
    for path in keys_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    assert len(base64.b64decode(keys_dir.joinpath("kek.key").read_text())) == 16
    assert isinstance(FileKeyStore(keys_dir), KeyStore)


def test_init_keys_never_overwrites(keys_dir: Path) -> None:
    with pytest.raises(CryptoKeyStoreError):
        init_keys(keys_dir)


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CryptoKeyStoreError):
        FileKeyStore(tmp_path / "nowhere")


def test_field_round_trip_and_token_shape(ring: KeyRing) -> None:
    token = ring.encrypt_field("11010519491231002X", **CELL)
    prefix, version, body = token.split(":")
    assert (prefix, version) == ("v1", "1")
    assert len(base64.b64decode(body)) == 12 + 18 + 16  # nonce, ciphertext, tag
    assert ring.decrypt_field(token, **CELL) == "11010519491231002X"
    assert ring.encrypt_field("11010519491231002X", **CELL) != token  # fresh nonce each time


@pytest.mark.parametrize(
    "elsewhere",
    [
        {"table": "partners"},
        {"column": "phone"},
        {"record_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"},
    ],
)
def test_a_token_only_opens_in_its_own_cell(ring: KeyRing, elsewhere: dict[str, str]) -> None:
    token = ring.encrypt_field("张三", **CELL)
    with pytest.raises(CryptoDecryptFailed):
        ring.decrypt_field(token, **{**CELL, **elsewhere})


def test_tampered_or_malformed_tokens_are_rejected(ring: KeyRing) -> None:
    token = ring.encrypt_field("13812345678", **CELL)
    body = token.split(":")[2]
    raw = bytearray(base64.b64decode(body))
    for index in (0, 12, len(raw) - 1):  # nonce, ciphertext, tag
        damaged = bytearray(raw)
        damaged[index] ^= 0x01
        with pytest.raises(CryptoDecryptFailed):
            ring.decrypt_field(f"v1:1:{base64.b64encode(bytes(damaged)).decode()}", **CELL)
    for bad in (
        "",
        "v1",
        "v2:1:" + body,
        "v1:01:" + body,
        "v1:x:" + body,
        "v1:1:",
        "v1:1:%%%",
        "v1:1:AAAA",
    ):
        with pytest.raises(CryptoDecryptFailed):
            ring.decrypt_field(bad, **CELL)


def test_relabelling_a_token_with_another_version_fails(ring: KeyRing) -> None:
    token = ring.encrypt_field("6217271234561234", **CELL)
    ring.add_version()
    with pytest.raises(CryptoDecryptFailed):
        ring.decrypt_field(token.replace("v1:1:", "v1:2:"), **CELL)


def test_rotation_keeps_old_tokens_readable(ring: KeyRing, keys_dir: Path) -> None:
    old = ring.encrypt_field("欧阳娜娜", **CELL)
    assert ring.current_version == 1 and not ring.needs_rotation(old)
    assert ring.add_version() == 2
    new = ring.encrypt_field("欧阳娜娜", **CELL)
    assert new.startswith("v1:2:")
    assert ring.needs_rotation(old) and not ring.needs_rotation(new)
    assert ring.decrypt_field(old, **CELL) == ring.decrypt_field(new, **CELL) == "欧阳娜娜"
    assert (keys_dir / "dek-2.wrapped").exists()
    assert KeyRing(FileKeyStore(keys_dir)).decrypt_field(new, **CELL) == "欧阳娜娜"


def test_another_process_picks_up_a_new_version_on_first_sight(keys_dir: Path) -> None:
    reader, writer = KeyRing(FileKeyStore(keys_dir)), KeyRing(FileKeyStore(keys_dir))
    writer.add_version()
    token = writer.encrypt_field("x", **CELL)
    assert reader.decrypt_field(token, **CELL) == "x"
    with pytest.raises(CryptoUnknownKeyVersion):
        reader.decrypt_field(token.replace("v1:2:", "v1:9:"), **CELL)


def test_a_wrapped_key_cannot_be_swapped_for_another_label(keys_dir: Path) -> None:
    (keys_dir / "dek-1.wrapped").write_text((keys_dir / "index.wrapped").read_text())
    with pytest.raises(CryptoKeyStoreError):
        KeyRing(FileKeyStore(keys_dir))


def test_table_and_column_cannot_smuggle_the_separator(ring: KeyRing) -> None:
    with pytest.raises(CryptoBadInput):
        ring.encrypt_field("x", table="a|b", column="c", record_id="1")


def test_env_store_matches_the_file_store_and_is_read_only(ring: KeyRing, keys_dir: Path) -> None:
    token = ring.encrypt_field("13812345678", **CELL)
    env = export_env(keys_dir)
    assert sorted(env) == ["GREENBANK_KEYS_DEK_1", "GREENBANK_KEYS_INDEX", "GREENBANK_KEYS_KEK"]
    from_env = KeyRing(EnvKeyStore(env))
    assert from_env.decrypt_field(token, **CELL) == "13812345678"
    assert from_env.blind_index("13812345678", kind="phone") == ring.blind_index(
        "13812345678", kind="phone"
    )
    with pytest.raises(CryptoKeyStoreError):
        from_env.add_version()
    with pytest.raises(CryptoKeyStoreError):
        EnvKeyStore({})
    with pytest.raises(CryptoKeyStoreError):
        EnvKeyStore({"GREENBANK_KEYS_KEK": "not base64!"})


def test_env_store_reads_os_environ(keys_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in export_env(keys_dir).items():
        monkeypatch.setenv(name, value)
    assert KeyRing(EnvKeyStore()).current_version == 1


@pytest.mark.parametrize(
    ("kind", "variants", "canonical"),
    [
        ("id_number", ["11010519491231002x", " 110105 19491231 002X "], "11010519491231002X"),
        ("card", ["6217 2712 3456 1234", "6217-2712-3456-1234"], "6217271234561234"),
        ("phone", ["138 1234 5678", "+86 138-1234-5678", "0086 13812345678"], "13812345678"),
        ("name", ["Zhang  San", " zhang san "], "zhang san"),
        ("email", [" Li.Si@Example.COM "], "li.si@example.com"),
    ],
)
def test_blind_index_normalises_before_hashing(
    ring: KeyRing, kind: str, variants: list[str], canonical: str
) -> None:
    for variant in variants:
        assert normalise(variant, kind) == canonical  # type: ignore[arg-type]
        assert ring.blind_index(variant, kind=kind) == ring.blind_index(canonical, kind=kind)  # type: ignore[arg-type]


def test_blind_index_is_hmac_sm3_over_kind_and_value(ring: KeyRing) -> None:
    index = ring.blind_index("13812345678", kind="phone")
    assert index == hmac_sm3(ring._index_key, b"phone\x0013812345678").hex()
    assert index != ring.blind_index("13812345678", kind="card")
    assert index != ring.blind_index("13812345679", kind="phone")


def test_blind_index_rejects_unknown_kinds_and_empty_values(ring: KeyRing) -> None:
    with pytest.raises(CryptoBadInput):
        ring.blind_index("x", kind="passport")  # type: ignore[arg-type]
    with pytest.raises(CryptoBadInput):
        ring.blind_index("  ", kind="phone")


def test_different_stores_give_unrelated_indexes(tmp_path: Path, ring: KeyRing) -> None:
    other = KeyRing(init_keys(tmp_path / "other"))
    assert other.blind_index("13812345678", kind="phone") != ring.blind_index(
        "13812345678", kind="phone"
    )


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plaintext=st.text(max_size=60), record_id=st.text(max_size=40))
def test_any_text_round_trips(ring: KeyRing, plaintext: str, record_id: str) -> None:
    cell = {**CELL, "record_id": record_id}
    assert ring.decrypt_field(ring.encrypt_field(plaintext, **cell), **cell) == plaintext


def test_files_written_are_not_world_readable_even_with_a_loose_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        store = init_keys(tmp_path / "k")
    finally:
        os.umask(previous)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in store.directory.iterdir())
