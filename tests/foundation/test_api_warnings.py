"""Keys under `api:` that the API documentation does not name are warned about, with the closest documented field."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run_cli

TASK = """version: 1
tasks:
  - name: t
    standard: large
    dataType: [base]
    granularity: instance
    src: {{instanceType: public, dbType: mysql, region: bj, host: h, port: 3306}}
    dst: {{instanceType: public, dbType: mysql, region: bj, host: g, port: 3306}}
    api:
{api}
"""


def validate(tmp_path: Path, api: str) -> tuple[int, str, str]:
    path = tmp_path / "m.yaml"
    path.write_text(TASK.format(api=api))
    done = run_cli("validate", str(path), cwd=tmp_path)
    return done.returncode, done.stdout, done.stderr


def test_unknown_api_keys_are_warned_about_with_the_closest_documented_field(tmp_path: Path) -> None:
    api = (
        "      config:\n        queueTyp: kafka\n        srcConnection: {fieldWhitelist: 'a.b[c];'}\n"
        "      create:\n        bindTag: []\n        zzzz: 1\n"
    )
    code, out, err = validate(tmp_path, api)
    assert code == 0 and "1 task in 1 file are valid" in out
    lines = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(lines) == 4, err
    assert any(
        ":11: $.tasks[0].api.config.queueTyp: " in w and "did you mean queueType (queueType in the manifest)?" in w
        for w in lines
    )
    assert any(  # modelled: the manifest key is named too
        "srcConnection.fieldWhitelist" in w and "did you mean field_whitelist (columns.include in the manifest)?" in w
        for w in lines
    )
    assert any("api.create.bindTag" in w and "did you mean bindTags?" in w for w in lines)
    assert any("api.create.zzzz" in w and "did you mean" not in w for w in lines)


def test_documented_api_keys_are_quiet(tmp_path: Path) -> None:
    api = (
        "      config:\n        admin: x\n        accountMapping: []\n"
        "        srcConnection: {dbServer: s1, maxRetryTime: '30', vpcId: v}\n"
        "      create:\n        bindTags: [{tagKey: team, tagValue: data}]\n        orderInfo: {src: {zone: a}}\n"
    )
    code, _, err = validate(tmp_path, api)
    assert code == 0 and "warning" not in err, err
