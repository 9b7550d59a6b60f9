"""API keys: format, hashing (SHA-256, FIPS 180-4 test vector), verification."""

from __future__ import annotations

import hashlib

from lightcomp.api.keys import (
    generate_api_key,
    hash_api_key,
    parse_api_key,
    verify_api_key,
)


def test_hash_is_sha256_of_the_key():
    # FIPS 180-4 example: SHA-256("abc").
    assert hash_api_key("abc") == (
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_generated_keys_are_well_formed_unique_and_carry_256_bits():
    keys = {generate_api_key() for _ in range(200)}
    assert len({k for k, _ in keys}) == 200
    for key, prefix in keys:
        assert parse_api_key(key) == prefix
        secret = key.split("_", 2)[2]
        assert len(secret) == 43  # 32 bytes in URL-safe base64 without padding


def test_verify_accepts_only_the_exact_key():
    key, _ = generate_api_key()
    stored = hash_api_key(key)
    assert verify_api_key(key, stored)
    assert not verify_api_key(key[:-1] + ("x" if key[-1] != "x" else "y"), stored)
    assert not verify_api_key(key + " ", stored)
    assert stored == "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def test_parse_rejects_malformed_keys():
    key, _ = generate_api_key()
    for bad in (
        "",
        "lck_",
        key[:-1],
        key + "A",
        key.replace("lck_", "lk_"),
        key.upper(),
        "lck_zzzzzzzzzzzz_" + "A" * 43,
        " " + key,
    ):
        assert parse_api_key(bad) is None, bad
