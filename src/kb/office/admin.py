"""Who may change the knowledge base from the page.

Staff search; one person manages. The admin password is kept only as a salted scrypt hash in the
settings (``admin_password_hash`` in kb.toml, written by ``kb admin set-password``). Without one,
management is offered only to a page served on loopback, where only someone at the machine can reach
it. Wrong passwords are rate-limited per server process, so guessing over the network is slow.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import re
import threading
import time
from enum import Enum
from pathlib import Path

from kb.reasons import KbError

MIN_PASSWORD_CHARS = 8
# OWASP's floor for scrypt is N = 2^17 with r = 8 (128 MiB per hash): slow to guess offline.
_SCRYPT = {"n": 2**17, "r": 8, "p": 1}
_MAX_N = 2**20  # a stored hash asking for more memory than this is not ours


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    if not (1 < n <= _MAX_N and 0 < r <= 32 and 0 < p <= 16):
        raise ValueError("scrypt parameters out of range")
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length,
                          maxmem=129 * r * n * p + 2**20)
# After this many wrong passwords in a row, each further attempt waits, doubling up to the cap.
FREE_ATTEMPTS = 5
FIRST_LOCKOUT_S = 30.0
MAX_LOCKOUT_S = 900.0
_CONFIG_KEY = "admin_password_hash"


class PasswordError(KbError, ValueError):
    """A new admin password kb will not take."""


class Access(Enum):
    PASSWORD = "password"  # a password is configured: whoever knows it may manage
    LOOPBACK = "loopback"  # no password, page on loopback: management is open to this machine
    CLOSED = "closed"  # no password, page on the network: nobody manages from the page


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise PasswordError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    salt = os.urandom(16)
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    digest = _scrypt(password, salt, n, r, p, 32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p), len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def save_password_hash(config_file: Path, hashed: str) -> None:
    """Set ``admin_password_hash`` in the TOML settings file, keeping everything else in it."""
    config_file = Path(config_file)
    lines = config_file.read_text(encoding="utf-8").splitlines() if config_file.exists() else []
    line = f'{_CONFIG_KEY} = "{hashed}"'
    key = re.compile(rf"^\s*{_CONFIG_KEY}\s*=")
    table = next((i for i, text in enumerate(lines) if text.lstrip().startswith("[")), len(lines))
    kept = [text for i, text in enumerate(lines) if not (i < table and key.match(text))]
    table = next((i for i, text in enumerate(kept) if text.lstrip().startswith("[")), len(kept))
    kept.insert(table, line)  # a top-level key must come before the first [table]
    temp = config_file.with_name(f".{config_file.name}.{os.getpid()}.tmp")
    # Created 0600: the hash is never readable by others, not even for a moment.
    handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write("\n".join(kept) + "\n")
    os.replace(temp, config_file)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False  # Streamlit's default listens on every interface
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def access(password_hash: str | None, host: str | None) -> Access:
    if password_hash:
        return Access.PASSWORD
    return Access.LOOPBACK if is_loopback(host) else Access.CLOSED


class Attempts:
    """Wrong-password throttle shared by every session of a server process."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._locked_until = 0.0

    def wait_seconds(self) -> float:
        with self._lock:
            return max(0.0, self._locked_until - self._clock())

    def try_password(self, password: str, stored: str) -> bool:
        """True when right; a wrong one (or any try while locked out) counts towards the lockout.
        One lock around the check, the hash and the count: forty simultaneous guesses are forty
        tries in a row, so the lockout stops all but the first few."""
        with self._lock:
            if self._clock() < self._locked_until:
                return False
            right = verify_password(password, stored)
            if right:
                self._failures, self._locked_until = 0, 0.0
                return True
            self._failures += 1
            if self._failures >= FREE_ATTEMPTS:
                doublings = self._failures - FREE_ATTEMPTS
                self._locked_until = self._clock() + min(MAX_LOCKOUT_S, FIRST_LOCKOUT_S * 2**doublings)
            return False
