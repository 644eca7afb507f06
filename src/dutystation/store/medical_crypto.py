"""The medical store's keys and envelopes (RELIABILITY: medical data under its own key).

Key file: text, one key per line (32 random bytes, URL-safe base64), ``#`` comments
allowed. The first key is the current one and seals everything new; the others only
open what they sealed before, which is what makes rotation possible without a flag day.
From each key, HKDF-SHA256 derives three independent values: the AES-256-GCM key, the
HMAC key that computes documents' content addresses, and a 16-hex-digit key id stored
beside every ciphertext (it names the key, it reveals nothing about it).

Envelope: ``DSM1 | key id (8 bytes) | nonce (12 bytes) | ciphertext+tag``. The associated
data binds each envelope to where it belongs (a record's request id, a document's
address), so a ciphertext copied onto another row fails authentication instead of
showing another person's data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dutystation.errors import ConfigError, StoreError
from dutystation.events.durable import fsync_dir
from dutystation.settings import Settings

MAGIC = b"DSM1"
KEY_BYTES = 32
KEY_ID_BYTES = 8
NONCE_BYTES = 12
_HEADER = len(MAGIC) + KEY_ID_BYTES + NONCE_BYTES
_SETTING = "medical_key_file (DUTYSTATION_MEDICAL_KEY_FILE)"
KEY_FILE_HEADER = (
    "# dutystation medical store key. The first key seals new data; any further keys\n"
    "# only open older data. Keep this file secret and backed up apart from the data:\n"
    "# without it the medical store cannot be read.\n"
)


def _derive(master: bytes, purpose: bytes, length: int = 32) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=length, salt=None, info=b"dutystation medical " + purpose
    )
    return hkdf.derive(master)


@dataclass(frozen=True)
class MedicalKey:
    key_id: str  # 16 hex digits
    aead: AESGCM
    mac_key: bytes

    @classmethod
    def from_master(cls, master: bytes) -> MedicalKey:
        return cls(
            key_id=_derive(master, b"key id", KEY_ID_BYTES).hex(),
            aead=AESGCM(_derive(master, b"encryption")),
            mac_key=_derive(master, b"address"),
        )

    def __repr__(self) -> str:  # never print key material
        return f"MedicalKey({self.key_id})"


@dataclass(frozen=True)
class Keyring:
    path: Path
    current: MedicalKey
    by_id: Mapping[str, MedicalKey]

    def address(self, data: bytes) -> str:
        """The keyed content address: HMAC-SHA256 under the current key. Without the key
        nobody can check a guess of the content against the address."""
        return hmac.new(self.current.mac_key, data, hashlib.sha256).hexdigest()

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        key_id = bytes.fromhex(self.current.key_id)
        return MAGIC + key_id + nonce + self.current.aead.encrypt(nonce, plaintext, context)

    def unseal(self, blob: bytes, context: bytes, *, what: str) -> bytes:
        """Open an envelope; ``what`` names it in errors ("medical record of request 7")."""
        if len(blob) < _HEADER + 16 or not blob.startswith(MAGIC):
            raise StoreError(f"{what} is damaged: it is not a medical-store envelope")
        key_id = key_id_of(blob)
        key = self.by_id.get(key_id)
        if key is None:
            raise ConfigError(
                f"{what} was encrypted under medical key {key_id}, which the key file "
                f"{self.path} does not hold; point {_SETTING} at the key it was written with"
            )
        nonce = blob[len(MAGIC) + KEY_ID_BYTES : _HEADER]
        try:
            return key.aead.decrypt(nonce, blob[_HEADER:], context)
        except InvalidTag:
            raise StoreError(
                f"{what} failed its integrity check: it was altered or damaged outside "
                "dutystation, or the key file was edited"
            ) from None


def key_id_of(blob: bytes) -> str:
    return blob[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES].hex()


def new_key_line() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def load_keyring(settings: Settings, *, may_create: bool | Callable[[], bool]) -> Keyring:
    """The configured keys. The embedded default file (``data_dir/medical/key``) is created
    on first use when ``may_create`` (the store holds nothing yet; a callable is asked only
    when the file is missing); a configured file is never created: a missing secret mount
    is a deployment error, not a reason for a new key."""
    path = settings.resolved_medical_key_file
    if not path.exists():
        if settings.medical_key_file is not None:
            raise ConfigError(f"the medical key file {path} does not exist; check {_SETTING}")
        if not (may_create() if callable(may_create) else may_create):
            raise ConfigError(
                f"the medical key file {path} is missing but the medical store holds data "
                "sealed with it; restore the key file from its backup"
            )
        _create_key_file(path)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError(f"the medical key file {path} cannot be read ({reason})") from None
    return _parse(path, text)


def _parse(path: Path, text: str) -> Keyring:
    keys: list[MedicalKey] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            master = base64.b64decode(line, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            master = b""
        if len(master) != KEY_BYTES:
            raise ConfigError(
                f"the medical key file {path} line {number} is not a key "
                f"(expected {KEY_BYTES} random bytes in URL-safe base64)"
            )
        keys.append(MedicalKey.from_master(master))
    if not keys:
        raise ConfigError(f"the medical key file {path} holds no key")
    return Keyring(path=path, current=keys[0], by_id={k.key_id: k for k in reversed(keys)})


def _create_key_file(path: Path) -> None:
    """Write a new random key, 0600, so that it appears whole or not at all: a temp file is
    written and synced, then hard-linked to the final name (which fails if a concurrent
    first use won the race; its key is then used)."""
    make_private_dirs(path.parent)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (KEY_FILE_HEADER + new_key_line() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temp, path)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigError(
            f"the medical key file {path} cannot be created ({exc.strerror})"
        ) from None
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and missing parents, the new ones 0700 (only the service user may
    list the medical store), each new entry flushed to its parent."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
        fsync_dir(directory.parent)
