"""rtadvisor.safeio: bounded reading, limited YAML/JSON/TOML, safe paths and writes (unit level;
tests/hostile runs the same inputs through the real CLI)."""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path

import pytest

from rtadvisor import safeio
from rtadvisor.errors import InputError, ProfileError


def _lol(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- limits


def test_limits_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTADVISOR_MAX_INPUT_BYTES", "2MiB")
    monkeypatch.setenv("RTADVISOR_MAX_YAML_NODES", "1234")
    lim = safeio.limits()
    assert lim.max_bytes == 2 * 1024 * 1024 and lim.max_yaml_nodes == 1234
    assert lim.max_depth == safeio.Limits().max_depth
    monkeypatch.setenv("RTADVISOR_MAX_DEPTH", "10k")  # counts take no unit
    with pytest.raises(InputError, match="RTADVISOR_MAX_DEPTH: expected a positive integer"):
        safeio.limits()
    monkeypatch.setenv("RTADVISOR_MAX_DEPTH", "0")
    with pytest.raises(InputError, match="RTADVISOR_MAX_DEPTH"):
        safeio.limits()


def test_every_limit_has_a_variable_and_a_doc_line() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "limits.md").read_text(encoding="utf-8")
    for name in safeio.Limits.__dataclass_fields__:
        assert safeio.ENV[name] in doc


# --------------------------------------------------------------------------- files


def test_regular_files_only_and_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"fifo.yaml: a FIFO \(named pipe\), expected a regular file"):
        safeio.read_bytes(fifo)  # would block forever without O_NONBLOCK
    with pytest.raises(InputError, match="/dev/zero: a character device"):
        safeio.read_bytes("/dev/zero")
    with pytest.raises(InputError, match="a directory"):
        safeio.read_text(tmp_path)
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(InputError, match="Too many levels of symbolic links"):
        safeio.read_text(tmp_path / "loop")


def test_size_limit_and_error_class(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"x" * 101)
    with pytest.raises(ProfileError, match=r"big.yaml: 101 bytes is more than the 100 bytes input limit \(set RTADVISOR"):
        safeio.read_bytes(big, limit=100, error=ProfileError)
    assert safeio.read_bytes(big, limit=101) == b"x" * 101


def test_not_utf8_and_bom(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"\xef\xbb\xbfname: x")
    assert safeio.read_text(tmp_path / "a") == "name: x"
    (tmp_path / "b").write_bytes(b"caf\xe9")
    with pytest.raises(InputError, match="not UTF-8 text"):
        safeio.read_text(tmp_path / "b")


def test_show_escapes_control_characters_only() -> None:
    assert safeio.show("plain [bold] ünïcode") == "plain [bold] ünïcode"
    assert safeio.show("a\x1b[31m\nb\u202e") == "a\\x1b[31m\\nb\\u202e"


# --------------------------------------------------------------------------- YAML


def test_billion_laughs_refused_before_construction() -> None:
    with pytest.raises(InputError, match=r"x.yaml: line \d+ invalid YAML: aliases expand to more than"):
        safeio.load_yaml(_lol(), where="x.yaml")
    # a modest expansion is fine, and the value is what PyYAML builds
    assert safeio.load_yaml(_lol(3), where="x.yaml")["c"][0][0] == ["lol"] * 9


def test_recursive_alias_and_depth() -> None:
    with pytest.raises(InputError, match="recursive alias"):
        safeio.load_yaml("a: &a [*a]", where="x")
    with pytest.raises(InputError, match="nested more than 100 levels"):
        safeio.load_yaml("[" * 101 + "]" * 101, where="x")
    assert safeio.load_yaml("[" * 99 + "]" * 99, where="x") is not None
    # aliases can nest deeper than the text does
    text = "a: &a " + "[" * 60 + "]" * 60 + "\nb: " + "[" * 60 + "*a" + "]" * 60 + "\n"
    with pytest.raises(InputError, match="aliases nest more than"):
        safeio.load_yaml(text, where="x")


def test_node_limit_counts_tagged_nodes_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTADVISOR_MAX_YAML_NODES", "1000")
    with pytest.raises(InputError, match="more than 1000 YAML nodes"):
        safeio.load_yaml("[" + ",".join(["!!str a"] * 2000) + "]", where="x")
    with pytest.raises(InputError, match="RTADVISOR_MAX_YAML_NODES"):
        safeio.load_yaml_all("\n---\n".join(["[" + ",".join(["a"] * 600) + "]"] * 2), where="x")  # per file


def test_values_pyyaml_cannot_build_name_their_line() -> None:
    with pytest.raises(InputError, match=r"x: line 2 invalid YAML: integer with 5000 digits"):
        safeio.load_yaml("a: 1\nb: " + "9" * 5000, where="x")
    with pytest.raises(InputError, match=r"line 1 invalid YAML: cannot construct a value: day is out of range"):
        safeio.load_yaml("d: 2001-02-30", where="x")
    with pytest.raises(InputError, match="python/object"):
        safeio.load_yaml("!!python/object/apply:os.system [true]", where="x")


def test_finite_numbers() -> None:
    with pytest.raises(InputError, match=r"x: field 'a.b\[1\]': inf is not a finite number"):
        safeio.load_yaml("a: {b: [1, .inf]}", where="x")
    assert safeio.load_yaml("a: .nan", where="x", finite=False)["a"] != 0


def test_check_yaml_for_edit_uses_the_edit_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTADVISOR_MAX_EDIT_NODES", "10")
    with pytest.raises(InputError, match="RTADVISOR_MAX_EDIT_NODES"):
        safeio.check_yaml("[" + ",".join(["a"] * 20) + "]", where="m", for_edit=True)
    safeio.check_yaml("[" + ",".join(["a"] * 20) + "]", where="m")


def test_alias_prescreen_is_a_superset_of_libyaml_aliases() -> None:
    for text in ("a: *x", "- *x", "[*a, *b]", "{a: *b}", "x:\n  *a : 1"):
        assert safeio._ALIAS.search(text), text
    for text in ('schedule: "*/5 * * * *"', 'verbs: ["*"]', "cmd: ls *.txt"):
        assert not safeio._ALIAS.search(text), text


# --------------------------------------------------------------------------- JSON / TOML / numbers


@pytest.mark.parametrize("text, fragment", [
    ('{"a": NaN}', "NaN is not a JSON number"),
    ('[-Infinity]', "-Infinity is not a JSON number"),
    ('{"a": 1e400}', "1e400 is out of range"),
    ('[' + "9" * 5000 + ']', "integer with 5000 digits"),
    ("[" * 100_000 + "]" * 100_000, "nested too deep"),
    ("[" * 101 + "]" * 101, "nested more than 100 levels"),
    ('{"a": ', "line 1 invalid JSON"),
])
def test_strict_json(text: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment.replace("[", r"\[").replace("(", r"\(")):
        safeio.load_json(text, where="d.json")


@pytest.mark.parametrize("text, fragment", [
    ("a = inf", "field 'a': inf is not a finite number"),
    ("a = " + "9" * 5000, "invalid TOML"),
    ("a = " + "[" * 10_000 + "]" * 10_000, "nested too deep"),
    ("a = ", "invalid TOML"),
])
def test_strict_toml(text: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        safeio.load_toml(text, where="c.toml")


@pytest.mark.parametrize("text", ["inf", "nan", "-inf", "1e400", "0x10", "9" * 5000, "", "1_000", "١٢"])
def test_number_option_refuses(text: str) -> None:
    with pytest.raises(InputError, match="--weight S"):
        safeio.number_option(text, option="--weight S")


def test_number_option_accepts_decimals() -> None:
    assert safeio.number_option(" 0.25 ", option="x") == 0.25
    assert safeio.number_option("1e3", option="x") == 1000.0
    assert safeio.number_option("-.5", option="x") == -0.5
    with pytest.raises(InputError, match="from 0 to 1"):
        safeio.number_option("2", option="x", minimum=0, maximum=1)


def test_finite_number() -> None:
    assert safeio.finite_number(3, where="f") == 3.0
    for bad in (True, "3", float("nan"), 10**400, [1]):
        with pytest.raises(InputError, match="f: expected a finite number"):
            safeio.finite_number(bad, where="f")


# --------------------------------------------------------------------------- paths and writes


def test_open_beneath_refuses_dotdot_absolute_and_links(tmp_path: Path) -> None:
    (tmp_path / "blobs" / "sha256").mkdir(parents=True)
    (tmp_path / "blobs" / "sha256" / "ok").write_bytes(b"data")
    assert safeio.read_beneath(tmp_path, "blobs/sha256/ok") == b"data"
    for bad in ("../x", "/etc/passwd", "blobs/../x", "blobs//x", "blobs/./x"):
        with pytest.raises(InputError, match="leaves the directory"):
            safeio.read_beneath(tmp_path, bad)
    (tmp_path / "blobs" / "sha256" / "link").symlink_to("/etc/hostname")
    with pytest.raises(InputError, match="symbolic link"):
        safeio.read_beneath(tmp_path, "blobs/sha256/link")
    (tmp_path / "linked").symlink_to(tmp_path / "blobs")
    with pytest.raises(InputError, match="a symbolic link or not a directory"):
        safeio.read_beneath(tmp_path, "linked/sha256/ok")


def test_replace_file_is_atomic_keeps_mode_and_refuses_links(tmp_path: Path) -> None:
    target = tmp_path / "m.yaml"
    target.write_text("old\n")
    target.chmod(0o640)
    st = target.stat()
    assert safeio.replace_file(target, b"new\n", expect=(st.st_dev, st.st_ino), within=[tmp_path]) == str(target)
    assert target.read_text() == "new\n" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.yaml"]
    with pytest.raises(InputError, match="changed since it was read"):
        safeio.replace_file(target, b"x", expect=(st.st_dev, st.st_ino))  # the rename made a new inode
    outside = tmp_path / "outside.yaml"
    outside.write_text("keep\n")
    link = tmp_path / "sub" / "link.yaml"
    link.parent.mkdir()
    link.symlink_to(outside)
    with pytest.raises(InputError, match="is a symbolic link; not written through"):
        safeio.replace_file(link, b"x")
    with pytest.raises(InputError, match="outside the given paths"):
        safeio.replace_file(outside, b"x", within=[tmp_path / "sub"])
    assert outside.read_text() == "keep\n" and link.is_symlink()


def test_replace_file_sweeps_only_dead_temps_of_that_file(tmp_path: Path) -> None:
    target = tmp_path / "m.yaml"
    target.write_text("old\n")
    dead = tmp_path / f".m.yaml.999999999.abcd{safeio.TEMP_SUFFIX}"
    alive = tmp_path / f".m.yaml.{os.getpid()}.abcd{safeio.TEMP_SUFFIX}"
    other = tmp_path / f".n.yaml.999999999.abcd{safeio.TEMP_SUFFIX}"
    for p in (dead, alive, other):
        p.write_text("half")
    safeio.replace_file(target, b"new\n")
    assert not dead.exists() and alive.exists() and other.exists()


# --------------------------------------------------------------------------- gzip


def test_gunzip_stream_caps_output_and_checks_format() -> None:
    bomb = gzip.compress(b"\0" * (4 << 20), compresslevel=9)
    seen: list[int] = []
    with pytest.raises(InputError, match="decompresses to more than 1 MiB"):
        safeio.gunzip_stream([bomb], limit=1 << 20, where="layer", on_output=lambda b: seen.append(len(b)))
    assert sum(seen) <= 1 << 20
    assert safeio.gunzip_stream([bomb[:10], bomb[10:]], limit=8 << 20, where="l", on_output=lambda b: None) == 4 << 20
    with pytest.raises(InputError, match="not a valid gzip stream"):
        safeio.gunzip_stream([b"plain text"], limit=100, where="l", on_output=lambda b: None)
    with pytest.raises(InputError, match="truncated"):
        safeio.gunzip_stream([bomb[:-20]], limit=8 << 20, where="l", on_output=lambda b: None)
    two = gzip.compress(b"a") + gzip.compress(b"b")  # concatenated members are one stream
    assert safeio.gunzip_stream([two], limit=10, where="l", on_output=lambda b: None) == 2
