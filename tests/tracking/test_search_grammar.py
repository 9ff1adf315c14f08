"""The search filter grammar: exact parses, exact error positions, Python evaluation and page tokens."""

from __future__ import annotations

import math

import pytest

from hf_mltrack.entities import Experiment, Run, RunData, RunInfo
from hf_mltrack.exceptions import InvalidParameterError, SearchFilterParseError
from hf_mltrack.tracking.search import (
    Comparison,
    OrderBy,
    decode_page_token,
    encode_page_token,
    parse_experiment_filter,
    parse_experiment_order_by,
    parse_order_by,
    parse_search_filter,
)
from hf_mltrack.tracking.search_eval import matches_experiment, matches_run, sort_experiments, sort_runs

C = Comparison

VALID_FILTERS = {
    "empty": ("", []),
    "blank": ("   ", []),
    "seed-example": (
        "metrics.eval_loss < 1.5 and params.model_name = 'llama2-7b'",
        [C("metric", "eval_loss", "<", 1.5), C("param", "model_name", "=", "llama2-7b")],
    ),
    "AND-any-case": (
        "metrics.a > 1 AND metrics.b >= 2 And metrics.c <= 3",
        [C("metric", "a", ">", 1.0), C("metric", "b", ">=", 2.0), C("metric", "c", "<=", 3.0)],
    ),
    "no-spaces": ("metrics.a>=-1.5e-3", [C("metric", "a", ">=", -0.0015)]),
    "metric-int-is-float": ("metrics.acc = 1", [C("metric", "acc", "=", 1.0)]),
    "metric-leading-dot": ("metrics.acc != .5", [C("metric", "acc", "!=", 0.5)]),
    "metric-alias": ("metric.loss < 2", [C("metric", "loss", "<", 2.0)]),
    "param-aliases": (
        "param.a = 'x' and parameters.b = 'y' and parameter.c = 'z'",
        [C("param", "a", "=", "x"), C("param", "b", "=", "y"), C("param", "c", "=", "z")],
    ),
    "tag-alias-double-quotes": ('tag.team = "nlp"', [C("tag", "team", "=", "nlp")]),
    "dotted-tag-stays-tag": (
        "tags.hf_mltrack.runName = 'bert'",
        [C("tag", "hf_mltrack.runName", "=", "bert")],
    ),
    "backtick-key": ("metrics.`my metric` < 1", [C("metric", "my metric", "<", 1.0)]),
    "backtick-dotted-key": ("params.`a.b` = '1'", [C("param", "a.b", "=", "1")]),
    "double-quoted-key": ("params.\"a b\" = '1'", [C("param", "a b", "=", "1")]),
    "backtick-prefix": ("`metrics`.loss < 1", [C("metric", "loss", "<", 1.0)]),
    "slash-key-in-backticks": ("metrics.`train/loss` < 1", [C("metric", "train/loss", "<", 1.0)]),
    "like-ilike": (
        "params.m LIKE 'bert%' and tags.t ILIKE '%NLP_'",
        [C("param", "m", "LIKE", "bert%"), C("tag", "t", "ILIKE", "%NLP_")],
    ),
    "in-not-in": (
        "params.opt IN ('adam', 'sgd') and tags.t not in ('a')",
        [C("param", "opt", "IN", ("adam", "sgd")), C("tag", "t", "NOT IN", ("a",))],
    ),
    "is-null": (
        "metrics.x IS NULL and params.y is not null and tags.z IS NULL",
        [
            C("metric", "x", "IS NULL", None),
            C("param", "y", "IS NOT NULL", None),
            C("tag", "z", "IS NULL", None),
        ],
    ),
    "attribute-prefixes": (
        "attributes.status = 'RUNNING' and attribute.user_id = 'u' and attr.run_name = 'r' and run.end_time > 0",
        [
            C("attribute", "status", "=", "RUNNING"),
            C("attribute", "user_id", "=", "u"),
            C("attribute", "run_name", "=", "r"),
            C("attribute", "end_time", ">", 0),
        ],
    ),
    "unprefixed-attributes": (
        "status != 'FAILED' and lifecycle_stage = 'active' and artifact_uri LIKE 'file:%'",
        [
            C("attribute", "status", "!=", "FAILED"),
            C("attribute", "lifecycle_stage", "=", "active"),
            C("attribute", "artifact_uri", "LIKE", "file:%"),
        ],
    ),
    "attribute-aliases": (
        "run_uuid IN ('a1', 'b2') and created >= 1700000000000 and Created < 2e12",
        [
            C("attribute", "run_id", "IN", ("a1", "b2")),
            C("attribute", "start_time", ">=", 1700000000000),
            C("attribute", "start_time", "<", 2e12),
        ],
    ),
    "run-name-backtick-alias": ("`Run Name` = 'x'", [C("attribute", "run_name", "=", "x")]),
    "status-in": (
        "status IN ('FINISHED','FAILED')",
        [C("attribute", "status", "IN", ("FINISHED", "FAILED"))],
    ),
    "escapes": (
        r"params.q = 'it''s' and params.r = 'a\'b\\c' and params.s = " + '"say \\"hi\\""',
        [C("param", "q", "=", "it's"), C("param", "r", "=", "a'b\\c"), C("param", "s", "=", 'say "hi"')],
    ),
    "like-escape-kept": (r"params.p LIKE 'a\_b%'", [C("param", "p", "LIKE", r"a\_b%")]),
    "keyword-like-key": ("metrics.and < 1", [C("metric", "and", "<", 1.0)]),
    "unicode-value": ("tags.note = 'über'", [C("tag", "note", "=", "über")]),
}


@pytest.mark.parametrize(("text", "expected"), list(VALID_FILTERS.values()), ids=list(VALID_FILTERS))
def test_parse_valid_filter(text: str, expected: list[Comparison]) -> None:
    assert parse_search_filter(text) == expected


def test_none_filter_is_empty() -> None:
    assert parse_search_filter(None) == []
    assert parse_experiment_filter(None) == []


# (filter, position, fragment of the message)
INVALID_FILTERS = {
    "diamond-operator": ("metrics.loss <> 1", 14, "unexpected token '>'; expected a value"),
    "double-equals": ("metrics.loss == 1", 14, "unexpected token '='; expected a value"),
    "bang-alone": ("metrics.loss ! 1", 13, "unexpected token '!'"),
    "or": ("metrics.a < 1 OR metrics.b > 2", 14, "unexpected token 'OR'; only AND is supported"),
    "or-lowercase": ("metrics.a < 1 or params.b = 'x'", 14, "only AND is supported"),
    "trailing-and": (
        "metrics.a < 1 and",
        17,
        "unexpected token end of input; expected a comparison after AND",
    ),
    "leading-and": ("and metrics.a < 1", 0, "unexpected token 'and'; expected a key"),
    "missing-and": ("metrics.a < 1 metrics.b < 2", 14, "unexpected token 'metrics.b'; expected AND"),
    "missing-value": ("metrics.a <", 11, "unexpected token end of input; expected a value"),
    "missing-operator": ("metrics.a", 9, "unexpected token end of input; expected an operator"),
    "bad-operator-word": ("params.a EQUALS 'x'", 9, "unexpected token 'EQUALS'; expected an operator"),
    "metric-string-value": (
        "metrics.loss = 'abc'",
        15,
        "unexpected token \"'abc'\"; expected a number for metrics.loss",
    ),
    "metric-word-value": (
        "metrics.loss < low",
        15,
        "unexpected token 'low'; expected a number for metrics.loss",
    ),
    "numeric-attribute-string": ("start_time > 'yesterday'", 13, "expected a number for start_time"),
    "param-unquoted": (
        "params.lr = 0.1",
        12,
        "unexpected token '0.1'; expected a quoted string for params.lr",
    ),
    "tag-unquoted-word": (
        "tags.team = nlp",
        12,
        "unexpected token 'nlp'; expected a quoted string for tags.team",
    ),
    "attribute-unquoted": ("status = RUNNING", 9, "expected a quoted string for status"),
    "unknown-attribute": (
        "loss < 1",
        0,
        "unknown attribute 'loss'; valid attributes of runs are artifact_uri",
    ),
    "unknown-prefixed-attribute": ("attributes.foo = 'x'", 0, "unknown attribute 'attributes.foo'"),
    "unknown-prefix": ("metricz.loss < 1", 0, "unknown key type 'metricz' in 'metricz.loss'"),
    "like-on-metric": ("metrics.loss LIKE '1%'", 13, "operator 'LIKE' is not supported for metrics.loss"),
    "in-on-metric": ("metrics.loss IN (1)", 13, "operator 'IN' is not supported for metrics.loss"),
    "lt-on-param": ("params.lr < '1'", 10, "operator '<' is not supported for params.lr"),
    "like-on-time": ("end_time LIKE '1%'", 9, "operator 'LIKE' is not supported for end_time"),
    "is-null-on-attribute": ("status IS NULL", 7, "operator 'IS NULL' is not supported for status"),
    "is-without-null": (
        "params.a IS 'x'",
        12,
        "unexpected token \"'x'\"; expected NULL or NOT NULL after IS",
    ),
    "is-not-without-null": ("params.a IS NOT 1", 16, "unexpected token '1'; expected NULL after IS NOT"),
    "not-without-in": ("params.a NOT LIKE 'x'", 13, "unexpected token 'LIKE'; expected IN after NOT"),
    "in-without-parens": ("params.a IN 'x'", 12, "expected a parenthesised list of quoted strings"),
    "in-empty": (
        "params.a IN ()",
        13,
        "unexpected token ')'; expected a quoted string in the list of params.a",
    ),
    "in-number": ("params.a IN ('x', 2)", 18, "unexpected token '2'; expected a quoted string"),
    "in-missing-comma": ("params.a IN ('x' 'y')", 17, "unexpected token \"'y'\"; expected ',' or ')'"),
    "in-unclosed": ("params.a IN ('x'", 16, "unexpected token end of input; expected ',' or ')'"),
    "unterminated-string": ("params.a = 'x", 11, "unterminated string \"'x\"; close it with '"),
    "unterminated-backtick": ("metrics.`my loss < 1", 8, "unterminated backtick-quoted key"),
    "empty-key": ("metrics.`` < 1", 0, "empty key in 'metrics.``'"),
    "dangling-dot": ("metrics. < 1", 8, "unexpected token ' '; expected a key after 'metrics.'"),
    "special-char-in-key": ("metrics.train/loss < 1", 13, "unexpected token '/'"),
    "bad-number": ("metrics.a < 1.5x", 12, "unexpected token '1.5x'; it is not a number"),
    "parenthesised-group": ("(metrics.a < 1)", 0, "unexpected token '('; expected a key"),
    "string-as-key": ("'metrics.a' < 1", 0, "expected a key"),
    "semicolon": ("metrics.a < 1; drop table runs", 13, "unexpected token ';'"),
    "like-trailing-escape": ("params.a LIKE 'x\\\\'", 14, "ends with an escape character"),
}


@pytest.mark.parametrize(("text", "position", "fragment"), list(INVALID_FILTERS.values()), ids=list(INVALID_FILTERS))
def test_parse_invalid_filter(text: str, position: int, fragment: str) -> None:
    with pytest.raises(SearchFilterParseError) as info:
        parse_search_filter(text)
    message = str(info.value)
    assert message.startswith(f'Invalid filter "{text}" at position {position}: '), message
    assert fragment in message, message
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_parse_error_is_an_invalid_parameter_value_error() -> None:
    with pytest.raises(InvalidParameterError):
        parse_search_filter("metrics.a <> 1")
    with pytest.raises(ValueError):
        parse_search_filter("metrics.a <> 1")


def test_non_string_filter_is_rejected() -> None:
    with pytest.raises(InvalidParameterError, match="Invalid filter 3"):
        parse_search_filter(3)  # type: ignore[arg-type]


ORDER_BYS = {
    "metric-asc": ("metrics.eval_loss ASC", OrderBy("metric", "eval_loss", True)),
    "attribute-desc": ("attributes.start_time DESC", OrderBy("attribute", "start_time", False)),
    "default-asc": ("params.lr", OrderBy("param", "lr", True)),
    "bare-attribute": ("run_name", OrderBy("attribute", "run_name", True)),
    "lowercase-desc": ("tags.team desc", OrderBy("tag", "team", False)),
    "backtick-key": ("metrics.`my metric` DESC", OrderBy("metric", "my metric", False)),
    "alias": ("created DESC", OrderBy("attribute", "start_time", False)),
    "experiment-id": ("experiment_id", OrderBy("attribute", "experiment_id", True)),
    "dotted-tag": ("tags.hf_mltrack.runName", OrderBy("tag", "hf_mltrack.runName", True)),
}


@pytest.mark.parametrize(("text", "expected"), list(ORDER_BYS.values()), ids=list(ORDER_BYS))
def test_parse_order_by(text: str, expected: OrderBy) -> None:
    assert parse_order_by([text]) == [expected]


def test_parse_order_by_keeps_clause_order() -> None:
    assert parse_order_by(["metrics.a DESC", "params.b"]) == [
        OrderBy("metric", "a", False),
        OrderBy("param", "b", True),
    ]
    assert parse_order_by(None) == [] and parse_order_by([]) == []


INVALID_ORDER_BYS = {
    "bad-direction": ("metrics.a UP", 10, "unexpected token 'UP'; expected ASC, DESC"),
    "extra-token": ("metrics.a ASC DESC", 14, "unexpected token 'DESC'; expected the end of the clause"),
    "empty": ("", 0, "empty clause"),
    "unknown-attribute": (
        "creation_time DESC",
        0,
        "unknown attribute 'creation_time'; valid attributes of runs",
    ),
    "unknown-prefix": ("metricz.a", 0, "unknown key type 'metricz'"),
    "direction-only": ("DESC", 0, "unexpected token 'DESC'; expected a key"),
}


@pytest.mark.parametrize(
    ("text", "position", "fragment"), list(INVALID_ORDER_BYS.values()), ids=list(INVALID_ORDER_BYS)
)
def test_parse_invalid_order_by(text: str, position: int, fragment: str) -> None:
    with pytest.raises(SearchFilterParseError) as info:
        parse_order_by([text])
    assert str(info.value).startswith(f'Invalid order_by clause "{text}" at position {position}: ')
    assert fragment in str(info.value)


EXPERIMENT_FILTERS = {
    "name-like": ("name LIKE 'bert-%'", [C("attribute", "name", "LIKE", "bert-%")]),
    "tag": ("tags.team = 'nlp'", [C("tag", "team", "=", "nlp")]),
    "times": (
        "creation_time > 5 and attributes.last_update_time <= 10",
        [C("attribute", "creation_time", ">", 5), C("attribute", "last_update_time", "<=", 10)],
    ),
    "experiment-id-string-or-int": (
        "experiment_id = '3' and experiment_id IN ('1', 2) and experiment_id != 07",
        [
            C("attribute", "experiment_id", "=", "3"),
            C("attribute", "experiment_id", "IN", ("1", "2")),
            C("attribute", "experiment_id", "!=", "7"),
        ],
    ),
    "lifecycle": ("lifecycle_stage = 'deleted'", [C("attribute", "lifecycle_stage", "=", "deleted")]),
}


@pytest.mark.parametrize(("text", "expected"), list(EXPERIMENT_FILTERS.values()), ids=list(EXPERIMENT_FILTERS))
def test_parse_experiment_filter(text: str, expected: list[Comparison]) -> None:
    assert parse_experiment_filter(text) == expected


INVALID_EXPERIMENT_FILTERS = {
    "metrics-prefix": (
        "metrics.loss < 1",
        0,
        "unknown key type 'metrics' in 'metrics.loss'; experiments are",
    ),
    "run-attribute": (
        "status = 'RUNNING'",
        0,
        "unknown attribute 'status'; valid attributes of experiments are",
    ),
    "experiment-id-word": ("experiment_id = 'abc'", 16, "expected an experiment id for experiment_id"),
    "experiment-id-like": (
        "experiment_id LIKE '1%'",
        14,
        "operator 'LIKE' is not supported for experiment_id",
    ),
}


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    list(INVALID_EXPERIMENT_FILTERS.values()),
    ids=list(INVALID_EXPERIMENT_FILTERS),
)
def test_parse_invalid_experiment_filter(text: str, position: int, fragment: str) -> None:
    with pytest.raises(SearchFilterParseError) as info:
        parse_experiment_filter(text)
    assert str(info.value).startswith(f'Invalid filter "{text}" at position {position}: ')
    assert fragment in str(info.value)


def test_parse_experiment_order_by() -> None:
    assert parse_experiment_order_by(["creation_time DESC", "name"]) == [
        OrderBy("attribute", "creation_time", False),
        OrderBy("attribute", "name", True),
    ]
    with pytest.raises(SearchFilterParseError, match="experiments can only be ordered by name"):
        parse_experiment_order_by(["tags.team"])
    with pytest.raises(SearchFilterParseError, match="unknown attribute 'start_time'"):
        parse_experiment_order_by(["start_time"])


# ---- evaluation in Python ---------------------------------------------------------------------


def _run(run_id: str, start: int | None, *, metrics=None, params=None, tags=None, name="r", status="FINISHED") -> Run:
    info = RunInfo(run_id, "1", name, "alice", status, start, None, f"file:///a/{run_id}")
    return Run(info, RunData(metrics=dict(metrics or {}), params=dict(params or {}), tags=dict(tags or {})))


RUN = _run(
    "abc",
    100,
    metrics={"loss": 0.5, "nan": math.nan},
    params={"model": "Bert-base", "lr": "0.1", "odd": "a.b(c)*"},
    tags={"team": "nlp"},
    name="bert_1",
)

MATCHES = {
    "metric-lt": ("metrics.loss < 1", True),
    "metric-eq": ("metrics.loss = 0.5", True),
    "metric-gt-false": ("metrics.loss > 0.5", False),
    "missing-metric-never-matches": ("metrics.acc != 1", False),
    "missing-metric-is-null": ("metrics.acc IS NULL", True),
    "present-metric-is-not-null": ("metrics.loss IS NOT NULL", True),
    "nan-only-matches-ne": ("metrics.nan != 1", True),
    "nan-not-gt": ("metrics.nan > -1e300", False),
    "nan-not-eq": ("metrics.nan = 0", False),
    "nan-is-not-null": ("metrics.nan IS NOT NULL", True),
    "param-like-case-sensitive": ("params.model LIKE 'bert%'", False),
    "param-like": ("params.model LIKE 'Bert%'", True),
    "param-ilike": ("params.model ILIKE 'BERT-%'", True),
    "like-underscore": ("params.model LIKE 'Bert_base'", True),
    "like-regex-chars-literal": ("params.odd LIKE 'a.b(c)*'", True),
    "like-dot-not-wildcard": ("params.odd LIKE 'aXb%'", False),
    "like-escaped-underscore": (r"run_name LIKE 'bert\_1'", True),
    "like-escaped-underscore-no-match": (r"params.model LIKE 'Bert\_base'", False),
    "param-in": ("params.lr IN ('0.1', '0.2')", True),
    "param-not-in": ("params.lr NOT IN ('0.1')", False),
    "tag-ne": ("tags.team != 'cv'", True),
    "missing-tag-ne": ("tags.other != 'cv'", False),
    "attributes": (
        "status = 'FINISHED' and run_id = 'abc' and start_time >= 100 and user_id = 'alice'",
        True,
    ),
    "end-time-null-never-matches": ("end_time < 5", False),
    "run-name": ("attributes.run_name ILIKE 'BERT%'", True),
    "and-all": ("metrics.loss < 1 and params.lr = '0.2'", False),
}


@pytest.mark.parametrize(("text", "expected"), list(MATCHES.values()), ids=list(MATCHES))
def test_matches_run(text: str, expected: bool) -> None:
    assert matches_run(RUN, parse_search_filter(text)) is expected


def test_sort_runs_nan_after_numbers_and_missing_last_both_ways() -> None:
    runs = [
        _run("a", 1, metrics={"m": 2.0}),
        _run("b", 2, metrics={"m": math.nan}),
        _run("c", 3),
        _run("d", 4, metrics={"m": 1.0}),
        _run("e", 5, metrics={"m": 2.0}),
    ]
    ids = lambda rs: [r.info.run_id for r in rs]  # noqa: E731
    assert ids(sort_runs(runs, parse_order_by(["metrics.m"]))) == ["d", "e", "a", "b", "c"]
    assert ids(sort_runs(runs, parse_order_by(["metrics.m DESC"]))) == ["e", "a", "d", "b", "c"]
    # default: start_time DESC, then run id
    assert ids(sort_runs(runs, [])) == ["e", "d", "c", "b", "a"]


def test_experiment_matching_and_sorting() -> None:
    exps = [
        Experiment("1", "bert-a", "file:///x", tags={"team": "nlp"}, creation_time=10),
        Experiment("2", "gpt", "file:///x", creation_time=20),
        Experiment("3", "bert-b", "file:///x", creation_time=10),
    ]
    picked = [e.name for e in exps if matches_experiment(e, parse_experiment_filter("name LIKE 'bert%'"))]
    assert picked == ["bert-a", "bert-b"]
    assert [e.experiment_id for e in exps if matches_experiment(e, parse_experiment_filter("tags.team = 'nlp'"))] == [
        "1"
    ]
    assert [
        e.experiment_id for e in exps if matches_experiment(e, parse_experiment_filter("experiment_id IN (2, 3)"))
    ] == [
        "2",
        "3",
    ]
    assert [e.experiment_id for e in sort_experiments(exps, [])] == ["2", "1", "3"]
    # explicit order: ties go by experiment_id DESC, as MLflow
    assert [e.experiment_id for e in sort_experiments(exps, parse_experiment_order_by(["creation_time"]))] == [
        "3",
        "1",
        "2",
    ]


# ---- page tokens ------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [0, 1, 1000, 10**12])
def test_page_token_round_trip(offset: int) -> None:
    token = encode_page_token(offset)
    assert all(ch.isalnum() or ch in "-_=" for ch in token)
    assert decode_page_token(token) == offset


def test_page_token_none_is_first_page() -> None:
    assert decode_page_token(None) == 0
    assert decode_page_token("") == 0


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "bm90IGpzb24",
        encode_page_token(0)[:-4] + "AAAA",
        "eyJvZmZzZXQiOiAtMX0=",
        "eyJvZmZzZXQiOiAiMSJ9",
    ],
    ids=["not-base64", "not-json", "corrupt", "negative-offset", "string-offset"],
)
def test_bad_page_token_names_it(token: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        decode_page_token(token)
    assert repr(token) in str(info.value)


# ---- issue 18: only ASCII digits are numbers; numbers past int64 never reach the database as ints ------
@pytest.mark.parametrize(
    "text",
    ["metrics.m > ³", "metrics.m > ٣", "metrics.m > 1²", "attributes.start_time < ９", "metrics.m > .³"],
    ids=["superscript", "arabic-indic", "trailing-superscript", "fullwidth", "decimal-superscript"],
)
def test_unicode_digits_are_not_numbers(text: str) -> None:
    with pytest.raises(SearchFilterParseError, match="position"):
        parse_search_filter(text)


@pytest.mark.parametrize("text", ["experiment_id = '١'", "experiment_id = '99999999999999999999'"])
def test_experiment_ids_are_ascii_int64(text: str) -> None:
    with pytest.raises(SearchFilterParseError, match="experiment id"):
        parse_experiment_filter(text)


def test_numbers_past_int64_compare_as_floats() -> None:
    (big,) = parse_search_filter("metrics.m > 99999999999999999999")
    assert big.value == 1e20 and isinstance(big.value, float)
    (huge,) = parse_search_filter("metrics.m < " + "9" * 5000)  # int() refuses > 4300 digits
    assert huge.value == math.inf
    (edge,) = parse_search_filter(f"attributes.start_time >= {2**63 - 1}")
    assert edge.value == 2**63 - 1 and isinstance(edge.value, int)


def test_page_token_offsets_are_int64() -> None:
    import base64
    import json

    from hf_mltrack.tracking.search import decode_page_token, encode_page_token

    assert decode_page_token(encode_page_token(2**63 - 1)) == 2**63 - 1
    token = base64.urlsafe_b64encode(json.dumps({"offset": 2**63}).encode()).decode()
    with pytest.raises(InvalidParameterError, match="page_token"):
        decode_page_token(token)
