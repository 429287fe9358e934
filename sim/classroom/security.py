"""What keeps a class of students honest: secrets, passphrases, attempt limits and clean names (pure functions).

- Room codes, seat secrets and teacher session keys are drawn with `secrets` from an alphabet without look-alike
  characters; only the teacher's session key is too long to type (it never leaves the server session).
- Teacher passphrases are stored as salted scrypt hashes, never in clear; seat secrets, request tokens, teacher
  session keys and recovery codes as keyed hashes (HMAC-SHA256 under the database's own key file: `digest`),
  compared in constant time (`digest_matches`).
- A recovery code (16 symbols, 80 bits), shown once when the room is made, opens the console past every attempt
  limit: students can use up the passphrase budget, never lock the teacher out.
- `LIMITS`: how many wrong guesses of each kind a browser session, a network address and (for passphrases) a room
  may make per window before the store refuses further tries; docs/teaching.md has the arithmetic.
- Names are labels, not credentials: `clean_name` normalises them (NFKC), strips bidi controls and invisible
  characters; `markdown_escape` and `csv_safe` make them inert wherever they are shown or exported.
"""

from __future__ import annotations

import base64
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
RECOVERY_LENGTH = 16                            # recovery codes: 32^16 = 2^80, shown as XXXX-XXXX-XXXX-XXXX
TEACHER_KEY_BYTES = 24                          # the console's session key: 192 bits, never shown or typed
MIN_PASSPHRASE = 8
MAX_NAME = 40
SCRYPT = {"n": 2**14, "r": 8, "p": 1}           # 16 MB and tens of ms per check: cheap for a teacher, dear in bulk

# Characters that render as nothing (or as a blank) although Unicode files them as letters or symbols.
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u180e")
# Unicode's default-ignorable code points (DerivedCoreProperties.txt): drawn as nothing. Most are format
# characters (Cf), but U+034F COMBINING GRAPHEME JOINER, the variation selectors and a few more are not.
DEFAULT_IGNORABLE = ((0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
                     (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
                     (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
                     (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF))
# Letters that look like Latin ones in common fonts, by what they look like; used only to tell names apart
# (`name_key`), never to change a name. Capitals are read before casefolding (Greek capital mu looks like M,
# its small letter like u), small letters after it.
CAPITAL_LOOKALIKES = str.maketrans({
    "А": "A", "В": "B", "Е": "E", "Ѕ": "S", "І": "I", "Ј": "J", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "У": "Y", "Ү": "Y", "Ԛ": "Q", "Ԝ": "W", "Ӏ": "I", "З": "3", "Ь": "b",   # Cyrillic
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P",
    "Τ": "T", "Υ": "Y", "Χ": "X",                                                                     # Greek
})
SMALL_LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "г": "r", "е": "e", "з": "3", "к": "k", "м": "m", "н": "h", "о": "o", "п": "n", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "l", "ј": "j", "ԁ": "d", "һ": "h", "ԛ": "q", "ԝ": "w",
    "ӏ": "l", "ь": "b", "ү": "y",                                                                     # Cyrillic
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "l", "κ": "k", "μ": "u", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w",                                                           # Greek
    # Latin: a capital I (now i), l, 1 and | are one stroke in the app's sans-serif font: all read as l (as do
    # Cyrillic і and Greek ι above: one pass, so each maps straight to its final letter)
    "i": "l", "1": "l", "|": "l", "ı": "l", "ȷ": "j", "ɑ": "a", "ɡ": "g", "0": "o",
})
MULTI_LOOKALIKES = (("rn", "m"), ("vv", "w"))     # pairs read as one letter (after casefolding)
CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# The network address that guesses count against when Streamlit gives none (a browser on the server's own
# machine, or every browser behind a proxy on it): one shared bucket, so reloading never resets the limit.
UNKNOWN_ADDRESS = "unknown"


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
# Actions that are not guesses but cost the room something (a seat, a line on the console): every one counts,
# per browser session and per network address. An address must let a whole class through (one NAT or proxy).
ACTIONS: dict[str, Limit] = {
    "join": Limit(per_session=3, per_address=60, per_target=None),
    "seat request": Limit(per_session=5, per_address=60, per_target=None),
}
MAX_REQUESTS_PER_REQUESTER = 1     # pending requests one browser session may have for one seat
MAX_OPEN_REQUESTS_PER_REQUESTER = 2  # pending requests one browser session may have in a room
MAX_REQUESTS_PER_ADDRESS = 8       # pending requests for one seat from one known network address
# Names a seat board or a console already shows for something else: a student named so would pass for it.
RESERVED_NAMES = ("free", "free - join now", "(free - join now)", "join now", "empty", "empty seat", "free seat",
                  "open seat", "vacant", "available", "computer", "the computer", "played by the computer",
                  "agent", "bot", "teacher", "the teacher", "admin", "moderator", "student", "you",
                  "nobody", "taken", "standing proposal", "proposal", "moved", "thinking")
# A name made only of the interface's words, with at least one that names a seat's state or a role ('the computer
# (agent)', 'Seat free', 'Teacher (you)', 'after the Reveal') is one more label of the app; 'Ana Free' is a name.
INTERFACE_WORDS = ("free", "join", "now", "take", "it", "click", "here", "seat", "seats", "empty", "open", "vacant",
                   "available", "computer", "the", "agent", "bot", "played", "by", "teacher", "teachers", "student",
                   "students", "you", "your", "s", "for", "waiting", "after", "reveal", "moves", "when", "round",
                   "closes", "moved", "thinking", "taken", "nobody", "admin", "moderator", "a", "is", "this")
LABEL_WORDS = ("free", "empty", "vacant", "available", "computer", "agent", "bot", "teacher", "teachers", "student",
               "students", "reveal", "admin", "moderator", "taken", "nobody")


def new_code(length: int = CODE_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_seat_secret() -> str:
    return new_code(SEAT_SECRET_LENGTH)


def new_teacher_key() -> str:
    return secrets.token_urlsafe(TEACHER_KEY_BYTES)


def new_recovery_code() -> str:
    return new_code(RECOVERY_LENGTH)


# ====================================================================== secrets at rest
DIGEST_PREFIX = "h1$"            # a keyed hash in the store; anything else in a secret column is from before


def digest(key: bytes, secret: str) -> str:
    """The keyed hash (HMAC-SHA256 under the database's key) a secret is stored as."""
    return DIGEST_PREFIX + hmac.new(key, str(secret).encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def is_digest(stored: object) -> bool:
    return isinstance(stored, str) and stored.startswith(DIGEST_PREFIX) and len(stored) == len(DIGEST_PREFIX) + 64


def digest_matches(key: bytes, stored: str | None, given: object) -> bool:
    """Constant-time check of what a browser sent (as sent, or as typed by hand: spaces, dashes and case
    forgiven) against a stored keyed hash."""
    if not stored or given is None:
        return False
    raw = str(given).strip()
    if not raw or len(raw) > 200:
        return False
    same = hmac.compare_digest(stored.encode(), digest(key, raw).encode())
    return hmac.compare_digest(stored.encode(), digest(key, normalise_code(raw)).encode()) or same


def derive(key: bytes, purpose: str, *parts: str) -> str:
    """A secret derived from the database's key (a room's teacher session key): the same every time it is
    asked for, never stored, and unknowable from the database file alone."""
    mac = hmac.new(key, "\0".join((purpose, *parts)).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:TEACHER_KEY_BYTES]).decode()


def normalise_code(code: object) -> str:
    """What a person typed -> a code or seat secret (spaces, dashes and case forgiven)."""
    return "".join(ch for ch in str(code).upper() if ch not in " -\t\n")


def show_secret(secret: str) -> str:
    """A seat secret as the student copies it: groups of four (ABCD-EFGH-JKMN)."""
    return "-".join(secret[i:i + 4] for i in range(0, len(secret), 4))


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
def ignorable(ch: str) -> bool:
    """True for a character drawn as nothing: control, format (bidi overrides, zero-width joiners ...),
    surrogate, private-use, unassigned, default-ignorable (U+034F, variation selectors ...) or blank letters."""
    if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") or ch in INVISIBLE_LETTERS:
        return True
    point = ord(ch)
    return any(low <= point <= high for low, high in DEFAULT_IGNORABLE)


def clean_name(raw: object) -> str:
    """A student's name as stored and shown: NFKC-normalised (full-width and styled letters become plain ones),
    without characters drawn as nothing (`ignorable`) and without combining marks that have no letter to sit
    on, whitespace collapsed, at most MAX_NAME characters. ValueError when nothing visible is left."""
    text = unicodedata.normalize("NFKC", str(raw))
    kept: list[str] = []
    for ch in text:
        if ch.isspace():
            kept.append(" ")
        elif ignorable(ch):
            continue
        elif unicodedata.category(ch).startswith("M") and (not kept or kept[-1] == " "):
            continue                                 # a mark at the start of a word would sit on what precedes it
        else:
            kept.append(ch)
    name = " ".join("".join(kept).split())[:MAX_NAME].strip()
    if not any(ch.isalnum() for ch in name):
        raise ValueError("type your name (letters or digits) first, so the teacher knows who sits where")
    words = [key for key in (name_key(w) for w in re.split(r"[\W_]+", name)) if key]
    if name_key(name) in _RESERVED_KEYS or (words and set(words) <= _INTERFACE_KEYS and set(words) & _LABEL_KEYS):
        raise ValueError("that name reads like a label of the app (a free seat, the computer, the teacher ...) - "
                         "type your own name")
    return name


def name_key(name: object) -> str:
    """What a name looks like, for telling names apart: two names with the same key would pass for each other
    on the teacher's screen. Decomposed, without accents and other combining marks or invisible characters,
    Cyrillic and Greek look-alikes read as the Latin letters they resemble (`CAPITAL_LOOKALIKES`, `SMALL_LOOKALIKES`;
    i, l and 1 alike), casefolded, 'rn' read as 'm', and only letters and digits kept ('Ana-Maria' = 'ana maria',
    'Аlice' with a Cyrillic A = 'ALICE' = 'AIice')."""
    def strip(text: str) -> str:
        return "".join(ch for ch in unicodedata.normalize("NFKD", text)
                       if unicodedata.category(ch) not in ("Mn", "Me") and not ignorable(ch))

    text = strip(strip(str(name)).translate(CAPITAL_LOOKALIKES).casefold()).translate(SMALL_LOOKALIKES)
    for many, one in MULTI_LOOKALIKES:
        text = text.replace(many, one)
    return "".join(ch for ch in text if ch.isalnum())


_RESERVED_KEYS = frozenset(name_key(n) for n in RESERVED_NAMES)
_INTERFACE_KEYS = frozenset(name_key(w) for w in INTERFACE_WORDS)
_LABEL_KEYS = frozenset(name_key(w) for w in LABEL_WORDS)
_MARKDOWN_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
# Where GitHub-flavoured Markdown starts a link in plain text: after '://' (http://, https:// ...), after a
# 'www' followed by a dot, and after the '@' of an e-mail address. It finds them in the text *after* backslash
# escapes are resolved, so escaping the punctuation does not stop it; a zero-width space right there does.
_AUTOLINK_STARTS = re.compile(r"(://|(?i:www)(?=\.)|@)")
ZERO_WIDTH_SPACE = "\u200b"


def markdown_escape(text: object) -> str:
    """Text that Markdown (and Streamlit's :colour[] / :icon: / $math$ extensions) shows literally: every
    punctuation character escaped, and a zero-width space after '://', 'www' and '@' so that no address in it
    becomes a live link."""
    unlinked = _AUTOLINK_STARTS.sub(lambda m: m.group(1) + ZERO_WIDTH_SPACE, str(text))
    return _MARKDOWN_SPECIAL.sub(r"\\\1", unlinked)


def csv_safe(value: object) -> object:
    """A text cell a spreadsheet will not run as a formula (a leading = + - @ tab or CR gets a quote); others
    unchanged."""
    if isinstance(value, str) and value.startswith(CSV_TRIGGERS):
        return "'" + value
    return value


def csv_text(frame: object, index: bool = False) -> str:
    """The one CSV writer for tables that may hold a student's text: every text cell and column name through
    `csv_safe` (numbers stay numbers)."""
    import pandas as pd

    table = frame.copy() if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
    if index:
        table = table.reset_index()
    table.columns = [csv_safe(str(c)) for c in table.columns]
    for column in table.columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            table[column] = table[column].map(csv_safe)
    return table.to_csv(index=False)
