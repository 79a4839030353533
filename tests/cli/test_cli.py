"""Small CLI behaviours not covered elsewhere: several zoo versions in one folder."""

from __future__ import annotations

from harness.cli.main import main


def test_a_folder_can_hold_several_zoo_versions(tmp_path, capsys):
    import yaml

    from harness.model.zoo import load_zoo
    from tests.helpers import write_card, write_zoo
    from tests.onnx_builders import conv_relu_model, save

    save(conv_relu_model(), tmp_path / "m.onnx")
    (tmp_path / "cards").mkdir()
    for name in ("a", "b", "c"):
        write_card(tmp_path, name, "m.onnx", "relu1", size=(16, 16)).rename(tmp_path / "cards" / f"{name}.yaml")
    for card in (tmp_path / "cards").iterdir():  # card paths are relative to the card file
        data = yaml.safe_load(card.read_text())
        data["onnx"] = "../m.onnx"
        card.write_text(yaml.safe_dump(data))
    write_zoo(tmp_path, version="2.0", cards="cards/*.yaml")
    (tmp_path / "zoo-1.0.yaml").write_text(yaml.safe_dump({"name": "test-zoo", "version": "1.0", "cards": ["cards/a.yaml", "cards/b.yaml"]}))

    assert [c.id for c in load_zoo(tmp_path).cards] == ["a", "b", "c"]
    old = load_zoo(tmp_path / "zoo-1.0.yaml")
    assert (old.version, [c.id for c in old.cards]) == ("1.0", ["a", "b"])
    assert main(["validate", str(tmp_path / "zoo-1.0.yaml")]) == 0
    assert "2 cards valid" in capsys.readouterr().out
    # a card used on its own may reach files elsewhere in its zoo (found through zoo.yaml above it)
    assert main(["import", str(tmp_path / "cards" / "a.yaml")]) == 0
