"""MLflow's search grammar for runs and experiments: a hand-written tokenizer and parser.

A filter is a list of comparisons joined by ``AND``::

    metrics.eval_loss < 1.5 and params.model_name = 'llama2-7b' and tags.`hf_mltrack.user` LIKE 'a%'

Each comparison is ``<key> <operator> <value>``. Keys are ``metrics.<name>``, ``params.<name>``,
``tags.<name>`` or ``attributes.<name>`` (an unprefixed name is an attribute); a name with spaces or
other special characters is quoted in backticks or double quotes (``metrics.`my metric` ``). Every
error is a `SearchFilterParseError` naming the character position (0-based) and the token it could
not read.

`hf_mltrack.tracking.search_eval` evaluates parsed filters and order_by clauses in pure Python
(`matches_run`, `sort_runs`), with exactly the semantics of the SQL store (`hf_mltrack.store.sql.search_sql`):

- a run without the key never matches a comparison, except ``IS NULL``;
- a NaN metric only matches ``!=``; when ordering, NaN comes after every number and missing values
  come last, in both directions (as MLflow);
- ``LIKE`` is case-sensitive and ``ILIKE`` case-insensitive, ``%`` and ``_`` are wildcards and a
  backslash escapes them.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..exceptions import InvalidParameterError, SearchFilterParseError

if TYPE_CHECKING:
    pass

__all__ = [
    "Comparison",
    "OrderBy",
    "decode_page_token",
    "encode_page_token",
    "parse_experiment_filter",
    "parse_experiment_order_by",
    "parse_order_by",
    "parse_search_filter",
]


@dataclass(frozen=True)
class Comparison:
    """One parsed comparison of a search filter.

    Args:
        entity_type (`str`): `"metric"`, `"param"`, `"tag"` or `"attribute"`.
        key (`str`): the metric/param/tag name, or the canonical attribute name (`run_uuid` is
            `run_id`, `created` is `start_time`).
        op (`str`): one of `=`, `!=`, `<`, `<=`, `>`, `>=`, `LIKE`, `ILIKE`, `IN`, `NOT IN`,
            `IS NULL`, `IS NOT NULL`.
        value (`str`, `float`, `int`, `tuple[str, ...]` or `None`): a string for params, tags and
            string attributes, a float for metrics, an int (or float) for time attributes, a tuple
            for `IN`/`NOT IN` and `None` for `IS NULL`/`IS NOT NULL`.
    """

    entity_type: str
    key: str
    op: str
    value: str | float | tuple[str, ...] | None


@dataclass(frozen=True)
class OrderBy:
    """One parsed order_by clause: `entity_type` and `key` as in `Comparison`, and the direction."""

    entity_type: str
    key: str
    ascending: bool


# ---- grammars ---------------------------------------------------------------------------------

_NUMBER_OPS = ("=", "!=", "<", "<=", ">", ">=")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
_NULL_OPS = ("IS NULL", "IS NOT NULL")

_ENTITY_PREFIX = {
    "metric": "metrics",
    "param": "params",
    "tag": "tags",
    "attribute": "attributes",
    "dataset": "datasets",
}
# What a run read (MLflow 3): ``datasets.name``, ``datasets.digest``, ``datasets.context``.
DATASET_KEYS = ("name", "digest", "context")


@dataclass(frozen=True)
class _Grammar:
    """What one kind of search (runs or experiments) accepts."""

    what: str
    prefixes: dict[str, str]  # prefix as written -> entity type
    attributes: dict[str, str]  # canonical attribute -> "string" | "number" | "id"
    aliases: dict[str, str]  # alias -> canonical attribute
    order_attributes: tuple[str, ...]

    def ops(self, entity_type: str, key: str) -> tuple[str, ...]:
        if entity_type == "metric":
            return _NUMBER_OPS + _NULL_OPS
        if entity_type in ("param", "tag"):
            return _STRING_OPS + _NULL_OPS
        if entity_type == "dataset":
            return _STRING_OPS
        kind = self.attributes[key]
        if kind == "number":
            return _NUMBER_OPS
        if kind == "id":
            return ("=", "!=", "IN", "NOT IN")
        return _STRING_OPS


_ATTRIBUTE_PREFIXES = {"attributes": "attribute", "attribute": "attribute", "attr": "attribute"}

_RUN_GRAMMAR = _Grammar(
    what="runs",
    prefixes={
        "metrics": "metric", "metric": "metric",
        "params": "param", "param": "param", "parameters": "param", "parameter": "param",
        "tags": "tag", "tag": "tag",
        "datasets": "dataset", "dataset": "dataset",
        **_ATTRIBUTE_PREFIXES, "run": "attribute",
    },
    attributes={
        "run_id": "string", "run_name": "string", "status": "string", "start_time": "number",
        "end_time": "number", "user_id": "string", "artifact_uri": "string", "lifecycle_stage": "string",
    },
    aliases={
        "run_uuid": "run_id", "created": "start_time", "Created": "start_time",
        "run name": "run_name", "Run name": "run_name", "Run Name": "run_name",
    },
    order_attributes=(
        "run_id", "run_name", "status", "start_time", "end_time", "user_id", "artifact_uri",
        "lifecycle_stage", "experiment_id",
    ),
)  # fmt: skip

_EXPERIMENT_GRAMMAR = _Grammar(
    what="experiments",
    prefixes={"tags": "tag", "tag": "tag", **_ATTRIBUTE_PREFIXES},
    attributes={
        "name": "string", "experiment_id": "id", "creation_time": "number", "last_update_time": "number",
        "lifecycle_stage": "string",
    },
    aliases={},
    order_attributes=("name", "experiment_id", "creation_time", "last_update_time"),
)  # fmt: skip


_LOGGED_MODEL_GRAMMAR = _Grammar(
    what="logged models",
    prefixes={
        "metrics": "metric", "metric": "metric",
        "params": "param", "param": "param",
        "tags": "tag", "tag": "tag",
        **_ATTRIBUTE_PREFIXES,
    },
    attributes={
        "model_id": "string", "name": "string", "model_type": "string", "status": "string",
        "source_run_id": "string", "creation_timestamp": "number", "last_updated_timestamp": "number",
    },
    aliases={
        "creation_time": "creation_timestamp", "creation_timestamp_ms": "creation_timestamp",
        "last_updated_timestamp_ms": "last_updated_timestamp", "run_id": "source_run_id",
    },
    order_attributes=(
        "model_id", "name", "model_type", "status", "source_run_id", "creation_timestamp",
        "last_updated_timestamp",
    ),
)  # fmt: skip

# ---- tokenizer --------------------------------------------------------------------------------

_OPERATOR_CHARS = "=<>!"
_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "ASC", "DESC"})


@dataclass(frozen=True)
class _Token:
    kind: str  # "ident" | "string" | "number" | "op" | "(" | ")" | "," | "end"
    text: str  # the source text
    pos: int
    value: Any = None  # ident: tuple of (segment, quoted); string: unescaped text; number: the literal

    @property
    def keyword(self) -> str | None:
        """The upper-cased keyword when the token is a bare word like `and` or `LIKE`."""
        if self.kind == "ident" and len(self.value) == 1 and not self.value[0][1]:
            word = self.value[0][0].upper()
            if word in _KEYWORDS:
                return word
        return None

    def describe(self) -> str:
        return "end of input" if self.kind == "end" else repr(self.text)


class _Source:
    """The text being parsed, and how to report an error in it."""

    def __init__(self, text: str, label: str) -> None:
        self.text = text
        self.label = label

    def error(self, pos: int, message: str) -> SearchFilterParseError:
        return SearchFilterParseError(f'Invalid {self.label} "{self.text}" at position {pos}: {message}')

    def unexpected(self, token: _Token, expected: str) -> SearchFilterParseError:
        return self.error(token.pos, f"unexpected token {token.describe()}; expected {expected}")


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _read_quoted(src: _Source, i: int) -> tuple[str, int]:
    """Read a '...' or "..." string at `i`; return (unescaped text, index after the closing quote).

    Escapes: a doubled quote (SQL style), backslash before either quote or a backslash, `\\n`, `\\t`.
    Any other backslash is kept, so LIKE patterns such as `'a\\_b'` keep their escape.
    """
    s = src.text
    quote = s[i]
    out: list[str] = []
    j = i + 1
    n = len(s)
    while j < n:
        ch = s[j]
        if ch == "\\" and j + 1 < n:
            nxt = s[j + 1]
            if nxt in "'\"\\":
                out.append(nxt)
            elif nxt == "n":
                out.append("\n")
            elif nxt == "t":
                out.append("\t")
            else:
                out.append("\\" + nxt)
            j += 2
            continue
        if ch == quote:
            if j + 1 < n and s[j + 1] == quote:
                out.append(quote)
                j += 2
                continue
            return "".join(out), j + 1
        out.append(ch)
        j += 1
    raise src.error(i, f"unterminated string {s[i:]!r}; close it with {quote}")


def _read_backticked(src: _Source, i: int) -> tuple[str, int]:
    s = src.text
    end = s.find("`", i + 1)
    if end < 0:
        raise src.error(i, f"unterminated backtick-quoted key {s[i:]!r}; close it with `")
    return s[i + 1 : end], end + 1


def _read_identifier(src: _Source, i: int) -> _Token:
    """Read a dotted key such as `metrics.loss`, `tags.hf_mltrack.runName` or ``params.`a b` ``."""
    s = src.text
    n = len(s)
    start = i
    parts: list[tuple[str, bool]] = []
    while True:
        if i < n and s[i] == "`":
            text, i = _read_backticked(src, i)
            parts.append((text, True))
        elif parts and i < n and s[i] in "'\"":
            text, i = _read_quoted(src, i)
            parts.append((text, True))
        elif i < n and _is_word_char(s[i]):
            j = i
            while j < n and _is_word_char(s[j]):
                j += 1
            parts.append((s[i:j], False))
            i = j
        else:
            found = repr(s[i]) if i < n else "end of input"
            raise src.error(
                i,
                f"unexpected token {found}; expected a key after {s[start:i]!r} "
                "(quote keys with special characters in backticks: metrics.`my key`)",
            )
        if i < n and s[i] == ".":
            i += 1
            continue
        return _Token("ident", s[start:i], start, tuple(parts))


#: Only ASCII digits make numbers: `str.isdigit()` and `int()` also take '³' or '٣', which SQL cannot.
_DIGITS = frozenset("0123456789")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def is_ascii_int(text: str) -> bool:
    """Whether ``text`` is a non-empty run of ASCII digits (``"12"``; not ``"³"``, ``"١٢"`` or ``""``)."""
    return text.isascii() and text.isdigit()


def _read_number(src: _Source, i: int) -> _Token:
    s = src.text
    n = len(s)
    j = i
    if s[j] in "+-":
        j += 1
    digits = 0
    while j < n and s[j] in _DIGITS:
        j += 1
        digits += 1
    is_float = False
    if j < n and s[j] == ".":
        is_float = True
        j += 1
        while j < n and s[j] in _DIGITS:
            j += 1
            digits += 1
    if digits and j < n and s[j] in "eE":
        k = j + 1
        if k < n and s[k] in "+-":
            k += 1
        if k < n and s[k] in _DIGITS:
            is_float = True
            while k < n and s[k] in _DIGITS:
                k += 1
            j = k
    if not digits or (j < n and (_is_word_char(s[j]) or s[j] == ".")):
        k = j
        while k < n and (_is_word_char(s[k]) or s[k] in ".+-"):
            k += 1
        raise src.error(i, f"unexpected token {s[i:k]!r}; it is not a number")
    text = s[i:j]
    # int() refuses texts of over 4300 digits: anything past int64 is compared as a double anyway
    value: float | int = float(text) if is_float or digits > 19 else int(text)
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        value = float(text)  # databases compare integers as int64: past that range, compare as a double
    return _Token("number", text, i, value)


def _starts_number(s: str, i: int) -> bool:
    j = i + 1 if s[i] in "+-" else i
    if s[j : j + 1] == ".":
        j += 1
    return s[j : j + 1] in _DIGITS


def _tokenize(src: _Source) -> list[_Token]:
    s = src.text
    n = len(s)
    tokens: list[_Token] = []
    i = 0
    while i < n:
        ch = s[i]
        if ch.isspace():
            i += 1
        elif ch in "(),":
            tokens.append(_Token(ch, ch, i))
            i += 1
        elif ch in _OPERATOR_CHARS:
            two = s[i : i + 2]
            if two in ("<=", ">=", "!="):
                tokens.append(_Token("op", two, i))
                i += 2
            elif ch == "!":
                raise src.error(i, "unexpected token '!'; did you mean '!='?")
            else:
                tokens.append(_Token("op", ch, i))
                i += 1
        elif ch in "'\"":
            text, end = _read_quoted(src, i)
            tokens.append(_Token("string", s[i:end], i, text))
            i = end
        elif _starts_number(s, i):
            tok = _read_number(src, i)
            tokens.append(tok)
            i += len(tok.text)
        elif _is_word_char(ch) or ch == "`":
            tok = _read_identifier(src, i)
            tokens.append(tok)
            i += len(tok.text)
        else:
            raise src.error(i, f"unexpected token {ch!r}")
    tokens.append(_Token("end", "", n))
    return tokens


# ---- parser -----------------------------------------------------------------------------------


def _display_key(entity_type: str, key: str) -> str:
    shown = key if re.fullmatch(r"\w+(\.\w+)*", key) else f"`{key}`"
    return shown if entity_type == "attribute" else f"{_ENTITY_PREFIX[entity_type]}.{shown}"


class _Parser:
    def __init__(self, src: _Source, grammar: _Grammar) -> None:
        self.src = src
        self.grammar = grammar
        self.tokens = _tokenize(src)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def next(self) -> _Token:
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    # keys ------------------------------------------------------------------------------------
    def key(self, *, order: bool = False) -> tuple[str, str]:
        tok = self.next()
        g = self.grammar
        prefixes = ", ".join(f"{p}." for p in dict.fromkeys(_ENTITY_PREFIX[e] for e in g.prefixes.values()))
        if tok.kind != "ident" or tok.keyword is not None:
            raise self.src.unexpected(tok, f"a key such as {self._example()} (prefixes: {prefixes})")
        parts: tuple[tuple[str, bool], ...] = tok.value
        if len(parts) == 1:
            entity_type, key = "attribute", parts[0][0]
        else:
            prefix = parts[0][0]
            found = g.prefixes.get(prefix.lower())
            if found is None:
                raise self.src.error(
                    tok.pos,
                    f"unknown key type {prefix!r} in {tok.text!r}; {g.what} are searched by {prefixes} "
                    "or an unprefixed attribute",
                )
            entity_type = found
            key = ".".join(text for text, _ in parts[1:])
        if not key:
            raise self.src.error(tok.pos, f"empty key in {tok.text!r}")
        if entity_type == "dataset":
            if order:
                raise self.src.error(tok.pos, f"{g.what} cannot be ordered by {tok.text!r}")
            if key not in DATASET_KEYS:
                raise self.src.error(
                    tok.pos,
                    f"unknown dataset field {tok.text!r}; use datasets.name, datasets.digest or datasets.context",
                )
        if entity_type == "attribute":
            key = g.aliases.get(key, key)
            valid = g.order_attributes if order else tuple(g.attributes)
            if key not in valid:
                raise self.src.error(
                    tok.pos,
                    f"unknown attribute {tok.text!r}; valid attributes of {g.what} are "
                    f"{', '.join(sorted(valid))} (logged values need a prefix: {prefixes})",
                )
        return entity_type, key

    def _example(self) -> str:
        return "metrics.loss, params.lr or tags.team" if self.grammar.what == "runs" else "name or tags.team"

    # comparisons -----------------------------------------------------------------------------
    def comparison(self) -> Comparison:
        entity_type, key = self.key()
        shown = _display_key(entity_type, key)
        op_tok = self.peek()
        op = self.operator()
        allowed = self.grammar.ops(entity_type, key)
        if op not in allowed:
            raise self.src.error(
                op_tok.pos,
                f"operator {op!r} is not supported for {shown}; use one of {', '.join(allowed)}",
            )
        if op in _NULL_OPS:
            return Comparison(entity_type, key, op, None)
        if op in ("IN", "NOT IN"):
            return Comparison(entity_type, key, op, self.value_list(entity_type, key, shown))
        return Comparison(entity_type, key, op, self.value(entity_type, key, shown, op))

    def operator(self) -> str:
        tok = self.next()
        expected = "an operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL)"
        if tok.kind == "op":
            return tok.text
        word = tok.keyword
        if word in ("LIKE", "ILIKE", "IN"):
            return word
        if word == "NOT":
            nxt = self.next()
            if nxt.keyword != "IN":
                raise self.src.unexpected(nxt, "IN after NOT")
            return "NOT IN"
        if word == "IS":
            nxt = self.next()
            negate = nxt.keyword == "NOT"
            if negate:
                nxt = self.next()
            if nxt.keyword != "NULL":
                raise self.src.unexpected(nxt, "NULL after IS NOT" if negate else "NULL or NOT NULL after IS")
            return "IS NOT NULL" if negate else "IS NULL"
        raise self.src.unexpected(tok, expected)

    def value(self, entity_type: str, key: str, shown: str, op: str) -> str | float | int:
        tok = self.next()
        kind = "number" if entity_type == "metric" else "string"
        if entity_type == "attribute":
            kind = self.grammar.attributes[key]
        if kind == "number":
            if tok.kind != "number":
                if tok.kind in ("op", "(", ")", ",", "end"):
                    raise self.src.unexpected(tok, "a value")
                raise self.src.unexpected(tok, f"a number for {shown} (e.g. {shown} {op} 0.5)")
            return float(tok.value) if entity_type == "metric" else tok.value
        if kind == "id":
            return self.id_value(tok, shown)
        if tok.kind != "string":
            if tok.kind in ("op", "(", ")", ",", "end"):
                raise self.src.unexpected(tok, "a value")
            raise self.src.unexpected(
                tok,
                f"a quoted string for {shown} (e.g. {shown} {op} '{tok.text}'); {_kind_note(entity_type)}",
            )
        value: str = tok.value
        if op in ("LIKE", "ILIKE"):
            trailing = len(value) - len(value.rstrip("\\"))
            if trailing % 2:
                raise self.src.error(tok.pos, f"the {op} pattern {tok.text} ends with an escape character '\\'")
        return value

    def id_value(self, tok: _Token, shown: str) -> str:
        if tok.kind == "number" and isinstance(tok.value, int):
            return str(tok.value)
        if tok.kind == "string" and is_ascii_int(tok.value) and len(tok.value) < 30 and int(tok.value) <= INT64_MAX:
            return str(int(tok.value))
        if tok.kind in ("op", "(", ")", ",", "end"):
            raise self.src.unexpected(tok, "a value")
        raise self.src.unexpected(tok, f"an experiment id for {shown} (e.g. {shown} = '1')")

    def value_list(self, entity_type: str, key: str, shown: str) -> tuple[str, ...]:
        tok = self.next()
        if tok.kind != "(":
            raise self.src.unexpected(tok, f"a parenthesised list of quoted strings, e.g. {shown} IN ('a', 'b')")
        is_id = entity_type == "attribute" and self.grammar.attributes[key] == "id"
        values: list[str] = []
        while True:
            tok = self.next()
            if is_id:
                values.append(self.id_value(tok, shown))
            elif tok.kind == "string":
                values.append(tok.value)
            else:
                raise self.src.unexpected(tok, f"a quoted string in the list of {shown}")
            tok = self.next()
            if tok.kind == ")":
                return tuple(values)
            if tok.kind != ",":
                raise self.src.unexpected(tok, "',' or ')'")

    def filter(self) -> list[Comparison]:
        if self.peek().kind == "end":
            return []
        comparisons = [self.comparison()]
        while True:
            tok = self.next()
            if tok.kind == "end":
                return comparisons
            if tok.keyword == "AND":
                if self.peek().kind == "end":
                    raise self.src.unexpected(self.peek(), "a comparison after AND")
                comparisons.append(self.comparison())
            elif tok.keyword == "OR":
                raise self.src.error(
                    tok.pos,
                    f"unexpected token {tok.describe()}; only AND is supported to combine comparisons "
                    "(run one search per alternative)",
                )
            else:
                raise self.src.unexpected(tok, "AND or the end of the filter")

    def order_by(self) -> OrderBy:
        entity_type, key = self.key(order=True)
        tok = self.next()
        ascending = True
        expected = "ASC, DESC or the end of the clause"
        if tok.keyword in ("ASC", "DESC"):
            ascending = tok.keyword == "ASC"
            tok = self.next()
            expected = "the end of the clause"
        if tok.kind != "end":
            raise self.src.unexpected(tok, expected)
        return OrderBy(entity_type, key, ascending)


def _kind_note(entity_type: str) -> str:
    notes = {"param": "params are strings", "tag": "tags are strings", "dataset": "dataset fields are strings"}
    return notes.get(entity_type, "this attribute is a string")


# ---- public parsers ---------------------------------------------------------------------------


def _check_text(value: Any, label: str) -> str:
    if not isinstance(value, str):
        raise InvalidParameterError(f'Invalid {label} {value!r}: give a string, e.g. "metrics.loss < 0.5"')
    return value


def parse_search_filter(filter_string: str | None) -> list[Comparison]:
    """Parse a run search filter into AND-ed comparisons.

    Args:
        filter_string (`str`, *optional*): e.g. `"metrics.eval_loss < 1.5 and params.model_name = 'x'"`.
            `None` or blank means no filter.

    Returns:
        `list[Comparison]`: the comparisons, in the order written.

    Raises:
        `SearchFilterParseError`: naming the position and the token that could not be read.
    """
    if filter_string is None:
        return []
    src = _Source(_check_text(filter_string, "filter"), "filter")
    return _Parser(src, _RUN_GRAMMAR).filter()


def parse_experiment_filter(filter_string: str | None) -> list[Comparison]:
    """Parse an experiment search filter (attributes `name`, `experiment_id`, `creation_time`,
    `last_update_time`, `lifecycle_stage` and `tags.*`) into AND-ed comparisons.

    Args:
        filter_string (`str`, *optional*): e.g. `"name LIKE 'bert-%' and tags.team = 'nlp'"`.
    """
    if filter_string is None:
        return []
    src = _Source(_check_text(filter_string, "filter"), "filter")
    return _Parser(src, _EXPERIMENT_GRAMMAR).filter()


def parse_logged_model_filter(filter_string: str | None) -> list[Comparison]:
    """Parse a logged model search filter: attributes (`name`, `model_id`, `model_type`, `status`,
    `source_run_id`, `creation_timestamp`, `last_updated_timestamp`), `metrics.*`, `params.*`, `tags.*`.

    Args:
        filter_string (`str`, *optional*): e.g. `"metrics.eval_loss < 1.5 and params.lr = '1e-4'"`.
    """
    if filter_string is None:
        return []
    src = _Source(_check_text(filter_string, "filter"), "filter")
    return _Parser(src, _LOGGED_MODEL_GRAMMAR).filter()


def parse_logged_model_order_by(clause: str) -> OrderBy:
    """One logged model order_by clause written as text, e.g. `"metrics.eval_loss ASC"`."""
    return _parse_order_by([clause], _LOGGED_MODEL_GRAMMAR)[0]


def _parse_order_by(order_by: Sequence[str] | None, grammar: _Grammar) -> list[OrderBy]:
    if order_by is None:
        return []
    if isinstance(order_by, str):
        order_by = [order_by]
    out = []
    for clause in order_by:
        src = _Source(_check_text(clause, "order_by clause"), "order_by clause")
        parser = _Parser(src, grammar)
        if parser.peek().kind == "end":
            raise src.error(0, f"empty clause; give a key such as {parser._example()}, optionally ASC or DESC")
        ob = parser.order_by()
        if grammar is _EXPERIMENT_GRAMMAR and ob.entity_type != "attribute":
            raise src.error(0, f"experiments can only be ordered by {', '.join(grammar.order_attributes)}, not by tags")
        out.append(ob)
    return out


def parse_order_by(order_by: Sequence[str] | None) -> list[OrderBy]:
    """Parse run order_by clauses such as `"metrics.eval_loss ASC"`, `"attributes.start_time DESC"`,
    `"params.lr"` or `"run_name"` (ascending unless `DESC`).

    Args:
        order_by (`list[str]`, *optional*): the clauses, most significant first.
    """
    return _parse_order_by(order_by, _RUN_GRAMMAR)


def parse_experiment_order_by(order_by: Sequence[str] | None) -> list[OrderBy]:
    """Parse experiment order_by clauses over `name`, `experiment_id`, `creation_time`,
    `last_update_time` (e.g. `"creation_time DESC"`)."""
    return _parse_order_by(order_by, _EXPERIMENT_GRAMMAR)


# ---- evaluation in Python ---------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def encode_page_token(offset: int) -> str:
    """The page token of the result page starting at `offset` (urlsafe base64 of JSON)."""
    return base64.urlsafe_b64encode(json.dumps({"offset": int(offset)}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    """The offset a page token from `encode_page_token` stands for (`None` or `""`: 0).

    Raises:
        `InvalidParameterError`: naming the token when it is not one of ours.
    """
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4))
        offset = json.loads(raw)["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError, AttributeError) as exc:
        raise InvalidParameterError(
            f"Invalid page_token {token!r}: pass the next_page_token of a previous page unchanged, or None"
        ) from exc
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= INT64_MAX:
        raise InvalidParameterError(
            f"Invalid page_token {token[:100]!r}: its offset {str(offset)[:40]} is not an integer from 0 to {INT64_MAX}"
        )
    return offset
