"""nghf-make-corpus: bad input gives a one-line error and exit status 1, not a traceback."""

from __future__ import annotations

from nghf.bin.make_corpus import main


def test_bad_job_number(tmp_path, repo_root, capsys):
    rc = main(["render", "--job", "3", "--nj", "2", str(tmp_path)])
    assert rc == 1
    assert "--job 3 is outside 1..2" in capsys.readouterr().err


def test_bad_override_names_key(tmp_path, repo_root, capsys):
    rc = main(["prepare", "--config", str(repo_root / "conf" / "corpus.yaml"), "--set", "voices.tempo=fast",
               str(tmp_path)])
    assert rc == 1
    assert "voices.tempo" in capsys.readouterr().err


def test_merge_without_plan_names_file(tmp_path, capsys):
    assert main(["merge", str(tmp_path)]) == 1
    assert "plan.json" in capsys.readouterr().err


def test_render_without_plan_names_file(tmp_path, repo_root, capsys):
    rc = main(["render", "--job", "1", "--nj", "1", str(tmp_path)])
    assert rc == 1
    assert "corpus_config.yaml: missing" in capsys.readouterr().err
