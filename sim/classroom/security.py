"""What keeps a class of students honest: secrets, passphrases, attempt limits and clean names (pure functions).

- Room codes, seat secrets and teacher session keys are drawn with `secrets` from an alphabet without look-alike
  characters; only the teacher's session key is too long to type (it never leaves the server session).
- Teacher passphrases are stored as salted scrypt hashes, never in clear.
- `LIMITS`: how many wrong guesses of each kind a browser session, a network address and (for passphrases) a room
  may make per window before the store refuses further tries; docs/teaching.md has the arithmetic.
- Names are labels, not credentials: `clean_name` normalises them (NFKC), strips bidi controls and invisible
  characters; `markdown_escape` and `csv_safe` make them inert wherever they are shown or exported.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import unicodedata
from dataclasses import dataclass

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # 32 symbols (5 bits each); no I/1, O/0: easy off a projector
CODE_LENGTH = 6                                 # room codes: 32^6 = 2^30
SEAT_SECRET_LENGTH = 12                         # seat secrets: 32^12 = 2^60, shown to the student as XXXX-XXXX-XXXX
TEACHER_KEY_BYTES = 24                          # the console's session key: 192 bits, never shown or typed
MIN_PASSPHRASE = 8
MAX_NAME = 40
SCRYPT = {"n": 2**14, "r": 8, "p": 1}           # 16 MB and tens of ms per check: cheap for a teacher, dear in bulk

# Characters that render as nothing (or as a blank) although Unicode files them as letters or symbols.
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u180e")
CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Limit:
    """Wrong guesses allowed within `window` seconds, per browser session, per network address and per target
    (the room a passphrase or seat secret was tried against; None: no per-target cap)."""

    per_session: int
    per_address: int
    per_target: int | None
    window: float = 600.0


LIMITS: dict[str, Limit] = {
    "room code": Limit(per_session=10, per_address=30, per_target=None),
    "seat secret": Limit(per_session=10, per_address=30, per_target=None),
    "teacher passphrase": Limit(per_session=5, per_address=10, per_target=10),
}


def new_code(length: int = CODE_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_seat_secret() -> str:
    return new_code(SEAT_SECRET_LENGTH)


def new_teacher_key() -> str:
    return secrets.token_urlsafe(TEACHER_KEY_BYTES)


def normalise_code(code: object) -> str:
    """What a person typed -> a code or seat secret (spaces, dashes and case forgiven)."""
    return "".join(ch for ch in str(code).upper() if ch not in " -\t\n")


def show_secret(secret: str) -> str:
    """A seat secret as the student copies it: groups of four (ABCD-EFGH-JKMN)."""
    return "-".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def same_secret(stored: str | None, given: object) -> bool:
    """Constant-time comparison of a stored secret with what a browser sent (as sent, or as typed by hand)."""
    if not stored or given is None:
        return False
    raw = str(given).strip()
    if not raw:
        return False
    return hmac.compare_digest(stored.encode(), raw.encode()) or \
        hmac.compare_digest(stored.encode(), normalise_code(raw).encode())


# ====================================================================== passphrases
def check_new_passphrase(passphrase: str) -> str:
    """The teacher's passphrase as it will be checked; a ValueError message if it is too weak to keep students out."""
    text = unicodedata.normalize("NFKC", str(passphrase)).strip()
    if len(text) < MIN_PASSPHRASE:
        raise ValueError(f"the teacher passphrase needs at least {MIN_PASSPHRASE} characters (a short sentence "
                         f"is best); students must not be able to guess it")
    return text


def hash_passphrase(passphrase: str) -> str:
    """'scrypt$<salt hex>$<hash hex>' of the normalised passphrase."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(_passphrase_bytes(passphrase), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def passphrase_matches(stored: str, given: object) -> bool:
    try:
        method, salt, digest = stored.split("$")
    except ValueError:
        return False
    if method != "scrypt":
        return False
    again = hashlib.scrypt(_passphrase_bytes(str(given)), salt=bytes.fromhex(salt), dklen=32, **SCRYPT)
    return hmac.compare_digest(again.hex(), digest)


def _passphrase_bytes(passphrase: str) -> bytes:
    return unicodedata.normalize("NFKC", passphrase).strip().encode()


# ====================================================================== names
def clean_name(raw: object) -> str:
    """A student's name as stored and shown: NFKC-normalised (full-width and styled letters become plain ones),
    without control, format (bidi overrides, zero-width joiners ...) or invisible characters, whitespace
    collapsed, at most MAX_NAME characters. ValueError when nothing visible is left."""
    text = unicodedata.normalize("NFKC", str(raw))
    kept = []
    for ch in text:
        if ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") or ch in INVISIBLE_LETTERS:
            continue
        else:
            kept.append(ch)
    name = " ".join("".join(kept).split())[:MAX_NAME].strip()
    if not any(ch.isalnum() for ch in name):
        raise ValueError("type your name (letters or digits) first, so the teacher knows who sits where")
    return name


_MARKDOWN_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")


def markdown_escape(text: object) -> str:
    """Text that Markdown (and Streamlit's :colour[] / :icon: / $math$ extensions) shows literally."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def csv_safe(value: object) -> object:
    """A text cell a spreadsheet will not run as a formula (a leading = + - @ gets a quote); others unchanged."""
    if isinstance(value, str) and value.startswith(CSV_TRIGGERS):
        return "'" + value
    return value
