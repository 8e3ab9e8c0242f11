"""``graphc dump --out`` naming an existing file is a usage error (exit status 2 and a
message), not a traceback (issue 11)."""

from graphc.__main__ import main


def test_dump_out_an_existing_file_is_a_usage_error(tmp_path, capsys):
    script = tmp_path / "s.py"
    script.write_text("print('ran')\n")
    existing = tmp_path / "taken.txt"
    existing.write_text("keep me")
    assert main(["dump", str(script), "--out", str(existing)]) == 2
    err = capsys.readouterr().err
    assert "not a directory" in err and "Traceback" not in err
    assert existing.read_text() == "keep me"


def test_dump_out_below_a_file_is_a_usage_error(tmp_path, capsys):
    script = tmp_path / "s.py"
    script.write_text("print('ran')\n")
    existing = tmp_path / "taken.txt"
    existing.write_text("x")
    assert main(["dump", str(script), "--out", str(existing / "sub")]) == 2
    assert "cannot create the output folder" in capsys.readouterr().err
